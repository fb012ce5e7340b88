//! HTTP endpoints, health (toggles, schedule, file), the backend check and the TCP greeter.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{PATIENCE, TestApp, connect, eventually, request};
use serde_json::Value;

#[test]
fn hello_and_every_request_is_logged() {
    let app = TestApp::spawn(&["--http", "0", "--name", "web-1"]);
    assert_eq!(app.start["name"], "web-1");
    assert_eq!(app.start["bind"], "127.0.0.1");
    assert_eq!(app.start["pid"], app.child.id());
    assert_eq!(app.start["tcp_port"], Value::Null);
    assert_eq!(app.start["grpc_port"], Value::Null);

    let response = app.get("/");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "hello from web-1\n");

    let port = app.http_port();
    let logged = app.wait_event(PATIENCE, |e| e["event"] == "request");
    assert_eq!(logged["method"], "GET");
    assert_eq!(logged["path"], "/");
    assert_eq!(logged["user_agent"], "testapp-tests");
    assert_eq!(logged["host"], format!("127.0.0.1:{port}"));
    assert!(logged["peer"].as_str().unwrap().starts_with("127.0.0.1:"));

    let response = request(port, "POST", "/nowhere?x=1").unwrap();
    assert_eq!(response.status, 404);
    let logged = app.wait_event(PATIENCE, |e| e["path"] == "/nowhere");
    assert_eq!(logged["method"], "POST");
    assert_eq!(logged["query"], "x=1");

    // Without --backend, /backend is fine.
    assert_eq!(app.get("/backend").status, 200);
}

#[test]
fn configured_by_environment() {
    let app = TestApp::spawn_with(
        &[],
        &[
            ("TESTAPP_HTTP", "0"),
            ("TESTAPP_TCP", "0"),
            ("POD_NAME", "pod-from-env"),
            ("TESTAPP_HEALTHY_AFTER", "1m"),
        ],
        Stdio::null(),
    );
    assert_eq!(app.start["name"], "pod-from-env");
    assert!(app.start["tcp_port"].as_u64().is_some());
    assert_eq!(app.get("/").body, "hello from pod-from-env\n");
    assert_eq!(app.get("/healthz").status, 500);

    // A flag wins over its variable.
    let app = TestApp::spawn_with(
        &["--name", "from-flag"],
        &[
            ("TESTAPP_HTTP", "0"),
            ("TESTAPP_NAME", "from-variable"),
            ("POD_NAME", "pod"),
        ],
        Stdio::null(),
    );
    assert_eq!(app.get("/").body, "hello from from-flag\n");
}

#[test]
fn status_redirect_slow_and_events() {
    let app = TestApp::spawn(&["--http", "0"]);

    let response = app.get("/status/418");
    assert_eq!(response.status, 418);
    assert_eq!(app.get("/status/503").status, 503);
    assert_eq!(app.get("/status/99").status, 400);
    assert_eq!(app.get("/status/teapot").status, 400);

    let response = app.get("/redirect?to=http%3A%2F%2Fexample.invalid%2Fa%3Fb%3Dc");
    assert_eq!(response.status, 302);
    assert_eq!(
        response.header("location"),
        Some("http://example.invalid/a?b=c")
    );
    assert_eq!(app.get("/redirect").status, 400);

    let started = Instant::now();
    let response = app.get("/slow?ms=300");
    let took = started.elapsed();
    assert_eq!(response.status, 200);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(app.get("/slow").status, 400);

    let response = app.get("/events");
    assert_eq!(response.status, 200);
    let events: Vec<Value> = response
        .body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "start");
    assert!(
        events
            .iter()
            .any(|e| e["path"] == "/slow" && e["query"] == "ms=300")
    );
    assert_eq!(events.last().unwrap()["path"], "/events");
}

#[test]
fn health_toggles() {
    let app = TestApp::spawn(&["--http", "0"]);
    let port = app.http_port();
    let initial = app.wait_event(PATIENCE, |e| e["event"] == "health");
    assert_eq!(initial["healthy"], true);
    assert_eq!(initial["reason"], "initial");

    let response = app.get("/healthz");
    assert_eq!((response.status, response.body.as_str()), (200, "ok"));

    assert_eq!(
        request(port, "POST", "/health/unhealthy").unwrap().status,
        200
    );
    let response = app.get("/healthz");
    assert_eq!(
        (response.status, response.body.as_str()),
        (500, "unhealthy")
    );

    assert_eq!(request(port, "PUT", "/health/healthy").unwrap().status, 405);
    assert_eq!(app.get("/healthz").status, 500);
    assert_eq!(app.get("/health/healthy").status, 200);
    assert_eq!(app.get("/healthz").status, 200);

    let changes: Vec<(bool, String)> = app
        .events()
        .iter()
        .filter(|e| e["event"] == "health")
        .map(|e| {
            (
                e["healthy"].as_bool().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (true, "initial".to_owned()),
            (false, "toggle".to_owned()),
            (true, "toggle".to_owned()),
        ]
    );
}

#[test]
fn health_follows_the_schedule_until_toggled() {
    let app = TestApp::spawn(&[
        "--http",
        "0",
        "--healthy-after",
        "400ms",
        "--unhealthy-after",
        "1200ms",
    ]);
    assert_eq!(app.get("/healthz").status, 500);

    // The monitor logs the edges by itself, on time.
    let up = app.wait_event(PATIENCE, |e| e["event"] == "health" && e["healthy"] == true);
    assert_eq!(up["reason"], "schedule");
    let at = up["mono_ms"].as_u64().unwrap();
    assert!((400..700).contains(&at), "healthy at {at} ms");
    assert_eq!(app.get("/healthz").status, 200);

    let down = app.wait_event(PATIENCE, |e| {
        e["event"] == "health" && e["healthy"] == false && e["reason"] == "schedule"
    });
    let at = down["mono_ms"].as_u64().unwrap();
    assert!((1200..1500).contains(&at), "unhealthy at {at} ms");
    assert_eq!(app.get("/healthz").status, 500);

    // A toggle overrides the schedule from then on.
    assert_eq!(app.get("/health/healthy").status, 200);
    assert_eq!(app.get("/healthz").status, 200);
}

#[test]
fn health_follows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let app = TestApp::spawn(&["--http", "0", "--health-file", ready.to_str().unwrap()]);
    assert_eq!(app.get("/healthz").status, 500);

    // Checked on every query...
    std::fs::write(&ready, "").unwrap();
    assert_eq!(app.get("/healthz").status, 200);
    std::fs::remove_file(&ready).unwrap();
    assert_eq!(app.get("/healthz").status, 500);
    // ... and by the monitor, which logs changes nobody asked about.
    std::fs::write(&ready, "").unwrap();
    let count = |app: &TestApp| {
        app.events()
            .iter()
            .filter(|e| e["event"] == "health" && e["reason"] == "file")
            .count()
    };
    eventually(PATIENCE, "the monitor logs the file's creation", || {
        count(&app) == 3
    });
    let last = app
        .events()
        .into_iter()
        .rfind(|e| e["event"] == "health")
        .unwrap();
    assert_eq!(last["healthy"], true);
}

#[test]
fn backend_check() {
    let backend = TestApp::spawn(&["--http", "0"]);
    let backend_port = backend.http_port();

    let ok = format!("--backend=http://127.0.0.1:{backend_port}/status/204");
    let app = TestApp::spawn(&["--http", "0", &ok]);
    let response = app.get("/backend");
    assert_eq!(response.status, 200, "{}", response.body);
    let seen = backend.wait_event(PATIENCE, |e| e["path"] == "/status/204");
    assert!(seen["user_agent"].as_str().unwrap().starts_with("testapp/"));

    let failing = format!("--backend=http://127.0.0.1:{backend_port}/status/503");
    let app = TestApp::spawn(&["--http", "0", &failing]);
    assert_eq!(app.get("/backend").status, 503);

    // Nothing listens there.
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = format!("--backend=http://127.0.0.1:{closed_port}/");
    let app = TestApp::spawn(&["--http", "0", &refused]);
    assert_eq!(app.get("/backend").status, 503);

    // Connections are accepted (by the kernel) but never answered: 1 s timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!(
        "--backend=http://127.0.0.1:{}/",
        silent.local_addr().unwrap().port()
    );
    let app = TestApp::spawn(&["--http", "0", &silent_url]);
    let started = Instant::now();
    let response = app.get("/backend");
    let took = started.elapsed();
    assert_eq!(response.status, 503);
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn tcp_greets_and_logs() {
    let app = TestApp::spawn(&["--tcp", "0", "--name", "tcp-1"]);
    let port = app.port("tcp");
    assert_eq!(app.start["http_port"], Value::Null);
    for _ in 0..2 {
        let mut stream = connect(port).unwrap();
        let mut greeting = String::new();
        stream.read_to_string(&mut greeting).unwrap();
        assert_eq!(greeting, "hello from tcp-1\n");
    }
    eventually(PATIENCE, "two tcp events", || {
        app.events().iter().filter(|e| e["event"] == "tcp").count() == 2
    });
    let logged = app.wait_event(PATIENCE, |e| e["event"] == "tcp");
    assert_eq!(logged["port"], port);
    assert!(logged["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
}

#[test]
fn tcp_listener_follows_health_when_asked() {
    let app = TestApp::spawn(&["--http", "0", "--tcp", "0", "--tcp-follows-health"]);
    let port = app.http_port();
    let tcp = app.port("tcp");
    assert!(connect(tcp).is_ok(), "listening while healthy");
    assert_eq!(
        request(port, "POST", "/health/unhealthy").unwrap().status,
        200
    );
    eventually(PATIENCE, "the listener closed", || connect(tcp).is_err());
    assert_eq!(
        request(port, "POST", "/health/healthy").unwrap().status,
        200
    );
    eventually(PATIENCE, "the listener open again", || connect(tcp).is_ok());
    let events: Vec<Value> = app
        .events()
        .into_iter()
        .filter(|e| e["event"] == "tcp-listener")
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (&events[0]["open"], &events[1]["open"]),
        (&Value::from(false), &Value::from(true))
    );
}
