//! testapp: the program that podlife's tests run inside their "containers" (a local process, or
//! PID 1 of a container image), so that a test can observe what the engine did to it: it serves
//! HTTP, TCP and gRPC health with scheduled or toggled health, handles signals itself, and logs
//! every event as a JSON line. See `testapp --help`.

mod cli;
mod events;
mod grpc;
mod health;
mod http;
mod tcp;

use std::future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::cli::Args;
use crate::events::EventLog;
use crate::health::Health;

/// What the servers share.
pub struct App {
    pub name: String,
    pub log: Arc<EventLog>,
    pub health: Arc<Health>,
    pub backend: Option<String>,
    /// `--tcp-follows-health`.
    pub tcp_follows_health: bool,
}

/// Completes once shutdown has begun (the servers then drop their listeners).
pub async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which happens only when the process exits.
    let _ = shutdown.wait_for(|&stop| stop).await;
}

fn main() -> ExitCode {
    let start = Instant::now();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("testapp: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args, start)) {
        Ok(never) => match never {},
        Err(message) => {
            eprintln!("testapp: {message}");
            ExitCode::from(2)
        }
    }
}

/// The signals that are logged (and, for TERM and INT, acted on).
struct Signals(Vec<(Signal, &'static str, i32)>);

impl Signals {
    fn install() -> std::io::Result<Self> {
        let kinds = [
            (SignalKind::terminate(), "SIGTERM", 15),
            (SignalKind::interrupt(), "SIGINT", 2),
            (SignalKind::quit(), "SIGQUIT", 3),
            (SignalKind::hangup(), "SIGHUP", 1),
            (SignalKind::user_defined1(), "SIGUSR1", 10),
            (SignalKind::user_defined2(), "SIGUSR2", 12),
        ];
        let mut signals = Vec::with_capacity(kinds.len());
        for (kind, name, number) in kinds {
            signals.push((signal(kind)?, name, number));
        }
        Ok(Self(signals))
    }

    /// The next signal received: its name and number.
    async fn recv(&mut self) -> (&'static str, i32) {
        future::poll_fn(|cx| {
            for (signal, name, number) in &mut self.0 {
                if signal.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready((*name, *number));
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}

async fn bind(ip: IpAddr, port: Option<u16>, what: &str) -> Result<Option<TcpListener>, String> {
    let Some(port) = port else { return Ok(None) };
    let addr = SocketAddr::new(ip, port);
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|e| format!("cannot listen for {what} on {addr}: {e}"))
}

fn port_of(listener: Option<&TcpListener>) -> Value {
    listener
        .and_then(|l| l.local_addr().ok())
        .map_or(Value::Null, |a| Value::from(a.port()))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "testapp".to_owned())
}

fn write_file(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)
}

/// Exits the process: writes the termination message, logs `exit`, and exits with `code`.
fn finish(log: &EventLog, args: &Args, code: u8, reason: &str) -> ! {
    if let Some(message) = &args.termination_message {
        let _ = std::fs::write(&args.termination_log, message);
    }
    log.log(
        "exit",
        &[("code", Value::from(code)), ("reason", Value::from(reason))],
    );
    std::process::exit(i32::from(code))
}

async fn run(args: Args, start: Instant) -> Result<std::convert::Infallible, String> {
    // Handlers first, so that a signal sent as soon as the start event is seen is caught.
    let mut signals = Signals::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let log = Arc::new(
        EventLog::open(start, args.log.as_deref())
            .map_err(|e| format!("cannot open the event log file: {e}"))?,
    );

    let ip = match args.bind {
        Some(ip) => ip,
        None => match std::env::var("POD_IP") {
            Ok(pod_ip) if !pod_ip.trim().is_empty() => pod_ip
                .trim()
                .parse()
                .map_err(|e| format!("POD_IP {pod_ip:?} is not an IP address: {e}"))?,
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        },
    };
    let name = args
        .name
        .clone()
        .or_else(|| std::env::var("POD_NAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(hostname);

    let http_listener = bind(ip, args.http, "HTTP").await?;
    let tcp_listener = bind(ip, args.tcp, "TCP").await?;
    let grpc_listener = bind(ip, args.grpc, "gRPC").await?;

    let mut written = Vec::new();
    let mut write_error = None;
    for (path, content) in &args.write_file {
        match write_file(path, content) {
            Ok(()) => written.push(Value::from(path.display().to_string())),
            Err(e) => {
                write_error = Some(format!("write-file {} failed: {e}", path.display()));
                break;
            }
        }
    }

    log.log(
        "start",
        &[
            ("pid", Value::from(std::process::id())),
            ("name", Value::from(name.as_str())),
            ("version", Value::from(env!("CARGO_PKG_VERSION"))),
            ("bind", Value::from(ip.to_string())),
            ("http_port", port_of(http_listener.as_ref())),
            ("tcp_port", port_of(tcp_listener.as_ref())),
            ("grpc_port", port_of(grpc_listener.as_ref())),
            ("grpc_service", Value::from(args.grpc_service.as_str())),
            ("files", Value::from(written)),
            (
                "args",
                Value::from(std::env::args().skip(1).collect::<Vec<_>>()),
            ),
        ],
    );
    if let Some(error) = write_error {
        eprintln!("testapp: {error}");
        finish(&log, &args, 1, &error);
    }

    let health = Arc::new(Health::new(
        start,
        args.healthy_after,
        args.unhealthy_after,
        args.health_file.clone(),
        log.clone(),
    ));
    tokio::spawn(health.clone().monitor());

    let app = Arc::new(App {
        name,
        log: log.clone(),
        health,
        backend: args.backend.clone(),
        tcp_follows_health: args.tcp_follows_health,
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    if let Some(listener) = http_listener {
        tokio::spawn(http::serve(listener, app.clone(), shutdown_rx.clone()));
    }
    if let Some(listener) = tcp_listener {
        tokio::spawn(tcp::serve(listener, app.clone(), shutdown_rx.clone()));
    }
    if let Some(listener) = grpc_listener {
        tokio::spawn(grpc::serve(
            listener,
            app.clone(),
            args.grpc_service.clone(),
            shutdown_rx.clone(),
        ));
    }

    let exit_after = async {
        match args.exit_after {
            Some(after) => tokio::time::sleep_until((start + after).into()).await,
            None => future::pending().await,
        }
    };
    tokio::pin!(exit_after);
    let mut drain_until: Option<(Instant, &'static str)> = None;
    loop {
        let drained = async {
            match drain_until {
                Some((until, _)) => tokio::time::sleep_until(until.into()).await,
                None => future::pending().await,
            }
        };
        tokio::select! {
            (signal, number) = signals.recv() => {
                let stops = matches!(signal, "SIGTERM" | "SIGINT");
                let action = if !stops {
                    "logged"
                } else if args.ignore_sigterm {
                    "ignored"
                } else if drain_until.is_some() {
                    "already-shutting-down"
                } else {
                    "shutdown"
                };
                log.log(
                    "signal",
                    &[
                        ("signal", Value::from(signal)),
                        ("number", Value::from(number)),
                        ("action", Value::from(action)),
                    ],
                );
                if action == "shutdown" {
                    // Stop accepting: the servers drop their listeners.
                    shutdown_tx.send_replace(true);
                    drain_until = Some((Instant::now() + args.drain, signal));
                }
            }
            () = &mut exit_after => {
                finish(&log, &args, args.exit_code, "exit-after");
            }
            () = drained => {
                let signal = drain_until.map_or("signal", |(_, signal)| signal);
                finish(&log, &args, args.sigterm_exit_code, signal);
            }
        }
    }
}
