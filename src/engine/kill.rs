//! Killing one container the kubelet's way (`killContainer` in
//! `pkg/kubelet/kuberuntime/kuberuntime_container.go`; docs/semantics.md §4): preStop bounded
//! by the grace period, whose whole seconds it uses up; then, for a sidecar, waiting for its turn
//! (`terminationOrdering.waitForTurn`), whose whole seconds are used up too; then the stop signal,
//! and SIGKILL once the rest of the grace period — at least [`MINIMUM_STOP_WINDOW`] — has passed.
//!
//! A pod's containers are all killed at once (`killContainersWithSyncResult`): every preStop
//! starts when termination begins and the grace period is one budget for the whole pod; only
//! the stop signals are ordered, by [`TerminationOrder`].

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::events::{EventLog, EventType, HookKind, Observation};
use super::handlers::{self, Target};
use super::spec::{Handler, Role};
use crate::runtime::Signal;

/// Every container gets at least this long between the stop signal and SIGKILL
/// (`minimumGracePeriodInSeconds`).
pub const MINIMUM_STOP_WINDOW: i64 = 2;

/// The kubelet's `killContainer` arithmetic (docs/semantics.md §4.2): the manifest seconds
/// left of `grace` for the stop window once preStop took `pre_stop_took` and a sidecar's wait
/// for its turn `turn_took`, each in whole seconds as the kubelet subtracts them, and at most
/// what a shorter deletion left (`shortened_to`). The caller floors it at
/// [`MINIMUM_STOP_WINDOW`]; it may be zero or less when nothing is left.
pub fn stop_window(
    grace: i64,
    pre_stop_took: Duration,
    turn_took: Duration,
    shortened_to: Option<Duration>,
) -> i64 {
    let whole = |d: Duration| d.as_secs() as i64;
    let left = grace - whole(pre_stop_took) - whole(turn_took);
    match shortened_to {
        Some(rest) => left.min(whole(rest)),
        None => left,
    }
}

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

    /// SIGKILL now, without the stop signal: [`Cut::Now`] before the stop began (`podlife
    /// run`'s second Ctrl-C, a test's teardown; the kubelet has no such call).
    async fn sigkill(&self) {
        self.observe(Observation::SignalSent {
            signal: Signal::SIGKILL,
        });
        let target = &self.target;
        let _ = target
            .runtime
            .signal_container(&target.id, Signal::SIGKILL)
            .await;
    }

    pub async fn run(mut self) {
        let scale = self.target.scale;
        let mut deadline = Deadline {
            at: Instant::now() + scale.seconds(self.grace),
            shortened: false,
            now: false,
        };
        deadline.apply(*self.cut.borrow_and_update(), scale);
        let mut pre_stop_took = Duration::ZERO;
        if self.grace > 0
            && !deadline.now
            && let Some(handler) = self.pre_stop.clone()
        {
            let begun = Instant::now();
            self.pre_stop(&handler, &mut deadline).await;
            pre_stop_took = scale.manifest(begun.elapsed());
        }
        let mut turn_took = Duration::ZERO;
        let left = stop_window(self.grace, pre_stop_took, Duration::ZERO, None);
        if self.grace > 0 && left > 0 && !deadline.now && !self.turn.is_empty() {
            // The wait is bounded by what is left of the grace period once preStop is done
            // (`waitForTurn(name, gracePeriod)`), or by a shorter deletion's deadline.
            let begun = Instant::now();
            let bound = begun + scale.seconds(left);
            self.wait_for_turn(bound, &mut deadline).await;
            turn_took = scale.manifest(begun.elapsed());
        }
        if deadline.now {
            return self.sigkill().await;
        }
        // A shorter deletion during preStop or the wait leaves what is left of its period.
        let shortened = deadline
            .shortened
            .then(|| scale.manifest(deadline.at.saturating_duration_since(Instant::now())));
        let window = stop_window(self.grace, pre_stop_took, turn_took, shortened);
        self.stop(window.max(MINIMUM_STOP_WINDOW)).await;
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

    /// The runtime stops the container (CRI's `StopContainer`): the stop signal, then SIGKILL
    /// after `window` manifest seconds unless it exits first. The window counts from the
    /// signal's record, not from when the runtime's call returned (a Docker kill takes tens of
    /// milliseconds); a later, shorter deletion or [`Cut::Now`] moves the deadline in.
    async fn stop(mut self, window: i64) {
        let scale = self.target.scale;
        let sent = Instant::now();
        self.observe(Observation::SignalSent {
            signal: self.stop_signal,
        });
        let (deadline, watched) = watch::channel(sent + scale.seconds(window));
        let (log, pod, container) = (
            self.log.clone(),
            self.pod.clone(),
            self.target.container.clone(),
        );
        let killing = move || {
            log.observe(
                &pod,
                Some(&container),
                Observation::SignalSent {
                    signal: Signal::SIGKILL,
                },
            );
        };
        let (runtime, id) = (self.target.runtime.clone(), self.target.id.clone());
        let stopped = runtime.stop_container(&id, self.stop_signal, watched, &killing);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                Ok(()) = self.cut.changed() => match *self.cut.borrow() {
                    Some(Cut::Now) => {
                        deadline.send_replace(Instant::now());
                    }
                    Some(Cut::Grace(g)) => {
                        let window = scale.seconds(g.max(MINIMUM_STOP_WINDOW));
                        deadline.send_modify(|at| *at = (*at).min(Instant::now() + window));
                    }
                    None => {}
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    #[test]
    fn pre_stop_comes_off_in_whole_seconds() {
        assert_eq!(stop_window(30, s(0.0), s(0.0), None), 30);
        assert_eq!(stop_window(10, s(2.9), s(0.0), None), 8);
        assert_eq!(stop_window(10, s(3.0), s(0.0), None), 7);
    }

    #[test]
    fn a_sidecars_wait_for_its_turn_comes_off_too() {
        assert_eq!(stop_window(10, s(2.5), s(4.5), None), 4);
    }

    #[test]
    fn nothing_left_is_zero_or_less_and_floored_by_the_caller() {
        assert_eq!(stop_window(5, s(5.0), s(0.0), None), 0);
        assert_eq!(
            stop_window(5, s(5.0), s(0.0), None).max(MINIMUM_STOP_WINDOW),
            2
        );
    }

    #[test]
    fn a_shorter_deletion_caps_what_is_left() {
        assert_eq!(stop_window(30, s(1.0), s(0.0), Some(s(3.7))), 3);
        assert_eq!(stop_window(5, s(1.0), s(0.0), Some(s(10.0))), 4);
    }
}
