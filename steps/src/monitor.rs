//! The monitor fixture: an HTTP server that answers 200 to every request, as `podlife run
//! --monitor` does (a hook that calls a recorder path must not fail for a 404), and puts each
//! request on the engine's timeline, so steps judge requests by the engine's clock.
//!
//! ```gherkin
//! Given a monitor "monitor.com" on port 8080
//! Given a TLS monitor "audit.example" on port 8443
//! Then the monitor "monitor.com" received GET "/waring" 1 time within 10s
//! Then the monitor "monitor.com" received GET "/hook?c=app" at least 2 times within 10s
//! Then the monitor "monitor.com" received GET "/waring" before the stop signal was sent
//! Then the monitor "monitor.com" received GET "/started" before GET "/stopping"
//! ```
//!
//! It runs in the test's own process: on a loopback address of its own on the process runtime
//! (pods share the machine's network), on the gateway of the run's network on Docker (pods
//! reach it there). Either way the pods' `/etc/hosts` and the engine resolve its name. A TLS
//! monitor speaks HTTPS with a self-signed certificate for its name, made at start, as a
//! hook's `scheme: HTTPS` target would (the kubelet does not verify certificates).

use std::net::IpAddr;

use cucumber::{given, then};
use podlife::engine::{EventLog, Observation, Record, What};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::assertions::{SIGNAL_PATIENCE, await_stop_signal};
use crate::timing::{self, seconds};
use crate::{PodlifeWorld, duration};

/// A running monitor; it stops when dropped.
pub struct Monitor {
    pub name: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on `ip:port` and records every request in `log` as the monitor `name`'s; with
/// `tls`, over HTTPS with a self-signed certificate for `name`.
pub async fn start(
    name: &str,
    ip: IpAddr,
    port: u16,
    tls: bool,
    log: EventLog,
) -> Result<Monitor, String> {
    let listener = tokio::net::TcpListener::bind((ip, port))
        .await
        .map_err(|e| format!("the monitor {name} cannot listen on {ip}:{port}: {e}"))?;
    let acceptor = if tls { Some(self_signed(name)?) } else { None };
    let owner = name.to_owned();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (owner, log) = (owner.clone(), log.clone());
            match acceptor.clone() {
                Some(acceptor) => tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        answer(stream, owner, log).await;
                    }
                }),
                None => tokio::spawn(answer(stream, owner, log)),
            };
        }
    });
    Ok(Monitor {
        name: name.to_owned(),
        task,
    })
}

/// A TLS acceptor with a certificate for `name` signed by itself.
fn self_signed(name: &str) -> Result<tokio_rustls::TlsAcceptor, String> {
    let failed = |e: &dyn std::fmt::Display| format!("the TLS monitor {name}: {e}");
    let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).map_err(|e| failed(&e))?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| failed(&e))?;
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| failed(&e))?
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .map_err(|e| failed(&e))?;
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

/// Reads one request, records it, answers `200 ok` and closes the connection.
async fn answer<S>(stream: S, name: String, log: EventLog)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let (method, target) = (
        words.next().unwrap_or("").to_owned(),
        words.next().unwrap_or("").to_owned(),
    );
    let (mut user_agent, mut body) = (String::new(), 0usize);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = header.split_once(':') {
            match key.trim().to_ascii_lowercase().as_str() {
                "user-agent" => user_agent = value.trim().to_owned(),
                "content-length" => body = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    // The body is read so that closing does not reset the connection under the client.
    let _ = (&mut reader)
        .take(body as u64)
        .read_to_end(&mut Vec::new())
        .await;
    log.push(
        &name,
        None,
        What::Observation(Observation::Request {
            method,
            path: target,
            user_agent,
        }),
    );
    let mut stream = reader.into_inner();
    let _ = stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        .await;
    let _ = stream.shutdown().await;
}

#[given(regex = r#"^a (TLS )?monitor "([^"]+)"(?: on port (\d+))?$"#)]
async fn monitor_fixture(world: &mut PodlifeWorld, tls: String, name: String, port: String) {
    let tls = !tls.is_empty();
    let port = port.parse().unwrap_or(if tls { 443 } else { 80 });
    let run = world.run().await;
    run.start_monitor(&name, port, tls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Whether `target` (a request's path and query) is what a step names: with a `?` the same
/// path and query, without one the same path, whatever the query.
fn same_target(target: &str, named: &str) -> bool {
    if named.contains('?') {
        target == named
    } else {
        target.split('?').next() == Some(named)
    }
}

/// The monitor's requests of `method target`, in order.
fn requests(world: &PodlifeWorld, monitor: &str, method: &str, target: &str) -> Vec<Record> {
    if world.started().monitor(monitor).is_none() {
        panic!("no monitor {monitor:?}: add `Given a monitor \"{monitor}\"`");
    }
    world
        .records()
        .into_iter()
        .filter(|r| {
            r.pod == monitor
                && matches!(r.observation(), Some(Observation::Request { method: m, path, .. })
                    if m == method && same_target(path, target))
        })
        .collect()
}

/// `n` requests exactly (or at least `n`), judged on when the `n`th came.
#[then(
    regex = r#"^the monitor "([^"]+)" received ([A-Z]+) "([^"]+)" (at least )?(\d+) times? within (\S+)$"#
)]
async fn monitor_received(
    world: &mut PodlifeWorld,
    monitor: String,
    method: String,
    target: String,
    at_least: String,
    times: usize,
    limit: String,
) {
    let expected = format!("{monitor} to receive {method} {target} {at_least}{times} time(s)");
    world
        .within(duration::of(&limit), &expected, |w, from| {
            timing::nth(&requests(w, &monitor, &method, &target), times, from)
        })
        .await;
    let got = requests(world, &monitor, &method, &target).len();
    if at_least.is_empty() && got != times {
        world.fail(&format!(
            "{monitor} received {method} {target} {got} times, not {times}"
        ));
    }
}

/// The first matching request, or a failure.
fn first_request(world: &PodlifeWorld, monitor: &str, method: &str, target: &str) -> Record {
    requests(world, monitor, method, target)
        .into_iter()
        .next()
        .unwrap_or_else(|| world.fail(&format!("{monitor} to receive {method} {target}")))
}

#[then(
    regex = r#"^the monitor "([^"]+)" received ([A-Z]+) "([^"]+)" before the stop signal was sent$"#
)]
async fn monitor_before_stop(
    world: &mut PodlifeWorld,
    monitor: String,
    method: String,
    target: String,
) {
    let pod = world.pod(None);
    let stop = await_stop_signal(world, &pod, SIGNAL_PATIENCE).await;
    let first = first_request(world, &monitor, &method, &target);
    if first.seq > stop.seq {
        world.fail(&format!(
            "{method} {target} to reach {monitor} before the stop signal; it came {} after",
            seconds(first.manifest.saturating_sub(stop.manifest))
        ));
    }
}

/// The first of each, in the engine's log order.
#[then(regex = r#"^the monitor "([^"]+)" received ([A-Z]+) "([^"]+)" before ([A-Z]+) "([^"]+)"$"#)]
fn monitor_order(
    world: &mut PodlifeWorld,
    monitor: String,
    method: String,
    target: String,
    later_method: String,
    later: String,
) {
    let first = first_request(world, &monitor, &method, &target);
    let second = first_request(world, &monitor, &later_method, &later);
    if first.seq > second.seq {
        world.fail(&format!(
            "{method} {target} to reach {monitor} before {later_method} {later}; it came {} after",
            seconds(first.manifest.saturating_sub(second.manifest))
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_named_path_matches_any_query_a_named_query_matches_exactly() {
        assert!(super::same_target("/hook?c=app", "/hook"));
        assert!(super::same_target("/hook?c=app", "/hook?c=app"));
        assert!(!super::same_target("/hook?c=app2", "/hook?c=app"));
        assert!(!super::same_target("/hooks", "/hook"));
    }
}
