//! Running a probe or hook handler against one container instance, with the kubelet's
//! outcomes and message texts. The network parts are in [`crate::probe`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerPort, HTTPGetAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::spec::Handler;
use crate::probe::hosts::Hosts;
use crate::probe::{self, HttpTarget, ProbeOutcome, Scheme};
use crate::runtime::{ContainerId, ContainerRuntime, ExecError, NetworkAnswer};
use crate::time::TimeScale;

/// The container a handler runs against.
#[derive(Clone)]
pub struct Target {
    pub runtime: Arc<dyn ContainerRuntime>,
    pub id: ContainerId,
    pub pod_ip: IpAddr,
    pub ports: Vec<ContainerPort>,
    pub scale: TimeScale,
    /// `pod_namespace(uid)`, as hook failure messages name the pod.
    pub pod_ref: String,
    pub container: String,
    /// The engine's host names (fixtures such as the seed's `monitor.com`).
    pub hosts: Hosts,
}

impl Target {
    fn port(&self, port: &IntOrString) -> Result<u16, String> {
        match port {
            IntOrString::Int(n) => {
                u16::try_from(*n).map_err(|_| format!("invalid port number: {n}"))
            }
            IntOrString::String(name) => self
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("couldn't find port: {name} in {}", self.container)),
        }
    }

    fn http_target(&self, action: &HTTPGetAction) -> Result<HttpTarget, String> {
        let mut path = action.path.clone().unwrap_or_default();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        Ok(HttpTarget {
            scheme: match action.scheme.as_deref() {
                Some("HTTPS") => Scheme::Https,
                _ => Scheme::Http,
            },
            host: action
                .host
                .clone()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| self.pod_ip.to_string()),
            port: self.port(&action.port)?,
            path,
            headers: action
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            hosts: self.hosts.clone(),
        })
    }
}

/// One probe attempt; `timeout` in manifest seconds.
pub async fn probe(target: &Target, handler: &Handler, timeout: i64) -> ProbeOutcome {
    let wall = target.scale.seconds(timeout);
    match handler {
        Handler::Exec(command) => {
            match target.runtime.exec(&target.id, command, Some(wall)).await {
                Ok(out) if out.exit_code == 0 => ProbeOutcome::Success(out.output),
                Ok(out) => ProbeOutcome::Failure(out.output),
                Err(ExecError::TimedOut) => {
                    ProbeOutcome::Failure(format!("command {:?} timed out", command.join(" ")))
                }
                Err(ExecError::Failed(e)) => ProbeOutcome::Error(e),
            }
        }
        Handler::HttpGet(action) => match target.http_target(action) {
            Ok(http) => match simulated(target, http.port, Some(wall)).await {
                Some(outcome) => outcome,
                None => probe::http::probe(&http, wall).await,
            },
            Err(e) => ProbeOutcome::Error(e),
        },
        Handler::TcpSocket(action) => match target.port(&action.port) {
            Ok(port) => {
                if let Some(outcome) = simulated(target, port, Some(wall)).await {
                    return outcome;
                }
                let host = action
                    .host
                    .clone()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| target.pod_ip.to_string());
                probe::tcp::probe(&host, port, &target.hosts, wall).await
            }
            Err(e) => ProbeOutcome::Error(e),
        },
        Handler::Grpc { port, service } => match u16::try_from(*port) {
            Ok(port) => match simulated(target, port, Some(wall)).await {
                Some(outcome) => outcome,
                None => probe::grpc::probe(&target.pod_ip.to_string(), port, service, wall).await,
            },
            Err(_) => ProbeOutcome::Error(format!("invalid port number: {port}")),
        },
        Handler::Sleep(_) => ProbeOutcome::Error("sleep is not a probe handler".into()),
    }
}

/// The answer of a runtime that simulates the pod network ([`NetworkAnswer`]), if it does.
async fn simulated(target: &Target, port: u16, timeout: Option<Duration>) -> Option<ProbeOutcome> {
    let answer = target
        .runtime
        .network_check(&target.id, port, timeout)
        .await?;
    Some(match answer {
        NetworkAnswer::Passed => ProbeOutcome::Success(String::new()),
        NetworkAnswer::Failed(why) => ProbeOutcome::Failure(why),
        NetworkAnswer::TimedOut => ProbeOutcome::Failure(format!("port {port}: timeout")),
    })
}

/// What a successful hook left to report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HookNote {
    /// `request to HTTPS lifecycle hook … retry with HTTP succeeded`, for LifecycleHTTPFallback.
    pub http_fallback: Option<String>,
}

/// Runs a lifecycle hook to its end (the caller bounds it); `Err` holds the kubelet's failure
/// message for the container's status and logs.
pub async fn hook(target: &Target, handler: &Handler) -> Result<HookNote, String> {
    let pod = &target.pod_ref;
    let container = &target.container;
    match handler {
        Handler::Exec(command) => {
            let joined = command.join(" ");
            let fail = |error: String, output: &str| {
                format!(
                    "Exec lifecycle hook ([{joined}]) for Container {container:?} in Pod {pod:?} failed - error: {error}, message: {output:?}"
                )
            };
            match target.runtime.exec(&target.id, command, None).await {
                Ok(out) if out.exit_code == 0 => Ok(HookNote::default()),
                Ok(out) => Err(fail(
                    format!("command '{joined}' exited with {}: ", out.exit_code),
                    &out.output,
                )),
                Err(ExecError::TimedOut) => Err(fail("timed out".into(), "")),
                Err(ExecError::Failed(e)) => Err(fail(e, "")),
            }
        }
        Handler::HttpGet(action) => {
            let path = action.path.clone().unwrap_or_else(|| "/".into());
            let fail = |error: String| {
                format!(
                    "HTTP lifecycle hook ({path}) for Container {container:?} in Pod {pod:?} failed - error: {error}"
                )
            };
            let http = target.http_target(action).map_err(&fail)?;
            match simulated(target, http.port, None).await {
                Some(ProbeOutcome::Failure(why)) => return Err(fail(why)),
                Some(_) => return Ok(HookNote::default()),
                None => {}
            }
            let response = probe::http::hook(&http).await.map_err(fail)?;
            Ok(HookNote {
                http_fallback: response.fell_back_to_http.then(|| {
                    format!(
                        "request to HTTPS lifecycle hook {}:{} got HTTP response, retry with HTTP succeeded",
                        http.host, http.port
                    )
                }),
            })
        }
        Handler::Sleep(seconds) => {
            tokio::time::sleep(target.scale.seconds(*seconds)).await;
            Ok(HookNote::default())
        }
        Handler::TcpSocket(_) | Handler::Grpc { .. } => Err(
            "Cannot run handler: invalid handler: tcpSocket is not supported by lifecycle hooks"
                .into(),
        ),
    }
}
