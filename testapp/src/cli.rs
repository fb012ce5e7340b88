//! Command-line flags. Every flag can also be given as the environment variable
//! `TESTAPP_<FLAG>` (upper case, `-` → `_`); a flag on the command line wins.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

const AFTER_HELP: &str = "\
HTTP endpoints (with --http):
  GET /                        200 \"hello from <name>\\n\"
  GET /healthz                 200 \"ok\" while healthy, 500 \"unhealthy\" otherwise
  GET|POST /health/healthy     force healthy from now on (overrides schedule and file)
  GET|POST /health/unhealthy   force unhealthy from now on (overrides schedule and file)
  GET /status/<code>           respond with status <code> (200..=599)
  GET /redirect?to=<url>       302 with Location: <url>
  GET /slow?ms=<n>             sleep <n> ms, then 200
  GET /events                  the event log so far (JSON lines)
  GET /backend                 200 if --backend answers 2xx to a GET within 1 s, else 503
                               (200 without --backend)

Health: healthy = (after --healthy-after) AND (before --unhealthy-after) AND (--health-file
exists), until a /health/* toggle, which fixes it from then on. HTTP /healthz, gRPC Check/Watch
(services \"\" and --grpc-service) all follow it.

TCP (with --tcp): each connection is logged, gets \"hello from <name>\\n\" and is closed.
With --tcp-follows-health the listener is closed while unhealthy (connections are refused).

Signals: SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2 are logged. SIGTERM and SIGINT
(unless --ignore-sigterm) close the listeners, wait --drain, log \"exit\" and exit with
--sigterm-exit-code.

Event log: one JSON object per line on stdout (and appended to --log), flushed per line:
  {\"ts_ms\":<unix epoch ms>,\"mono_ms\":<ms since start>,\"event\":\"<kind>\",...}
  start   pid, name, version, bind, http_port, tcp_port, grpc_port (actual ports; null if
          off), grpc_service, files (paths written by --write-file), args
  health  healthy, reason (\"initial\", \"schedule\", \"file\", \"toggle\")
  request method, path, query, host, user_agent, peer, version
  tcp     peer, port
  grpc    method (\"Check\"/\"Watch\"), service, status, peer
  signal  signal (e.g. \"SIGTERM\"), number, action (\"shutdown\", \"ignored\", \"logged\",
          \"already-shutting-down\")
  exit    code, reason (\"SIGTERM\", \"SIGINT\", \"exit-after\", or the --write-file error)

Ports given as 0 are picked by the system; the start event has the actual ones.";

/// A small program for tests of a pod-lifecycle engine: serves HTTP, TCP and gRPC health with
/// scheduled or toggled health, handles signals, and logs everything it sees as JSON lines.
#[derive(Debug, Parser)]
#[command(name = "testapp", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Address to listen on [default: $POD_IP if set, else 0.0.0.0]
    #[arg(long, env = "TESTAPP_BIND", value_name = "ADDR")]
    pub bind: Option<IpAddr>,

    /// Serve HTTP on PORT (0: pick a free port)
    #[arg(long, env = "TESTAPP_HTTP", value_name = "PORT")]
    pub http: Option<u16>,

    /// Accept TCP connections on PORT, greet and close them (0: pick a free port)
    #[arg(long, env = "TESTAPP_TCP", value_name = "PORT")]
    pub tcp: Option<u16>,

    /// Serve gRPC health (grpc.health.v1.Health) on PORT (0: pick a free port)
    #[arg(long, env = "TESTAPP_GRPC", value_name = "PORT")]
    pub grpc: Option<u16>,

    /// gRPC service name reported (besides the overall service "")
    #[arg(
        long,
        env = "TESTAPP_GRPC_SERVICE",
        value_name = "NAME",
        default_value = "testapp"
    )]
    pub grpc_service: String,

    /// Name in greetings and the start event [default: $POD_NAME if set, else the hostname]
    #[arg(long, env = "TESTAPP_NAME", value_name = "NAME")]
    pub name: Option<String>,

    /// Backend that GET /backend checks (http://host:port/path; plain HTTP/1, 1 s timeout)
    #[arg(long, env = "TESTAPP_BACKEND", value_name = "URL")]
    pub backend: Option<String>,

    /// Unhealthy until DURATION after start (e.g. 500ms, 2s, 1m)
    #[arg(long, env = "TESTAPP_HEALTHY_AFTER", value_name = "DURATION", value_parser = parse_duration)]
    pub healthy_after: Option<Duration>,

    /// Unhealthy from DURATION after start on
    #[arg(long, env = "TESTAPP_UNHEALTHY_AFTER", value_name = "DURATION", value_parser = parse_duration)]
    pub unhealthy_after: Option<Duration>,

    /// Healthy only while PATH exists (checked on every health query and every 50 ms)
    #[arg(long, env = "TESTAPP_HEALTH_FILE", value_name = "PATH")]
    pub health_file: Option<PathBuf>,

    /// Close the TCP listener while unhealthy and listen again when healthy (so that a
    /// tcpSocket probe sees the health); the environment variable takes true/false
    #[arg(long, env = "TESTAPP_TCP_FOLLOWS_HEALTH", value_parser = clap::builder::BoolishValueParser::new())]
    pub tcp_follows_health: bool,

    /// Log SIGTERM and SIGINT but keep running (only SIGKILL stops it); the environment
    /// variable takes true/false, 1/0, yes/no, on/off
    #[arg(long, env = "TESTAPP_IGNORE_SIGTERM", value_parser = clap::builder::BoolishValueParser::new())]
    pub ignore_sigterm: bool,

    /// After SIGTERM/SIGINT: stop accepting connections, then wait DURATION before exiting
    #[arg(long, env = "TESTAPP_DRAIN", value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub drain: Duration,

    /// Exit code after SIGTERM/SIGINT
    #[arg(
        long,
        env = "TESTAPP_SIGTERM_EXIT_CODE",
        value_name = "N",
        default_value_t = 0
    )]
    pub sigterm_exit_code: u8,

    /// Exit by itself DURATION after start (with --exit-code)
    #[arg(long, env = "TESTAPP_EXIT_AFTER", value_name = "DURATION", value_parser = parse_duration)]
    pub exit_after: Option<Duration>,

    /// Exit code for --exit-after
    #[arg(long, env = "TESTAPP_EXIT_CODE", value_name = "N", default_value_t = 0)]
    pub exit_code: u8,

    /// Write CONTENT to PATH at start, creating parent directories (repeatable; the
    /// environment variable gives one)
    #[arg(long, env = "TESTAPP_WRITE_FILE", value_name = "PATH=CONTENT", value_parser = parse_write_file)]
    pub write_file: Vec<(PathBuf, String)>,

    /// On exit, write TEXT to --termination-log (errors are ignored)
    #[arg(long, env = "TESTAPP_TERMINATION_MESSAGE", value_name = "TEXT")]
    pub termination_message: Option<String>,

    /// Where --termination-message goes
    #[arg(
        long,
        env = "TESTAPP_TERMINATION_LOG",
        value_name = "PATH",
        default_value = "/dev/termination-log"
    )]
    pub termination_log: PathBuf,

    /// Also append every event line to PATH (flushed per line)
    #[arg(long, env = "TESTAPP_LOG", value_name = "PATH")]
    pub log: Option<PathBuf>,
}

/// `500ms`, `2s`, `1m`, `1m 30s` (humantime), or a bare `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 500ms, 2s, 1m)"))
}

fn parse_write_file(s: &str) -> Result<(PathBuf, String), String> {
    match s.split_once('=') {
        Some((path, content)) if !path.is_empty() => Ok((PathBuf::from(path), content.to_owned())),
        _ => Err("expected PATH=CONTENT".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5").is_err());
    }

    #[test]
    fn write_file() {
        assert_eq!(
            parse_write_file("/a/b=x=y"),
            Ok((PathBuf::from("/a/b"), "x=y".to_owned()))
        );
        assert_eq!(
            parse_write_file("/a/b="),
            Ok((PathBuf::from("/a/b"), String::new()))
        );
        assert!(parse_write_file("nothing").is_err());
        assert!(parse_write_file("=x").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
