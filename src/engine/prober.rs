//! One probe worker per container instance and probe (`pkg/kubelet/prober/worker.go`): runs the
//! handler every period after the initial delay, counts consecutive results against the
//! thresholds, emits `Unhealthy` for every failed attempt, and tells the pod worker when the
//! published result changes. After a published liveness failure or any startup result it goes
//! on hold: the next container instance gets new workers.

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::events::{Attempt, EventLog, EventType, Observation};
use super::handlers::{self, Target};
use super::spec::{ProbeKind, ProbeSpec};
use crate::probe::ProbeOutcome;

/// Prober errors are retried this often within one period (`maxProbeRetries`).
const MAX_RETRIES: usize = 3;

/// What a probe worker must know about its container instance, kept current by the pod worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gates {
    /// The startup probe has passed (or there is none).
    pub started: bool,
    /// The pod is terminating: liveness and startup stop, readiness goes on.
    pub terminating: bool,
    /// The instance has exited: this worker is done.
    pub exited: bool,
}

/// A change of a probe's published result, reported to whoever started the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub kind: ProbeKind,
    pub success: bool,
}

pub struct ProbeWorker {
    pub spec: ProbeSpec,
    /// When the container instance started (initialDelaySeconds counts from here).
    pub started: Instant,
    pub target: Target,
    /// Told each change of the published result.
    pub report: Box<dyn Fn(Report) + Send + Sync>,
    pub log: EventLog,
    pub pod: String,
    pub gates: watch::Receiver<Gates>,
    /// When the kubelet restarted, if it did: a worker that begins within a period of it
    /// waits a random part of the period first, so that the probes of every adopted
    /// container do not fire at once (`worker.run`; docs/semantics.md §11).
    pub kubelet_started: Option<Instant>,
    /// The container instance was adopted after a kubelet restart: a readiness worker starts
    /// without a result, so the container keeps the Ready it had until a probe decides
    /// (KEP-4781).
    pub adopted: bool,
}

impl ProbeWorker {
    fn event(&self, reason: &str, message: String) {
        let container = Some(self.target.container.as_str());
        self.log
            .event(&self.pod, container, EventType::Warning, reason, message);
    }

    fn observe(&self, observation: Observation) {
        let container = Some(self.target.container.as_str());
        self.log.observe(&self.pod, container, observation);
    }

    pub async fn run(mut self) {
        let scale = self.log.scale();
        let kind = self.spec.kind;
        let period = scale.seconds(self.spec.period);
        // The first attempt comes at the container's start + initialDelaySeconds, then one
        // every period (docs/semantics.md §5.2).
        let mut first = self.started + scale.seconds(self.spec.initial_delay);
        if let Some(restarted) = self.kubelet_started
            && restarted.elapsed() < period
        {
            // After a kubelet restart: a random part of the period, then ticks a period apart,
            // the first of them at or after the initial delay (§11).
            let mut tick = Instant::now() + period.mul_f64(fastrand::f64());
            while tick < first {
                tick += period;
            }
            first = tick;
        }
        let mut ticker = tokio::time::interval_at(first, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Initial results: not ready, alive, startup unknown; an adopted container's
        // readiness is unknown until a probe decides.
        let mut published = match kind {
            ProbeKind::Readiness if self.adopted => None,
            ProbeKind::Readiness => Some(false),
            ProbeKind::Liveness => Some(true),
            ProbeKind::Startup => None,
        };
        let mut streak: Option<(bool, i32)> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                changed = self.gates.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let gates = *self.gates.borrow();
                    if gates.exited || (gates.terminating && kind != ProbeKind::Readiness) {
                        return;
                    }
                    continue;
                }
            }
            let gates = *self.gates.borrow();
            if gates.exited || (gates.terminating && kind != ProbeKind::Readiness) {
                return;
            }
            match kind {
                ProbeKind::Startup if gates.started => return,
                ProbeKind::Liveness | ProbeKind::Readiness if !gates.started => continue,
                _ => {}
            }
            let mut outcome = ProbeOutcome::Error(String::new());
            for _ in 0..MAX_RETRIES {
                outcome =
                    handlers::probe(&self.target, &self.spec.handler, self.spec.timeout).await;
                if !matches!(outcome, ProbeOutcome::Error(_)) {
                    break;
                }
            }
            let (label, output) = match &outcome {
                ProbeOutcome::Success(o) => (Attempt::Success, o),
                ProbeOutcome::Warning(o) => (Attempt::Warning, o),
                ProbeOutcome::Failure(o) => (Attempt::Failure, o),
                ProbeOutcome::Error(o) => (Attempt::Error, o),
            };
            self.observe(Observation::ProbeAttempt {
                probe: kind,
                outcome: label,
                output: output.clone(),
            });
            let title = kind.title();
            let result = match &outcome {
                ProbeOutcome::Success(_) => true,
                ProbeOutcome::Warning(out) => {
                    self.event("ProbeWarning", format!("{title} probe warning: {out}"));
                    true
                }
                ProbeOutcome::Failure(out) => {
                    self.event("Unhealthy", format!("{title} probe failed: {out}"));
                    false
                }
                ProbeOutcome::Error(e) => {
                    let state = match published {
                        Some(true) => "success",
                        Some(false) => "failure",
                        None => "unknown",
                    };
                    self.event(
                        "Unhealthy",
                        format!("{title} probe errored and resulted in {state} state: {e}"),
                    );
                    continue;
                }
            };
            let count = match streak {
                Some((last, n)) if last == result => n + 1,
                _ => 1,
            };
            streak = Some((result, count));
            let threshold = if result {
                self.spec.success_threshold
            } else {
                self.spec.failure_threshold
            };
            if count >= threshold && published != Some(result) {
                published = Some(result);
                self.observe(Observation::ProbeResult {
                    probe: kind,
                    success: result,
                });
                (self.report)(Report {
                    kind,
                    success: result,
                });
            }
            let on_hold = match kind {
                ProbeKind::Liveness => published == Some(false),
                ProbeKind::Startup => published.is_some(),
                ProbeKind::Readiness => false,
            };
            if on_hold {
                return;
            }
        }
    }
}
