//! tcpSocket probes (`pkg/probe/tcp`), and the dialer that every network probe shares
//! (`probe.ProbeDialer()`), with Go's `net.Dial` error texts.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::ProbeOutcome;
use super::hosts::Hosts;

/// One tcpSocket probe attempt: connect within `timeout`, then close at once without sending
/// anything (`DoTCPProbe`). A zero timeout means none, as for Go's `net.Dialer`. `hosts` are
/// looked up before the system's resolver.
pub async fn probe(host: &str, port: u16, hosts: &Hosts, timeout: Duration) -> ProbeOutcome {
    let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
    match dial(host, port, hosts, deadline, Linger::Probe).await {
        Ok(conn) => {
            drop(conn);
            ProbeOutcome::Success(String::new())
        }
        Err(e) => ProbeOutcome::Failure(e.to_string()),
    }
}

/// Whether a dialed socket gets the probe dialer's `SO_LINGER` of one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Linger {
    /// `probe.ProbeDialer()`: probes (tcpSocket, httpGet, grpc).
    Probe,
    /// Go's default dialer: lifecycle hooks.
    Default,
}

/// Why a dial failed, printed as Go's `*net.OpError` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DialError {
    /// The deadline passed while resolving or connecting: `dial tcp <addr>: i/o timeout`
    /// (`addr` is empty while still resolving the name: `dial tcp: lookup <name>: i/o timeout`).
    Timeout {
        addr: String,
        lookup: Option<String>,
    },
    /// Anything else, already in Go's words.
    Other(String),
}

impl DialError {
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, DialError::Timeout { .. })
    }
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Timeout {
                lookup: Some(name), ..
            } => {
                write!(f, "dial tcp: lookup {name}: i/o timeout")
            }
            DialError::Timeout { addr, .. } => write!(f, "dial tcp {addr}: i/o timeout"),
            DialError::Other(msg) => f.write_str(msg),
        }
    }
}

/// A connected TCP stream. With [`Linger::Probe`] its socket has `SO_LINGER` = 1 s, as the
/// kubelet's probe dialer sets; since closing such a socket may block, it is closed on a
/// blocking thread rather than on the async runtime.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: Option<TcpStream>,
    linger: Linger,
}

impl Conn {
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.as_ref().and_then(|s| s.local_addr().ok())
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        self.stream.as_ref().and_then(|s| s.peer_addr().ok())
    }

    fn stream(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(
            self.get_mut()
                .stream
                .as_mut()
                .expect("the stream is only taken on drop"),
        )
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        if self.linger == Linger::Default {
            return;
        }
        // close(2) on a socket with a non-zero SO_LINGER waits for the peer to acknowledge
        // what is still queued: keep that off the runtime's worker threads.
        if let Ok(handle) = tokio::runtime::Handle::try_current()
            && let Ok(std_stream) = stream.into_std()
        {
            handle.spawn_blocking(move || drop(std_stream));
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }
}

/// Go's `net.JoinHostPort`.
pub(crate) fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Dials `host:port` as Go's `net.Dialer.DialContext("tcp", …)` does: resolves the name, then
/// tries each address in turn until one connects, all before `deadline`. The error is the
/// first address's, in Go's words.
pub(crate) async fn dial(
    host: &str,
    port: u16,
    hosts: &Hosts,
    deadline: Option<Instant>,
    linger: Linger,
) -> Result<Conn, DialError> {
    let addrs = resolve(host, port, hosts, deadline).await?;
    let mut first_error = None;
    for addr in addrs {
        match connect_one(addr, deadline, linger).await {
            Ok(conn) => return Ok(conn),
            Err(e) => {
                let timed_out = e.is_timeout();
                first_error.get_or_insert(e);
                if timed_out {
                    break;
                }
            }
        }
    }
    Err(first_error
        .unwrap_or_else(|| DialError::Other(format!("dial tcp: lookup {host}: no such host"))))
}

async fn resolve(
    host: &str,
    port: u16,
    hosts: &Hosts,
    deadline: Option<Instant>,
) -> Result<Vec<SocketAddr>, DialError> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if let Some(ip) = hosts.lookup(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if host.is_empty() {
        // Go dials the local system for an empty host; so does the kubelet.
        return Ok(vec![
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port),
            SocketAddr::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), port),
        ]);
    }
    let lookup = tokio::net::lookup_host((host, port));
    let result = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, lookup).await {
            Ok(r) => r,
            Err(_) => {
                return Err(DialError::Timeout {
                    addr: String::new(),
                    lookup: Some(host.to_owned()),
                });
            }
        },
        None => lookup.await,
    };
    match result {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(DialError::Other(format!(
                    "dial tcp: lookup {host}: no such host"
                )))
            } else {
                Ok(addrs)
            }
        }
        // getaddrinfo's failures (EAI_NONAME, EAI_NODATA, …) are what Go reports as
        // "no such host" for names that do not resolve.
        Err(_) => Err(DialError::Other(format!(
            "dial tcp: lookup {host}: no such host"
        ))),
    }
}

async fn connect_one(
    addr: SocketAddr,
    deadline: Option<Instant>,
    linger: Linger,
) -> Result<Conn, DialError> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| DialError::Other(format!("dial tcp {addr}: socket: {}", errno_text(&e))))?;
    if linger == Linger::Probe {
        // `probe.ProbeDialer()`: SO_LINGER on, 1 second. The close that it can make block is
        // moved off the runtime by `Conn`'s drop.
        #[allow(deprecated)]
        let _ = socket.set_linger(Some(Duration::from_secs(1)));
    }
    let connect = socket.connect(addr);
    let result = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, connect).await {
            Ok(r) => r,
            Err(_) => {
                return Err(DialError::Timeout {
                    addr: addr.to_string(),
                    lookup: None,
                });
            }
        },
        None => connect.await,
    };
    match result {
        Ok(stream) => Ok(Conn {
            stream: Some(stream),
            linger,
        }),
        Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
            Err(DialError::Timeout {
                addr: addr.to_string(),
                lookup: None,
            })
        }
        Err(e) => Err(DialError::Other(format!(
            "dial tcp {addr}: connect: {}",
            errno_text(&e)
        ))),
    }
}

/// The text Go's `syscall.Errno` prints for an OS error: the C library's message with a
/// lower-case first letter ("connection refused"), without Rust's " (os error N)".
pub(crate) fn errno_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text)
            .to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn open_port_succeeds_without_sending_anything() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            // The prober closes right after connecting: the server reads EOF, no bytes.
            tokio::time::timeout(
                Duration::from_secs(2),
                tokio::io::AsyncReadExt::read_to_end(&mut sock, &mut buf),
            )
            .await
            .expect("the probe closes its connection")
            .unwrap();
            buf
        });
        let outcome = probe("127.0.0.1", port, &Hosts::new(), Duration::from_secs(1)).await;
        assert_eq!(outcome, ProbeOutcome::Success(String::new()));
        assert!(server.await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn host_names_are_resolved() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _keep = tokio::spawn(async move {
            loop {
                let _ = listener.accept().await;
            }
        });
        let outcome = probe("localhost", port, &Hosts::new(), Duration::from_secs(1)).await;
        assert_eq!(outcome, ProbeOutcome::Success(String::new()));
        // The engine's own names come first, and only for the engine that has them.
        let hosts = Hosts::new();
        hosts.alias("monitor.podlife.invalid", IpAddr::from([127, 0, 0, 1]));
        let outcome = probe(
            "monitor.podlife.invalid",
            port,
            &hosts,
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(outcome, ProbeOutcome::Success(String::new()));
        let outcome = probe(
            "monitor.podlife.invalid",
            port,
            &Hosts::new(),
            Duration::from_secs(1),
        )
        .await;
        assert!(
            matches!(&outcome, ProbeOutcome::Failure(m) if m.contains("no such host")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn closed_port_is_connection_refused() {
        let port = closed_port().await;
        let outcome = probe("127.0.0.1", port, &Hosts::new(), Duration::from_secs(1)).await;
        assert_eq!(
            outcome,
            ProbeOutcome::Failure(format!(
                "dial tcp 127.0.0.1:{port}: connect: connection refused"
            ))
        );
    }

    /// A listener whose accept queue is full drops further SYNs, so a connect to it hangs:
    /// that gives a connect timeout without leaving 127.0.0.0/8.
    #[tokio::test]
    async fn connect_timeout_is_io_timeout() {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        let mut saturated = false;
        for _ in 0..8 {
            let s = TcpSocket::new_v4().unwrap();
            match tokio::time::timeout(Duration::from_millis(100), s.connect(addr)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                Ok(Err(e)) => panic!("filler connect failed: {e}"),
                Err(_) => {
                    saturated = true;
                    break;
                }
            }
        }
        assert!(saturated, "the accept queue never filled up");
        let started = std::time::Instant::now();
        let outcome = probe(
            "127.0.0.1",
            addr.port(),
            &Hosts::new(),
            Duration::from_millis(200),
        )
        .await;
        assert_eq!(
            outcome,
            ProbeOutcome::Failure(format!("dial tcp {addr}: i/o timeout"))
        );
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(190) && elapsed < Duration::from_secs(1),
            "{elapsed:?}"
        );
        drop(listener);
    }

    #[test]
    fn errno_texts_are_go_like() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(errno_text(&e), "connection refused");
        let e = io::Error::from_raw_os_error(113);
        assert_eq!(errno_text(&e), "no route to host");
        assert_eq!(join_host_port("::1", "80"), "[::1]:80");
        assert_eq!(join_host_port("10.0.0.1", "80"), "10.0.0.1:80");
    }
}
