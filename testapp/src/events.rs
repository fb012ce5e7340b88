//! The event log: one JSON object per line, on stdout and (optionally) appended to a file,
//! each line written with a single `write` and flushed, so that a reader sees whole lines while
//! the program runs and they survive a SIGKILL.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// How many lines `GET /events` keeps (the oldest are dropped first).
const KEPT_LINES: usize = 100_000;

pub struct EventLog {
    start: Instant,
    inner: Mutex<Inner>,
}

struct Inner {
    file: Option<File>,
    file_failed: bool,
    lines: VecDeque<String>,
}

impl EventLog {
    /// `start` is the instant `mono_ms` counts from; `path`, if any, is opened for appending.
    pub fn open(start: Instant, path: Option<&Path>) -> io::Result<Self> {
        let file = match path {
            Some(path) => Some(OpenOptions::new().create(true).append(true).open(path)?),
            None => None,
        };
        Ok(Self {
            start,
            inner: Mutex::new(Inner {
                file,
                file_failed: false,
                lines: VecDeque::new(),
            }),
        })
    }

    /// Logs one event. `fields` follow `ts_ms`, `mono_ms` and `event`, in the order given.
    pub fn log(&self, event: &str, fields: &[(&str, Value)]) {
        // Timestamps are taken under the lock, so lines are in time order in every sink.
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mono_ms = self.start.elapsed().as_millis();
        let mut line = format!(
            "{{\"ts_ms\":{ts_ms},\"mono_ms\":{mono_ms},\"event\":{}",
            Value::from(event)
        );
        for (key, value) in fields {
            line.push(',');
            line.push_str(&Value::from(*key).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        }
        line.push_str("}\n");

        // A closed stdout (EPIPE) must not stop the program: ignore errors there.
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(line.as_bytes());
        let _ = stdout.flush();
        drop(stdout);

        if let Some(file) = inner.file.as_mut()
            && let Err(e) = file.write_all(line.as_bytes()).and_then(|()| file.flush())
            && !inner.file_failed
        {
            inner.file_failed = true;
            eprintln!("testapp: cannot write the event log file: {e}");
        }

        if inner.lines.len() == KEPT_LINES {
            inner.lines.pop_front();
        }
        inner.lines.push_back(line);
    }

    /// All kept lines, each ending in a newline.
    pub fn snapshot(&self) -> String {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.lines.iter().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_in_field_order() {
        let dir = std::env::temp_dir().join(format!("testapp-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let log = EventLog::open(Instant::now(), Some(&path)).unwrap();
        log.log(
            "request",
            &[
                ("path", Value::from("/a\"b")),
                ("n", Value::from(3)),
                ("none", Value::Null),
            ],
        );
        log.log("exit", &[]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, log.snapshot());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("{\"ts_ms\":"));
        assert!(
            lines[0]
                .ends_with(",\"event\":\"request\",\"path\":\"/a\\\"b\",\"n\":3,\"none\":null}")
        );
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["path"], "/a\"b");
        let v: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["event"], "exit");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
