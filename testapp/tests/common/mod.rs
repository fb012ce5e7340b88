//! Shared by the integration tests: start the real binary on 127.0.0.1 with free ports, read its
//! event log, talk HTTP/1 to it, and always kill it at the end.

#![allow(dead_code)] // Each test binary uses a different part of this.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// How long anything that should happen at once may take on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running testapp, killed (SIGKILL) and reaped when dropped.
pub struct TestApp {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub log_path: PathBuf,
    pub start: Value,
}

/// The command for the binary, with `--bind 127.0.0.1 --log <dir>/events.log` and no inherited
/// TESTAPP_* or POD_* variables.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_testapp"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TESTAPP_") || key.starts_with("POD_") {
            command.env_remove(&*key);
        }
    }
    command
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--log")
        .arg(dir.join("events.log"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

impl TestApp {
    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_with(args, &[], Stdio::null())
    }

    /// Starts the binary and waits for its start event.
    pub fn spawn_with(args: &[&str], env: &[(&str, &str)], stdout: Stdio) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log_path = dir.path().join("events.log");
        let child = command(dir.path(), args, env)
            .stdout(stdout)
            .spawn()
            .expect("start testapp");
        let mut app = Self {
            child,
            dir,
            log_path,
            start: Value::Null,
        };
        app.start = app.wait_event(PATIENCE, |e| e["event"] == "start");
        app
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The whole lines of the log file so far, parsed.
    pub fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// Waits for an event matching `matches`, panicking (with the log) after `timeout`.
    pub fn wait_event(&self, timeout: Duration, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.events().into_iter().find(&matches) {
                return event;
            }
            assert!(
                Instant::now() < deadline,
                "no such event within {timeout:?}; log:\n{}",
                std::fs::read_to_string(&self.log_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn port(&self, which: &str) -> u16 {
        let port = self.start[format!("{which}_port")]
            .as_u64()
            .unwrap_or_else(|| panic!("no {which} port in {}", self.start));
        u16::try_from(port).unwrap()
    }

    pub fn http_port(&self) -> u16 {
        self.port("http")
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        request(self.http_port(), "GET", path).expect("HTTP request")
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("send signal");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exit code, or a description of the signal that ended the process.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => format!("{status:?}"),
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

pub fn connect(port: u16) -> std::io::Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(PATIENCE))?;
    Ok(stream)
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub fn request(port: u16, method: &str, path: &str) -> std::io::Result<HttpResponse> {
    let mut stream = connect(port)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: testapp-tests\r\n\
         Connection: close\r\nContent-Length: 0\r\n\r\n"
    )?;
    read_response(&mut BufReader::new(stream))
}

/// Reads one response (with a Content-Length body) from a connection.
pub fn read_response(reader: &mut impl BufRead) -> std::io::Result<HttpResponse> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (key, value) = header.split_once(':').ok_or_else(|| bad(header))?;
        headers.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .ok_or_else(|| bad("no content-length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?,
    })
}

/// Keeps polling `f` until it returns true, panicking with `what` after `timeout`.
pub fn eventually(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
