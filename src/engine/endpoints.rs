//! The endpoints controller: for each Service, the pods whose labels match its selector, with
//! the conditions Kubernetes' EndpointSlice controller gives them (ready, serving,
//! terminating), and the Service's ports resolved to each pod's target port.
//!
//! [`select`] is the rule, as `pkg/controller/endpointslice` applies it; the engine runs it
//! after every change in its log and records each membership change as an observation.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerPort, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

/// One pod's place in a Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub pod: String,
    pub ip: String,
    /// Gets new traffic: Ready and not terminating (or `publishNotReadyAddresses`).
    pub ready: bool,
    /// Ready, terminating or not (EndpointSlice's `serving`).
    pub serving: bool,
    pub terminating: bool,
    pub ports: Vec<EndpointPort>,
}

/// A Service port and where it goes on the pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointPort {
    pub name: Option<String>,
    /// The Service's port.
    pub port: i32,
    /// The pod's port (`targetPort`, by number or by container port name).
    pub target: u16,
}

/// What the controller needs to know of a pod.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<ContainerPort>,
    pub ip: Option<String>,
    pub phase: String,
    /// Its Ready condition is True.
    pub ready: bool,
    /// It is being deleted.
    pub terminating: bool,
    /// Everything of it is stopped and removed.
    pub gone: bool,
}

/// The endpoints of `service` among `pods`, in the pods' order. A Service without a selector
/// has none (its endpoints are someone else's to manage).
pub fn select(service: &Service, pods: &[PodFacts]) -> Vec<Endpoint> {
    let spec = service.spec.clone().unwrap_or_default();
    let Some(selector) = spec.selector.filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    pods.iter()
        .filter(|p| selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
        // shouldPodBeInEndpoints: not terminal, has an IP.
        .filter(|p| !p.gone && p.phase != "Succeeded" && p.phase != "Failed")
        .filter_map(|p| {
            let ip = p.ip.clone().filter(|ip| !ip.is_empty())?;
            let ports = spec
                .ports
                .iter()
                .flatten()
                .map(|sp| {
                    let target = match &sp.target_port {
                        None => u16::try_from(sp.port).ok(),
                        Some(IntOrString::Int(n)) => u16::try_from(*n).ok(),
                        Some(IntOrString::String(name)) => p
                            .ports
                            .iter()
                            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
                            .and_then(|cp| u16::try_from(cp.container_port).ok()),
                    }?;
                    Some(EndpointPort {
                        name: sp.name.clone(),
                        port: sp.port,
                        target,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            let serving = p.ready;
            Some(Endpoint {
                pod: p.name.clone(),
                ip,
                ready: publish_not_ready || (serving && !p.terminating),
                serving,
                terminating: p.terminating,
                ports,
            })
        })
        .collect()
}

/// How a pod's membership changed, for the timeline: `None` when nothing that matters did.
pub fn change(
    service: &str,
    before: Option<&Endpoint>,
    after: Option<&Endpoint>,
) -> Option<String> {
    let ready = |e: Option<&Endpoint>| e.is_some_and(|e| e.ready);
    match (before, after) {
        (None, None) => None,
        (_, Some(a)) if !ready(before) && a.ready => Some(format!("added to service {service}")),
        (Some(b), Some(a)) if b.ready && !a.ready => Some(format!(
            "removed from service {service}: {}",
            if a.terminating {
                "terminating"
            } else {
                "not ready"
            }
        )),
        (None, Some(_)) => Some(format!("in service {service}, not ready")),
        (Some(_), None) => Some(format!("no longer in service {service}")),
        (Some(b), Some(a)) if b.terminating != a.terminating || b.serving != a.serving => {
            Some(format!(
                "service {service}: {}{}",
                if a.serving { "serving" } else { "not serving" },
                if a.terminating { ", terminating" } else { "" }
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};

    fn service(selector: &[(&str, &str)], target: Option<IntOrString>) -> Service {
        Service {
            spec: Some(ServiceSpec {
                selector: Some(
                    selector
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: target,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn pod(name: &str, app: &str, ready: bool) -> PodFacts {
        PodFacts {
            name: name.into(),
            labels: [("app".to_string(), app.to_string())].into(),
            ports: vec![ContainerPort {
                name: Some("web".into()),
                container_port: 8080,
                ..Default::default()
            }],
            ip: Some(format!("10.0.0.{}", name.len())),
            phase: "Running".into(),
            ready,
            ..Default::default()
        }
    }

    #[test]
    fn selector_readiness_and_target_ports() {
        let svc = service(&[("app", "web")], Some(IntOrString::String("web".into())));
        let pods = [
            pod("a", "web", true),
            pod("bb", "web", false),
            pod("c", "db", true),
        ];
        let found = select(&svc, &pods);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].ready && found[0].serving);
        assert!(!found[1].ready && !found[1].serving);
        assert_eq!(found[0].ports[0].target, 8080);
        // By number, and defaulted to the port.
        assert_eq!(
            select(
                &service(&[("app", "web")], Some(IntOrString::Int(9000))),
                &pods
            )[0]
            .ports[0]
                .target,
            9000
        );
        assert_eq!(
            select(&service(&[("app", "web")], None), &pods)[0].ports[0].target,
            80
        );
        // A named port the pod lacks: not an endpoint.
        assert!(
            select(
                &service(&[("app", "web")], Some(IntOrString::String("nope".into()))),
                &pods
            )
            .is_empty()
        );
    }

    #[test]
    fn terminating_pods_serve_but_are_not_ready_unless_published() {
        let mut p = pod("a", "web", true);
        p.terminating = true;
        let svc = service(&[("app", "web")], None);
        let e = &select(&svc, std::slice::from_ref(&p))[0];
        assert!((e.ready, e.serving, e.terminating) == (false, true, true));
        let mut published = svc.clone();
        published.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
        assert!(select(&published, &[p.clone()])[0].ready);
        assert!(select(&published, &[pod("a", "web", false)])[0].ready);
        // Terminal, gone or without an IP: not in the Service at all.
        for change in [
            |p: &mut PodFacts| p.phase = "Failed".into(),
            |p: &mut PodFacts| p.gone = true,
            |p: &mut PodFacts| p.ip = None,
        ] {
            let mut q = pod("a", "web", true);
            change(&mut q);
            assert!(select(&svc, &[q]).is_empty());
        }
        // No selector: no endpoints managed.
        assert!(select(&service(&[], None), &[pod("a", "web", true)]).is_empty());
    }

    #[test]
    fn changes_read_as_the_timeline_says_them() {
        let svc = service(&[("app", "web")], None);
        let ready = select(&svc, &[pod("a", "web", true)]).remove(0);
        let unready = select(&svc, &[pod("a", "web", false)]).remove(0);
        let mut term = pod("a", "web", true);
        term.terminating = true;
        let terminating = select(&svc, &[term]).remove(0);
        assert_eq!(
            change("s", None, Some(&ready)).as_deref(),
            Some("added to service s")
        );
        assert_eq!(
            change("s", Some(&ready), Some(&unready)).as_deref(),
            Some("removed from service s: not ready")
        );
        assert_eq!(
            change("s", Some(&ready), Some(&terminating)).as_deref(),
            Some("removed from service s: terminating")
        );
        assert_eq!(change("s", Some(&ready), Some(&ready)), None);
        assert_eq!(
            change("s", Some(&unready), None).as_deref(),
            Some("no longer in service s")
        );
    }
}
