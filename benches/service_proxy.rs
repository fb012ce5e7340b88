//! The Service proxy (`cargo bench --bench service_proxy`, process runtime, testapp pods):
//!
//! 1. Requests per second through a Service's proxy against the same requests sent straight
//!    to one pod (a new connection per request, 8 clients at once; target ≥ 0.8×).
//! 2. From a pod's Ready condition turning false (the engine knows) to its endpoint changing
//!    (target < 10 ms).
//!
//! `SERVICE_PROXY_SERVE=SECONDS` only sets up the pods and the Service, prints the direct and
//! the proxy address, and keeps them up that long, for a load generator in a process of its
//! own, e.g. `wrk -t1 -c8 -d5s [-H 'Connection: close'] http://ADDRESS/`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{percentile, pods};
use podlife::engine::{Engine, Observation};
use podlife::manifest::expand::{NameRng, expand};
use podlife::manifest::{Source, analyze};
use podlife::runtime::process::ProcessRuntime;
use podlife::time::TimeScale;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 8;
const REQUESTS: usize = 4000;

/// One HTTP/1.0 request on a new connection; whether it got a 200.
async fn request(addr: SocketAddr, method: &str, path: &str) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let _ = s
        .write_all(format!("{method} {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    out.starts_with(b"HTTP/1.1 200") || out.starts_with(b"HTTP/1.0 200")
}

/// Requests per second, `CLIENTS` at a time.
async fn rate(addr: SocketAddr) -> f64 {
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..REQUESTS / CLIENTS {
                ok += usize::from(request(addr, "GET", "/").await);
            }
            ok
        }));
    }
    let mut ok = 0;
    for c in clients {
        ok += c.await.unwrap();
    }
    assert_eq!(ok, REQUESTS, "every request answered");
    REQUESTS as f64 / started.elapsed().as_secs_f64()
}

/// Requests per second over kept-alive connections, `CLIENTS` of them (HTTP/1.1, hyper).
async fn rate_kept_alive(addr: SocketAddr) -> f64 {
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut ok = 0;
            for _ in 0..REQUESTS / CLIENTS {
                let request = hyper::Request::get("/")
                    .header("host", "x")
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                ok += usize::from(response.status() == 200);
                let _ = http_body_util::BodyExt::collect(response.into_body()).await;
            }
            ok
        }));
    }
    let mut ok = 0;
    for c in clients {
        ok += c.await.unwrap();
    }
    assert_eq!(ok, REQUESTS, "every request answered");
    REQUESTS as f64 / started.elapsed().as_secs_f64()
}

async fn ready_endpoints(engine: &Engine, n: usize) {
    while engine
        .endpoints("web")
        .unwrap_or_default()
        .iter()
        .filter(|e| e.ready)
        .count()
        != n
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let testapp = podlife::images::static_testapp(&|_| {})
        .await
        .expect("the static testapp");
    let dir = testapp.parent().unwrap().to_path_buf();
    let runtime = ProcessRuntime::new().unwrap().with_path_prepended(&dir);
    let engine = Arc::new(Engine::new(Arc::new(runtime), TimeScale::new(0.1).unwrap()));
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: testapp\n        command: [testapp, --http, '8080']\n        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}\n";
    let report = analyze(Source::new("bench.yaml", yaml));
    let plan = expand(&report.manifests, &mut NameRng::with_seed(1));
    for service in plan.services {
        engine.apply_service(service.service).await.unwrap();
    }
    for pod in pods(yaml) {
        engine.apply(pod).unwrap();
    }
    ready_endpoints(&engine, 3).await;
    let proxy = engine.service_addresses("web")[0].2;
    let one = engine.endpoints("web").unwrap()[0].clone();
    let direct: SocketAddr = format!("{}:8080", one.ip).parse().unwrap();
    // `SERVICE_PROXY_SERVE=SECONDS`: only set up the pods and the Service, print the
    // addresses, and keep them up that long, for an out-of-process load generator (e.g. wrk).
    if let Some(secs) = std::env::var("SERVICE_PROXY_SERVE")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        println!("direct http://{direct}/");
        println!("proxy http://{proxy}/");
        tokio::time::sleep(Duration::from_secs(secs)).await;
        engine.shutdown(Some(0)).await;
        return;
    }
    rate(direct).await; // warm-up
    let straight = rate(direct).await;
    let through = rate(proxy).await;
    let ratio = through / straight;
    println!(
        "requests/s, new connection each, {CLIENTS} clients: direct {straight:.0}, through the proxy {through:.0}: {ratio:.2}× (target ≥ 0.8×: {})",
        if ratio >= 0.8 { "met" } else { "MISSED" }
    );
    let straight = rate_kept_alive(direct).await;
    let through = rate_kept_alive(proxy).await;
    let ratio = through / straight;
    println!(
        "requests/s, {CLIENTS} kept-alive connections: direct {straight:.0}, through the proxy {through:.0}: {ratio:.2}× (target ≥ 0.8×: {})",
        if ratio >= 0.8 { "met" } else { "MISSED" }
    );

    // Readiness flips of one pod, both ways, 20 times.
    let pod_addr = direct;
    let mut delays = Vec::new();
    for i in 0..20 {
        let (path, ready) = if i % 2 == 0 {
            ("/health/unhealthy", false)
        } else {
            ("/health/healthy", true)
        };
        let from = engine.log().records().len();
        assert!(request(pod_addr, "POST", path).await);
        loop {
            let records = engine.log().records();
            let flip = records[from..].iter().find(|r| {
                r.pod == one.pod
                    && matches!(r.observation(), Some(Observation::ConditionChanged { condition, status }) if *condition == podlife::engine::status::ConditionKind::Ready && *status == ready)
            });
            let change = records[from..].iter().find(|r| {
                r.pod == one.pod
                    && matches!(r.observation(), Some(Observation::Endpoint { ready: now, .. }) if *now == ready)
            });
            if let (Some(f), Some(c)) = (flip, change) {
                delays.push((c.wall.saturating_sub(f.wall)).as_secs_f64() * 1000.0);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    delays.sort_by(f64::total_cmp);
    let p99 = percentile(&delays, 0.99);
    println!(
        "Ready flip → endpoint change: n={} p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms (target < 10 ms: {})",
        delays.len(),
        percentile(&delays, 0.5),
        delays.last().unwrap(),
        if p99 < 10.0 { "met" } else { "MISSED" }
    );
    engine.shutdown(Some(0)).await;
}
