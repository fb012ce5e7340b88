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
use podlife::engine::{HookKind, Observation, Record, What};

use crate::{PodlifeWorld, duration};

/// Slack added to every wait (wall time): the runtime's own latency (a Docker container
/// takes a few hundred milliseconds to be created and reported).
fn slack(world: &PodlifeWorld) -> Duration {
    match world.runtime {
        crate::RuntimeKind::Process => Duration::from_millis(500),
        crate::RuntimeKind::Docker => Duration::from_secs(3),
    }
}

impl PodlifeWorld {
    /// Waits (manifest time `limit`, plus the runtime's slack) until `check` holds.
    pub async fn within(&self, limit: Duration, expected: &str, check: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + self.wall(limit) + slack(self);
        // A late last look is fine here: the slack covers the runtime's latency anyway.
        if !self.follow(deadline, &check).await && !check(self) {
            self.fail(&format!(
                "expected {expected} within {limit:?} (manifest time)"
            ));
        }
    }

    /// Checks that `check` holds over the whole of `span` (manifest time).
    pub async fn throughout(&self, span: Duration, expected: &str, check: impl Fn(&Self) -> bool) {
        let end = tokio::time::Instant::now() + self.wall(span);
        if self.follow(end, |w| !check(w)).await {
            self.fail(&format!(
                "expected {expected} for at least {span:?}, but it changed"
            ));
        }
    }

    /// Calls `check` now, on every record of the engine's log, and every 20 ms between them
    /// (a pod's status is published just after its records), until it holds or `deadline`
    /// passes: whether it held. Never after the deadline: a wake-up that comes late must not
    /// judge a state the span no longer covers.
    async fn follow(&self, deadline: tokio::time::Instant, check: impl Fn(&Self) -> bool) -> bool {
        let mut updates = self.started().engine.log().subscribe();
        loop {
            if check(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(20)), updates.recv()).await;
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
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

    fn status(&self, pod: &str) -> PodStatus {
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
        .within(
            Duration::from_secs(5),
            &format!("{pod} to report {kind}"),
            |w| condition(&w.status(pod), kind).is_some(),
        )
        .await;
}

fn container<'a>(status: &'a PodStatus, name: &str) -> Option<&'a ContainerStatus> {
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .find(|c| c.name == name)
}

fn pod_arg(pod: &str) -> Option<&str> {
    (!pod.is_empty()).then_some(pod)
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") is (Pending|Running|Succeeded|Failed) within (\S+)$"#)]
async fn phase_within(world: &mut PodlifeWorld, pod: String, phase: String, limit: String) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within(duration::of(&limit), &format!("{pod} to be {phase}"), |w| {
            w.status(&pod).phase.as_deref() == Some(phase.as_str())
        })
        .await;
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") is (not )?Ready within (\S+)$"#)]
async fn ready_within(world: &mut PodlifeWorld, pod: String, not: String, limit: String) {
    let pod = world.pod(pod_arg(&pod));
    let want = if not.is_empty() { "True" } else { "False" };
    world
        .within(
            duration::of(&limit),
            &format!("{pod} to be {}Ready", not),
            |w| condition(&w.status(&pod), "Ready") == Some(want),
        )
        .await;
}

#[then(regex = r#"^all (\d+) pods are (not )?Ready within (\S+)$"#)]
async fn all_ready_within(world: &mut PodlifeWorld, count: usize, not: String, limit: String) {
    if world.pods.len() != count {
        world.fail(&format!("{count} pods; there are {}", world.pods.len()));
    }
    let want = if not.is_empty() { "True" } else { "False" };
    let pods = world.pods.clone();
    world
        .within(duration::of(&limit), &format!("all pods {not}Ready"), |w| {
            pods.iter()
                .all(|p| condition(&w.status(p), "Ready") == Some(want))
        })
        .await;
}

#[then(regex = r#"^all pods stay (not )?Ready for at least (\S+)$"#)]
async fn all_stay_ready(world: &mut PodlifeWorld, not: String, span: String) {
    let want = if not.is_empty() { "True" } else { "False" };
    let pods = world.pods.clone();
    for pod in &pods {
        reported(world, pod, "Ready").await;
    }
    world
        .throughout(duration::of(&span), &format!("all pods {not}Ready"), |w| {
            pods.iter()
                .all(|p| condition(&w.status(p), "Ready") == Some(want))
        })
        .await;
}

#[then(regex = r#"^(?:the pod|pod "([^"]+)") stays (not )?Ready for at least (\S+)$"#)]
async fn stays_ready(world: &mut PodlifeWorld, pod: String, not: String, span: String) {
    let pod = world.pod(pod_arg(&pod));
    let want = if not.is_empty() { "True" } else { "False" };
    reported(world, &pod, "Ready").await;
    world
        .throughout(duration::of(&span), &format!("{pod} {not}Ready"), |w| {
            condition(&w.status(&pod), "Ready") == Some(want)
        })
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
        .within(
            duration::of(&limit),
            &format!("condition {kind} of {pod} to be {value}"),
            |w| condition(&w.status(&pod), &kind) == Some(value.as_str()),
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
        .throughout(
            duration::of(&span),
            &format!("condition {kind} of {pod} to stay {value}"),
            |w| condition(&w.status(&pod), &kind) == Some(value.as_str()),
        )
        .await;
}

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
        .within(
            duration::of(&limit),
            &format!("container {name} to be terminated with exit code {code} {reason}"),
            |w| {
                let status = w.status(&pod);
                let Some(c) = container(&status, &name) else {
                    return false;
                };
                let state = c.state.clone().unwrap_or_default();
                let last = c.last_state.clone().unwrap_or_default();
                [state.terminated, last.terminated]
                    .into_iter()
                    .flatten()
                    .any(|t| {
                        t.exit_code == code
                            && (reason.is_empty() || t.reason.as_deref() == Some(reason.as_str()))
                    })
            },
        )
        .await;
}

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
            |w| {
                let status = w.status(&pod);
                container(&status, &name)
                    .and_then(|c| c.state.clone())
                    .and_then(|s| s.waiting)
                    .is_some_and(|wt| wt.reason.as_deref() == Some(reason.as_str()))
            },
        )
        .await;
}

fn restarts(world: &PodlifeWorld, pod: &str, name: &str) -> i32 {
    container(&world.status(pod), name).map_or(0, |c| c.restart_count)
}

#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? has restarted (\d+) times? within (\S+)$"#
)]
async fn restarted_within(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    times: i32,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    world
        .within(
            duration::of(&limit),
            &format!("container {name} to have restarted {times} time(s)"),
            |w| restarts(w, &pod, &name) >= times,
        )
        .await;
    let now = restarts(world, &pod, &name);
    if now != times {
        world.fail(&format!(
            "container {name} restarted {now} times, not {times}"
        ));
    }
}

#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? is never restarted for at least (\S+)$"#
)]
async fn never_restarted(world: &mut PodlifeWorld, name: String, pod: String, span: String) {
    let pod = world.pod(pod_arg(&pod));
    world
        .throughout(
            duration::of(&span),
            &format!("container {name} not to restart"),
            |w| restarts(w, &pod, &name) == 0,
        )
        .await;
}

fn has_event(world: &PodlifeWorld, reason: &str, message: &str) -> bool {
    world.records().iter().any(|r| {
        r.event()
            .is_some_and(|e| e.reason == reason && e.message.contains(message))
    })
}

#[then(regex = r#"^there is an event "([A-Za-z]+)"(?: with message "(.*)")? within (\S+)$"#)]
async fn event_within(world: &mut PodlifeWorld, reason: String, message: String, limit: String) {
    world
        .within(
            duration::of(&limit),
            &format!("an event {reason} with message containing {message:?}"),
            |w| has_event(w, &reason, &message),
        )
        .await;
}

#[then(regex = r#"^there is no event "([A-Za-z]+)"(?: with message "(.*)")?$"#)]
fn no_event(world: &mut PodlifeWorld, reason: String, message: String) {
    if has_event(world, &reason, &message) {
        world.fail(&format!(
            "no event {reason} with message containing {message:?}"
        ));
    }
}

#[then(
    regex = r#"^the file "([^"]+)" exists in container "([^"]+)"(?: of pod "([^"]+)")? within (\S+)$"#
)]
async fn file_exists(
    world: &mut PodlifeWorld,
    file: String,
    name: String,
    pod: String,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    let deadline = tokio::time::Instant::now() + world.wall(duration::of(&limit)) + slack(world);
    loop {
        let (code, _) = crate::actions::exec(world, &pod, &name, &["test", "-e", &file]).await;
        if code == 0 {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            world.fail(&format!(
                "the file {file} to exist in container {name} within {limit}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[then(
    regex = r#"^the file "([^"]+)" in container "([^"]+)"(?: of pod "([^"]+)")? contains "(.*)"$"#
)]
async fn file_contains(
    world: &mut PodlifeWorld,
    file: String,
    name: String,
    pod: String,
    text: String,
) {
    let pod = world.pod(pod_arg(&pod));
    let (code, out) = crate::actions::exec(world, &pod, &name, &["cat", &file]).await;
    if code != 0 || !out.contains(&text) {
        world.fail(&format!(
            "the file {file} in container {name} to contain {text:?}; `cat` said ({code}): {out:?}"
        ));
    }
}

/// The monitor's requests of `method path`, with their times (ms since the epoch).
fn requests(world: &PodlifeWorld, monitor: &str, method: &str, path: &str) -> Vec<u64> {
    let run = world.started();
    let fixture = run
        .fixture(monitor)
        .unwrap_or_else(|| panic!("no monitor {monitor:?}: add `Given a monitor \"{monitor}\"`"));
    fixture
        .events()
        .into_iter()
        .filter(|e| e["event"] == "request" && e["method"] == method && e["path"] == path)
        .filter_map(|e| e["ts_ms"].as_u64())
        .collect()
}

#[then(regex = r#"^the monitor "([^"]+)" received ([A-Z]+) "([^"]+)" (\d+) times? within (\S+)$"#)]
async fn monitor_received(
    world: &mut PodlifeWorld,
    monitor: String,
    method: String,
    path: String,
    times: usize,
    limit: String,
) {
    world
        .within(
            duration::of(&limit),
            &format!("{monitor} to receive {method} {path} {times} time(s)"),
            |w| requests(w, &monitor, &method, &path).len() >= times,
        )
        .await;
    let got = requests(world, &monitor, &method, &path).len();
    if got != times {
        world.fail(&format!(
            "{monitor} received {method} {path} {got} times, not {times}"
        ));
    }
}

/// When the log's clock says `record` happened, as ms since the epoch.
fn epoch_ms(world: &PodlifeWorld, record: &Record) -> u64 {
    let now_log = world.started().engine.log().elapsed();
    let now_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now_epoch.saturating_sub(now_log.saturating_sub(record.wall))).as_millis() as u64
}

fn signals(world: &PodlifeWorld, pod: &str) -> Vec<Record> {
    world
        .records()
        .into_iter()
        .filter(|r| r.pod == pod && matches!(r.observation(), Some(Observation::SignalSent { .. })))
        .collect()
}

fn signal_name(record: &Record) -> &str {
    match record.observation() {
        Some(Observation::SignalSent { signal }) => signal,
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

#[then(
    regex = r#"^the monitor "([^"]+)" received ([A-Z]+) "([^"]+)" before the stop signal was sent$"#
)]
fn monitor_before_stop(world: &mut PodlifeWorld, monitor: String, method: String, path: String) {
    let pod = world.pod(None);
    let stop = stop_signal(world, &pod);
    let at = epoch_ms(world, &stop);
    let got = requests(world, &monitor, &method, &path);
    match got.first() {
        Some(first) if *first <= at => {}
        Some(first) => world.fail(&format!(
            "{method} {path} to reach {monitor} before the stop signal; it came {} ms after",
            first - at
        )),
        None => world.fail(&format!("{monitor} to receive {method} {path}")),
    }
}

/// How long steps about signals wait for one (manifest time): a preStop may run for the
/// whole grace period before the stop signal.
const SIGNAL_PATIENCE: Duration = Duration::from_secs(120);

#[then(regex = r#"^the stop signal was (SIG[A-Z0-9]+)$"#)]
async fn stop_signal_was(world: &mut PodlifeWorld, signal: String) {
    let pod = world.pod(None);
    world
        .within(
            SIGNAL_PATIENCE,
            &format!("a stop signal sent to {pod}"),
            |w| signals(w, &pod).iter().any(|r| signal_name(r) != "SIGKILL"),
        )
        .await;
    let stop = stop_signal(world, &pod);
    if signal_name(&stop) != signal {
        world.fail(&format!(
            "the stop signal to be {signal}, it was {}",
            signal_name(&stop)
        ));
    }
}

#[then(regex = r#"^SIGKILL was sent (\S+) after the stop signal, give or take (\S+)$"#)]
async fn sigkill_after(world: &mut PodlifeWorld, after: String, tolerance: String) {
    let pod = world.pod(None);
    let (after, tolerance) = (duration::of(&after), duration::of(&tolerance));
    world
        .within(
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
    if gap.abs_diff(after) > tolerance {
        world.fail(&format!(
            "SIGKILL {after:?} ± {tolerance:?} after the stop signal; it came {gap:?} after"
        ));
    }
}

#[then(regex = r#"^the stop signal was sent (\S+) after the deletion, give or take (\S+)$"#)]
async fn stop_after_deletion(world: &mut PodlifeWorld, after: String, tolerance: String) {
    let pod = world.pod(None);
    let (after, tolerance) = (duration::of(&after), duration::of(&tolerance));
    world
        .within(
            after + tolerance,
            &format!("a stop signal sent to {pod}"),
            |w| signals(w, &pod).iter().any(|r| signal_name(r) != "SIGKILL"),
        )
        .await;
    let deleted = world
        .deleted_at
        .unwrap_or_else(|| world.fail("a deletion step first"));
    let stop = stop_signal(world, &pod);
    let gap = stop.wall.saturating_sub(deleted).div_f64(world.scale);
    if gap.abs_diff(after) > tolerance {
        world.fail(&format!(
            "the stop signal {after:?} ± {tolerance:?} after the deletion; it came {gap:?} after"
        ));
    }
}

#[then(regex = r#"^there is no SIGKILL$"#)]
async fn no_sigkill(world: &mut PodlifeWorld) {
    let pod = world.pod(None);
    world
        .within(SIGNAL_PATIENCE, &format!("{pod} to finish"), |w| {
            w.records()
                .iter()
                .any(|r| r.pod == pod && matches!(r.observation(), Some(Observation::PodFinished)))
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
    let limit = duration::of(&limit);
    world
        .within(limit, &format!("{pod} to finish"), |w| {
            w.records()
                .iter()
                .any(|r| r.pod == pod && matches!(r.observation(), Some(Observation::PodFinished)))
        })
        .await;
    let deleted = world
        .deleted_at
        .unwrap_or_else(|| world.fail("a deletion step first"));
    let finished = world
        .records()
        .into_iter()
        .find(|r| r.pod == pod && matches!(r.observation(), Some(Observation::PodFinished)))
        .expect("waited for it");
    let took = finished.wall.saturating_sub(deleted);
    if took > world.wall(limit) + slack(world) {
        world.fail(&format!(
            "{pod} to finish within {limit:?} of its deletion; it took {took:?} (wall)"
        ));
    }
}

#[then(regex = r#"^container "([^"]+)" exited by itself within (\S+) of the stop signal$"#)]
async fn exited_by_itself(world: &mut PodlifeWorld, name: String, limit: String) {
    let pod = world.pod(None);
    let limit = duration::of(&limit);
    let exited = |w: &PodlifeWorld| {
        w.records().into_iter().find(|r| {
            r.pod == pod
                && r.container.as_deref() == Some(name.as_str())
                && matches!(r.observation(), Some(Observation::ContainerExited { .. }))
        })
    };
    world
        .within(limit, &format!("container {name} to exit"), |w| {
            exited(w).is_some()
        })
        .await;
    let exit = exited(world).expect("waited for it");
    let stop = stop_signal(world, &pod);
    if signals(world, &pod)
        .iter()
        .any(|r| signal_name(r) == "SIGKILL" && r.seq < exit.seq)
    {
        world.fail(&format!(
            "container {name} to exit by itself, but it was SIGKILLed"
        ));
    }
    let took = exit.manifest.saturating_sub(stop.manifest);
    if took > limit {
        world.fail(&format!(
            "container {name} to exit within {limit:?} of the stop signal; it took {took:?}"
        ));
    }
}

#[then(regex = r#"^(preStop|postStart) ran before the stop signal$"#)]
fn hook_before_stop(world: &mut PodlifeWorld, hook: String) {
    let pod = world.pod(None);
    let kind = if hook == "preStop" {
        HookKind::PreStop
    } else {
        HookKind::PostStart
    };
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
            Some(Observation::ConditionChanged { condition, status }) if condition == "Ready" => {
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
            Some(Observation::ProbeAttempt { probe, outcome, .. }) if probe == "readiness" => {
                Some(outcome.as_str())
            }
            _ => None,
        })
        .take_while(|outcome| *outcome != "success")
        .count();
    if failures != n {
        world.fail(&format!(
            "{pod} to become not Ready after {n} consecutive failed readiness probes; it did after {failures}"
        ));
    }
}

#[then(regex = r#"^the containers started in the order (.+)$"#)]
fn start_order(world: &mut PodlifeWorld, list: String) {
    let expected: Vec<String> = list
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .collect();
    let pod = world.pod(None);
    let mut started: Vec<String> = Vec::new();
    for r in world.records() {
        if r.pod == pod
            && let (Some(c), What::Observation(Observation::ContainerStarted { .. })) =
                (&r.container, &r.what)
            && !started.contains(c)
        {
            started.push(c.clone());
        }
    }
    if started != expected {
        world.fail(&format!(
            "containers to start in the order {expected:?}; they started as {started:?}"
        ));
    }
}

/// Whether `pod` is among the ready endpoints of `service` now.
fn ready_endpoint(world: &PodlifeWorld, service: &str, pod: &str) -> bool {
    world
        .started()
        .engine
        .endpoints(service)
        .unwrap_or_else(|| {
            world.fail(&format!(
                "a service {service:?} (apply one with the manifest)"
            ))
        })
        .iter()
        .any(|e| e.pod == pod && e.ready)
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
    let want = not.is_empty();
    world
        .within(
            duration::of(&limit),
            &format!("{pod} {not}among the ready endpoints of service {service}"),
            |w| ready_endpoint(w, &service, &pod) == want,
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
    let want = not.is_empty();
    world
        .throughout(
            duration::of(&span),
            &format!("{pod} {not}among the ready endpoints of service {service}"),
            |w| ready_endpoint(w, &service, &pod) == want,
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
            |w| ready_endpoints(w, &service) == count,
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
        .throughout(
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
        .within(SIGNAL_PATIENCE, &format!("{pod} to finish"), |w| {
            w.records()
                .iter()
                .any(|r| r.pod == pod && matches!(r.observation(), Some(Observation::PodFinished)))
        })
        .await;
    let kind = if hook == "preStop" {
        HookKind::PreStop
    } else {
        HookKind::PostStart
    };
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
