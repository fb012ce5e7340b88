//! Assertion steps, each bounded in manifest time (`within 130s`, `for at least 60s`), each
//! saying on failure what was expected, what was observed, and the timeline so far.
//!
//! ```gherkin
//! Then the pod is Running within 30s
//! Then the pod is Ready within 130s
//! Then the pod is not Ready within 10s
//! Then the pod stays Ready for at least 60s
//! Then the pod stays not Ready for at least 100s
//! Then the pod's condition "Initialized" is True within 5s
//! Then the pod's condition "Initialized" stays False for at least 20s
//! Then container "app" is terminated with exit code 137 within 40s
//! Then container "app" is waiting with reason "CrashLoopBackOff" within 60s
//! Then container "app" has restarted 1 time within 30s
//! Then container "app" is never restarted for at least 30s
//! Then there is an event "Unhealthy" with message "Liveness probe failed" within 30s
//! Then there is no event "Killing"
//! Then the file "/app/sample.war" exists in container "war" within 10s
//! Then the file "/tmp/ready" in container "app" contains "yes"
//! Then the monitor "monitor.com" received GET "/waring" 1 time within 10s
//! Then the monitor "monitor.com" received GET "/waring" before the stop signal was sent
//! Then the pod became not Ready after the 3rd failed readiness probe, not before
//! Then the stop signal was SIGTERM
//! Then SIGKILL was sent 30s after the stop signal, give or take 1s
//! Then the pod finished within 5s of its deletion
//! Then container "app" exited by itself within 5s of the stop signal
//! Then preStop ran before the stop signal
//! Then the containers started in the order "init-a", "init-b", "app"
//! Then the pod is not among the ready endpoints of service "web" within 20s
//! Then pod "web-abcde" stays among the ready endpoints of service "web" for at least 30s
//! Then service "web" has 6 ready endpoints within 150s
//! ```

use std::time::Duration;

use cucumber::then;
use k8s_openapi::api::core::v1::{ContainerStatus, PodStatus};
use podlife::engine::events::Attempt;
use podlife::engine::spec::ProbeKind;
use podlife::engine::status::ConditionKind;
use podlife::engine::{Observation, Record};

use crate::facts::{self, Says};
use crate::timing::{self, Fact, TOLERANCE, seconds};
use crate::{PodlifeWorld, duration};

/// How much longer than its bound a step waits (wall time) for a record to arrive: the
/// runtime's latency (a Docker container takes a few hundred milliseconds to be created and
/// reported). It never lets a late record pass: the bound is judged on the record's time.
pub fn slack(world: &PodlifeWorld) -> Duration {
    match world.runtime {
        crate::RuntimeKind::Process => Duration::from_millis(500),
        crate::RuntimeKind::Docker => Duration::from_secs(3),
    }
}

impl PodlifeWorld {
    /// Now by the engine's log clock, in manifest time.
    pub fn now(&self) -> Duration {
        let run = self.started();
        run.scale().manifest(run.engine.log().elapsed())
    }

    /// `Some(now)` when `holds`: the time of a state read from the pod's status rather than
    /// from a record (judged when seen, within 20 ms of wall time of its change).
    pub fn seen(&self, holds: bool) -> Option<Duration> {
        holds.then(|| self.now())
    }

    /// Waits (`patience` of manifest time plus the runtime's slack) until `check` holds,
    /// judging no bound: for steps that need something to have happened before they judge.
    pub async fn wait_for(
        &self,
        patience: Duration,
        expected: &str,
        check: impl Fn(&Self) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + self.wall(patience) + slack(self);
        if self
            .follow(deadline, |w| check(w).then_some(()))
            .await
            .is_none()
            && !check(self)
        {
            self.fail(&format!(
                "expected {expected} (waited {} of manifest time)",
                seconds(patience)
            ));
        }
    }

    /// Judges `… within <limit>` from now: `at(world, began)` is the manifest time from which
    /// the expectation held (`None` while it does not).
    pub async fn within(
        &self,
        limit: Duration,
        expected: &str,
        at: impl Fn(&Self, Duration) -> Option<Duration>,
    ) {
        self.within_of(self.now(), limit, expected, at).await;
    }

    /// Judges `… within <limit> of <reference>` (manifest time): waits until `at` finds when
    /// the expectation held, at most until the bound (plus the runtime's slack) has passed,
    /// then judges that instant against the bound.
    pub async fn within_of(
        &self,
        reference: Duration,
        limit: Duration,
        expected: &str,
        at: impl Fn(&Self, Duration) -> Option<Duration>,
    ) {
        let left = (reference + limit + TOLERANCE).saturating_sub(self.now());
        let deadline = tokio::time::Instant::now() + self.wall(left) + slack(self);
        // A late last look judges the same instant: the records carry it.
        let found = self.follow(deadline, |w| at(w, reference)).await;
        self.judge(
            limit,
            reference,
            found.or_else(|| at(self, reference)),
            expected,
        );
    }

    /// Judges that the expectation held `at` (manifest time), at most `limit` after
    /// `reference`; `None`: it did not happen.
    pub fn judge(
        &self,
        limit: Duration,
        reference: Duration,
        at: Option<Duration>,
        expected: &str,
    ) {
        let bound = format!(
            "expected {expected} within {} (manifest time)",
            seconds(limit)
        );
        let Some(at) = at else {
            self.fail(&format!("{bound}; it did not happen"));
        };
        if let Err(why) = timing::judge_within(limit, reference, at) {
            self.fail(&format!("{bound}; {why}"));
        }
    }

    /// `within` for states the records describe: the first instant they all held.
    pub async fn within_facts<F: Says>(&self, limit: Duration, expected: &str, facts: &[Fact<F>]) {
        self.within(limit, expected, |w, began| {
            timing::first_holding(&w.records(), facts, began)
        })
        .await;
    }

    /// Judges `… for at least <span>` from now: `broke(world, from, to)` is the first instant
    /// in `[from, to]` at which the expectation did not hold. Only that span is judged, however
    /// late the step looks at it.
    pub async fn throughout(
        &self,
        span: Duration,
        expected: &str,
        broke: impl Fn(&Self, Duration, Duration) -> Option<Duration>,
    ) {
        let began = self.now();
        let to = timing::span_end(began, span);
        let end = tokio::time::Instant::now() + self.wall(span);
        let found = self.follow(end, |w| broke(w, began, to)).await;
        if let Some(at) = found
            .or_else(|| broke(self, began, to))
            .filter(|at| *at <= to)
        {
            self.fail(&format!(
                "expected {expected} for at least {} (manifest time); it changed {} after the step began",
                seconds(span),
                seconds(at.saturating_sub(began))
            ));
        }
    }

    /// `throughout` for states the records describe.
    pub async fn stays_facts<F: Says>(&self, span: Duration, expected: &str, facts: &[Fact<F>]) {
        self.throughout(span, expected, |w, from, to| {
            timing::first_break(&w.records(), facts, from, to)
        })
        .await;
    }

    /// `throughout` for a state read from the pod's status (a change counts when seen).
    pub async fn stays_seen(&self, span: Duration, expected: &str, check: impl Fn(&Self) -> bool) {
        self.throughout(span, expected, |w, _, _| w.seen(!check(w)))
            .await;
    }

    /// Calls `check` now, on every record of the engine's log, and every 20 ms between them
    /// (a pod's status is published just after its records), until it finds something or
    /// `deadline` passes.
    async fn follow<T>(
        &self,
        deadline: tokio::time::Instant,
        check: impl Fn(&Self) -> Option<T>,
    ) -> Option<T> {
        let mut updates = self.started().engine.log().subscribe();
        loop {
            if let Some(found) = check(self) {
                return Some(found);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(20)), updates.recv()).await;
        }
    }

    /// Fails the step: the expectation, the pods' state, and the timeline.
    pub fn fail(&self, expected: &str) -> ! {
        let states: Vec<String> = self
            .pods
            .iter()
            .map(|p| format!("  {p}: {}", self.summary(p)))
            .collect();
        panic!(
            "{expected}\nobserved:\n{}\ntimeline (manifest time):\n{}",
            states.join("\n"),
            self.timeline()
        )
    }

    /// `phase Running, Ready=True, app: running (restarts 0)` for failure messages.
    fn summary(&self, pod: &str) -> String {
        let Some(status) = self.run.as_ref().and_then(|r| r.engine.status(pod)) else {
            return "unknown".into();
        };
        let containers: Vec<String> = status
            .container_statuses
            .iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}: {} (restarts {})",
                    c.name,
                    state_word(c),
                    c.restart_count
                )
            })
            .collect();
        format!(
            "phase {}, Ready={}, {}",
            status.phase.as_deref().unwrap_or("?"),
            condition(&status, "Ready").unwrap_or("?"),
            containers.join(", ")
        )
    }

    pub fn status(&self, pod: &str) -> PodStatus {
        self.started().engine.status(pod).unwrap_or_default()
    }
}

fn state_word(c: &ContainerStatus) -> String {
    let state = c.state.clone().unwrap_or_default();
    if let Some(w) = state.waiting {
        format!("waiting ({})", w.reason.unwrap_or_default())
    } else if state.running.is_some() {
        "running".into()
    } else if let Some(t) = state.terminated {
        format!(
            "terminated (exit code {}, {})",
            t.exit_code,
            t.reason.unwrap_or_default()
        )
    } else {
        "unknown".into()
    }
}

fn condition<'a>(status: &'a PodStatus, kind: &str) -> Option<&'a str> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

/// Waits until the pod reports the condition at all (a pod just applied has none yet).
async fn reported(world: &PodlifeWorld, pod: &str, kind: &str) {
    world
        .wait_for(
            Duration::from_secs(5),
            &format!("{pod} to report {kind}"),
            |w| condition(&w.status(pod), kind).is_some(),
        )
        .await;
}

pub fn container<'a>(status: &'a PodStatus, name: &str) -> Option<&'a ContainerStatus> {
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .find(|c| c.name == name)
}

pub fn pod_arg(pod: &str) -> Option<&str> {
    (!pod.is_empty()).then_some(pod)
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") is (Pending|Running|Succeeded|Failed) within (\S+)$"#)]
async fn phase_within(world: &mut PodlifeWorld, pod: String, phase: String, limit: String) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within_facts(
            duration::of(&limit),
            &format!("{pod} to be {phase}"),
            &[facts::phase(&pod, &phase)],
        )
        .await;
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") is (not )?Ready within (\S+)$"#)]
async fn ready_within(world: &mut PodlifeWorld, pod: String, not: String, limit: String) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within_facts(
            duration::of(&limit),
            &format!("{pod} to be {not}Ready"),
            &[facts::condition(&pod, "Ready").when(not.is_empty())],
        )
        .await;
}

/// The scenario's pods, which must be `count`.
fn all_pods(world: &PodlifeWorld, count: usize) -> Vec<String> {
    if world.pods.len() != count {
        world.fail(&format!("{count} pods; there are {}", world.pods.len()));
    }
    world.pods.clone()
}

#[then(regex = r#"^all (\d+) pods are (not )?Ready within (\S+)$"#)]
async fn all_ready_within(world: &mut PodlifeWorld, count: usize, not: String, limit: String) {
    let pods = all_pods(world, count);
    let facts: Vec<_> = pods
        .iter()
        .map(|p| facts::condition(p, "Ready").when(not.is_empty()))
        .collect();
    world
        .within_facts(
            duration::of(&limit),
            &format!("all pods {not}Ready"),
            &facts,
        )
        .await;
}

#[then(regex = r#"^all (\d+) pods are (Pending|Running|Succeeded|Failed) within (\S+)$"#)]
async fn all_phase_within(world: &mut PodlifeWorld, count: usize, phase: String, limit: String) {
    let pods = all_pods(world, count);
    let facts: Vec<_> = pods.iter().map(|p| facts::phase(p, &phase)).collect();
    world
        .within_facts(duration::of(&limit), &format!("all pods {phase}"), &facts)
        .await;
}

#[then(regex = r#"^all pods stay (not )?Ready for at least (\S+)$"#)]
async fn all_stay_ready(world: &mut PodlifeWorld, not: String, span: String) {
    let pods = world.pods.clone();
    for pod in &pods {
        reported(world, pod, "Ready").await;
    }
    let facts: Vec<_> = pods
        .iter()
        .map(|p| facts::condition(p, "Ready").when(not.is_empty()))
        .collect();
    world
        .stays_facts(duration::of(&span), &format!("all pods {not}Ready"), &facts)
        .await;
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") stays (not )?Ready for at least (\S+)$"#)]
async fn stays_ready(world: &mut PodlifeWorld, pod: String, not: String, span: String) {
    let pod = world.pod(pod_arg(&pod));
    reported(world, &pod, "Ready").await;
    world
        .stays_facts(
            duration::of(&span),
            &format!("{pod} {not}Ready"),
            &[facts::condition(&pod, "Ready").when(not.is_empty())],
        )
        .await;
}

#[then(
    regex = r#"^(?:the pod's|pod "([^"]+)"'s) condition "([A-Za-z]+)" is (True|False) within (\S+)$"#
)]
async fn condition_within(
    world: &mut PodlifeWorld,
    pod: String,
    kind: String,
    value: String,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within_facts(
            duration::of(&limit),
            &format!("condition {kind} of {pod} to be {value}"),
            &[facts::condition(&pod, &kind).when(value == "True")],
        )
        .await;
}

#[then(
    regex = r#"^(?:the pod's|pod "([^"]+)"'s) condition "([A-Za-z]+)" stays (True|False) for at least (\S+)$"#
)]
async fn condition_stays(
    world: &mut PodlifeWorld,
    pod: String,
    kind: String,
    value: String,
    span: String,
) {
    let pod = world.pod(pod_arg(&pod));
    reported(world, &pod, &kind).await;
    world
        .stays_facts(
            duration::of(&span),
            &format!("condition {kind} of {pod} to stay {value}"),
            &[facts::condition(&pod, &kind).when(value == "True")],
        )
        .await;
}

/// Judged on the first exit with that code (the container's last state or an earlier one).
#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? is terminated with exit code (\d+)(?: \(([A-Za-z]+)\))? within (\S+)$"#
)]
async fn terminated_within(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    code: i32,
    reason: String,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within_facts(
            duration::of(&limit),
            &format!("container {name} to be terminated with exit code {code} {reason}"),
            &[facts::exited_with(&pod, &name, code, &reason)],
        )
        .await;
}

/// The waiting reason is only in the status: judged when seen.
#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? is waiting with reason "([A-Za-z]+)" within (\S+)$"#
)]
async fn waiting_within(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    reason: String,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within(
            duration::of(&limit),
            &format!("container {name} to be waiting ({reason})"),
            |w, _| {
                let status = w.status(&pod);
                w.seen(
                    container(&status, &name)
                        .and_then(|c| c.state.clone())
                        .and_then(|s| s.waiting)
                        .is_some_and(|wt| wt.reason.as_deref() == Some(reason.as_str())),
                )
            },
        )
        .await;
}

/// The container's restart count now.
pub fn restarts(world: &PodlifeWorld, pod: &str, name: &str) -> i32 {
    facts::restarts_so_far(&world.records(), pod, name)
}

/// Exactly `n` (or at least), judged on the start that brought the count to `n`.
#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? has restarted (at least )?(\d+) times? within (\S+)$"#
)]
async fn restarted_within(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    at_least: String,
    times: i32,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within_facts(
            duration::of(&limit),
            &format!("container {name} to have restarted {at_least}{times} time(s)"),
            &[facts::restarts(&pod, &name, |n| n >= times)],
        )
        .await;
    let now = restarts(world, &pod, &name);
    if at_least.is_empty() && now != times {
        world.fail(&format!(
            "container {name} restarted {now} times, not {times}"
        ));
    }
}

/// Fails if a record `matching` is in the log so far: the `… never …` steps' past form.
pub fn never_so_far(world: &PodlifeWorld, expected: &str, matching: impl Fn(&Record) -> bool) {
    if let Some(r) = world.records().iter().find(|r| matching(r)) {
        world.fail(&format!(
            "expected {expected}; it happened at {} (manifest time)",
            seconds(r.manifest)
        ));
    }
}

/// Fails if a record `matching` comes during `span` from now: the `… during <d>` form.
pub async fn never_during(
    world: &PodlifeWorld,
    span: Duration,
    expected: &str,
    matching: impl Fn(&Record) -> bool,
) {
    world
        .throughout(span, expected, |w, from, to| {
            let fact = facts::nothing_after(from, &matching);
            timing::first_break(&w.records(), &[fact], from, to)
        })
        .await;
}

/// No new start of the container (a restart) during the span; restarts before it are no
/// matter.
#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? is never restarted for at least (\S+)$"#
)]
async fn never_restarted(world: &mut PodlifeWorld, name: String, pod: String, span: String) {
    let pod = world.pod(pod_arg(&pod));
    never_during(
        world,
        duration::of(&span),
        &format!("container {name} not to restart"),
        |r| facts::restart_count(r, &pod, &name).is_some_and(|n| n > 0),
    )
    .await;
}

#[then(regex = r#"^there is an event "([A-Za-z]+)"(?: with message "(.*)")? within (\S+)$"#)]
async fn event_within(world: &mut PodlifeWorld, reason: String, message: String, limit: String) {
    world
        .within_facts(
            duration::of(&limit),
            &format!("an event {reason} with message containing {message:?}"),
            &[facts::event(&reason, &message)],
        )
        .await;
}

/// "So far": every event up to now.
#[then(regex = r#"^there is no event "([A-Za-z]+)"(?: with message "(.*)")?$"#)]
fn no_event(world: &mut PodlifeWorld, reason: String, message: String) {
    never_so_far(
        world,
        &format!("no event {reason} with message containing {message:?}"),
        |r| facts::is_event(r, &reason, &message),
    );
}

/// From now on, for the span.
#[then(regex = r#"^there is no event "([A-Za-z]+)"(?: with message "(.*)")? during (\S+)$"#)]
async fn no_event_during(world: &mut PodlifeWorld, reason: String, message: String, span: String) {
    never_during(
        world,
        duration::of(&span),
        &format!("no event {reason} with message containing {message:?}"),
        |r| facts::is_event(r, &reason, &message),
    )
    .await;
}

pub fn signals(world: &PodlifeWorld, pod: &str) -> Vec<Record> {
    world
        .records()
        .into_iter()
        .filter(|r| r.pod == pod && matches!(r.observation(), Some(Observation::SignalSent { .. })))
        .collect()
}

fn signal_name(record: &Record) -> &str {
    match record.observation() {
        Some(Observation::SignalSent { signal }) => signal.as_str(),
        _ => "",
    }
}

/// The first stop signal (anything but SIGKILL) sent to the pod, or a failure.
fn stop_signal(world: &PodlifeWorld, pod: &str) -> Record {
    signals(world, pod)
        .into_iter()
        .find(|r| signal_name(r) != "SIGKILL")
        .unwrap_or_else(|| world.fail(&format!("a stop signal sent to {pod}")))
}

/// How long steps about signals wait for one (manifest time): a preStop may run for the
/// whole grace period before the stop signal.
pub const SIGNAL_PATIENCE: Duration = Duration::from_secs(120);

/// Waits for a stop signal to the pod.
pub async fn await_stop_signal(world: &PodlifeWorld, pod: &str, patience: Duration) -> Record {
    world
        .wait_for(patience, &format!("a stop signal sent to {pod}"), |w| {
            signals(w, pod).iter().any(|r| signal_name(r) != "SIGKILL")
        })
        .await;
    stop_signal(world, pod)
}

#[then(regex = r#"^the stop signal was (SIG[A-Z0-9]+)$"#)]
async fn stop_signal_was(world: &mut PodlifeWorld, signal: String) {
    let pod = world.pod(None);
    let stop = await_stop_signal(world, &pod, SIGNAL_PATIENCE).await;
    if signal_name(&stop) != signal {
        world.fail(&format!(
            "the stop signal to be {signal}, it was {}",
            signal_name(&stop)
        ));
    }
}

/// Fails unless `got` is `want` give or take `tolerance`.
fn expect_gap(
    world: &PodlifeWorld,
    what: &str,
    want: Duration,
    tolerance: Duration,
    got: Duration,
) {
    if let Err(why) = timing::judge_gap(what, want, tolerance, got) {
        world.fail(&why);
    }
}

#[then(regex = r#"^SIGKILL was sent (\S+) after the stop signal, give or take (\S+)$"#)]
async fn sigkill_after(world: &mut PodlifeWorld, after: String, tolerance: String) {
    let pod = world.pod(None);
    let (after, tolerance) = (duration::of(&after), duration::of(&tolerance));
    world
        .wait_for(
            SIGNAL_PATIENCE + after + tolerance,
            "SIGKILL to be sent",
            |w| signals(w, &pod).iter().any(|r| signal_name(r) == "SIGKILL"),
        )
        .await;
    let stop = stop_signal(world, &pod);
    let kill = signals(world, &pod)
        .into_iter()
        .find(|r| signal_name(r) == "SIGKILL")
        .expect("waited for it");
    let gap = kill.manifest.saturating_sub(stop.manifest);
    expect_gap(
        world,
        "SIGKILL after the stop signal:",
        after,
        tolerance,
        gap,
    );
}

/// When the last deletion step asked for the deletion, or a failure.
fn deleted_at(world: &PodlifeWorld) -> Duration {
    world
        .deleted_at
        .unwrap_or_else(|| world.fail("a deletion step first"))
}

#[then(regex = r#"^the stop signal was sent (\S+) after the deletion, give or take (\S+)$"#)]
async fn stop_after_deletion(world: &mut PodlifeWorld, after: String, tolerance: String) {
    let pod = world.pod(None);
    let (after, tolerance) = (duration::of(&after), duration::of(&tolerance));
    let stop = await_stop_signal(world, &pod, after + tolerance).await;
    let gap = stop.manifest.saturating_sub(deleted_at(world));
    expect_gap(
        world,
        "the stop signal after the deletion:",
        after,
        tolerance,
        gap,
    );
}

/// Whether `record` says the pod is done (everything stopped and removed).
fn finished(record: &Record, pod: &str) -> bool {
    record.pod == pod && matches!(record.observation(), Some(Observation::PodFinished))
}

#[then(regex = r#"^there is no SIGKILL$"#)]
async fn no_sigkill(world: &mut PodlifeWorld) {
    let pod = world.pod(None);
    world
        .wait_for(SIGNAL_PATIENCE, &format!("{pod} to finish"), |w| {
            w.records().iter().any(|r| finished(r, &pod))
        })
        .await;
    if signals(world, &pod)
        .iter()
        .any(|r| signal_name(r) == "SIGKILL")
    {
        world.fail("no SIGKILL");
    }
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") finished within (\S+) of its deletion$"#)]
async fn finished_after_deletion(world: &mut PodlifeWorld, pod: String, limit: String) {
    let pod = world.pod(pod_arg(&pod));
    let fact = Fact::new(false, |r: &Record| finished(r, &pod).then_some(true));
    world
        .within_of(
            deleted_at(world),
            duration::of(&limit),
            &format!("{pod} to finish after its deletion"),
            |w, from| timing::first_holding(&w.records(), std::slice::from_ref(&fact), from),
        )
        .await;
}

#[then(regex = r#"^container "([^"]+)" exited by itself within (\S+) of the stop signal$"#)]
async fn exited_by_itself(world: &mut PodlifeWorld, name: String, limit: String) {
    let pod = world.pod(None);
    let stop = await_stop_signal(world, &pod, SIGNAL_PATIENCE).await;
    let exited = |w: &PodlifeWorld| {
        w.records().into_iter().find(|r| {
            facts::of_container(r, &pod, &name)
                && matches!(r.observation(), Some(Observation::ContainerExited { .. }))
        })
    };
    world
        .within_of(
            stop.manifest,
            duration::of(&limit),
            &format!("container {name} to exit after the stop signal"),
            |w, _| exited(w).map(|r| r.manifest),
        )
        .await;
    let exit = exited(world).expect("waited for it");
    if signals(world, &pod)
        .iter()
        .any(|r| signal_name(r) == "SIGKILL" && r.seq < exit.seq)
    {
        world.fail(&format!(
            "container {name} to exit by itself, but it was SIGKILLed"
        ));
    }
}

#[then(regex = r#"^(preStop|postStart) ran before the stop signal$"#)]
fn hook_before_stop(world: &mut PodlifeWorld, hook: String) {
    let pod = world.pod(None);
    let kind = facts::hook_kind(&hook);
    let finished = world.records().into_iter().find(|r| {
        r.pod == pod
            && matches!(r.observation(), Some(Observation::HookFinished { hook, error: None }) if *hook == kind)
    });
    let stop = stop_signal(world, &pod);
    match finished {
        Some(f) if f.seq < stop.seq => {}
        Some(_) => world.fail(&format!(
            "{hook} to finish before the stop signal; it finished after"
        )),
        None => world.fail(&format!("{hook} to run and succeed")),
    }
}

#[then(
    regex = r#"^(?:the pod|pod "([^"]+)") became not Ready after the (\d+)(?:st|nd|rd|th) failed readiness probe, not before$"#
)]
fn not_ready_after_nth(world: &mut PodlifeWorld, pod: String, n: usize) {
    let pod = world.pod(pod_arg(&pod));
    let records = world.records();
    let ready_changes: Vec<(usize, bool)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.pod == pod)
        .filter_map(|(i, r)| match r.observation() {
            Some(Observation::ConditionChanged { condition, status })
                if *condition == ConditionKind::Ready =>
            {
                Some((i, *status))
            }
            _ => None,
        })
        .collect();
    // The last time Ready went from True to False.
    let Some(flip) = ready_changes
        .windows(2)
        .rev()
        .find(|w| w[0].1 && !w[1].1)
        .map(|w| w[1].0)
    else {
        world.fail(&format!(
            "{pod} to become not Ready after having been Ready"
        ));
    };
    let failures = records[..flip]
        .iter()
        .rev()
        .filter(|r| r.pod == pod)
        .filter_map(|r| match r.observation() {
            Some(Observation::ProbeAttempt { probe, outcome, .. })
                if *probe == ProbeKind::Readiness =>
            {
                Some(*outcome)
            }
            _ => None,
        })
        .take_while(|outcome| *outcome != Attempt::Success)
        .count();
    if failures != n {
        world.fail(&format!(
            "{pod} to become not Ready after {n} consecutive failed readiness probes; it did after {failures}"
        ));
    }
}

/// Fails unless the service exists (a typo would make every endpoint step vacuous).
fn known_service(world: &PodlifeWorld, service: &str) {
    if world.started().engine.endpoints(service).is_none() {
        world.fail(&format!(
            "a service {service:?} (apply one with the manifest)"
        ));
    }
}

#[then(
    regex = r#"^(the pod|that pod|pod "[^"]+") is (not )?among the ready endpoints of service "([^"]+)" within (\S+)$"#
)]
async fn endpoint_within(
    world: &mut PodlifeWorld,
    pod: String,
    not: String,
    service: String,
    limit: String,
) {
    let pod = world.subject(&pod);
    known_service(world, &service);
    world
        .within_facts(
            duration::of(&limit),
            &format!("{pod} {not}among the ready endpoints of service {service}"),
            &[facts::endpoint(&pod, &service).when(not.is_empty())],
        )
        .await;
}

#[then(
    regex = r#"^(the pod|that pod|pod "[^"]+") stays (not )?among the ready endpoints of service "([^"]+)" for at least (\S+)$"#
)]
async fn endpoint_stays(
    world: &mut PodlifeWorld,
    pod: String,
    not: String,
    service: String,
    span: String,
) {
    let pod = world.subject(&pod);
    known_service(world, &service);
    world
        .stays_facts(
            duration::of(&span),
            &format!("{pod} {not}among the ready endpoints of service {service}"),
            &[facts::endpoint(&pod, &service).when(not.is_empty())],
        )
        .await;
}

/// How many ready endpoints a Service has now.
fn ready_endpoints(world: &PodlifeWorld, service: &str) -> usize {
    world
        .started()
        .engine
        .endpoints(service)
        .map_or(0, |e| e.iter().filter(|e| e.ready).count())
}

#[then(regex = r#"^service "([^"]+)" has (\d+) ready endpoints? within (\S+)$"#)]
async fn ready_count_within(
    world: &mut PodlifeWorld,
    service: String,
    count: usize,
    limit: String,
) {
    world
        .within(
            duration::of(&limit),
            &format!("service {service} to have {count} ready endpoints"),
            |w, _| w.seen(ready_endpoints(w, &service) == count),
        )
        .await;
}

#[then(regex = r#"^service "([^"]+)" keeps at least (\d+) ready endpoints? for at least (\S+)$"#)]
async fn keeps_ready_endpoints(
    world: &mut PodlifeWorld,
    service: String,
    count: usize,
    span: String,
) {
    world
        .stays_seen(
            duration::of(&span),
            &format!("service {service} to keep at least {count} ready endpoints"),
            |w| ready_endpoints(w, &service) >= count,
        )
        .await;
}

#[then(
    regex = r#"^(the pod|that pod|pod "[^"]+") left service "([^"]+)" before (preStop|postStart) finished$"#
)]
async fn left_before_hook(world: &mut PodlifeWorld, pod: String, service: String, hook: String) {
    let pod = world.subject(&pod);
    world
        .wait_for(SIGNAL_PATIENCE, &format!("{pod} to finish"), |w| {
            w.records().iter().any(|r| finished(r, &pod))
        })
        .await;
    let kind = facts::hook_kind(&hook);
    let records = world.records();
    let left = records.iter().find(|r| {
        r.pod == pod
            && matches!(r.observation(), Some(Observation::Endpoint { service: s, ready: false, .. }) if *s == service)
    });
    let finished = records.iter().find(|r| {
        r.pod == pod
            && matches!(r.observation(), Some(Observation::HookFinished { hook, .. }) if *hook == kind)
    });
    match (left, finished) {
        (Some(l), Some(f)) if l.seq < f.seq => {}
        (Some(_), Some(_)) => world.fail(&format!(
            "{pod} to leave {service} before {hook} finished; it left after"
        )),
        (None, _) => world.fail(&format!("{pod} to leave service {service}")),
        (_, None) => world.fail(&format!("{hook} to finish")),
    }
}
