//! `podlife run --monitor NAME[:PORT]`: a stand-in for the endpoint a manifest's hooks call
//! (the seed's preStop sends `GET http://monitor.com:8080/waring`). It answers every request
//! with 200 and puts it on the run's timeline, so one sees that — and when — it was called.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::engine::{EventLog, Observation, What};
use crate::probe::hosts::Hosts;

/// The loopback address monitors listen on, away from 127.0.0.1's usual tenants.
const MONITOR_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77));

/// Parses `NAME[:PORT]` (port 80 by default).
pub fn parse(spec: &str) -> Result<(String, u16), String> {
    match spec.rsplit_once(':') {
        Some((name, port)) => port
            .parse()
            .map(|p| (name.to_owned(), p))
            .map_err(|_| format!("`{port}` is not a port number (expected NAME[:PORT])")),
        None => Ok((spec.to_owned(), 80)),
    }
}

/// Starts a monitor for `name` on `port`; `name` then resolves to it (in `hosts`) for hooks
/// and probes.
pub async fn start(
    name: &str,
    port: u16,
    log: EventLog,
    hosts: &Hosts,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((MONITOR_IP, port)).await?;
    let addr = listener.local_addr()?;
    hosts.alias(name, MONITOR_IP);
    let name = name.to_owned();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            let name = name.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let user_agent = request
                        .headers()
                        .get(hyper::header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    log.push(
                        &name,
                        None,
                        What::Observation(Observation::Request {
                            method: request.method().to_string(),
                            path: request.uri().to_string(),
                            user_agent,
                        }),
                    );
                    async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("ok\n")))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse("monitor.com:8080"), Ok(("monitor.com".into(), 8080)));
        assert_eq!(parse("monitor.com"), Ok(("monitor.com".into(), 80)));
        assert!(parse("monitor.com:x").is_err());
    }
}
