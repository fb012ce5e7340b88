//! Rules for probes and lifecycle hooks (`ValidateProbe`, `validateLifecycle` in Kubernetes'
//! `pkg/apis/core/validation`), checked against docs/semantics.md §3 and §5.1.

use k8s_openapi::api::core::v1::{
    ExecAction, GRPCAction, HTTPGetAction, Lifecycle, LifecycleHandler, Probe, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{is_http_header_name, is_valid_port_name};
use super::pod::ContainerContext;
use super::{ErrorKind, FieldError, one_of, port_number};
use crate::manifest::field::FieldPath;

/// Which probe a [`Probe`] is; the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
    /// A pasted probe fragment whose field name is not known.
    Unknown,
}

/// Kubernetes' defaults for explicit zeros (`SetDefaults_Probe`).
const PROBE_DEFAULTS: [(&str, i32); 4] = [
    ("periodSeconds", 10),
    ("timeoutSeconds", 1),
    ("successThreshold", 1),
    ("failureThreshold", 3),
];

pub fn validate_probe(
    probe: &Probe,
    kind: ProbeKind,
    path: &FieldPath,
    ctx: &ContainerContext,
    errors: &mut Vec<FieldError>,
) {
    one_handler(
        &[
            ("exec", probe.exec.is_some()),
            ("httpGet", probe.http_get.is_some()),
            ("tcpSocket", probe.tcp_socket.is_some()),
            ("grpc", probe.grpc.is_some()),
        ],
        path,
        errors,
    );
    if let Some(exec) = &probe.exec {
        validate_exec(exec, &path.child("exec"), errors);
    }
    if let Some(http) = &probe.http_get {
        validate_http_get(http, &path.child("httpGet"), ctx, "probe", errors);
    }
    if let Some(tcp) = &probe.tcp_socket {
        validate_tcp_socket(tcp, &path.child("tcpSocket"), ctx, "probe", errors);
    }
    if let Some(grpc) = &probe.grpc {
        validate_grpc(grpc, &path.child("grpc"), errors);
    }

    if let Some(v) = probe.initial_delay_seconds.filter(|v| *v < 0) {
        errors.push(FieldError::invalid(
            path.child("initialDelaySeconds"),
            v,
            "must be greater than or equal to 0",
        ));
    }
    let values = [
        probe.period_seconds,
        probe.timeout_seconds,
        probe.success_threshold,
        probe.failure_threshold,
    ];
    for ((name, default), value) in PROBE_DEFAULTS.iter().zip(values) {
        match value {
            Some(v) if v < 0 => errors.push(FieldError::invalid(
                path.child(name),
                v,
                "must be greater than or equal to 0",
            )),
            Some(0) => errors.push(
                FieldError::new(
                    path.child(name),
                    ErrorKind::Defaulted(format!("0 means the default, {default}")),
                    "",
                )
                .help(format!(
                    "Kubernetes treats an explicit 0 as unset and uses {default}; write {default} \
                     (or leave the field out) to say what happens"
                )),
            ),
            _ => {}
        }
    }
    let restarts = matches!(kind, ProbeKind::Liveness | ProbeKind::Startup);
    if let Some(v) = probe.success_threshold.filter(|v| restarts && *v > 1) {
        errors.push(
            FieldError::invalid(path.child("successThreshold"), v, "must be 1").help(
                "liveness and startup probes succeed on the first success; only readiness probes \
                 may require several",
            ),
        );
    }
    if let Some(grace) = probe.termination_grace_period_seconds {
        match kind {
            ProbeKind::Readiness => errors.push(
                FieldError::invalid(
                    path.child("terminationGracePeriodSeconds"),
                    grace,
                    "must not be set for readinessProbes",
                )
                .help("a failing readiness probe never kills the container, so there is no grace period to set"),
            ),
            _ if grace <= 0 => errors.push(FieldError::invalid(
                path.child("terminationGracePeriodSeconds"),
                grace,
                "must be greater than 0",
            )),
            _ => {}
        }
    }
}

/// `lifecycle`: `postStart` and `preStop` handlers, and `stopSignal`.
pub fn validate_lifecycle(
    lifecycle: &Lifecycle,
    path: &FieldPath,
    ctx: &ContainerContext,
    errors: &mut Vec<FieldError>,
) {
    if let Some(hook) = &lifecycle.post_start {
        validate_hook(hook, &path.child("postStart"), ctx, Hook::PostStart, errors);
    }
    if let Some(hook) = &lifecycle.pre_stop {
        validate_hook(hook, &path.child("preStop"), ctx, Hook::PreStop, errors);
    }
    if let Some(signal) = &lifecycle.stop_signal {
        let path = path.child("stopSignal");
        if !is_signal_name(signal) {
            errors.push(FieldError::not_supported(
                path.clone(),
                signal,
                &COMMON_SIGNALS,
            ));
        } else if signal.starts_with("SIGRT") {
            // Valid for Kubernetes; podlife's runtimes send only the standard signals.
            errors.push(
                FieldError::new(
                    path.clone(),
                    ErrorKind::RuntimeFailure,
                    format!(
                        "podlife cannot send the real-time signal {signal}: the image's STOPSIGNAL \
                         or SIGTERM is sent instead"
                    ),
                )
                .help("use a standard signal such as SIGQUIT or SIGUSR1 to test with podlife"),
            );
        }
        if ctx.os_name == Some(None) {
            errors.push(
                FieldError::forbidden(
                    path,
                    "may not be set for containers with empty `spec.os.name`",
                )
                .help("add `os: {name: linux}` to the pod spec"),
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hook {
    PostStart,
    PreStop,
}

fn validate_hook(
    hook: &LifecycleHandler,
    path: &FieldPath,
    ctx: &ContainerContext,
    which: Hook,
    errors: &mut Vec<FieldError>,
) {
    one_handler(
        &[
            ("exec", hook.exec.is_some()),
            ("httpGet", hook.http_get.is_some()),
            ("tcpSocket", hook.tcp_socket.is_some()),
            ("sleep", hook.sleep.is_some()),
        ],
        path,
        errors,
    );
    if let Some(exec) = &hook.exec {
        validate_exec(exec, &path.child("exec"), errors);
    }
    if let Some(http) = &hook.http_get {
        validate_http_get(http, &path.child("httpGet"), ctx, "hook", errors);
    }
    if let Some(sleep) = &hook.sleep {
        let grace = ctx.grace_period;
        if sleep.seconds < 0 || sleep.seconds > grace {
            errors.push(
                FieldError::invalid(
                    path.child("sleep").child("seconds"),
                    sleep.seconds,
                    format!("must be non-negative and less than terminationGracePeriodSeconds ({grace})"),
                )
                .help("the sleep counts against the grace period; raise terminationGracePeriodSeconds or sleep less"),
            );
        }
    }
    if let Some(tcp) = &hook.tcp_socket {
        validate_tcp_socket(tcp, &path.child("tcpSocket"), ctx, "hook", errors);
        let consequence = match which {
            Hook::PostStart => {
                "so the hook fails every time: the container is killed (FailedPostStartHook) and \
                 restarted per restartPolicy"
            }
            Hook::PreStop => {
                "so the hook fails every time (FailedPreStopHook) and termination goes on without it"
            }
        };
        errors.push(
            FieldError::new(
                path.child("tcpSocket"),
                ErrorKind::RuntimeFailure,
                format!(
                    "tcpSocket is deprecated for lifecycle hooks: the API accepts it but the kubelet \
                     has no implementation, {consequence}"
                ),
            )
            .help("use exec, httpGet or sleep"),
        );
    }
}

/// Exactly one handler: Kubernetes' "must specify a handler type" / "may not specify more
/// than 1 handler type".
fn one_handler(handlers: &[(&str, bool)], path: &FieldPath, errors: &mut Vec<FieldError>) {
    let set: Vec<&str> = handlers
        .iter()
        .filter(|(_, s)| *s)
        .map(|(n, _)| *n)
        .collect();
    let names: Vec<String> = handlers.iter().map(|(n, _)| format!("`{n}`")).collect();
    match set.as_slice() {
        [] => errors.push(
            FieldError::required(path.clone(), "must specify a handler type")
                .help(format!("add one of {}", names.join(", "))),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for extra in rest {
                errors.push(
                    FieldError::forbidden(
                        path.child(extra),
                        "may not specify more than 1 handler type",
                    )
                    .help(format!("keep `{first}` or `{extra}`, not both")),
                );
            }
        }
    }
}

fn validate_exec(exec: &ExecAction, path: &FieldPath, errors: &mut Vec<FieldError>) {
    if exec.command.as_ref().is_none_or(Vec::is_empty) {
        errors.push(
            FieldError::required(path.child("command"), "")
                .help("give the command as a list, e.g. [\"cat\", \"/tmp/healthy\"]; it does not run in a shell"),
        );
    }
}

fn validate_http_get(
    http: &HTTPGetAction,
    path: &FieldPath,
    ctx: &ContainerContext,
    what: &str,
    errors: &mut Vec<FieldError>,
) {
    validate_port(&http.port, &path.child("port"), ctx, what, errors);
    one_of(
        http.scheme.as_deref(),
        path.child("scheme"),
        &["HTTP", "HTTPS"],
        errors,
    );
    for (i, header) in http.http_headers.iter().flatten().enumerate() {
        if let Err(reasons) = is_http_header_name(&header.name) {
            errors.push(FieldError::invalid(
                path.child("httpHeaders").index(i).child("name"),
                format!("{:?}", header.name),
                reasons.join("; "),
            ));
        }
    }
}

fn validate_tcp_socket(
    tcp: &TCPSocketAction,
    path: &FieldPath,
    ctx: &ContainerContext,
    what: &str,
    errors: &mut Vec<FieldError>,
) {
    validate_port(&tcp.port, &path.child("port"), ctx, what, errors);
}

fn validate_grpc(grpc: &GRPCAction, path: &FieldPath, errors: &mut Vec<FieldError>) {
    port_number(grpc.port, path.child("port"), errors);
}

/// A probe or hook port: 1–65535, or the name of a port the container declares.
pub fn validate_port(
    port: &IntOrString,
    path: &FieldPath,
    ctx: &ContainerContext,
    what: &str,
    errors: &mut Vec<FieldError>,
) {
    match port {
        IntOrString::Int(n) => port_number(*n, path.clone(), errors),
        IntOrString::String(name) => {
            if let Err(reasons) = is_valid_port_name(name) {
                let mut e =
                    FieldError::invalid(path.clone(), format!("{name:?}"), reasons.join("; "));
                if name.parse::<u16>().is_ok() {
                    e = e.help(format!("write the port number without quotes: {name}"));
                }
                errors.push(e);
                return;
            }
            let Some(ports) = &ctx.ports else { return };
            if !ports.iter().any(|p| p.name.as_deref() == Some(name)) {
                let declared: Vec<String> = ports
                    .iter()
                    .filter_map(|p| p.name.as_ref().map(|n| format!("`{n}`")))
                    .collect();
                let help = if declared.is_empty() {
                    format!(
                        "declare it under the container's `ports` (`- name: {name}` with its \
                         `containerPort`), or use the port number"
                    )
                } else {
                    format!("the container's named ports are {}", declared.join(", "))
                };
                errors.push(
                    FieldError::new(
                        path.clone(),
                        ErrorKind::NotFound(format!("{name:?}")),
                        format!(
                            "the container declares no port named {name:?}, so the kubelet fails this \
                             {what} at run time (podlife checks it up front)"
                        ),
                    )
                    .help(help),
                );
            }
        }
    }
}

const COMMON_SIGNALS: [&str; 8] = [
    "SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH",
];

/// Signal names Kubernetes accepts for `stopSignal` (Linux names, `SIGRTMIN+n`, `SIGRTMAX-n`).
fn is_signal_name(s: &str) -> bool {
    const LINUX: [&str; 31] = [
        "SIGABRT",
        "SIGALRM",
        "SIGBUS",
        "SIGCHLD",
        "SIGCLD",
        "SIGCONT",
        "SIGFPE",
        "SIGHUP",
        "SIGILL",
        "SIGINT",
        "SIGIO",
        "SIGIOT",
        "SIGKILL",
        "SIGPIPE",
        "SIGPOLL",
        "SIGPROF",
        "SIGPWR",
        "SIGQUIT",
        "SIGSEGV",
        "SIGSTKFLT",
        "SIGSTOP",
        "SIGSYS",
        "SIGTERM",
        "SIGTRAP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGUSR1",
        "SIGUSR2",
        "SIGVTALRM",
    ];
    const MORE: [&str; 3] = ["SIGWINCH", "SIGXCPU", "SIGXFSZ"];
    if LINUX.contains(&s) || MORE.contains(&s) || s == "SIGRTMIN" || s == "SIGRTMAX" {
        return true;
    }
    let offset = |rest: &str| rest.parse::<u8>().is_ok_and(|n| (1..=15).contains(&n));
    s.strip_prefix("SIGRTMIN+").is_some_and(offset)
        || s.strip_prefix("SIGRTMAX-").is_some_and(offset)
}
