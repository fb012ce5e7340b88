//! The health state: a schedule (`--healthy-after`, `--unhealthy-after`), a file whose existence
//! is required (`--health-file`), and run-time toggles that override both from the moment they are
//! used. Every change is logged as a `health` event and published on a watch channel.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use crate::events::EventLog;

/// How often the monitor re-evaluates health (for the health file; schedule edges are exact).
pub const POLL: Duration = Duration::from_millis(50);

pub struct Health {
    start: Instant,
    healthy_after: Option<Duration>,
    unhealthy_after: Option<Duration>,
    file: Option<PathBuf>,
    log: Arc<EventLog>,
    state: Mutex<State>,
    tx: watch::Sender<bool>,
}

struct State {
    toggled: Option<bool>,
    healthy: bool,
    file_ok: bool,
}

impl Health {
    /// Evaluates the initial state and logs it (`reason: "initial"`).
    pub fn new(
        start: Instant,
        healthy_after: Option<Duration>,
        unhealthy_after: Option<Duration>,
        file: Option<PathBuf>,
        log: Arc<EventLog>,
    ) -> Self {
        let mut health = Self {
            start,
            healthy_after,
            unhealthy_after,
            file,
            log,
            state: Mutex::new(State {
                toggled: None,
                healthy: false,
                file_ok: false,
            }),
            tx: watch::Sender::new(false),
        };
        let file_ok = health.file_ok();
        let healthy = health.schedule_ok(Instant::now()) && file_ok;
        *health.state.get_mut().unwrap() = State {
            toggled: None,
            healthy,
            file_ok,
        };
        health.tx.send_replace(healthy);
        health.log_change(healthy, "initial");
        health
    }

    fn schedule_ok(&self, now: Instant) -> bool {
        let since_start = now.saturating_duration_since(self.start);
        self.healthy_after.is_none_or(|d| since_start >= d)
            && self.unhealthy_after.is_none_or(|d| since_start < d)
    }

    fn file_ok(&self) -> bool {
        self.file.as_ref().is_none_or(|path| path.exists())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn log_change(&self, healthy: bool, reason: &str) {
        self.log.log(
            "health",
            &[
                ("healthy", Value::from(healthy)),
                ("reason", Value::from(reason)),
            ],
        );
    }

    /// The health now (checks the file), logging and publishing a change.
    pub fn current(&self) -> bool {
        let schedule_ok = self.schedule_ok(Instant::now());
        let file_ok = self.file_ok();
        let mut state = self.lock();
        let healthy = state.toggled.unwrap_or(schedule_ok && file_ok);
        if healthy != state.healthy {
            let reason = if state.toggled.is_some() {
                "toggle"
            } else if file_ok != state.file_ok {
                "file"
            } else {
                "schedule"
            };
            state.healthy = healthy;
            self.log_change(healthy, reason);
            self.tx.send_replace(healthy);
        }
        state.file_ok = file_ok;
        healthy
    }

    /// Fixes the health from now on (a run-time toggle).
    pub fn toggle(&self, healthy: bool) {
        let mut state = self.lock();
        state.toggled = Some(healthy);
        if healthy != state.healthy {
            state.healthy = healthy;
            self.log_change(healthy, "toggle");
            self.tx.send_replace(healthy);
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    /// The next instant at which the schedule flips, if one is still ahead.
    fn next_edge(&self, now: Instant) -> Option<Instant> {
        [self.healthy_after, self.unhealthy_after]
            .into_iter()
            .flatten()
            .map(|d| self.start + d)
            .filter(|&at| at > now)
            .min()
    }

    /// Re-evaluates the health every [`POLL`] and exactly at schedule edges, forever, so that
    /// changes are logged and published even when nobody asks.
    pub async fn monitor(self: Arc<Self>) {
        loop {
            self.current();
            let now = Instant::now();
            let mut wake = now + POLL;
            if let Some(edge) = self.next_edge(now) {
                wake = wake.min(edge);
            }
            tokio::time::sleep_until(wake.into()).await;
        }
    }
}
