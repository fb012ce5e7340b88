//! Host names the engine resolves itself, before asking the system: the `/etc/hosts` of
//! podlife's "node". `podlife run --host monitor.com=…` and test harnesses put fixture servers
//! here, so that hooks and probes naming them (the seed's `monitor.com`) reach them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{LazyLock, RwLock};

static HOSTS: LazyLock<RwLock<HashMap<String, IpAddr>>> = LazyLock::new(Default::default);

/// Makes `name` resolve to `ip` for every engine in this process.
pub fn alias(name: &str, ip: IpAddr) {
    HOSTS
        .write()
        .expect("host aliases")
        .insert(name.to_ascii_lowercase(), ip);
}

/// The address `name` was given, if any.
pub fn lookup(name: &str) -> Option<IpAddr> {
    HOSTS
        .read()
        .expect("host aliases")
        .get(&name.to_ascii_lowercase())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        alias("Monitor.Example", IpAddr::from([127, 0, 0, 9]));
        assert_eq!(
            lookup("monitor.example"),
            Some(IpAddr::from([127, 0, 0, 9]))
        );
        assert_eq!(lookup("other.example"), None);
    }
}
