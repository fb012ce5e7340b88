//! Host names an engine resolves itself, before asking the system: the `/etc/hosts` of
//! podlife's "node". `podlife run --host monitor.com=…` and test harnesses put fixture servers
//! here, so that hooks and probes naming them (the seed's `monitor.com`) reach them. Each
//! engine has its own table, so that concurrent scenarios can each have their `monitor.com`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

/// A shared, cheaply cloned name → address table.
#[derive(Clone, Default)]
pub struct Hosts(Arc<Table>);

/// Called with the table after a name was added or changed.
type Listener = Box<dyn Fn(&Hosts) + Send + Sync>;

#[derive(Default)]
struct Table {
    names: RwLock<HashMap<String, IpAddr>>,
    listeners: RwLock<Vec<Listener>>,
}

impl Hosts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `name` resolve to `ip` (names are case-insensitive, as in DNS), and tells the
    /// listeners when that changed the table.
    pub fn alias(&self, name: &str, ip: IpAddr) {
        let before = self
            .0
            .names
            .write()
            .expect("host aliases")
            .insert(name.to_ascii_lowercase(), ip);
        if before != Some(ip) {
            for listener in self.0.listeners.read().expect("host listeners").iter() {
                listener(self);
            }
        }
    }

    /// Calls `listener` whenever a name is added or changed: a runtime keeps the pods'
    /// `/etc/hosts` up to date with it, as cluster DNS would be.
    pub fn on_change(&self, listener: impl Fn(&Hosts) + Send + Sync + 'static) {
        self.0
            .listeners
            .write()
            .expect("host listeners")
            .push(Box::new(listener));
    }

    /// The address `name` was given, if any.
    pub fn lookup(&self, name: &str) -> Option<IpAddr> {
        self.0
            .names
            .read()
            .expect("host aliases")
            .get(&name.to_ascii_lowercase())
            .copied()
    }

    /// Every alias, sorted by name.
    pub fn entries(&self) -> Vec<(String, IpAddr)> {
        let mut all: Vec<_> = self
            .0
            .names
            .read()
            .expect("host aliases")
            .iter()
            .map(|(n, ip)| (n.clone(), *ip))
            .collect();
        all.sort();
        all
    }
}

impl fmt::Debug for Hosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

/// Two tables are equal when they are the same table.
impl PartialEq for Hosts {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Hosts {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively_within_one_table() {
        let hosts = Hosts::new();
        hosts.alias("Monitor.Example", IpAddr::from([127, 0, 0, 9]));
        assert_eq!(
            hosts.lookup("monitor.example"),
            Some(IpAddr::from([127, 0, 0, 9]))
        );
        assert_eq!(hosts.lookup("other.example"), None);
        assert_eq!(
            Hosts::new().lookup("monitor.example"),
            None,
            "tables are separate"
        );
        assert_eq!(
            hosts.clone().lookup("MONITOR.EXAMPLE"),
            hosts.lookup("monitor.example")
        );
    }
}
