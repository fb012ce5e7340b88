//! The network handlers of probes and hooks, with the kubelet's exact behaviour and messages
//! (docs/semantics.md §3 and §5): httpGet, tcpSocket and gRPC. Exec handlers run
//! through the container runtime and live in the engine.
//!
//! Each function performs one attempt; thresholds, periods and events are the engine's.

pub mod grpc;
pub mod hosts;
pub mod http;
pub mod tcp;

/// The result of one probe attempt, as the kubelet classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The check passed. The text is the kubelet's output for it (may be empty).
    Success(String),
    /// Passed with a warning (an HTTP 3xx the prober did not follow): counts as success, and
    /// the engine emits a `ProbeWarning` event with this text.
    Warning(String),
    /// The check failed; the text is what the `Unhealthy` event says after "… probe failed: ".
    Failure(String),
    /// The prober could not run the check (bad request, unknown port name…): does not count
    /// toward thresholds.
    Error(String),
}

/// The scheme of an httpGet action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// A resolved httpGet target: the engine has already applied defaults (host = pod IP, path
/// `/`) and resolved named ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    pub scheme: Scheme,
    /// An IP address or a host name.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// `httpHeaders`, in order; a `Host` entry sets the request's Host header.
    pub headers: Vec<(String, String)>,
    /// The engine's own host names, looked up before the system's resolver.
    pub hosts: hosts::Hosts,
}

/// The Kubernetes version podlife's User-Agent strings claim (`kube-probe/1.37`).
pub const KUBE_VERSION: &str = "1.37";
