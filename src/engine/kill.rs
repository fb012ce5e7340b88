//! Killing one container the kubelet's way (`killContainer` in
//! `pkg/kubelet/kuberuntime/kuberuntime_container.go`; docs/semantics.md §4): preStop bounded
//! by the grace period, whose whole seconds it uses up; then, for a sidecar, waiting for its turn
//! (`terminationOrdering.waitForTurn`), whose whole seconds are used up too; then the stop signal,
//! and SIGKILL once the rest of the grace period — at least [`MINIMUM_STOP_WINDOW`] — has passed.
//!
//! A pod's containers are all killed at once (`killContainersWithSyncResult`): every preStop
//! starts when termination begins and the grace period is one budget for the whole pod; only
//! the stop signals are ordered, by [`TerminationOrder`].

use tokio::sync::watch;
use tokio::time::Instant;

use super::events::{EventLog, EventType, HookKind, Observation};
use super::handlers::{self, Target};
use super::spec::{Handler, Role};
use crate::runtime::Signal;

/// Every container gets at least this long between the stop signal and SIGKILL
/// (`minimumGracePeriodInSeconds`).
pub const MINIMUM_STOP_WINDOW: i64 = 2;

/// A change to a kill under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A later deletion with a shorter grace period (manifest seconds): deadlines move in, as
    /// when the kubelet restarts termination with the shorter period.
    Grace(i64),
    /// Stop waiting: SIGKILL now (`podlife run`'s second Ctrl-C; no kubelet counterpart).
    Now,
}

/// When each container of a terminating pod may get its stop signal (`terminationOrdering` in
/// `kuberuntime_termination_order.go`): app containers at once; a sidecar once every app
/// container has exited and the next sidecar declared after it has exited.
pub struct TerminationOrder {
    /// Per container (pod slot order): it has exited, or was not running when termination began.
    exited: Vec<watch::Sender<bool>>,
    roles: Vec<Role>,
}

impl TerminationOrder {
    /// `running[i]` says whether container `i` (in slot order) runs as termination begins.
    pub fn new(roles: Vec<Role>, running: &[bool]) -> Self {
        let exited = running
            .iter()
            .map(|&running| watch::channel(!running).0)
            .collect();
        Self { exited, roles }
    }

    /// Container `index` has exited: those waiting on it may go.
    pub fn exited(&self, index: usize) {
        if let Some(done) = self.exited.get(index) {
            done.send_replace(true);
        }
    }

    /// What container `index` waits for before its stop signal.
    pub fn prerequisites(&self, index: usize) -> Vec<watch::Receiver<bool>> {
        if self.roles.get(index) != Some(&Role::Sidecar) {
            return Vec::new();
        }
        let apps = self
            .roles
            .iter()
            .enumerate()
            .filter(|(_, role)| **role == Role::App)
            .map(|(i, _)| i);
        let next_sidecar = (index + 1..self.roles.len()).find(|&i| self.roles[i] == Role::Sidecar);
        apps.chain(next_sidecar)
            .map(|i| self.exited[i].subscribe())
            .collect()
    }
}

/// Everything one kill needs; [`Kill::run`] does it.
pub struct Kill {
    /// The container instance (its runtime and id) and what its preStop runs against.
    pub target: Target,
    pub log: EventLog,
    pub pod: String,
    pub pre_stop: Option<Handler>,
    pub stop_signal: Signal,
    /// The grace period (manifest seconds), already floored as the kubelet's pod worker does
    /// for deletions; 0 (a pod's own `terminationGracePeriodSeconds: 0`) skips preStop.
    pub grace: i64,
    /// What must have exited before the stop signal (a sidecar's turn).
    pub turn: Vec<watch::Receiver<bool>>,
    pub cut: watch::Receiver<Option<Cut>>,
}

/// The deadline a kill works against, moved in by a [`Cut`].
struct Deadline {
    at: Instant,
    /// A shorter deletion moved it in.
    shortened: bool,
    now: bool,
}

impl Deadline {
    fn apply(&mut self, cut: Option<Cut>, scale: crate::time::TimeScale) {
        match cut {
            Some(Cut::Now) => {
                self.now = true;
                self.at = Instant::now();
            }
            Some(Cut::Grace(g)) => {
                self.shortened = true;
                self.at = self.at.min(Instant::now() + scale.seconds(g));
            }
            None => {}
        }
    }
}

impl Kill {
    fn observe(&self, observation: Observation) {
        let container = Some(self.target.container.as_str());
        self.log.observe(&self.pod, container, observation);
    }

    fn event(&self, reason: &str, message: String) {
        let container = Some(self.target.container.as_str());
        self.log
            .event(&self.pod, container, EventType::Warning, reason, message);
    }

    /// Sends `signal`, logged before it goes (the stop window counts from the log record).
    async fn signal(&self, signal: Signal) {
        self.observe(Observation::SignalSent {
            signal: signal.as_str().to_owned(),
        });
        let target = &self.target;
        let _ = target.runtime.signal_container(&target.id, signal).await;
    }

    async fn sigkill(&self) {
        self.signal(Signal::SIGKILL).await;
    }

    /// Whole manifest seconds since `since` (the kubelet truncates what it subtracts).
    fn whole_seconds_since(&self, since: Instant) -> i64 {
        self.target.scale.manifest(since.elapsed()).as_secs() as i64
    }

    pub async fn run(mut self) {
        let scale = self.target.scale;
        let mut deadline = Deadline {
            at: Instant::now() + scale.seconds(self.grace),
            shortened: false,
            now: false,
        };
        deadline.apply(*self.cut.borrow_and_update(), scale);
        let mut remaining = self.grace;
        if self.grace > 0
            && !deadline.now
            && let Some(handler) = self.pre_stop.clone()
        {
            let begun = Instant::now();
            self.pre_stop(&handler, &mut deadline).await;
            remaining -= self.whole_seconds_since(begun);
        }
        if self.grace > 0 && remaining > 0 && !deadline.now && !self.turn.is_empty() {
            // The wait is bounded by what is left of the grace period once preStop is done
            // (`waitForTurn(name, gracePeriod)`), or by a shorter deletion's deadline.
            let begun = Instant::now();
            let bound = begun + scale.seconds(remaining);
            self.wait_for_turn(bound, &mut deadline).await;
            remaining -= self.whole_seconds_since(begun);
        }
        if deadline.now {
            return self.sigkill().await;
        }
        if deadline.shortened {
            // A shorter deletion during preStop or the wait leaves what is left of its period.
            let left = scale.manifest(deadline.at.saturating_duration_since(Instant::now()));
            remaining = remaining.min(left.as_secs() as i64);
        }
        let window = remaining.max(MINIMUM_STOP_WINDOW);
        self.stop(window).await;
    }

    /// Runs the preStop hook until it ends or the deadline passes.
    async fn pre_stop(&mut self, handler: &Handler, deadline: &mut Deadline) {
        self.observe(Observation::HookStarted {
            hook: HookKind::PreStop,
        });
        let scale = self.target.scale;
        let target = self.target.clone();
        let hook = handlers::hook(&target, handler);
        tokio::pin!(hook);
        let outcome = loop {
            tokio::select! {
                outcome = &mut hook => break Some(outcome),
                _ = tokio::time::sleep_until(deadline.at) => break None,
                Ok(()) = self.cut.changed() => deadline.apply(*self.cut.borrow(), scale),
            }
        };
        let error = match outcome {
            Some(Ok(note)) => {
                if let Some(fallback) = note.http_fallback {
                    self.event("LifecycleHTTPFallback", fallback);
                }
                None
            }
            Some(Err(message)) => {
                // The kubelet keeps the hook's output out of the event (it may hold secrets).
                self.event("FailedPreStopHook", "PreStopHook failed".into());
                Some(message)
            }
            None => Some("PreStop hook not completed in grace period".into()),
        };
        self.observe(Observation::HookFinished {
            hook: HookKind::PreStop,
            error,
        });
    }

    /// Waits until every container this one waits for has exited, until `bound`, or until
    /// a shorter deletion's `deadline`, whichever comes first.
    async fn wait_for_turn(&mut self, bound: Instant, deadline: &mut Deadline) {
        let scale = self.target.scale;
        let mut turn = std::mem::take(&mut self.turn);
        for before in &mut turn {
            loop {
                let until = if deadline.shortened || deadline.now {
                    bound.min(deadline.at)
                } else {
                    bound
                };
                tokio::select! {
                    _ = before.wait_for(|exited| *exited) => break,
                    _ = tokio::time::sleep_until(until) => return,
                    Ok(()) = self.cut.changed() => deadline.apply(*self.cut.borrow(), scale),
                }
            }
        }
    }

    /// Stop signal, then SIGKILL after `window` manifest seconds unless the container exits
    /// first. The window counts from the signal, not from when the runtime's call returned (a
    /// Docker kill takes tens of milliseconds).
    async fn stop(mut self, window: i64) {
        let scale = self.target.scale;
        let sent = Instant::now();
        self.signal(self.stop_signal).await;
        let mut kill_at = sent + scale.seconds(window);
        let (runtime, id) = (self.target.runtime.clone(), self.target.id.clone());
        let exit = runtime.wait_container(&id);
        tokio::pin!(exit);
        loop {
            tokio::select! {
                _ = &mut exit => return,
                _ = tokio::time::sleep_until(kill_at) => return self.sigkill().await,
                Ok(()) = self.cut.changed() => match *self.cut.borrow() {
                    Some(Cut::Now) => kill_at = Instant::now(),
                    Some(Cut::Grace(g)) => {
                        let window = scale.seconds(g.max(MINIMUM_STOP_WINDOW));
                        kill_at = kill_at.min(Instant::now() + window);
                    }
                    None => {}
                },
            }
        }
    }
}
