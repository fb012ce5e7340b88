//! What the engine reads from a pod spec, with Kubernetes' defaults applied once
//! (`SetDefaults_Probe`, `DefaultTerminationGracePeriodSeconds`, …).

use k8s_openapi::api::core::v1::{
    Container, HTTPGetAction, LifecycleHandler, PodSpec, Probe, TCPSocketAction,
};

/// Kubernetes' default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

/// The pod's restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    pub fn of(spec: &PodSpec) -> Self {
        match spec.restart_policy.as_deref() {
            Some("OnFailure") => Self::OnFailure,
            Some("Never") => Self::Never,
            _ => Self::Always,
        }
    }

    /// `ShouldContainerBeRestarted` for a container that exited with `code`.
    pub fn restarts(self, code: i32) -> bool {
        match self {
            Self::Always => true,
            Self::OnFailure => code != 0,
            Self::Never => false,
        }
    }
}

/// The pod's grace period: `terminationGracePeriodSeconds`, or 30.
pub fn grace_seconds(spec: &PodSpec) -> i64 {
    spec.termination_grace_period_seconds
        .unwrap_or(DEFAULT_GRACE_SECONDS)
        .max(0)
}

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl std::str::FromStr for ProbeKind {
    type Err = String;

    /// `liveness`, `readiness` or `startup`.
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "liveness" => Ok(Self::Liveness),
            "readiness" => Ok(Self::Readiness),
            "startup" => Ok(Self::Startup),
            _ => Err(format!("no probe is called {name:?}")),
        }
    }
}

impl ProbeKind {
    /// `Liveness`, as event messages spell it.
    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Startup => "startup",
        })
    }
}

/// What a probe or a hook does.
#[derive(Debug, Clone, PartialEq)]
pub enum Handler {
    Exec(Vec<String>),
    HttpGet(HTTPGetAction),
    TcpSocket(TCPSocketAction),
    Grpc {
        port: i32,
        service: String,
    },
    /// A hook's `sleep` (seconds).
    Sleep(i64),
}

impl Handler {
    pub fn of_probe(probe: &Probe) -> Option<Self> {
        if let Some(exec) = &probe.exec {
            Some(Handler::Exec(exec.command.clone().unwrap_or_default()))
        } else if let Some(http) = &probe.http_get {
            Some(Handler::HttpGet(http.clone()))
        } else if let Some(tcp) = &probe.tcp_socket {
            Some(Handler::TcpSocket(tcp.clone()))
        } else {
            probe.grpc.as_ref().map(|g| Handler::Grpc {
                port: g.port,
                service: g.service.clone().unwrap_or_default(),
            })
        }
    }

    pub fn of_hook(hook: &LifecycleHandler) -> Option<Self> {
        if let Some(exec) = &hook.exec {
            Some(Handler::Exec(exec.command.clone().unwrap_or_default()))
        } else if let Some(http) = &hook.http_get {
            Some(Handler::HttpGet(http.clone()))
        } else if let Some(tcp) = &hook.tcp_socket {
            Some(Handler::TcpSocket(tcp.clone()))
        } else {
            hook.sleep.as_ref().map(|s| Handler::Sleep(s.seconds))
        }
    }
}

/// A probe with Kubernetes' defaults applied; durations in manifest seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub handler: Handler,
    pub initial_delay: i64,
    pub period: i64,
    pub timeout: i64,
    pub success_threshold: i32,
    pub failure_threshold: i32,
    /// The probe's own `terminationGracePeriodSeconds` (liveness and startup kills).
    pub termination_grace: Option<i64>,
}

impl ProbeSpec {
    pub fn new(probe: &Probe, kind: ProbeKind) -> Option<Self> {
        let positive = |v: Option<i32>, default: i32| v.filter(|v| *v > 0).unwrap_or(default);
        Some(Self {
            kind,
            handler: Handler::of_probe(probe)?,
            initial_delay: i64::from(probe.initial_delay_seconds.unwrap_or(0).max(0)),
            period: i64::from(positive(probe.period_seconds, 10)),
            timeout: i64::from(positive(probe.timeout_seconds, 1)),
            success_threshold: positive(probe.success_threshold, 1),
            failure_threshold: positive(probe.failure_threshold, 3),
            termination_grace: probe.termination_grace_period_seconds,
        })
    }

    /// The probes of a container, in the order the kubelet creates their workers.
    pub fn of_container(container: &Container) -> Vec<Self> {
        [
            (&container.startup_probe, ProbeKind::Startup),
            (&container.liveness_probe, ProbeKind::Liveness),
            (&container.readiness_probe, ProbeKind::Readiness),
        ]
        .into_iter()
        .filter_map(|(probe, kind)| probe.as_ref().and_then(|p| Self::new(p, kind)))
        .collect()
    }
}

/// Which list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A regular init container, run to completion in order.
    Init,
    /// An init container with `restartPolicy: Always`.
    Sidecar,
    App,
}

impl Role {
    pub fn of(container: &Container, init: bool) -> Self {
        match (init, container.restart_policy.as_deref()) {
            (false, _) => Role::App,
            (true, Some("Always")) => Role::Sidecar,
            (true, _) => Role::Init,
        }
    }

    /// `spec.containers{name}` / `spec.initContainers{name}`, as events name containers.
    pub fn field_path(self, name: &str) -> String {
        match self {
            Role::App => format!("spec.containers{{{name}}}"),
            _ => format!("spec.initContainers{{{name}}}"),
        }
    }
}

/// Expands `$(VAR)` references in `command`/`args` from the container's static `env`, as the
/// kubelet does; `$$(VAR)` escapes; unknown references stay as written.
pub fn expand_env(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix("$(") {
            out.push_str("$(");
            rest = escaped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.iter().rev().find(|(k, _)| k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// What the time scale does to `pod`'s exec probes that the user should know: a timeout that,
/// compressed, falls below the runtime's exec latency makes the probe time out for the wrong
/// reason (a 1 s timeout is 100 ms at a scale of 0.1; an exec on Docker takes about that).
pub fn compressed_timeouts(
    pod: &k8s_openapi::api::core::v1::Pod,
    scale: crate::time::TimeScale,
    exec_latency: std::time::Duration,
) -> Vec<String> {
    let spec = pod.spec.clone().unwrap_or_default();
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .flat_map(|c| {
            ProbeSpec::of_container(c)
                .into_iter()
                .map(move |p| (c.name.clone(), p))
        })
        .filter(|(_, p)| matches!(p.handler, Handler::Exec(_)))
        .filter(|(_, p)| scale.seconds(p.timeout) < exec_latency)
        .map(|(container, p)| {
            format!(
                "container {container}: the {} probe's timeout of {}s is {:?} at time scale {}, \
                 less than this runtime's exec latency (about {:?}); the probe may time out \
                 for that reason alone (raise timeoutSeconds or the time scale)",
                p.kind,
                p.timeout,
                scale.seconds(p.timeout),
                scale.factor(),
                exec_latency
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_defaults_follow_kubernetes() {
        let probe: Probe = serde_json::from_value(serde_json::json!({
            "tcpSocket": {"port": 80}, "periodSeconds": 0, "successThreshold": 0
        }))
        .unwrap();
        let spec = ProbeSpec::new(&probe, ProbeKind::Liveness).unwrap();
        assert_eq!(
            (
                spec.initial_delay,
                spec.period,
                spec.timeout,
                spec.success_threshold,
                spec.failure_threshold
            ),
            (0, 10, 1, 1, 3)
        );
    }

    #[test]
    fn restart_policy_decisions() {
        assert!(RestartPolicy::Always.restarts(0));
        assert!(!RestartPolicy::OnFailure.restarts(0));
        assert!(RestartPolicy::OnFailure.restarts(137));
        assert!(!RestartPolicy::Never.restarts(1));
    }

    #[test]
    fn env_references_expand() {
        let env = vec![("NAME".to_owned(), "web".to_owned())];
        assert_eq!(
            expand_env("hi $(NAME) $$(NAME) $(NOPE) $", &env),
            "hi web $(NAME) $(NOPE) $"
        );
    }
}

#[cfg(test)]
mod compressed_timeout_tests {
    use std::time::Duration;

    use super::compressed_timeouts;
    use crate::time::TimeScale;

    fn pod(timeout: i32) -> k8s_openapi::api::core::v1::Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{
                "name": "app",
                "readinessProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": timeout},
                "livenessProbe": {"tcpSocket": {"port": 80}, "timeoutSeconds": 1}
            }]}
        }))
        .unwrap()
    }

    #[test]
    fn warns_only_about_exec_timeouts_below_the_exec_latency() {
        let docker = Duration::from_millis(100);
        let fast = TimeScale::new(0.05).unwrap();
        let warnings = compressed_timeouts(&pod(1), fast, docker);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("readiness probe's timeout of 1s is 50ms"));
        assert!(compressed_timeouts(&pod(3), fast, docker).is_empty());
        assert!(compressed_timeouts(&pod(1), TimeScale::new(1.0).unwrap(), docker).is_empty());
    }
}
