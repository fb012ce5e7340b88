//! Signals, draining, exiting by itself, files written at start, the log format, and the CLI.

mod common;

use std::io::{BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{PATIENCE, TestApp, connect, describe, read_response, request};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use serde_json::Value;

fn last_event(app: &TestApp) -> Value {
    app.events().pop().expect("some event")
}

#[test]
fn sigterm_stops_accepting_drains_and_exits_with_the_code() {
    let mut app = TestApp::spawn(&[
        "--http",
        "0",
        "--drain",
        "800ms",
        "--sigterm-exit-code",
        "7",
    ]);
    let port = app.http_port();
    // A connection opened before SIGTERM goes on being served during the drain.
    let mut open = BufReader::new(connect(port).unwrap());
    let ask = |open: &mut BufReader<std::net::TcpStream>| {
        let request = "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: keep-alive\r\n\r\n";
        open.get_mut().write_all(request.as_bytes()).unwrap();
        read_response(open).unwrap()
    };
    assert_eq!(ask(&mut open).status, 200);

    let sent = Instant::now();
    app.signal(Signal::SIGTERM);
    let signal = app.wait_event(PATIENCE, |e| e["event"] == "signal");
    assert_eq!(signal["signal"], "SIGTERM");
    assert_eq!(signal["number"], 15);
    assert_eq!(signal["action"], "shutdown");

    // Listeners are closed at once: new connections are refused...
    common::eventually(PATIENCE, "new connections refused", || {
        request(port, "GET", "/").is_err()
    });
    // ... while the open one is still served.
    assert_eq!(ask(&mut open).status, 200);
    assert!(app.is_running(), "exited before the end of the drain");

    let status = app.wait_exit(PATIENCE).expect("exits after the drain");
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(7), "{}", describe(status));
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_millis(3000), "{took:?}");

    let exit = last_event(&app);
    assert_eq!(exit["event"], "exit");
    assert_eq!(exit["code"], 7);
    assert_eq!(exit["reason"], "SIGTERM");
    let drained = exit["mono_ms"].as_u64().unwrap() - signal["mono_ms"].as_u64().unwrap();
    assert!((800..2000).contains(&drained), "drained {drained} ms");
}

#[test]
fn termination_message_is_written_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("termination-log");
    let mut app = TestApp::spawn(&[
        "--termination-message",
        "bye now",
        "--termination-log",
        path.to_str().unwrap(),
    ]);
    app.signal(Signal::SIGINT);
    let status = app.wait_exit(PATIENCE).expect("exits");
    assert_eq!(status.code(), Some(0), "{}", describe(status));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "bye now");
    let exit = last_event(&app);
    assert_eq!(
        (exit["event"].as_str(), exit["reason"].as_str()),
        (Some("exit"), Some("SIGINT"))
    );
}

#[test]
fn ignore_sigterm_survives_until_sigkill() {
    let mut app = TestApp::spawn(&["--http", "0", "--ignore-sigterm"]);
    app.signal(Signal::SIGTERM);
    app.signal(Signal::SIGINT);
    common::eventually(PATIENCE, "both signals logged", || {
        app.events()
            .iter()
            .filter(|e| e["event"] == "signal")
            .count()
            == 2
    });
    for event in app.events().iter().filter(|e| e["event"] == "signal") {
        assert_eq!(event["action"], "ignored");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(app.is_running());
    assert_eq!(app.get("/").status, 200);

    let pid = app.pid();
    app.child.kill().unwrap(); // SIGKILL
    let status = app.wait_exit(PATIENCE).expect("SIGKILL ends it");
    assert_eq!(status.signal(), Some(9), "{}", describe(status));
    assert_eq!(kill(pid, None), Err(Errno::ESRCH), "the process is gone");
    assert!(app.events().iter().all(|e| e["event"] != "exit"));
}

#[test]
fn other_signals_are_only_logged() {
    let mut app = TestApp::spawn(&[]);
    let sent = [
        (Signal::SIGHUP, "SIGHUP", 1),
        (Signal::SIGUSR1, "SIGUSR1", 10),
        (Signal::SIGUSR2, "SIGUSR2", 12),
        (Signal::SIGQUIT, "SIGQUIT", 3),
    ];
    for (signal, name, number) in sent {
        app.signal(signal);
        let logged = app.wait_event(PATIENCE, |e| e["signal"] == name);
        assert_eq!(logged["number"], number);
        assert_eq!(logged["action"], "logged");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(app.is_running());
    app.signal(Signal::SIGTERM);
    let status = app.wait_exit(PATIENCE).expect("exits on SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", describe(status));
}

#[test]
fn exit_after_exits_with_the_code_and_writes_files_first() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sub/dir/file.txt");
    let write = format!("--write-file={}=hello=world", target.display());
    let mut app = TestApp::spawn(&["--exit-after", "400ms", "--exit-code", "3", &write]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "hello=world");
    assert_eq!(app.start["files"][0], target.display().to_string());

    let status = app.wait_exit(PATIENCE).expect("exits by itself");
    assert_eq!(status.code(), Some(3), "{}", describe(status));
    let exit = last_event(&app);
    assert_eq!(exit["event"], "exit");
    assert_eq!(exit["code"], 3);
    assert_eq!(exit["reason"], "exit-after");
    let at = exit["mono_ms"].as_u64().unwrap();
    assert!((400..1500).contains(&at), "exited at {at} ms");
}

#[test]
fn a_file_that_cannot_be_written_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("plain-file");
    std::fs::write(&blocker, "").unwrap();
    let write = format!("--write-file={}/x=1", blocker.display());
    let status = common::command(dir.path(), &[&write], &[])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "{}", describe(status));
    let log = std::fs::read_to_string(dir.path().join("events.log")).unwrap();
    let exit: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(exit["event"], "exit");
    assert_eq!(exit["code"], 1);
    assert!(exit["reason"].as_str().unwrap().contains("write-file"));
}

#[test]
fn log_lines_are_json_with_increasing_mono_ms_and_mirror_stdout() {
    let mut app = TestApp::spawn_with(
        &["--http", "0", "--tcp", "0", "--healthy-after", "200ms"],
        &[],
        Stdio::piped(),
    );
    let mut stdout = app.child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    for path in [
        "/",
        "/healthz",
        "/status/201",
        "/health/unhealthy",
        "/events",
    ] {
        app.get(path);
    }
    drop(connect(app.port("tcp")).unwrap());
    app.signal(Signal::SIGUSR1);
    app.wait_event(PATIENCE, |e| e["event"] == "signal");
    app.signal(Signal::SIGTERM);
    let status = app.wait_exit(PATIENCE).expect("exits");
    assert!(status.success(), "{}", describe(status));

    let file = std::fs::read_to_string(&app.log_path).unwrap();
    assert_eq!(
        reader.join().unwrap(),
        file,
        "stdout carries the same lines"
    );
    assert!(file.ends_with('\n'));

    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut last_mono = 0;
    let mut last_ts = 0;
    let mut kinds = Vec::new();
    for line in file.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let ts = event["ts_ms"].as_u64().unwrap();
        let mono = event["mono_ms"].as_u64().unwrap();
        let kind = event["event"].as_str().unwrap();
        let prefix = format!("{{\"ts_ms\":{ts},\"mono_ms\":{mono},\"event\":\"{kind}\"");
        assert!(line.starts_with(&prefix), "{line}");
        assert!(now_ms.abs_diff(ts) < 60_000, "{line}");
        assert!(mono >= last_mono && ts >= last_ts, "out of order: {line}");
        (last_mono, last_ts) = (mono, ts);
        kinds.push(kind.to_owned());
    }
    assert_eq!(kinds.first().map(String::as_str), Some("start"));
    assert_eq!(kinds.last().map(String::as_str), Some("exit"));
    for kind in ["health", "request", "tcp", "signal"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} event in {kinds:?}"
        );
    }
}

#[test]
fn help_documents_every_flag_and_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_testapp"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let flags = [
        "bind",
        "http",
        "tcp",
        "grpc",
        "grpc-service",
        "name",
        "backend",
        "healthy-after",
        "unhealthy-after",
        "health-file",
        "ignore-sigterm",
        "drain",
        "sigterm-exit-code",
        "exit-after",
        "exit-code",
        "write-file",
        "termination-message",
        "termination-log",
        "log",
    ];
    for flag in flags {
        assert!(help.contains(&format!("--{flag}")), "--{flag} missing");
        let variable = format!("TESTAPP_{}", flag.to_uppercase().replace('-', "_"));
        assert!(help.contains(&variable), "{variable} missing");
    }
}

#[test]
fn a_bad_duration_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_testapp"))
        .args(["--drain", "soon"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--drain"));
}
