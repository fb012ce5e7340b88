//! httpGet probes and lifecycle hooks, as the kubelet makes them (`pkg/probe/http`,
//! `pkg/kubelet/lifecycle/handlers.go`): the same request, the same redirect policy, the same
//! result classes and Go's error texts.
//!
//! The kubelet uses two Go HTTP clients, and so does this module:
//! - probes: no keep-alive (`Connection: close`), no compression, HTTP/2 when a TLS server
//!   offers it through ALPN, `SO_LINGER` 1 s on the socket, a 10 s TLS handshake timeout, and
//!   `timeout` over the whole attempt (connection, TLS, redirects, headers and body);
//! - hooks: Go's default transport (`Accept-Encoding: gzip`, HTTP/1.1 only), no timeout.
//!
//! Both skip certificate verification and follow only redirects that stay on the same host
//! name, at most 10 requests in all.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{AlertDescription, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::hosts::Hosts;
use super::tcp::{self, Linger, errno_text, join_host_port};
use super::{HttpTarget, KUBE_VERSION, ProbeOutcome, Scheme};

/// The kubelet reads at most this much of a body (`maxRespBodyLength`, 10 KiB).
const MAX_BODY: usize = 10 * 1024;
/// `RedirectChecker`: "stopped after 10 redirects" once 10 requests were made.
const MAX_REQUESTS: usize = 10;
/// `utilnet.SetTransportDefaults` gives the probe transport a 10 s TLS handshake timeout.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

const HEADERS_TIMEOUT: &str =
    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
const BODY_TIMEOUT: &str =
    "context deadline exceeded (Client.Timeout or context cancellation while reading body)";
const SCHEME_MISMATCH: &str = "http: server gave HTTP response to HTTPS client";

/// One httpGet probe attempt (`DoHTTPProbe`). A zero timeout means none, as for Go's
/// `http.Client`.
pub async fn probe(target: &HttpTarget, timeout: Duration) -> ProbeOutcome {
    let request = match GoRequest::new(target, Purpose::Probe) {
        Ok(r) => r,
        Err(e) => return ProbeOutcome::Error(e),
    };
    let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
    let mut response = match client_do(&request, deadline).await {
        Ok(r) => r,
        // "Convert errors into failures to catch timeouts."
        Err(e) => return ProbeOutcome::Failure(e.text),
    };
    let body = match read_body(&mut response, MAX_BODY, deadline).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        // A body that cannot be read is a prober error: the kubelet discards the result.
        Err(BodyError::Timeout) => return ProbeOutcome::Error(BODY_TIMEOUT.into()),
        Err(BodyError::Failed(text)) => return ProbeOutcome::Error(text),
    };
    let status = response.status;
    if (200..400).contains(&status) {
        if status >= 300 {
            return ProbeOutcome::Warning(format!(
                "Probe terminated redirects, Response body: {body}"
            ));
        }
        return ProbeOutcome::Success(body);
    }
    // Until https://issue.k8s.io/99425 is addressed, the message must not contain the body.
    ProbeOutcome::Failure(format!("HTTP probe failed with statuscode: {status}"))
}

/// What an httpGet lifecycle hook got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookResponse {
    pub status: u16,
    /// An HTTPS hook got a plain-HTTP answer and was retried with HTTP (`LifecycleHTTPFallback`).
    pub fell_back_to_http: bool,
}

/// One httpGet lifecycle hook call (`runHTTPHandler`). The status code does not matter; only
/// a failure to get a response is an error. No timeout: the caller bounds the call.
pub async fn hook(target: &HttpTarget) -> Result<HookResponse, String> {
    let request = GoRequest::new(target, Purpose::Hook)?;
    match client_do(&request, None).await {
        Ok(mut response) => {
            discard_body(&mut response).await;
            Ok(HookResponse {
                status: response.status,
                fell_back_to_http: false,
            })
        }
        Err(e) if e.scheme_mismatch => {
            // The HTTPS request got an HTTP answer: retry with HTTP, without credentials.
            let mut retry = request.clone();
            retry.url.scheme = "http".into();
            retry.headers.remove("Authorization");
            match client_do(&retry, None).await {
                Ok(mut response) => {
                    discard_body(&mut response).await;
                    Ok(HookResponse {
                        status: response.status,
                        fell_back_to_http: true,
                    })
                }
                // The fallback failed too: the hook fails with the first error.
                Err(_) => Err(e.text),
            }
        }
        Err(e) => Err(e.text),
    }
}

// ------------------------------------------------------------------------------------------
// The request
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Probe,
    Hook,
}

/// Go's `http.Header`: canonical keys, values in order; sorted as Go writes them.
type GoHeader = BTreeMap<String, Vec<String>>;

/// The request `NewRequestForHTTPGetAction` builds.
#[derive(Debug, Clone)]
struct GoRequest {
    url: GoUrl,
    headers: GoHeader,
    /// `req.Host`: the first `Host` header, or "" for the URL's host.
    host: String,
    purpose: Purpose,
    /// The engine's host names, for this request and the redirects it follows.
    hosts: Hosts,
}

impl GoRequest {
    fn new(target: &HttpTarget, purpose: Purpose) -> Result<Self, String> {
        let scheme = match target.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let url = format_url(scheme, &target.host, target.port, &target.path);
        // `http.NewRequest(url.String())` parses the URL again: a host that needed escaping
        // cannot be parsed back, and the kubelet cannot make the request.
        if let Some(bad) = target
            .host
            .bytes()
            .find(|&b| b < 0x80 && b != b'%' && should_escape(b, Mode::Host))
        {
            return Err(format!(
                "parse {}: invalid URL escape {}",
                go_quote(&url.to_go_string()),
                go_quote(&format!("%{bad:02X}"))
            ));
        }

        let mut headers = GoHeader::new();
        for (name, value) in &target.headers {
            headers
                .entry(canonical_key(name))
                .or_default()
                .push(value.clone());
        }
        if !headers.contains_key("User-Agent") {
            let fragment = match purpose {
                Purpose::Probe => "probe",
                Purpose::Hook => "lifecycle",
            };
            headers.insert(
                "User-Agent".into(),
                vec![format!("kube-{fragment}/{KUBE_VERSION}")],
            );
        }
        match headers.get("Accept") {
            None => {
                headers.insert("Accept".into(), vec!["*/*".into()]);
            }
            Some(values) if first(values).is_empty() => {
                headers.remove("Accept");
            }
            Some(_) => {}
        }
        let host = headers
            .get("Host")
            .map(|v| first(v).to_owned())
            .unwrap_or_default();
        Ok(GoRequest {
            url,
            headers,
            host,
            purpose,
            hosts: target.hosts.clone(),
        })
    }
}

fn first(values: &[String]) -> &str {
    values.first().map(String::as_str).unwrap_or("")
}

/// `textproto.CanonicalMIMEHeaderKey`: `user-agent` → `User-Agent`; a name with a byte that
/// is not a token character stays as it is.
fn canonical_key(name: &str) -> String {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return name.to_owned();
    }
    let mut upper = true;
    name.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = b == b'-';
            c as char
        })
        .collect()
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `httpguts.ValidHeaderFieldValue`: no control characters but tab.
fn is_valid_header_value(v: &str) -> bool {
    v.bytes().all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// `httpguts.ValidHostHeader`.
fn is_valid_host_header(h: &str) -> bool {
    h.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!$%&'()*+,-.:;=[]_~".contains(&b))
}

// ------------------------------------------------------------------------------------------
// The client: Go's `http.Client.Do` with the kubelet's redirect checker
// ------------------------------------------------------------------------------------------

/// A response whose body has not been read yet, with the connection that carries it.
struct GoResponse {
    status: u16,
    headers: HeaderMap,
    body: Incoming,
    _connection: Connection,
}

/// What `client.Do` returned as an error: its text (`Get "<url>": …`), and whether it is
/// the one a hook falls back to HTTP for.
#[derive(Debug)]
struct DoError {
    text: String,
    scheme_mismatch: bool,
}

async fn client_do(request: &GoRequest, deadline: Option<Instant>) -> Result<GoResponse, DoError> {
    let mut url = request.url.clone();
    let mut host = request.host.clone();
    let mut headers = request.headers.clone();
    let mut via: Vec<GoUrl> = Vec::new();
    loop {
        via.push(url.clone());
        let response = match send(
            &url,
            &headers,
            &host,
            request.purpose,
            &request.hosts,
            deadline,
        )
        .await
        {
            Ok(r) => r,
            Err(SendError::Timeout) => {
                return Err(DoError {
                    text: format!("Get {}: {HEADERS_TIMEOUT}", go_quote(&url.to_go_string())),
                    scheme_mismatch: false,
                });
            }
            Err(SendError::Failed {
                text,
                scheme_mismatch,
            }) => {
                return Err(DoError {
                    text: format!("Get {}: {text}", go_quote(&url.to_go_string())),
                    scheme_mismatch,
                });
            }
        };
        if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
            return Ok(response);
        }
        let location = response
            .headers
            .get(header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if location.is_empty() {
            // A 3xx without a Location is returned as it is.
            return Ok(response);
        }
        let reference = match GoUrl::parse(&location) {
            Ok(u) => u,
            Err(e) => {
                return Err(DoError {
                    text: format!(
                        "Get {}: failed to parse Location header {}: {e}",
                        go_quote(&url.to_go_string()),
                        go_quote(&location)
                    ),
                    scheme_mismatch: false,
                });
            }
        };
        let next = url.resolve(&reference);
        // A custom Host survives a relative redirect only.
        let next_host = if !host.is_empty() && host != url.host && reference.scheme.is_empty() {
            host.clone()
        } else {
            String::new()
        };
        // The original headers, plus the Referer Go adds (never from HTTPS to HTTP).
        let mut next_headers = request.headers.clone();
        let explicit_referer = next_headers
            .get("Referer")
            .map(|v| first(v).to_owned())
            .unwrap_or_default();
        if !(url.scheme == "https" && next.scheme == "http") {
            let referer = if explicit_referer.is_empty() {
                url.to_go_string()
            } else {
                explicit_referer
            };
            next_headers.insert("Referer".into(), vec![referer]);
        }
        // `RedirectChecker(false)`.
        if next.hostname() != via[0].hostname() {
            return Ok(response); // http.ErrUseLastResponse
        }
        if via.len() >= MAX_REQUESTS {
            return Err(DoError {
                text: format!("Get {}: stopped after 10 redirects", go_quote(&location)),
                scheme_mismatch: false,
            });
        }
        drop(response);
        url = next;
        host = next_host;
        headers = next_headers;
    }
}

enum SendError {
    /// The client's deadline passed before the response headers arrived.
    Timeout,
    Failed {
        text: String,
        scheme_mismatch: bool,
    },
}

impl SendError {
    fn failed(text: impl Into<String>) -> Self {
        SendError::Failed {
            text: text.into(),
            scheme_mismatch: false,
        }
    }
}

/// Keeps the connection task running while the response is read; stops it when dropped.
struct Connection {
    task: tokio::task::JoinHandle<()>,
    _sender: Sender,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Sender {
    Http1 {
        _send: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    },
    Http2 {
        _send: hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    },
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The addresses of a connection, for Go's `read tcp <local>-><peer>: …` texts.
#[derive(Clone, Copy)]
struct Addrs(Option<SocketAddr>, Option<SocketAddr>);

/// One round trip (Go's `Transport.RoundTrip`) on a fresh connection.
async fn send(
    url: &GoUrl,
    headers: &GoHeader,
    host: &str,
    purpose: Purpose,
    hosts: &Hosts,
    deadline: Option<Instant>,
) -> Result<GoResponse, SendError> {
    let https = match url.scheme.as_str() {
        "http" => false,
        "https" => true,
        other => {
            return Err(SendError::failed(format!(
                "unsupported protocol scheme {}",
                go_quote(other)
            )));
        }
    };
    if url.host.is_empty() {
        return Err(SendError::failed("http: no Host in request URL"));
    }
    for (name, values) in headers {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(SendError::failed(format!(
                "net/http: invalid header field name {}",
                go_quote(name)
            )));
        }
        if !values.iter().all(|v| is_valid_header_value(v)) {
            return Err(SendError::failed(format!(
                "net/http: invalid header field value for {}",
                go_quote(name)
            )));
        }
    }
    let mut host_header = if host.is_empty() {
        url.host.clone()
    } else {
        host.to_owned()
    };
    if !is_valid_host_header(&host_header) {
        // Go sends an empty Host rather than an invalid one.
        host_header.clear();
    }

    let port_text = url.port().unwrap_or(if https { "443" } else { "80" });
    let port: u16 = port_text
        .parse()
        .map_err(|_| SendError::failed(format!("dial tcp: address {port_text}: invalid port")))?;
    let linger = match purpose {
        Purpose::Probe => Linger::Probe,
        Purpose::Hook => Linger::Default,
    };
    let conn = match tcp::dial(url.hostname(), port, hosts, deadline, linger).await {
        Ok(c) => c,
        Err(e) if e.is_timeout() => return Err(SendError::Timeout),
        Err(e) => return Err(SendError::failed(e.to_string())),
    };
    let addrs = Addrs(conn.local_addr(), conn.peer_addr());

    let (io, http2): (Box<dyn Io>, bool) = if https {
        let tls = tls_handshake(conn, url.hostname(), purpose, deadline, addrs).await?;
        let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        (Box::new(tls), http2)
    } else {
        (Box::new(conn), false)
    };

    let request = build_request(url, headers, &host_header, purpose, http2)?;
    let (task, sender, response) = if http2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
                .await
                .map_err(|e| SendError::failed(hyper_error_text(&e, addrs)))?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = with_deadline(deadline, sender.send_request(request)).await;
        (task, Sender::Http2 { _send: sender }, response)
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|e| SendError::failed(hyper_error_text(&e, addrs)))?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        let response = with_deadline(deadline, sender.send_request(request)).await;
        (task, Sender::Http1 { _send: sender }, response)
    };
    let connection = Connection {
        task,
        _sender: sender,
    };
    match response {
        None => Err(SendError::Timeout),
        Some(Err(e)) => Err(SendError::failed(hyper_error_text(&e, addrs))),
        Some(Ok(response)) => {
            let (parts, body) = response.into_parts();
            Ok(GoResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
                _connection: connection,
            })
        }
    }
}

/// The request as Go's transport writes it: `Host`, `User-Agent`, the other headers sorted
/// by name, then the transport's own (`Connection: close` for probes, `Accept-Encoding: gzip`
/// for hooks). Over HTTP/2 the host is the `:authority`.
fn build_request(
    url: &GoUrl,
    headers: &GoHeader,
    host_header: &str,
    purpose: Purpose,
    http2: bool,
) -> Result<Request<Empty<Bytes>>, SendError> {
    let target = request_target(url);
    let uri: Uri = if http2 {
        let authority = if host_header.is_empty() {
            url.host.as_str()
        } else {
            host_header
        };
        format!("{}://{authority}{target}", url.scheme)
            .parse()
            .or_else(|_| format!("{}://{}{target}", url.scheme, url.host).parse())
    } else {
        target.parse()
    }
    .map_err(|e| SendError::failed(format!("net/http: invalid request URI: {e}")))?;

    let mut map = HeaderMap::new();
    let value = |v: &str| {
        HeaderValue::from_str(v.trim_matches([' ', '\t']))
            .map_err(|_| SendError::failed("net/http: invalid header field value"))
    };
    if !http2 {
        map.insert(header::HOST, value(host_header)?);
    }
    let user_agent = headers.get("User-Agent").map(|v| first(v)).unwrap_or("");
    if !user_agent.is_empty() {
        map.insert(header::USER_AGENT, value(user_agent)?);
    }
    for (name, values) in headers {
        let lower = name.to_ascii_lowercase();
        let excluded: &[&str] = if http2 {
            &[
                "host",
                "user-agent",
                "content-length",
                "transfer-encoding",
                "trailer",
                "connection",
                "proxy-connection",
                "keep-alive",
                "upgrade",
            ]
        } else {
            &[
                "host",
                "user-agent",
                "content-length",
                "transfer-encoding",
                "trailer",
            ]
        };
        if excluded.contains(&lower.as_str()) {
            continue;
        }
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| SendError::failed("net/http: invalid header field name"))?;
        for v in values {
            map.append(header_name.clone(), value(v)?);
        }
    }
    match purpose {
        Purpose::Probe if !http2 => {
            let wants_close = headers.get("Connection").is_some_and(|values| {
                values
                    .iter()
                    .flat_map(|v| v.split(','))
                    .any(|t| t.trim().eq_ignore_ascii_case("close"))
            });
            if !wants_close {
                map.append(header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
        Purpose::Probe => {}
        Purpose::Hook => {
            let has = |k: &str| headers.get(k).is_some_and(|v| !first(v).is_empty());
            if !has("Accept-Encoding") && !has("Range") {
                map.append(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
            }
        }
    }

    let mut request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(Empty::new())
        .map_err(|e| SendError::failed(e.to_string()))?;
    *request.headers_mut() = map;
    Ok(request)
}

/// The request target (Go's `URL.RequestURI()`), with the few bytes that Go would send as they
/// are but the `http` crate refuses percent-encoded.
fn request_target(url: &GoUrl) -> String {
    let path = if url.path.is_empty() { "/" } else { &url.path };
    let mut out = String::new();
    if !url.opaque && !path.starts_with('/') {
        out.push('/');
    }
    push_for_http_crate(&mut out, path, false);
    if let Some(query) = &url.query {
        out.push('?');
        push_for_http_crate(&mut out, query, true);
    }
    out
}

fn push_for_http_crate(out: &mut String, s: &str, query: bool) {
    for c in s.chars() {
        let refused = match c {
            '\0'..=' ' | '\x7f' | '#' | '<' | '>' => true,
            '`' => !query,
            '"' => query,
            '?' => !query,
            _ => false,
        };
        if refused {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

async fn with_deadline<F: Future>(deadline: Option<Instant>, fut: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, fut).await.ok(),
        None => Some(fut.await),
    }
}

enum BodyError {
    Timeout,
    Failed(String),
}

/// `utilio.ReadAtMost`: up to `limit` bytes; being cut short is not an error.
async fn read_body(
    response: &mut GoResponse,
    limit: usize,
    deadline: Option<Instant>,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while body.len() < limit {
        match with_deadline(deadline, response.body.frame()).await {
            None => return Err(BodyError::Timeout),
            Some(None) => break,
            Some(Some(Err(e))) => return Err(BodyError::Failed(body_error_text(&e))),
            Some(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(limit - body.len());
                    body.extend_from_slice(&data[..take]);
                }
            }
        }
    }
    Ok(body)
}

/// `discardHTTPRespBody`: read and drop up to 10 KiB, unless the declared length is larger.
async fn discard_body(response: &mut GoResponse) {
    let declared = response
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_none_or(|n| n <= MAX_BODY as u64) {
        let _ = read_body(response, MAX_BODY, None).await;
    }
}

// ------------------------------------------------------------------------------------------
// TLS
// ------------------------------------------------------------------------------------------

async fn tls_handshake(
    conn: tcp::Conn,
    hostname: &str,
    purpose: Purpose,
    deadline: Option<Instant>,
    addrs: Addrs,
) -> Result<tokio_rustls::client::TlsStream<Sniff<tcp::Conn>>, SendError> {
    let server_name = ServerName::try_from(hostname.to_owned())
        .unwrap_or_else(|_| ServerName::IpAddress(Ipv4Addr::UNSPECIFIED.into()));
    let connector = tokio_rustls::TlsConnector::from(tls_config(purpose));
    let handshake = connector
        .connect(server_name, Sniff::new(conn))
        .into_fallible();
    // Probes: the TLS handshake timeout (10 s) or the probe's deadline, whichever is first.
    let handshake_deadline = match purpose {
        Purpose::Probe => Some(Instant::now() + TLS_HANDSHAKE_TIMEOUT),
        Purpose::Hook => None,
    };
    let limit = match (deadline, handshake_deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match with_deadline(limit, handshake).await {
        None if deadline.is_some_and(|d| Instant::now() >= d) => Err(SendError::Timeout),
        None => Err(SendError::failed("net/http: TLS handshake timeout")),
        Some(Ok(tls)) => Ok(tls),
        Some(Err((e, sniff))) => {
            let first = &sniff.first[..sniff.seen];
            if first == b"HTTP/" {
                return Err(SendError::Failed {
                    text: SCHEME_MISMATCH.into(),
                    scheme_mismatch: true,
                });
            }
            Err(SendError::failed(tls_error_text(&e, first, addrs)))
        }
    }
}

fn tls_error_text(e: &io::Error, first: &[u8], addrs: Addrs) -> String {
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::AlertReceived(alert) => {
                format!("remote error: tls: {}", go_alert_text(*alert))
            }
            rustls::Error::InvalidMessage(_)
                if first.first().is_some_and(|&b| b != 0x16 && b != 0x15) =>
            {
                "tls: first record does not look like a TLS handshake".into()
            }
            other => format!("tls: {other}"),
        };
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return "EOF".into();
    }
    io_error_text(e, addrs)
}

/// Go's texts for TLS alerts (`crypto/tls/alert.go`).
fn go_alert_text(alert: AlertDescription) -> String {
    use AlertDescription as A;
    let text = match alert {
        A::CloseNotify => "close notify",
        A::UnexpectedMessage => "unexpected message",
        A::BadRecordMac => "bad record MAC",
        A::DecryptionFailed => "decryption failed",
        A::RecordOverflow => "record overflow",
        A::DecompressionFailure => "decompression failure",
        A::HandshakeFailure => "handshake failure",
        A::BadCertificate => "bad certificate",
        A::UnsupportedCertificate => "unsupported certificate",
        A::CertificateRevoked => "revoked certificate",
        A::CertificateExpired => "expired certificate",
        A::CertificateUnknown => "unknown certificate",
        A::IllegalParameter => "illegal parameter",
        A::UnknownCA => "unknown certificate authority",
        A::AccessDenied => "access denied",
        A::DecodeError => "error decoding message",
        A::DecryptError => "error decrypting message",
        A::ExportRestriction => "export restriction",
        A::ProtocolVersion => "protocol version not supported",
        A::InsufficientSecurity => "insufficient security level",
        A::InternalError => "internal error",
        A::InappropriateFallback => "inappropriate fallback",
        A::UserCanceled => "user canceled",
        A::NoRenegotiation => "no renegotiation",
        A::MissingExtension => "missing extension",
        A::UnsupportedExtension => "unsupported extension",
        A::CertificateUnobtainable => "certificate unobtainable",
        A::UnrecognisedName => "unrecognized name",
        A::BadCertificateStatusResponse => "bad certificate status response",
        A::BadCertificateHashValue => "bad certificate hash value",
        A::UnknownPSKIdentity => "unknown PSK identity",
        A::CertificateRequired => "certificate required",
        A::NoApplicationProtocol => "no application protocol",
        A::EncryptedClientHelloRequired => "encrypted client hello required",
        other => return format!("alert({})", u8::from(other)),
    };
    text.into()
}

/// One client configuration per purpose: no certificate verification, no session resumption
/// (Go's default has no session cache); probes offer HTTP/2 through ALPN as the kubelet's
/// probe transport does, hooks do not.
fn tls_config(purpose: Purpose) -> Arc<rustls::ClientConfig> {
    static PROBE: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    static HOOK: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let cell = match purpose {
        Purpose::Probe => &PROBE,
        Purpose::Hook => &HOOK,
    };
    cell.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(InsecureSkipVerify(provider)))
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        if purpose == Purpose::Probe {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        Arc::new(config)
    })
    .clone()
}

/// `tls.Config{InsecureSkipVerify: true}`: any certificate, any name; the handshake
/// signatures are still checked against the certificate's key, as Go does.
#[derive(Debug)]
struct InsecureSkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for InsecureSkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Remembers the first five bytes the server sent, as Go's TLS client does in a record
/// header error: `HTTP/` there means the server speaks plain HTTP.
struct Sniff<S> {
    inner: S,
    first: [u8; 5],
    seen: usize,
}

impl<S> Sniff<S> {
    fn new(inner: S) -> Self {
        Sniff {
            inner,
            first: [0; 5],
            seen: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniff<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let new = &buf.filled()[before..];
            let take = (this.first.len() - this.seen).min(new.len());
            this.first[this.seen..this.seen + take].copy_from_slice(&new[..take]);
            this.seen += take;
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniff<S> {
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

// ------------------------------------------------------------------------------------------
// Error texts
// ------------------------------------------------------------------------------------------

fn find_io_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = err.source();
    }
    None
}

/// Go's text for an I/O error on an established connection.
fn io_error_text(e: &io::Error, addrs: Addrs) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return "unexpected EOF".into();
    }
    let (op, verb) = match e.kind() {
        io::ErrorKind::BrokenPipe => ("write", "write"),
        _ => ("read", "read"),
    };
    if e.raw_os_error().is_some()
        && let Addrs(Some(local), Some(peer)) = addrs
    {
        return format!("{op} tcp {local}->{peer}: {verb}: {}", errno_text(e));
    }
    errno_text(e)
}

fn hyper_error_text(e: &hyper::Error, addrs: Addrs) -> String {
    if let Some(io) = find_io_error(e) {
        return io_error_text(io, addrs);
    }
    if e.is_incomplete_message() {
        // The server closed the connection before answering.
        return "EOF".into();
    }
    if e.is_parse() || e.is_parse_status() {
        return format!("net/http: HTTP/1.x transport connection broken: {e}");
    }
    e.to_string()
}

fn body_error_text(e: &hyper::Error) -> String {
    if let Some(io) = find_io_error(e) {
        return io_error_text(io, Addrs(None, None));
    }
    if e.is_incomplete_message() {
        return "unexpected EOF".into();
    }
    e.to_string()
}

/// Go's `strconv.Quote`, for the ASCII-ish texts quoted in error messages.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ------------------------------------------------------------------------------------------
// URLs, as Go's net/url handles them
// ------------------------------------------------------------------------------------------

/// The parts of a Go `url.URL` that probes use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct GoUrl {
    scheme: String,
    /// `host` or `host:port` (`[v6]:port`), unescaped.
    host: String,
    /// The escaped path (`EscapedPath()`), or the opaque part when `opaque`.
    path: String,
    opaque: bool,
    /// The raw query; `Some("")` for a URL ending in `?`.
    query: Option<String>,
    fragment: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::Host => true,
        },
        _ => true,
    }
}

fn escape(bytes: &[u8], mode: Mode) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if should_escape(b, mode) {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(b as char);
        }
    }
    out
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Go's `unescape`, in path or host mode.
fn unescape(s: &str, mode: Mode) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let escape_error = || {
                let end = (i + 3).min(bytes.len());
                format!("invalid URL escape {}", go_quote(&s[i..end]))
            };
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(unhex),
                bytes.get(i + 2).copied().and_then(unhex),
            ) else {
                return Err(escape_error());
            };
            if mode == Mode::Host && hi < 8 && &s[i..i + 3] != "%25" {
                return Err(escape_error());
            }
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        if mode == Mode::Host && b < 0x80 && should_escape(b, mode) {
            return Err(format!(
                "invalid character {} in host name",
                go_quote(&(b as char).to_string())
            ));
        }
        out.push(b);
        i += 1;
    }
    Ok(out)
}

/// Go's `validEncoded(s, encodePath)`.
fn valid_encoded_path(s: &str) -> bool {
    s.bytes().all(|b| {
        matches!(
            b,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(b, Mode::Path)
    })
}

/// `setPath` then `EscapedPath()`: a path kept as written when it is validly encoded, else
/// decoded and escaped again.
fn escaped_path(raw: &str) -> Result<String, String> {
    let decoded = unescape(raw, Mode::Path)?;
    if valid_encoded_path(raw) {
        Ok(raw.to_owned())
    } else {
        Ok(escape(&decoded, Mode::Path))
    }
}

/// `formatURL` (`pkg/probe/http/request.go`): the path parsed as a URL reference, or kept as a
/// plain path when it does not parse; then the scheme and `host:port`.
fn format_url(scheme: &str, host: &str, port: u16, path: &str) -> GoUrl {
    let mut url = GoUrl::parse(path).unwrap_or_else(|_| GoUrl {
        path: escape(path.as_bytes(), Mode::Path),
        ..GoUrl::default()
    });
    url.scheme = scheme.to_owned();
    url.host = join_host_port(host, &port.to_string());
    url.opaque = false;
    url
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
        None => port.is_empty(),
    }
}

impl GoUrl {
    /// `url.Parse`.
    fn parse(raw: &str) -> Result<GoUrl, String> {
        let (u, fragment) = match raw.split_once('#') {
            Some((u, f)) => (u, f),
            None => (raw, ""),
        };
        let mut url =
            Self::parse_reference(u).map_err(|e| format!("parse {}: {e}", go_quote(u)))?;
        if !fragment.is_empty() {
            unescape(fragment, Mode::Path).map_err(|e| format!("parse {}: {e}", go_quote(raw)))?;
            url.fragment = fragment.to_owned();
        }
        Ok(url)
    }

    fn parse_reference(raw: &str) -> Result<GoUrl, String> {
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err("net/url: invalid control character in URL".into());
        }
        let mut url = GoUrl::default();
        if raw == "*" {
            url.path = "*".into();
            return Ok(url);
        }
        // The scheme.
        let mut rest = raw;
        for (i, b) in raw.bytes().enumerate() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' => {}
                b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
                b':' if i == 0 => return Err("missing protocol scheme".into()),
                b':' => {
                    url.scheme = raw[..i].to_ascii_lowercase();
                    rest = &raw[i + 1..];
                    break;
                }
                _ => break,
            }
        }
        // The query.
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            url.query = Some(String::new());
            rest = &rest[..rest.len() - 1];
        } else if let Some((r, q)) = rest.split_once('?') {
            if !q.is_empty() {
                url.query = Some(q.to_owned());
            }
            rest = r;
        }
        if !rest.starts_with('/') {
            if !url.scheme.is_empty() {
                url.opaque = true;
                url.path = rest.to_owned();
                return Ok(url);
            }
            if rest.split('/').next().is_some_and(|s| s.contains(':')) {
                return Err("first path segment in URL cannot contain colon".into());
            }
        }
        if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
            let after = &rest[2..];
            let (authority, path) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            url.host = parse_authority(authority)?;
            rest = path;
        }
        url.path = escaped_path(rest)?;
        Ok(url)
    }

    /// `URL.ResolveReference`.
    fn resolve(&self, reference: &GoUrl) -> GoUrl {
        let mut url = reference.clone();
        if reference.scheme.is_empty() {
            url.scheme = self.scheme.clone();
        }
        if reference.opaque {
            return url;
        }
        if !reference.scheme.is_empty() || !reference.host.is_empty() {
            url.path = resolve_path(&reference.path, "");
            return url;
        }
        if reference.path.is_empty() && reference.query.is_none() {
            url.query = self.query.clone();
            if reference.fragment.is_empty() {
                url.fragment = self.fragment.clone();
            }
        }
        url.host = self.host.clone();
        url.path = resolve_path(&self.path, &reference.path);
        url
    }

    /// `URL.Hostname()`.
    fn hostname(&self) -> &str {
        let mut host = self.host.as_str();
        if let Some(colon) = host.rfind(':')
            && valid_optional_port(&host[colon..])
        {
            host = &host[..colon];
        }
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// `URL.Port()`: the port if the host has one.
    fn port(&self) -> Option<&str> {
        let colon = self.host.rfind(':')?;
        let port = &self.host[colon..];
        (valid_optional_port(port) && port.len() > 1).then(|| &port[1..])
    }

    /// `URL.String()`.
    fn to_go_string(&self) -> String {
        let mut s = String::new();
        if !self.scheme.is_empty() {
            s.push_str(&self.scheme);
            s.push(':');
        }
        if self.opaque {
            s.push_str(&self.path);
        } else {
            if (!self.scheme.is_empty() || !self.host.is_empty())
                && (!self.host.is_empty() || !self.path.is_empty())
            {
                s.push_str("//");
                s.push_str(&escape(self.host.as_bytes(), Mode::Host));
            }
            if !self.path.is_empty() && !self.path.starts_with('/') && !self.host.is_empty() {
                s.push('/');
            }
            s.push_str(&self.path);
        }
        if let Some(query) = &self.query {
            s.push('?');
            s.push_str(query);
        }
        if !self.fragment.is_empty() {
            s.push('#');
            s.push_str(&self.fragment);
        }
        s
    }
}

/// `parseAuthority`/`parseHost`: the host (user information is dropped).
fn parse_authority(authority: &str) -> Result<String, String> {
    let host = match authority.rfind('@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!("invalid port {} after host", go_quote(colon_port)));
        }
    }
    let bytes = unescape(host, Mode::Host)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Go's `resolvePath`: merge, then remove dot segments.
fn resolve_path(base: &str, reference: &str) -> String {
    let full = if reference.is_empty() {
        base.to_owned()
    } else if !reference.starts_with('/') {
        let i = base.rfind('/').map_or(0, |i| i + 1);
        format!("{}{reference}", &base[..i])
    } else {
        reference.to_owned()
    };
    if full.is_empty() {
        return String::new();
    }
    let mut dst = String::from("/");
    let mut first = true;
    let mut last = "";
    for elem in full.split('/') {
        last = elem;
        match elem {
            "." => first = false,
            ".." => {
                let kept = dst[1..].to_owned();
                dst.truncate(1);
                match kept.rfind('/') {
                    Some(index) => dst.push_str(&kept[..index]),
                    None => first = true,
                }
            }
            _ => {
                if !first {
                    dst.push('/');
                }
                dst.push_str(elem);
                first = false;
            }
        }
    }
    if last == "." || last == ".." {
        dst.push('/');
    }
    if dst.len() > 1 && dst.as_bytes()[1] == b'/' {
        dst.remove(0);
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use hyper::Response;
    use hyper::server::conn::{http1 as server_http1, http2 as server_http2};
    use hyper::service::service_fn;
    use std::convert::Infallible;
    use std::sync::Mutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    // --------------------------------------------------------------------------------------
    // Test servers
    // --------------------------------------------------------------------------------------

    #[derive(Clone, Debug)]
    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
    }

    impl Reply {
        fn new(status: u16, body: &str) -> Self {
            Reply {
                status,
                headers: Vec::new(),
                body: body.as_bytes().to_vec(),
                delay: Duration::ZERO,
            }
        }

        fn header(mut self, name: &str, value: &str) -> Self {
            self.headers.push((name.into(), value.into()));
            self
        }
    }

    /// What the server saw of one request.
    #[derive(Clone, Debug)]
    struct Seen {
        target: String,
        version: hyper::Version,
        headers: HeaderMap,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<String> {
            self.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        }
    }

    type Route = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

    struct Server {
        port: u16,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    /// A hyper server on 127.0.0.1: HTTP/1.1, or TLS with HTTP/1.1 or (by ALPN) HTTP/2.
    async fn serve(route: Route, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_in_server = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let route = route.clone();
                let seen = seen_in_server.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let route = route.clone();
                        let seen = seen.clone();
                        async move {
                            let target = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            seen.lock().unwrap().push(Seen {
                                target: target.clone(),
                                version: req.version(),
                                headers: req.headers().clone(),
                            });
                            let reply = route(&target);
                            if !reply.delay.is_zero() {
                                tokio::time::sleep(reply.delay).await;
                            }
                            let mut response = Response::new(Full::new(Bytes::from(reply.body)));
                            *response.status_mut() = reply.status.try_into().unwrap();
                            for (k, v) in reply.headers {
                                response.headers_mut().append(
                                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                                    HeaderValue::from_str(&v).unwrap(),
                                );
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    match tls {
                        None => {
                            let _ = server_http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        Some(config) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(config);
                            let Ok(stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                                let _ = server_http2::Builder::new(TokioExecutor::new())
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            } else {
                                let _ = server_http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        Server { port, seen }
    }

    async fn serve_fixed(reply: Reply) -> Server {
        serve(Arc::new(move |_| reply.clone()), None).await
    }

    /// A self-signed certificate made for this test run (rcgen, ring).
    fn tls_server_config(alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = certified.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// A raw TCP server for one connection: returns the request head it read, byte for byte,
    /// after writing `response` (then waiting `stall` before closing).
    async fn raw_server(
        response: Vec<u8>,
        stall: Duration,
    ) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let _ = sock.write_all(&response).await;
            tokio::time::sleep(stall).await;
            String::from_utf8(head).unwrap()
        });
        (port, task)
    }

    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        port
    }

    fn target(scheme: Scheme, port: u16, path: &str) -> HttpTarget {
        HttpTarget {
            scheme,
            host: "127.0.0.1".into(),
            port,
            path: path.into(),
            headers: Vec::new(),
            hosts: Default::default(),
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    // --------------------------------------------------------------------------------------
    // Probes: results
    // --------------------------------------------------------------------------------------

    #[tokio::test]
    async fn status_200_is_success_with_the_body() {
        let server = serve_fixed(Reply::new(200, "ok\n")).await;
        let outcome = probe(&target(Scheme::Http, server.port, "/healthz"), SECOND).await;
        assert_eq!(outcome, ProbeOutcome::Success("ok\n".into()));
        assert_eq!(server.seen()[0].target, "/healthz");
    }

    #[tokio::test]
    async fn status_404_and_500_fail_without_the_body() {
        for status in [404, 500] {
            let server = serve_fixed(Reply::new(status, "secret details")).await;
            let outcome = probe(&target(Scheme::Http, server.port, "/"), SECOND).await;
            assert_eq!(
                outcome,
                ProbeOutcome::Failure(format!("HTTP probe failed with statuscode: {status}"))
            );
        }
    }

    #[tokio::test]
    async fn status_399_and_3xx_without_location_are_warnings() {
        for status in [300, 304, 399] {
            let server = serve_fixed(Reply::new(status, "moved?")).await;
            let outcome = probe(&target(Scheme::Http, server.port, "/"), SECOND).await;
            let body = if status == 304 { "" } else { "moved?" };
            assert_eq!(
                outcome,
                ProbeOutcome::Warning(format!("Probe terminated redirects, Response body: {body}"))
            );
        }
    }

    #[tokio::test]
    async fn a_body_over_10_kib_is_cut_short_without_error() {
        let server = serve_fixed(Reply::new(200, &"a".repeat(50_000))).await;
        let outcome = probe(&target(Scheme::Http, server.port, "/"), SECOND).await;
        assert_eq!(outcome, ProbeOutcome::Success("a".repeat(10_240)));
    }

    #[tokio::test]
    async fn connection_refused_is_a_failure_in_go_words() {
        let port = closed_port().await;
        let outcome = probe(&target(Scheme::Http, port, "/healthz"), SECOND).await;
        assert_eq!(
            outcome,
            ProbeOutcome::Failure(format!(
                "Get \"http://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            ))
        );
    }

    #[tokio::test]
    async fn a_slow_server_times_out_while_awaiting_headers() {
        let mut reply = Reply::new(200, "late");
        reply.delay = Duration::from_secs(2);
        let server = serve_fixed(reply).await;
        let started = std::time::Instant::now();
        let outcome = probe(
            &target(Scheme::Http, server.port, "/slow"),
            Duration::from_millis(300),
        )
        .await;
        let elapsed = started.elapsed();
        assert_eq!(
            outcome,
            ProbeOutcome::Failure(format!(
                "Get \"http://127.0.0.1:{}/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                server.port
            ))
        );
        assert!(
            elapsed >= Duration::from_millis(290) && elapsed < SECOND,
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn a_body_that_stalls_past_the_timeout_is_a_prober_error() {
        let (port, server) = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..".to_vec(),
            Duration::from_secs(2),
        )
        .await;
        let started = std::time::Instant::now();
        let outcome = probe(&target(Scheme::Http, port, "/"), Duration::from_millis(300)).await;
        assert_eq!(
            outcome,
            ProbeOutcome::Error(
                "context deadline exceeded (Client.Timeout or context cancellation while reading body)"
                    .into()
            )
        );
        assert!(started.elapsed() < SECOND);
        server.abort();
    }

    #[tokio::test]
    async fn a_body_cut_by_the_server_is_a_prober_error() {
        let (port, _server) = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..".to_vec(),
            Duration::ZERO,
        )
        .await;
        let outcome = probe(&target(Scheme::Http, port, "/"), SECOND).await;
        assert_eq!(outcome, ProbeOutcome::Error("unexpected EOF".into()));
    }

    #[tokio::test]
    async fn a_server_that_closes_without_answering_gives_eof() {
        let (port, _server) = raw_server(Vec::new(), Duration::ZERO).await;
        let outcome = probe(&target(Scheme::Http, port, "/"), SECOND).await;
        assert_eq!(
            outcome,
            ProbeOutcome::Failure(format!("Get \"http://127.0.0.1:{port}/\": EOF"))
        );
    }

    // --------------------------------------------------------------------------------------
    // Probes: the request
    // --------------------------------------------------------------------------------------

    #[tokio::test]
    async fn the_request_is_written_as_the_kubelet_writes_it() {
        let (port, server) = raw_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            Duration::ZERO,
        )
        .await;
        let mut t = target(Scheme::Http, port, "/healthz?verbose=1");
        t.headers = vec![
            ("x-custom".into(), "one".into()),
            ("Host".into(), "app.example.com".into()),
            ("X-Custom".into(), " two ".into()),
            ("Authorization".into(), "Bearer t".into()),
        ];
        let outcome = probe(&t, SECOND).await;
        assert_eq!(outcome, ProbeOutcome::Success("ok".into()));
        assert_eq!(
            server.await.unwrap(),
            "GET /healthz?verbose=1 HTTP/1.1\r\n\
             Host: app.example.com\r\n\
             User-Agent: kube-probe/1.37\r\n\
             Accept: */*\r\n\
             Authorization: Bearer t\r\n\
             X-Custom: one\r\n\
             X-Custom: two\r\n\
             Connection: close\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn user_agent_and_accept_can_be_replaced_or_removed() {
        let server = serve_fixed(Reply::new(200, "")).await;
        let mut t = target(Scheme::Http, server.port, "/");
        t.headers = vec![
            ("user-agent".into(), "my-agent".into()),
            ("Accept".into(), "".into()),
        ];
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Success(String::new())
        );
        t.headers = vec![("Accept".into(), "application/json".into())];
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Success(String::new())
        );
        let seen = server.seen();
        assert_eq!(seen[0].header("user-agent").as_deref(), Some("my-agent"));
        assert_eq!(seen[0].header("accept"), None);
        assert_eq!(
            seen[0].header("host"),
            Some(format!("127.0.0.1:{}", server.port))
        );
        assert_eq!(seen[0].header("connection").as_deref(), Some("close"));
        assert_eq!(seen[0].header("accept-encoding"), None);
        assert_eq!(
            seen[1].header("user-agent").as_deref(),
            Some("kube-probe/1.37")
        );
        assert_eq!(
            seen[1].header("accept").as_deref(),
            Some("application/json")
        );
    }

    #[tokio::test]
    async fn an_invalid_header_value_fails_the_request_as_go_does() {
        let port = closed_port().await;
        let mut t = target(Scheme::Http, port, "/");
        t.headers = vec![("x-bad".into(), "a\nb".into())];
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Failure(format!(
                "Get \"http://127.0.0.1:{port}/\": net/http: invalid header field value for \"X-Bad\""
            ))
        );
        t.headers = vec![("bad name".into(), "v".into())];
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Failure(format!(
                "Get \"http://127.0.0.1:{port}/\": net/http: invalid header field name \"bad name\""
            ))
        );
    }

    #[tokio::test]
    async fn a_host_that_cannot_be_in_a_url_is_a_prober_error() {
        let mut t = target(Scheme::Http, 80, "/");
        t.host = "bad host".into();
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Error(
                "parse \"http://bad%20host:80/\": invalid URL escape \"%20\"".into()
            )
        );
    }

    #[tokio::test]
    async fn odd_paths_are_escaped_as_go_escapes_them() {
        let server = serve_fixed(Reply::new(200, "")).await;
        for (path, sent) in [
            ("/a b", "/a%20b"),
            ("/a%2Fb", "/a%2Fb"),
            ("/%zz?x", "/%25zz%3Fx"),
            ("healthz", "/healthz"),
            ("/p?q=a b", "/p?q=a%20b"),
            ("/x#frag", "/x"),
            ("//other/y", "/y"),
        ] {
            assert_eq!(
                probe(&target(Scheme::Http, server.port, path), SECOND).await,
                ProbeOutcome::Success(String::new()),
                "{path}"
            );
            assert_eq!(server.seen().last().unwrap().target, sent, "{path}");
        }
    }

    // --------------------------------------------------------------------------------------
    // Probes: redirects
    // --------------------------------------------------------------------------------------

    #[tokio::test]
    async fn a_redirect_to_the_same_host_is_followed() {
        let server = serve(
            Arc::new(|path: &str| match path {
                "/old" => Reply::new(301, "gone").header("Location", "/new?x=1"),
                "/new?x=1" => Reply::new(200, "here"),
                _ => Reply::new(404, ""),
            }),
            None,
        )
        .await;
        let mut t = target(Scheme::Http, server.port, "/old");
        t.headers = vec![("X-Custom".into(), "kept".into())];
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Success("here".into())
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].header("x-custom").as_deref(), Some("kept"));
        assert_eq!(
            seen[1].header("user-agent").as_deref(),
            Some("kube-probe/1.37")
        );
        assert_eq!(
            seen[1].header("referer"),
            Some(format!("http://127.0.0.1:{}/old", server.port))
        );
    }

    #[tokio::test]
    async fn a_redirect_to_another_port_of_the_same_host_is_followed() {
        let second = serve_fixed(Reply::new(200, "second")).await;
        let location = format!("http://127.0.0.1:{}/there", second.port);
        let first = serve_fixed(Reply::new(307, "").header("Location", &location)).await;
        assert_eq!(
            probe(&target(Scheme::Http, first.port, "/"), SECOND).await,
            ProbeOutcome::Success("second".into())
        );
        assert_eq!(
            second.seen()[0].header("host"),
            Some(format!("127.0.0.1:{}", second.port))
        );
    }

    #[tokio::test]
    async fn a_redirect_to_another_host_is_a_warning_with_the_body() {
        let server = serve_fixed(
            Reply::new(302, "see elsewhere").header("Location", "http://localhost.invalid:1/"),
        )
        .await;
        assert_eq!(
            probe(&target(Scheme::Http, server.port, "/"), SECOND).await,
            ProbeOutcome::Warning(
                "Probe terminated redirects, Response body: see elsewhere".into()
            )
        );
        assert_eq!(server.seen().len(), 1);
    }

    /// `/r/N` redirects to `/r/N+1` until `/r/<last>`, which answers 200.
    async fn redirect_chain(last: usize) -> Server {
        serve(
            Arc::new(move |path: &str| {
                let n: usize = path.trim_start_matches("/r/").parse().unwrap();
                if n == last {
                    Reply::new(200, "end")
                } else {
                    Reply::new(302, "").header("Location", &format!("/r/{}", n + 1))
                }
            }),
            None,
        )
        .await
    }

    #[tokio::test]
    async fn nine_redirects_are_followed_the_tenth_stops() {
        let server = redirect_chain(9).await;
        assert_eq!(
            probe(&target(Scheme::Http, server.port, "/r/0"), SECOND).await,
            ProbeOutcome::Success("end".into())
        );
        assert_eq!(server.seen().len(), 10);

        let server = redirect_chain(10).await;
        assert_eq!(
            probe(&target(Scheme::Http, server.port, "/r/0"), SECOND).await,
            ProbeOutcome::Failure("Get \"/r/10\": stopped after 10 redirects".into())
        );
        assert_eq!(server.seen().len(), 10);
    }

    #[tokio::test]
    async fn a_custom_host_survives_relative_redirects_only() {
        let second = serve_fixed(Reply::new(200, "done")).await;
        let absolute = format!("http://127.0.0.1:{}/c", second.port);
        let first = serve(
            Arc::new(move |path: &str| match path {
                "/a" => Reply::new(302, "").header("Location", "/b"),
                "/b" => Reply::new(302, "").header("Location", &absolute),
                _ => Reply::new(404, ""),
            }),
            None,
        )
        .await;
        let mut t = target(Scheme::Http, first.port, "/a");
        t.headers = vec![("Host".into(), "app.example.com".into())];
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Success("done".into())
        );
        let seen = first.seen();
        assert_eq!(seen[0].header("host").as_deref(), Some("app.example.com"));
        assert_eq!(seen[1].header("host").as_deref(), Some("app.example.com"));
        assert_eq!(
            second.seen()[0].header("host"),
            Some(format!("127.0.0.1:{}", second.port))
        );
    }

    #[tokio::test]
    async fn an_unparsable_location_is_a_failure() {
        let server = serve_fixed(Reply::new(302, "").header("Location", "/%zz")).await;
        assert_eq!(
            probe(&target(Scheme::Http, server.port, "/"), SECOND).await,
            ProbeOutcome::Failure(format!(
                "Get \"http://127.0.0.1:{}/\": failed to parse Location header \"/%zz\": parse \"/%zz\": invalid URL escape \"%zz\"",
                server.port
            ))
        );
    }

    // --------------------------------------------------------------------------------------
    // Probes: HTTPS
    // --------------------------------------------------------------------------------------

    #[tokio::test]
    async fn https_with_a_self_signed_certificate_succeeds() {
        let server = serve(
            Arc::new(|_: &str| Reply::new(200, "secure")),
            Some(tls_server_config(&[])),
        )
        .await;
        assert_eq!(
            probe(&target(Scheme::Https, server.port, "/"), SECOND).await,
            ProbeOutcome::Success("secure".into())
        );
        assert_eq!(server.seen()[0].version, hyper::Version::HTTP_11);
        // A host name is sent as SNI and does not need to match the certificate.
        let mut t = target(Scheme::Https, server.port, "/");
        t.host = "localhost".into();
        assert_eq!(
            probe(&t, SECOND).await,
            ProbeOutcome::Success("secure".into())
        );
    }

    #[tokio::test]
    async fn https_speaks_http2_when_the_server_offers_it() {
        let server = serve(
            Arc::new(|_: &str| Reply::new(200, "h2")),
            Some(tls_server_config(&[b"h2", b"http/1.1"])),
        )
        .await;
        let mut t = target(Scheme::Https, server.port, "/x");
        t.headers = vec![("Host".into(), "app.example.com".into())];
        assert_eq!(probe(&t, SECOND).await, ProbeOutcome::Success("h2".into()));
        let seen = &server.seen()[0];
        assert_eq!(seen.version, hyper::Version::HTTP_2);
        assert_eq!(
            seen.header("user-agent").as_deref(),
            Some("kube-probe/1.37")
        );
        assert_eq!(seen.header("accept").as_deref(), Some("*/*"));
        assert_eq!(seen.header("connection"), None);
    }

    #[tokio::test]
    async fn https_against_a_plain_http_server_fails_for_probes() {
        let server = serve_fixed(Reply::new(200, "plain")).await;
        assert_eq!(
            probe(&target(Scheme::Https, server.port, "/"), SECOND).await,
            ProbeOutcome::Failure(format!(
                "Get \"https://127.0.0.1:{}/\": http: server gave HTTP response to HTTPS client",
                server.port
            ))
        );
    }

    // --------------------------------------------------------------------------------------
    // Hooks
    // --------------------------------------------------------------------------------------

    #[tokio::test]
    async fn a_hook_ignores_the_status_code() {
        let server = serve_fixed(Reply::new(500, "boom")).await;
        assert_eq!(
            hook(&target(Scheme::Http, server.port, "/hook")).await,
            Ok(HookResponse {
                status: 500,
                fell_back_to_http: false
            })
        );
        let seen = &server.seen()[0];
        assert_eq!(
            seen.header("user-agent").as_deref(),
            Some("kube-lifecycle/1.37")
        );
        assert_eq!(seen.header("accept-encoding").as_deref(), Some("gzip"));
        assert_eq!(seen.header("connection"), None);
    }

    #[tokio::test]
    async fn a_hook_request_is_written_as_go_default_transport_writes_it() {
        let (port, server) =
            raw_server(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(), Duration::ZERO).await;
        let result = hook(&target(Scheme::Http, port, "/stop")).await;
        assert_eq!(
            result,
            Ok(HookResponse {
                status: 204,
                fell_back_to_http: false
            })
        );
        assert_eq!(
            server.await.unwrap(),
            format!(
                "GET /stop HTTP/1.1\r\n\
                 Host: 127.0.0.1:{port}\r\n\
                 User-Agent: kube-lifecycle/1.37\r\n\
                 Accept: */*\r\n\
                 Accept-Encoding: gzip\r\n\r\n"
            )
        );
    }

    #[tokio::test]
    async fn an_https_hook_falls_back_to_http() {
        let server = serve_fixed(Reply::new(200, "plain")).await;
        let mut t = target(Scheme::Https, server.port, "/hook");
        t.headers = vec![("Authorization".into(), "Bearer secret".into())];
        assert_eq!(
            hook(&t).await,
            Ok(HookResponse {
                status: 200,
                fell_back_to_http: true
            })
        );
        // The plain-HTTP server saw the TLS hello as garbage, then the retried request,
        // without the credentials.
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].target, "/hook");
        assert_eq!(seen[0].header("authorization"), None);
    }

    #[tokio::test]
    async fn an_https_hook_to_an_https_server_does_not_fall_back() {
        let server = serve(
            Arc::new(|_: &str| Reply::new(302, "").header("Location", "http://localhost.invalid/")),
            Some(tls_server_config(&[b"h2", b"http/1.1"])),
        )
        .await;
        assert_eq!(
            hook(&target(Scheme::Https, server.port, "/")).await,
            Ok(HookResponse {
                status: 302,
                fell_back_to_http: false
            })
        );
        // Hooks never use HTTP/2 (Go's transport with a custom TLS config does not).
        assert_eq!(server.seen()[0].version, hyper::Version::HTTP_11);
    }

    #[tokio::test]
    async fn a_hook_to_a_closed_port_is_an_error() {
        let port = closed_port().await;
        assert_eq!(
            hook(&target(Scheme::Http, port, "/hook")).await,
            Err(format!(
                "Get \"http://127.0.0.1:{port}/hook\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            ))
        );
        // An HTTPS hook to a closed port does not fall back.
        assert_eq!(
            hook(&target(Scheme::Https, port, "/hook")).await,
            Err(format!(
                "Get \"https://127.0.0.1:{port}/hook\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            ))
        );
    }

    #[tokio::test]
    async fn a_hook_follows_same_host_redirects() {
        let server = redirect_chain(3).await;
        assert_eq!(
            hook(&target(Scheme::Http, server.port, "/r/0")).await,
            Ok(HookResponse {
                status: 200,
                fell_back_to_http: false
            })
        );
        let server = redirect_chain(12).await;
        assert_eq!(
            hook(&target(Scheme::Http, server.port, "/r/0")).await,
            Err("Get \"/r/10\": stopped after 10 redirects".into())
        );
    }

    // --------------------------------------------------------------------------------------
    // URL handling
    // --------------------------------------------------------------------------------------

    #[test]
    fn format_url_matches_go() {
        let u = format_url("http", "10.0.0.1", 8080, "/healthz?x=1#top");
        assert_eq!(u.to_go_string(), "http://10.0.0.1:8080/healthz?x=1#top");
        assert_eq!(request_target(&u), "/healthz?x=1");
        let u = format_url("https", "::1", 443, "/");
        assert_eq!(u.to_go_string(), "https://[::1]:443/");
        assert_eq!(u.hostname(), "::1");
        assert_eq!(u.port(), Some("443"));
        let u = format_url("http", "h", 80, "/%zz");
        assert_eq!(u.to_go_string(), "http://h:80/%25zz");
        let u = format_url("http", "h", 80, "");
        assert_eq!(u.to_go_string(), "http://h:80");
        assert_eq!(request_target(&u), "/");
    }

    #[test]
    fn references_resolve_as_in_go() {
        let base = GoUrl::parse("http://a:1/b/c/d?q").unwrap();
        for (reference, expected) in [
            ("g", "http://a:1/b/c/g"),
            ("./g", "http://a:1/b/c/g"),
            ("../g", "http://a:1/b/g"),
            ("../../../g", "http://a:1/g"),
            ("/g?y", "http://a:1/g?y"),
            ("?y", "http://a:1/b/c/d?y"),
            ("", "http://a:1/b/c/d?q"),
            ("//other:2/x", "http://other:2/x"),
            ("https://a/x/../y", "https://a/y"),
            ("HTTP://A:3", "http://A:3"),
            (".", "http://a:1/b/c/"),
        ] {
            let r = GoUrl::parse(reference).unwrap();
            assert_eq!(base.resolve(&r).to_go_string(), expected, "{reference}");
        }
        assert_eq!(GoUrl::parse("http://[::1]:9/").unwrap().hostname(), "::1");
        assert_eq!(
            GoUrl::parse("a:b/c").map(|u| u.opaque),
            Ok(true),
            "a scheme with a rootless path is opaque"
        );
        assert_eq!(
            GoUrl::parse("x/a:b").unwrap().path,
            "x/a:b",
            "a colon after the first segment is fine"
        );
        assert_eq!(
            GoUrl::parse("1a:b"),
            Err("parse \"1a:b\": first path segment in URL cannot contain colon".into())
        );
        assert_eq!(
            GoUrl::parse("http://h:x/"),
            Err("parse \"http://h:x/\": invalid port \":x\" after host".into())
        );
        assert_eq!(
            GoUrl::parse("http://a b/"),
            Err("parse \"http://a b/\": invalid character \" \" in host name".into())
        );
    }

    #[test]
    fn header_keys_are_canonicalised_as_in_go() {
        assert_eq!(canonical_key("user-agent"), "User-Agent");
        assert_eq!(canonical_key("X-FORWARDED-FOR"), "X-Forwarded-For");
        assert_eq!(canonical_key("x_y"), "X_y");
        assert_eq!(canonical_key("bad name"), "bad name");
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
    }
}
