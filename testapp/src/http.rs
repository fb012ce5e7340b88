//! The HTTP/1 server (see the endpoint list in `--help`) and the `/backend` check.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, LOCATION, USER_AGENT};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::App;

/// How long `/backend` waits for the backend's answer, connecting included.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Accepts connections until shutdown, then drops the listener (new connections are refused;
/// those already open go on being served).
pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let app = app.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(req, peer, app.clone()));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // E.g. out of file descriptors: don't spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            () = crate::stopping(&mut shutdown) => break,
        }
    }
}

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> Value {
    req.headers().get(name).map_or(Value::Null, |v| {
        Value::from(String::from_utf8_lossy(v.as_bytes()))
    })
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn handle(
    req: Request<Incoming>,
    peer: SocketAddr,
    app: Arc<App>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    app.log.log(
        "request",
        &[
            ("method", Value::from(req.method().as_str())),
            ("path", Value::from(path.as_str())),
            ("query", Value::from(query.as_str())),
            ("host", header(&req, HOST)),
            ("user_agent", header(&req, USER_AGENT)),
            ("peer", Value::from(peer.to_string())),
            ("version", Value::from(format!("{:?}", req.version()))),
        ],
    );
    let method = req.method().clone();
    let toggle_method = method == Method::GET || method == Method::POST;

    let response = match path.as_str() {
        "/" => text(StatusCode::OK, format!("hello from {}\n", app.name)),
        "/healthz" => {
            if app.health.current() {
                text(StatusCode::OK, "ok")
            } else {
                text(StatusCode::INTERNAL_SERVER_ERROR, "unhealthy")
            }
        }
        "/health/healthy" | "/health/unhealthy" if !toggle_method => {
            text(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST\n")
        }
        "/health/healthy" => {
            app.health.toggle(true);
            text(StatusCode::OK, "healthy\n")
        }
        "/health/unhealthy" => {
            app.health.toggle(false);
            text(StatusCode::OK, "unhealthy\n")
        }
        "/redirect" => match query_param(&query, "to") {
            Some(to) => match HeaderValue::from_str(&to) {
                Ok(location) => {
                    let mut response = text(StatusCode::FOUND, format!("redirect to {to}\n"));
                    response.headers_mut().insert(LOCATION, location);
                    response
                }
                Err(_) => text(StatusCode::BAD_REQUEST, "invalid to=\n"),
            },
            None => text(StatusCode::BAD_REQUEST, "missing to=<url>\n"),
        },
        "/slow" => match query_param(&query, "ms").map(|ms| ms.parse::<u64>()) {
            Some(Ok(ms)) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                text(StatusCode::OK, format!("slept {ms} ms\n"))
            }
            _ => text(StatusCode::BAD_REQUEST, "expected ms=<milliseconds>\n"),
        },
        "/events" => {
            let mut response = text(StatusCode::OK, app.log.snapshot());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            response
        }
        "/backend" => match &app.backend {
            None => text(StatusCode::OK, "no backend\n"),
            Some(url) => match check_backend(url).await {
                Ok(status) if status.is_success() => {
                    text(StatusCode::OK, format!("backend {url}: {status}\n"))
                }
                Ok(status) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("backend {url}: {status}\n"),
                ),
                Err(e) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("backend {url}: {e}\n"),
                ),
            },
        },
        _ => match path.strip_prefix("/status/") {
            Some(code) => match code.parse::<u16>() {
                Ok(code @ 200..=599) => {
                    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
                    text(status, format!("status {code}\n"))
                }
                _ => text(StatusCode::BAD_REQUEST, "expected /status/<200..=599>\n"),
            },
            None => text(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    Ok(response)
}

/// The first value of `name` in a query string, percent-decoded (`+` is a space).
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// GETs `url` (plain HTTP/1, one request) within [`BACKEND_TIMEOUT`]: the status it answered.
async fn check_backend(url: &str) -> Result<StatusCode, String> {
    let uri: Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    if uri.scheme_str().is_some_and(|s| s != "http") {
        return Err("only http:// is supported".to_owned());
    }
    let authority = uri
        .authority()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = authority.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let request = async move {
        let stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        let request = Request::get(path)
            .header(HOST, authority.as_str())
            .header(USER_AGENT, concat!("testapp/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|e| format!("request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        Ok(response.status())
    };
    tokio::time::timeout(BACKEND_TIMEOUT, request)
        .await
        .map_err(|_| format!("no answer within {BACKEND_TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        assert_eq!(query_param("ms=20", "ms").as_deref(), Some("20"));
        assert_eq!(
            query_param("a=1&to=http%3A%2F%2Fx%2Fy%3Fz%3D1+2", "to").as_deref(),
            Some("http://x/y?z=1 2")
        );
        assert_eq!(query_param("a=1", "to"), None);
        assert_eq!(query_param("to", "to").as_deref(), Some(""));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41%c3%a9"), "Aé");
    }
}
