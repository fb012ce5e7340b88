//! gRPC health probes, as the kubelet makes them (`pkg/probe/grpc`): `grpc.health.v1.Health/
//! Check` over plaintext HTTP/2, with the kubelet's result texts.
//!
//! The kubelet dials with grpc-go's `WithBlock()` under the probe's timeout: a connection
//! counts once the server's HTTP/2 preface (a SETTINGS frame) has arrived, failed attempts
//! are retried with grpc-go's backoff, and a connection not made before the deadline gives
//! `timeout: failed to connect service "<addr>" within <timeout>: context deadline exceeded`.
//! The RPC runs under what is left of the same timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use http_body_util::combinators::MapErr;
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper::header::{HeaderValue, USER_AGENT};
use hyper::{Request, Response, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::http::go_quote;
use super::tcp::{self, Linger, errno_text, join_host_port};
use super::{KUBE_VERSION, ProbeOutcome};

/// grpc-go's default connection backoff.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(120);
const BACKOFF_MULTIPLIER: f64 = 1.6;
const BACKOFF_JITTER: f64 = 0.2;

/// One grpc probe attempt against `host:port` (`service` "" when unset).
pub async fn probe(host: &str, port: u16, service: &str, timeout: Duration) -> ProbeOutcome {
    let deadline = Instant::now() + timeout;
    let addr = join_host_port(host, &port.to_string());
    let within = go_duration(timeout);

    let origin: Uri = match format!("http://{addr}").parse() {
        Ok(uri) => uri,
        Err(e) => {
            return ProbeOutcome::Failure(format!(
                "error: failed to connect service at {}: {e}",
                go_quote(&addr)
            ));
        }
    };
    let Some(connection) = connect(host, port, deadline).await else {
        return ProbeOutcome::Failure(format!(
            "timeout: failed to connect service {} within {within}: context deadline exceeded",
            go_quote(&addr)
        ));
    };

    let mut client = HealthClient::with_origin(
        Channel {
            send: connection.send,
        },
        origin,
    );
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: service.to_owned(),
    });
    // grpc-go sends the context's deadline as `grpc-timeout`.
    request.set_timeout(deadline.saturating_duration_since(Instant::now()));
    let result = tokio::time::timeout_at(deadline, client.check(request)).await;
    drop(connection.task);
    match result {
        Err(_) => ProbeOutcome::Failure(format!(
            "timeout: health rpc did not complete within {within}"
        )),
        Ok(Err(status)) => match status.code() {
            Code::Unimplemented => ProbeOutcome::Failure(format!(
                "error: this server does not implement the grpc health protocol \
                 (grpc.health.v1.Health): {}",
                status.message()
            )),
            Code::DeadlineExceeded => ProbeOutcome::Failure(format!(
                "timeout: health rpc did not complete within {within}"
            )),
            code => ProbeOutcome::Failure(format!(
                "error: health rpc probe failed: rpc error: code = {} desc = {}",
                go_code_name(code),
                status.message()
            )),
        },
        Ok(Ok(response)) => {
            let status = response.into_inner().status;
            if status == ServingStatus::Serving as i32 {
                return ProbeOutcome::Success("service healthy".into());
            }
            // The enum's name, or its number for a value the proto does not know (Go's
            // generated `String()`).
            let name = ServingStatus::try_from(status)
                .map(|s| s.as_str_name().to_owned())
                .unwrap_or_else(|_| status.to_string());
            ProbeOutcome::Failure(format!(
                "service unhealthy (responded with {})",
                go_quote(&name)
            ))
        }
    }
}

/// Go's names of gRPC codes (`codes.Code.String()`).
fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Go's `time.Duration.String()`: `1s`, `1.5s`, `2m0s`, `1h0m0s`, `500ms`, `1.5µs`, `0s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    // "%d.%0*d" with the fraction's trailing zeros removed.
    fn number(value: u128, fraction_digits: u32) -> String {
        let scale = 10u128.pow(fraction_digits);
        let (whole, fraction) = (value / scale, value % scale);
        if fraction == 0 {
            return whole.to_string();
        }
        let fraction = format!("{fraction:0width$}", width = fraction_digits as usize);
        format!("{whole}.{}", fraction.trim_end_matches('0'))
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", number(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", number(nanos, 6));
    }
    let seconds = nanos / 1_000_000_000;
    let (hours, minutes) = (seconds / 3600, (seconds / 60) % 60);
    let rest = nanos - (hours * 3600 + minutes * 60) * 1_000_000_000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&number(rest, 9));
    out.push('s');
    out
}

/// An established HTTP/2 connection: the handle to send on, and the task that drives it.
struct Connected {
    send: http2::SendRequest<tonic::body::Body>,
    task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `grpc.DialContext(ctx, addr, WithBlock())`: attempts until one is ready or the deadline.
async fn connect(host: &str, port: u16, deadline: Instant) -> Option<Connected> {
    let mut backoff = BACKOFF_BASE;
    loop {
        if Instant::now() >= deadline {
            return None;
        }
        if let Some(connected) = attempt(host, port, deadline).await {
            return Some(connected);
        }
        let jitter = 1.0 + BACKOFF_JITTER * (fastrand::f64() * 2.0 - 1.0);
        let retry_at = Instant::now() + backoff.mul_f64(jitter);
        if retry_at >= deadline {
            tokio::time::sleep_until(deadline).await;
            return None;
        }
        tokio::time::sleep_until(retry_at).await;
        backoff = backoff.mul_f64(BACKOFF_MULTIPLIER).min(BACKOFF_MAX);
    }
}

/// One connection attempt: TCP (the probe dialer), the HTTP/2 handshake, and the server's
/// preface.
async fn attempt(host: &str, port: u16, deadline: Instant) -> Option<Connected> {
    // The kubelet dials the pod IP: no names to look up.
    let conn = tcp::dial(
        host,
        port,
        &Default::default(),
        Some(deadline),
        Linger::Probe,
    )
    .await
    .ok()?;
    let (preface_seen, preface) = oneshot::channel();
    let io = PrefaceWatch {
        inner: conn,
        head: Vec::with_capacity(9),
        notify: Some(preface_seen),
    };
    let handshake = http2::Builder::new(TokioExecutor::new())
        .handshake::<_, tonic::body::Body>(TokioIo::new(io));
    let (send, connection) = tokio::time::timeout_at(deadline, handshake)
        .await
        .ok()?
        .ok()?;
    let task = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    match tokio::time::timeout_at(deadline, preface).await {
        Ok(Ok(true)) => Some(Connected { send, task }),
        _ => None,
    }
}

/// Watches the first frame header the server sends: an HTTP/2 server starts with SETTINGS.
struct PrefaceWatch {
    inner: tcp::Conn,
    head: Vec<u8>,
    notify: Option<oneshot::Sender<bool>>,
}

const FRAME_HEADER_LEN: usize = 9;
const FRAME_TYPE_SETTINGS: u8 = 0x4;

impl AsyncRead for PrefaceWatch {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.notify.is_some() {
            match &result {
                Poll::Ready(Ok(())) => {
                    let new = &buf.filled()[before..];
                    if new.is_empty() {
                        // The server closed the connection before its preface.
                        let _ = this.notify.take().map(|n| n.send(false));
                    } else {
                        let take = (FRAME_HEADER_LEN - this.head.len()).min(new.len());
                        this.head.extend_from_slice(&new[..take]);
                        if this.head.len() == FRAME_HEADER_LEN {
                            let settings = this.head[3] == FRAME_TYPE_SETTINGS;
                            let _ = this.notify.take().map(|n| n.send(settings));
                        }
                    }
                }
                Poll::Ready(Err(_)) => {
                    let _ = this.notify.take().map(|n| n.send(false));
                }
                Poll::Pending => {}
            }
        }
        result
    }
}

impl AsyncWrite for PrefaceWatch {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The gRPC channel: sends on the HTTP/2 connection with the kubelet's User-Agent.
struct Channel {
    send: http2::SendRequest<tonic::body::Body>,
}

type ResponseBody = MapErr<Incoming, fn(hyper::Error) -> Status>;
type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Status>> + Send>>;

impl tonic::codegen::Service<Request<tonic::body::Body>> for Channel {
    type Response = Response<ResponseBody>;
    type Error = Status;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A connection that is gone fails the call itself, as `Unavailable`.
        self.send.poll_ready(cx).map(|_| Ok(()))
    }

    fn call(&mut self, mut request: Request<tonic::body::Body>) -> Self::Future {
        if let Ok(agent) = HeaderValue::from_str(&format!("kube-probe/{KUBE_VERSION}")) {
            request.headers_mut().insert(USER_AGENT, agent);
        }
        let response = self.send.send_request(request);
        Box::pin(async move {
            let response = response.await.map_err(transport_status)?;
            let map: fn(hyper::Error) -> Status = transport_status;
            Ok(response.map(|body| body.map_err(map)))
        })
    }
}

/// A connection that breaks under an RPC: grpc-go reports it as `Unavailable`.
fn transport_status(e: hyper::Error) -> Status {
    let mut io_error = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            io_error = Some(io);
            break;
        }
        current = err.source();
    }
    let reason = match io_error {
        // h2 reports a connection closed under a stream as a broken pipe of its own.
        Some(io)
            if io.raw_os_error().is_none()
                && matches!(
                    io.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof
                ) =>
        {
            "EOF".to_owned()
        }
        Some(io) => errno_text(io),
        None if e.is_incomplete_message() || e.is_closed() || e.is_canceled() => "EOF".to_owned(),
        None => e.to_string(),
    };
    Status::unavailable(format!("error reading from server: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::combinators::BoxBody;
    use http_body_util::{Full, StreamBody};
    use hyper::HeaderMap;
    use hyper::body::Frame;
    use hyper::service::service_fn;
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use tokio::net::TcpListener;
    use tonic_health::ServingStatus as ReportedStatus;

    const SECOND: Duration = Duration::from_secs(1);

    /// Serves `svc` over HTTP/2 (h2c) on 127.0.0.1, recording each request's headers.
    async fn serve_h2<S>(svc: S) -> (u16, Arc<Mutex<Vec<HeaderMap>>>)
    where
        S: tonic::codegen::Service<
                Request<Incoming>,
                Response = Response<tonic::body::Body>,
                Error = Infallible,
            > + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_in_server = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let svc = svc.clone();
                let seen = seen_in_server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        seen.lock().unwrap().push(req.headers().clone());
                        let mut svc = svc.clone();
                        async move { svc.call(req).await }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (port, seen)
    }

    /// A hand-made gRPC server: answers every call with `reply` after `delay`.
    #[derive(Clone)]
    struct Canned {
        reply: fn() -> Response<tonic::body::Body>,
        delay: Duration,
    }

    impl tonic::codegen::Service<Request<Incoming>> for Canned {
        type Response = Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _req: Request<Incoming>) -> Self::Future {
            let (reply, delay) = (self.reply, self.delay);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Ok(reply())
            })
        }
    }

    fn trailers_only(code: &str, message: &str) -> Response<tonic::body::Body> {
        Response::builder()
            .header("content-type", "application/grpc")
            .header("grpc-status", code)
            .header("grpc-message", message)
            .body(tonic::body::Body::new(Full::new(Bytes::new())))
            .unwrap()
    }

    /// A HealthCheckResponse with a raw status number, framed by hand.
    fn raw_status(status: u8) -> Response<tonic::body::Body> {
        let message = Bytes::from(vec![0, 0, 0, 0, 2, 0x08, status]);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let frames = futures::stream::iter(vec![
            Ok::<_, Infallible>(Frame::data(message)),
            Ok(Frame::trailers(trailers)),
        ]);
        let body: BoxBody<Bytes, Infallible> = StreamBody::new(frames).boxed();
        Response::builder()
            .header("content-type", "application/grpc")
            .body(tonic::body::Body::new(body))
            .unwrap()
    }

    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn a_serving_server_is_healthy() {
        let (_reporter, health) = tonic_health::server::health_reporter();
        let (port, seen) = serve_h2(health).await;
        assert_eq!(
            probe("127.0.0.1", port, "", SECOND).await,
            ProbeOutcome::Success("service healthy".into())
        );
        let headers = seen.lock().unwrap()[0].clone();
        assert_eq!(headers["user-agent"], "kube-probe/1.37");
        assert_eq!(headers["content-type"], "application/grpc");
        assert!(headers.contains_key("grpc-timeout"));
    }

    #[tokio::test]
    async fn a_named_service_is_checked() {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("ready", ReportedStatus::Serving)
            .await;
        reporter
            .set_service_status("busy", ReportedStatus::NotServing)
            .await;
        let (port, _) = serve_h2(health).await;
        assert_eq!(
            probe("127.0.0.1", port, "ready", SECOND).await,
            ProbeOutcome::Success("service healthy".into())
        );
        assert_eq!(
            probe("localhost", port, "busy", SECOND).await,
            ProbeOutcome::Failure("service unhealthy (responded with \"NOT_SERVING\")".into())
        );
    }

    #[tokio::test]
    async fn an_unknown_service_is_an_rpc_error() {
        let (_reporter, health) = tonic_health::server::health_reporter();
        let (port, _) = serve_h2(health).await;
        assert_eq!(
            probe("127.0.0.1", port, "nope", SECOND).await,
            ProbeOutcome::Failure(
                "error: health rpc probe failed: rpc error: code = NotFound desc = service not registered"
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn status_values_are_named_as_go_names_them() {
        for (status, name) in [(3, "SERVICE_UNKNOWN"), (0, "UNKNOWN"), (7, "7")] {
            let (port, _) = serve_h2(Canned {
                reply: match status {
                    3 => || raw_status(3),
                    0 => || raw_status(0),
                    _ => || raw_status(7),
                },
                delay: Duration::ZERO,
            })
            .await;
            assert_eq!(
                probe("127.0.0.1", port, "", SECOND).await,
                ProbeOutcome::Failure(format!("service unhealthy (responded with \"{name}\")"))
            );
        }
    }

    #[tokio::test]
    async fn a_server_without_the_health_service_is_reported() {
        let (port, _) = serve_h2(Canned {
            reply: || trailers_only("12", "unknown service grpc.health.v1.Health"),
            delay: Duration::ZERO,
        })
        .await;
        assert_eq!(
            probe("127.0.0.1", port, "", SECOND).await,
            ProbeOutcome::Failure(
                "error: this server does not implement the grpc health protocol \
                 (grpc.health.v1.Health): unknown service grpc.health.v1.Health"
                    .into()
            )
        );
    }

    #[tokio::test]
    async fn a_deadline_status_from_the_server_is_a_timeout() {
        let (port, _) = serve_h2(Canned {
            reply: || trailers_only("4", "too slow"),
            delay: Duration::ZERO,
        })
        .await;
        assert_eq!(
            probe("127.0.0.1", port, "", SECOND).await,
            ProbeOutcome::Failure("timeout: health rpc did not complete within 1s".into())
        );
    }

    #[tokio::test]
    async fn a_slow_rpc_times_out() {
        let (port, _) = serve_h2(Canned {
            reply: || trailers_only("0", ""),
            delay: Duration::from_secs(2),
        })
        .await;
        let started = std::time::Instant::now();
        assert_eq!(
            probe("127.0.0.1", port, "", Duration::from_millis(300)).await,
            ProbeOutcome::Failure("timeout: health rpc did not complete within 300ms".into())
        );
        assert!(started.elapsed() < SECOND, "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_closed_port_times_out_connecting() {
        let port = closed_port().await;
        let started = std::time::Instant::now();
        assert_eq!(
            probe("127.0.0.1", port, "", Duration::from_millis(300)).await,
            ProbeOutcome::Failure(format!(
                "timeout: failed to connect service \"127.0.0.1:{port}\" within 300ms: context deadline exceeded"
            ))
        );
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(290) && elapsed < SECOND,
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn an_http1_server_never_becomes_a_grpc_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let service = service_fn(|_req: Request<Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let started = std::time::Instant::now();
        assert_eq!(
            probe("127.0.0.1", port, "", Duration::from_millis(300)).await,
            ProbeOutcome::Failure(format!(
                "timeout: failed to connect service \"127.0.0.1:{port}\" within 300ms: context deadline exceeded"
            ))
        );
        assert!(started.elapsed() < SECOND);
    }

    /// A server that answers the HTTP/2 preface with an HTTP/1 response and keeps the
    /// connection open: its first frame is not SETTINGS, so no connection is ever ready.
    #[tokio::test]
    async fn a_server_whose_first_frame_is_not_settings_never_connects() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                });
            }
        });
        assert_eq!(
            probe("127.0.0.1", port, "", Duration::from_millis(300)).await,
            ProbeOutcome::Failure(format!(
                "timeout: failed to connect service \"127.0.0.1:{port}\" within 300ms: context deadline exceeded"
            ))
        );
    }

    /// An HTTP/2 server that sends its preface, then hangs up when the RPC's HEADERS arrive.
    #[tokio::test]
    async fn a_connection_lost_under_the_rpc_is_unavailable() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            // An empty SETTINGS frame.
            sock.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            'read: loop {
                let n = sock.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client hung up first");
                received.extend_from_slice(&buf[..n]);
                // Skip the client preface, then walk the frames looking for HEADERS (0x1).
                let mut at = 24;
                while received.len() >= at + 9 {
                    if received[at + 3] == 0x1 {
                        break 'read;
                    }
                    let len = (usize::from(received[at]) << 16)
                        | (usize::from(received[at + 1]) << 8)
                        | usize::from(received[at + 2]);
                    at += 9 + len;
                }
            }
            drop(sock);
        });
        assert_eq!(
            probe("127.0.0.1", port, "", SECOND).await,
            ProbeOutcome::Failure(
                "error: health rpc probe failed: rpc error: code = Unavailable desc = error reading from server: EOF"
                    .into()
            )
        );
    }

    #[test]
    fn durations_print_as_in_go() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(1500), "1.5µs"),
            (Duration::from_nanos(15), "15ns"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_millis(3_723_400), "1h2m3.4s"),
        ] {
            assert_eq!(go_duration(d), text);
        }
    }
}
