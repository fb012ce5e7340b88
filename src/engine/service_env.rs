//! The environment variables a pod gets for each Service that exists when it starts
//! (`enableServiceLinks`, on by default), as the kubelet's `envvars.FromServices` makes them:
//! `WEB_SERVICE_HOST`, `WEB_SERVICE_PORT` (and `_<PORT NAME>`), and the Docker-link style
//! `WEB_PORT`, `WEB_PORT_80_TCP`, `…_PROTO`, `…_PORT`, `…_ADDR`.

use std::net::SocketAddr;

/// A Service as its variables describe it.
#[derive(Debug, Clone)]
pub struct ServiceLink {
    pub name: String,
    /// Each port: its name and where the Service listens for it.
    pub ports: Vec<(Option<String>, SocketAddr)>,
}

/// `my-svc` → `MY_SVC`.
fn variable_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// The variables for `services`, in order.
pub fn from_services(services: &[ServiceLink]) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for service in services {
        let Some((_, first)) = service.ports.first() else {
            continue;
        };
        let prefix = variable_name(&service.name);
        env.push((format!("{prefix}_SERVICE_HOST"), first.ip().to_string()));
        env.push((format!("{prefix}_SERVICE_PORT"), first.port().to_string()));
        for (name, address) in &service.ports {
            if let Some(name) = name.as_deref().filter(|n| !n.is_empty()) {
                env.push((
                    format!("{prefix}_SERVICE_PORT_{}", variable_name(name)),
                    address.port().to_string(),
                ));
            }
        }
        for (i, (_, address)) in service.ports.iter().enumerate() {
            let url = format!("tcp://{address}");
            if i == 0 {
                env.push((format!("{prefix}_PORT"), url.clone()));
            }
            let port = format!("{prefix}_PORT_{}_TCP", address.port());
            env.push((format!("{port}_PROTO"), "tcp".to_owned()));
            env.push((format!("{port}_PORT"), address.port().to_string()));
            env.push((format!("{port}_ADDR"), address.ip().to_string()));
            env.push((port, url));
        }
    }
    env
}

/// The variables of the `kubernetes` Service, which every pod gets whatever its
/// `enableServiceLinks` (`getServiceEnvVarMap` always includes the master service). podlife
/// has no API server behind them: they name 127.0.0.1:443, where nothing listens, so a client
/// fails at once rather than waiting.
pub fn api_server() -> Vec<(String, String)> {
    from_services(&[ServiceLink {
        name: "kubernetes".to_owned(),
        ports: vec![(
            Some("https".to_owned()),
            SocketAddr::from(([127, 0, 0, 1], 443)),
        )],
    }])
}

/// `env` with the Service variables the container does not set itself put first (the
/// container's own win, and `$(WEB_SERVICE_HOST)` in its command expands).
pub fn merge(services: &[(String, String)], env: &[(String, String)]) -> Vec<(String, String)> {
    services
        .iter()
        .filter(|(name, _)| !env.iter().any(|(own, _)| own == name))
        .chain(env)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_as_the_kubelet_makes_them() {
        let env = from_services(&[ServiceLink {
            name: "my-web".into(),
            ports: vec![
                (None, "10.0.0.7:80".parse().unwrap()),
                (
                    Some("metrics-port".into()),
                    "10.0.0.7:9090".parse().unwrap(),
                ),
            ],
        }]);
        let get = |k: &str| {
            env.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("MY_WEB_SERVICE_HOST"), Some("10.0.0.7"));
        assert_eq!(get("MY_WEB_SERVICE_PORT"), Some("80"));
        assert_eq!(get("MY_WEB_SERVICE_PORT_METRICS_PORT"), Some("9090"));
        assert_eq!(get("MY_WEB_PORT"), Some("tcp://10.0.0.7:80"));
        assert_eq!(get("MY_WEB_PORT_9090_TCP"), Some("tcp://10.0.0.7:9090"));
        assert_eq!(get("MY_WEB_PORT_80_TCP_PROTO"), Some("tcp"));
        assert_eq!(get("MY_WEB_PORT_80_TCP_PORT"), Some("80"));
        assert_eq!(get("MY_WEB_PORT_80_TCP_ADDR"), Some("10.0.0.7"));
        assert_eq!(env.len(), 12);
    }

    #[test]
    fn the_container_s_own_variables_win() {
        let services = vec![
            ("A".to_owned(), "svc".to_owned()),
            ("B".into(), "svc".into()),
        ];
        let own = vec![("B".to_owned(), "own".to_owned())];
        assert_eq!(
            merge(&services, &own),
            vec![
                ("A".to_owned(), "svc".to_owned()),
                ("B".into(), "own".into())
            ]
        );
    }
}
