//! Kubelet rules the other engine tests leave out, one focused test each, on both runtimes
//! with real processes and signals (the § numbers are docs/semantics.md's): sidecar start and
//! termination order, init retries, restart policies, preStop failure and timing against the
//! grace period, probe timeouts, delays and thresholds, probe-level grace, the
//! CrashLoopBackOff status, tcpSocket and sleep hooks.
//!
//! Timings are asserted in manifest time (`Record::manifest`), within [`TOLERANCE`], at time
//! scales that keep the file fast. Containers signal that they are ready (a file in `$OUT`,
//! written after their trap is installed) before the test acts on them.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Harness, events, has_event, timeline};
use k8s_openapi::api::core::v1::{ContainerStatus, PodStatus};
use podlife::engine::events::{Attempt, HookKind};
use podlife::engine::spec::ProbeKind;
use podlife::engine::{EventType, Observation, Record};

/// Timing tolerance, in manifest seconds.
const TOLERANCE: f64 = 0.3;

/// Wall-clock limit for any single wait.
const LIMIT: Duration = Duration::from_secs(10);

/// Records of `pod` whose observation matches `f`; with `container`, only that container's.
fn obs<'a>(
    records: &'a [Record],
    pod: &str,
    container: Option<&str>,
    f: impl Fn(&Observation) -> bool,
) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| {
            r.pod == pod
                && (container.is_none() || r.container.as_deref() == container)
                && r.observation().is_some_and(&f)
        })
        .collect()
}

fn starts<'a>(records: &'a [Record], pod: &str, container: &str) -> Vec<&'a Record> {
    obs(records, pod, Some(container), |o| {
        matches!(o, Observation::ContainerStarted { .. })
    })
}

fn exits<'a>(records: &'a [Record], pod: &str, container: &str) -> Vec<&'a Record> {
    obs(records, pod, Some(container), |o| {
        matches!(o, Observation::ContainerExited { .. })
    })
}

fn signals<'a>(records: &'a [Record], pod: &str, container: &str, signal: &str) -> Vec<&'a Record> {
    obs(
        records,
        pod,
        Some(container),
        |o| matches!(o, Observation::SignalSent { signal: s } if s.as_str() == signal),
    )
}

fn hook_started<'a>(
    records: &'a [Record],
    pod: &str,
    container: &str,
    kind: HookKind,
) -> Vec<&'a Record> {
    obs(
        records,
        pod,
        Some(container),
        |o| matches!(o, Observation::HookStarted { hook } if *hook == kind),
    )
}

fn hook_finished<'a>(
    records: &'a [Record],
    pod: &str,
    container: &str,
    kind: HookKind,
) -> Vec<&'a Record> {
    obs(
        records,
        pod,
        Some(container),
        |o| matches!(o, Observation::HookFinished { hook, .. } if *hook == kind),
    )
}

fn hook_error(record: &Record) -> Option<&str> {
    match record.observation() {
        Some(Observation::HookFinished { error, .. }) => error.as_deref(),
        _ => None,
    }
}

fn probe_attempts<'a>(records: &'a [Record], pod: &str, probe: ProbeKind) -> Vec<&'a Record> {
    obs(
        records,
        pod,
        None,
        |o| matches!(o, Observation::ProbeAttempt { probe: p, .. } if *p == probe),
    )
}

fn outcome(record: &Record) -> Option<Attempt> {
    match record.observation() {
        Some(Observation::ProbeAttempt { outcome, .. }) => Some(*outcome),
        _ => None,
    }
}

/// The pod's `Terminating` observation (deletion or completion began).
fn terminating<'a>(records: &'a [Record], pod: &str) -> &'a Record {
    obs(records, pod, None, |o| {
        matches!(o, Observation::Terminating { .. })
    })
    .first()
    .copied()
    .unwrap_or_else(|| panic!("{pod} never terminated:\n{}", timeline(records)))
}

/// A check for [`Harness::until`]: `pod`'s worker is done.
fn pod_finished(pod: &str) -> impl Fn(&[Record]) -> bool + '_ {
    move |records| {
        !obs(records, pod, None, |o| {
            matches!(o, Observation::PodFinished)
        })
        .is_empty()
    }
}

/// The pod's phase changes, in order.
fn phases<'a>(records: &'a [Record], pod: &str) -> Vec<&'a str> {
    obs(records, pod, None, |o| {
        matches!(o, Observation::PhaseChanged { .. })
    })
    .iter()
    .map(|r| match r.observation() {
        Some(Observation::PhaseChanged { phase }) => phase.as_str(),
        _ => "",
    })
    .collect()
}

/// Manifest seconds from `a` to `b` (negative if `b` came first).
fn secs(a: &Record, b: &Record) -> f64 {
    b.manifest.as_secs_f64() - a.manifest.as_secs_f64()
}

/// Records a failed timing check: `actual` should be `expected` ± [`TOLERANCE`], plus the
/// runtime's own latency (Docker needs a few hundred milliseconds to report an exit).
fn about(h: &Harness, failures: &mut Vec<String>, what: &str, actual: f64, expected: f64) {
    let tolerance = TOLERANCE + h.latency().as_secs_f64() / h.scale();
    if (actual - expected).abs() > tolerance {
        failures.push(format!(
            "{what}: {actual:.3} s, expected {expected} s ± {tolerance:.2} s (manifest time, {})",
            h.runtime
        ));
    }
}

/// Panics with every failed check and the timeline, if any check failed.
fn verdict(failures: &[String], records: &[Record]) {
    assert!(
        failures.is_empty(),
        "{}\ntimeline:\n{}",
        failures.join("\n"),
        timeline(records)
    );
}

/// One container's status, from the regular or the init container list.
fn find_status(status: &PodStatus, name: &str) -> Option<ContainerStatus> {
    status
        .container_statuses
        .iter()
        .chain(status.init_container_statuses.iter())
        .flatten()
        .find(|c| c.name == name)
        .cloned()
}

fn container_status(status: &PodStatus, name: &str) -> ContainerStatus {
    find_status(status, name).unwrap_or_else(|| panic!("no status for {name}: {status:#?}"))
}

fn condition(status: &PodStatus, kind: &str) -> bool {
    status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == kind && c.status == "True")
}

/// Waits (at most [`LIMIT`]) until `pod`'s status satisfies `check`; returns that status.
async fn until_status(
    h: &Harness,
    pod: &str,
    what: &str,
    check: impl Fn(&PodStatus) -> bool,
) -> PodStatus {
    let mut watch = h.engine.watch(pod).expect("the pod exists");
    let found = tokio::time::timeout(LIMIT, async {
        watch.wait_for(|s| check(s)).await.map(|s| s.clone())
    })
    .await;
    match found {
        Ok(Ok(status)) => status,
        _ => panic!(
            "timed out waiting for {what}; status: {:#?}\nlog:\n{}",
            h.engine.status(pod),
            timeline(&h.records())
        ),
    }
}

fn exit_code(status: &ContainerStatus) -> Option<i32> {
    status
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| t.exit_code)
}

fn last_exit_code(status: &ContainerStatus) -> Option<i32> {
    status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| t.exit_code)
}

conformance! {
    /// §2.2: sidecars start in init order before the app, keep running beside it, are restarted
    /// when they exit even under `restartPolicy: Never`, and on deletion get their stop signal only
    /// after the app containers have exited, the later sidecar first.
    async fn sidecars_start_first_restart_under_never_and_stop_after_the_app(h, scale = 0.1, feature = "Sidecar containers: start order, restarts, stopped after the app") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: sidecars}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 10
      initContainers:
      - name: side1
        image: busybox
        restartPolicy: Always
        command: ["sh", "-c", "trap 'echo side1 >> $OUT/term-order; exit 0' TERM; if [ -f $OUT/side1-ran ]; then touch $OUT/side1-again; else touch $OUT/side1-ran; fi; while true; do if [ -f $OUT/side1-exit ] && [ ! -f $OUT/side1-again ]; then exit 0; fi; sleep 0.05; done"]
      - name: side2
        image: busybox
        restartPolicy: Always
        command: ["sh", "-c", "trap 'echo side2 >> $OUT/term-order; exit 0' TERM; touch $OUT/side2-up; while true; do sleep 0.05; done"]
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'echo app >> $OUT/term-order; sleep 0.2; exit 0' TERM; touch $OUT/app-up; while true; do sleep 0.05; done"]
    "#,
        );
        let pod = &pods[0];
        h.file("app-up").await;
        h.file("side2-up").await;
        h.file("side1-ran").await;

        // Started in init order, the app last.
        let records = h.records();
        let started: Vec<&str> = events(&records, "Started")
            .iter()
            .map(|r| r.container.as_deref().unwrap())
            .collect();
        assert_eq!(started, ["side1", "side2", "app"], "{}", timeline(&records));
        // Both sidecars keep running beside the app.
        let status = h.engine.status(pod).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(condition(&status, "Initialized"));
        for side in ["side1", "side2"] {
            let c = container_status(&status, side);
            assert!(
                c.state.as_ref().unwrap().running.is_some(),
                "{side} keeps running: {c:#?}"
            );
            assert_eq!(c.started, Some(true), "{side}");
        }

        // side1 exits by itself (code 0): restarted although the pod's policy is Never.
        std::fs::write(h.out.path().join("side1-exit"), "").unwrap();
        h.until(LIMIT, "side1 restarted", |r| {
            !obs(r, pod, Some("side1"), |o| {
                matches!(o, Observation::ContainerStarted { restart_count: 1 })
            })
            .is_empty()
        })
        .await;
        h.file("side1-again").await;
        let records = h.records();
        assert!(
            matches!(
                exits(&records, pod, "side1")[0].observation(),
                Some(Observation::ContainerExited { exit_code: 0, .. })
            ),
            "{}",
            timeline(&records)
        );
        assert_eq!(
            starts(&records, pod, "app").len(),
            1,
            "the app was left alone"
        );
        let status = h.engine.status(pod).unwrap();
        assert_eq!(container_status(&status, "side1").restart_count, 1);
        assert_eq!(status.phase.as_deref(), Some("Running"));

        // Deletion: the app first; then side2 (declared last), then side1.
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let app_exit = exits(&records, pod, "app")[0];
        let side2_term = signals(&records, pod, "side2", "SIGTERM");
        let side2_exit = *exits(&records, pod, "side2").last().unwrap();
        let side1_term = signals(&records, pod, "side1", "SIGTERM");
        let mut failures = Vec::new();
        if signals(&records, pod, "app", "SIGTERM")
            .first()
            .is_none_or(|t| t.seq > app_exit.seq)
        {
            failures.push("the app got no SIGTERM before it exited".to_owned());
        }
        if !(side2_term.len() == 1 && side2_term[0].seq > app_exit.seq) {
            failures.push("side2 must get one SIGTERM, after the app exited".to_owned());
        }
        if !(side1_term.len() == 1 && side1_term[0].seq > side2_exit.seq) {
            failures.push("side1 must get one SIGTERM, after side2 exited".to_owned());
        }
        if h.read("term-order") != "app\nside2\nside1\n" {
            failures.push(format!(
                "order in which the containers saw SIGTERM: {:?}",
                h.read("term-order")
            ));
        }
        if !obs(
            &records,
            pod,
            None,
            |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGKILL),
        )
        .is_empty()
        {
            failures.push("no container needed SIGKILL".to_owned());
        }
        if starts(&records, pod, "side1").len() != 2 || starts(&records, pod, "side2").len() != 1 {
            failures.push("sidecars are not restarted while the pod terminates".to_owned());
        }
        verdict(&failures, &records);
        // The app exited 0 on SIGTERM; sidecar exit codes do not count.
        assert_eq!(h.phase(pod), "Succeeded");
    }
}

conformance! {
    /// §2.2 / §4.3: a sidecar's stop window comes out of the same grace period as the app's: the
    /// time it waited for the app containers is taken off, then the 2 s floor applies. Grace 4, app
    /// and sidecar ignore SIGTERM → the app is SIGKILLed at 4 s, the sidecar gets SIGTERM then and
    /// SIGKILL at 6 s (grace + 2 s), not 8 s.
    async fn sidecar_stop_window_is_what_remains_of_the_grace(h, scale = 0.2, feature = "Sidecar containers: start order, restarts, stopped after the app") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: sidecar-grace}
    spec:
      terminationGracePeriodSeconds: 4
      initContainers:
      - name: proxy
        image: busybox
        restartPolicy: Always
        command: ["sh", "-c", "trap '' TERM; touch $OUT/proxy-up; while true; do sleep 0.05; done"]
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/app-up; while true; do sleep 0.05; done"]
    "#,
        );
        let pod = &pods[0];
        h.file("proxy-up").await;
        h.file("app-up").await;
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        let app_kill = signals(&records, pod, "app", "SIGKILL");
        let app_exit = exits(&records, pod, "app");
        let proxy_term = signals(&records, pod, "proxy", "SIGTERM");
        let proxy_kill = signals(&records, pod, "proxy", "SIGKILL");
        let proxy_exit = exits(&records, pod, "proxy");
        assert!(
            app_kill.len() == 1
                && app_exit.len() == 1
                && proxy_term.len() == 1
                && proxy_kill.len() == 1
                && proxy_exit.len() == 1,
            "{}",
            timeline(&records)
        );
        // The proxy's wait for its turn ends at the grace deadline, the moment the app gets
        // SIGKILL: which of the two is logged first is a race, on the kubelet too.
        let mut failures = Vec::new();
        about(&h, &mut failures, "app SIGKILL", secs(t0, app_kill[0]), 4.0);
        about(&h, &mut failures, "proxy SIGTERM", secs(t0, proxy_term[0]), 4.0);
        about(&h, &mut failures,
            "proxy SIGTERM → SIGKILL (remaining grace 0 → 2 s floor)",
            secs(proxy_term[0], proxy_kill[0]),
            2.0,
        );
        about(&h, &mut failures,
            "proxy gone (grace + 2 s)",
            secs(t0, proxy_exit[0]),
            6.0,
        );
        verdict(&failures, &records);
    }
}

conformance! {
    /// §2.2 / §4.1: a sidecar waiting out its crash-loop back-off does not hold up the app
    /// containers: under Never, the pod completes as soon as the app has exited (the kubelet skips a
    /// restartable init container that cannot start yet and goes on with the regular containers).
    async fn sidecar_in_back_off_does_not_hold_up_pod_completion(h, scale = 0.1, feature = "Sidecar containers: start order, restarts, stopped after the app") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: sidecar-backoff}
    spec:
      restartPolicy: Never
      initContainers:
      - name: flaky
        image: busybox
        restartPolicy: Always
        command: ["sh", "-c", "echo run >> $OUT/flaky-runs; exit 1"]
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "while [ $(cat $OUT/flaky-runs 2>/dev/null | wc -l) -lt 2 ]; do sleep 0.02; done; sleep 0.1; exit 0"]
    "#,
        );
        let pod = &pods[0];
        // The second exit puts the sidecar into its 10 s back-off; the app exits 1 s after.
        h.until(LIMIT, "the app exited", |r| {
            !exits(r, pod, "app").is_empty()
        })
        .await;
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let app_exit = exits(&records, pod, "app")[0];
        let done = obs(&records, pod, None, |o| {
            matches!(o, Observation::PodFinished)
        })[0];
        let mut failures = Vec::new();
        if !has_event(
            &records,
            "BackOff",
            "Back-off restarting failed container flaky",
        ) {
            failures.push("the sidecar never went into back-off (test premise)".to_owned());
        }
        if secs(app_exit, done) > 3.0 {
            failures.push(format!(
                "the pod finished {:.3} s after the app exited (expected at once, < 3 s; the \
                 sidecar's back-off is 10 s): the back-off held it up",
                secs(app_exit, done)
            ));
        }
        if starts(&records, pod, "flaky").len() != 2 {
            failures.push(format!(
                "the sidecar ran {} times, expected 2 (it is not started again to be stopped)",
                starts(&records, pod, "flaky").len()
            ));
        }
        // A terminal phase is sticky (§1.1).
        let phases = phases(&records, pod);
        let terminal = phases
            .iter()
            .position(|p| *p == "Succeeded" || *p == "Failed");
        if let Some(first) = terminal
            && phases[first..].iter().any(|p| *p != phases[first])
        {
            failures.push(format!("the phase left {}: {phases:?}", phases[first]));
        }
        verdict(&failures, &records);
        // Sidecar exit codes do not count: the app exited 0.
        assert_eq!(h.phase(pod), "Succeeded");
    }
}

conformance! {
    /// §2.1: a failing regular init container under Always or OnFailure is run again (the first
    /// retry at once, §6.2) until it succeeds; only then does the app start. Its status keeps
    /// restartCount 1 and the failed run as lastState.
    async fn failed_init_container_is_retried_until_it_succeeds(h, scale = 0.1, feature = "Init containers: in order, shared volumes, failure handling") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: init-retry-always}
    spec:
      restartPolicy: Always
      initContainers:
      - name: setup
        image: busybox
        command: ["sh", "-c", "if [ -f $OUT/always-ran ]; then exit 0; fi; touch $OUT/always-ran; exit 1"]
      containers:
      - {name: app, image: busybox, command: ["sleep", "300"]}
---
    apiVersion: v1
    kind: Pod
    metadata: {name: init-retry-onfailure}
    spec:
      restartPolicy: OnFailure
      initContainers:
      - name: setup
        image: busybox
        command: ["sh", "-c", "if [ -f $OUT/onfailure-ran ]; then exit 0; fi; touch $OUT/onfailure-ran; exit 1"]
      containers:
      - {name: app, image: busybox, command: ["sleep", "300"]}
    "#,
        );
        for pod in &pods {
            until_status(&h, pod, &format!("{pod} Running"), |s| {
                s.phase.as_deref() == Some("Running")
            })
            .await;
        }
        let records = h.records();
        for pod in &pods {
            let setup: Vec<(i32, i32)> = exits(&records, pod, "setup")
                .iter()
                .zip(starts(&records, pod, "setup"))
                .map(
                    |(exit, start)| match (start.observation(), exit.observation()) {
                        (
                            Some(Observation::ContainerStarted { restart_count }),
                            Some(Observation::ContainerExited { exit_code, .. }),
                        ) => (*restart_count, *exit_code),
                        _ => unreachable!(),
                    },
                )
                .collect();
            assert_eq!(setup, [(0, 1), (1, 0)], "{pod}:\n{}", timeline(&records));
            let setup_exits = exits(&records, pod, "setup");
            let retry = starts(&records, pod, "setup")[1];
            assert!(
                secs(setup_exits[0], retry) < 5.0,
                "{pod}: the first retry is immediate:\n{}",
                timeline(&records)
            );
            let app = starts(&records, pod, "app");
            assert_eq!(app.len(), 1, "{pod}");
            assert!(
                app[0].seq > setup_exits[1].seq,
                "{pod}: the app starts after setup succeeded"
            );
            // Pending while initializing (the status starts so; only changes are recorded).
            assert_eq!(phases(&records, pod), ["Running"], "{pod}");
            let status = h.engine.status(pod).unwrap();
            let setup = container_status(&status, "setup");
            assert_eq!(setup.restart_count, 1, "{pod}: {setup:#?}");
            assert_eq!(exit_code(&setup), Some(0), "{pod}");
            assert_eq!(
                setup
                    .state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.reason.as_deref()),
                Some("Completed")
            );
            assert_eq!(last_exit_code(&setup), Some(1), "{pod}: lastState");
            assert!(condition(&status, "Initialized"), "{pod}");
        }
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §6.1: under OnFailure a container that exits 0 is not restarted (the pod Succeeds); one that
    /// exits 1 is restarted.
    async fn on_failure_restarts_only_failed_containers(h, scale = 0.1, feature = "Restart policies and crash-loop back-off") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: onfailure-zero}
    spec:
      restartPolicy: OnFailure
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "exit 0"]}
---
    apiVersion: v1
    kind: Pod
    metadata: {name: onfailure-one}
    spec:
      restartPolicy: OnFailure
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "if [ -f $OUT/ran ]; then exit 0; fi; touch $OUT/ran; exit 1"]
    "#,
        );
        let (zero, one) = (&pods[0], &pods[1]);
        h.until(LIMIT, "both pods finished", |r| {
            pod_finished(zero)(r) && pod_finished(one)(r)
        })
        .await;
        let records = h.records();

        assert_eq!(starts(&records, zero, "app").len(), 1, "exit 0: no restart");
        let status = h.engine.status(zero).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Succeeded"));
        let app = container_status(&status, "app");
        assert_eq!((app.restart_count, exit_code(&app)), (0, Some(0)));

        assert_eq!(
            starts(&records, one, "app").len(),
            2,
            "exit 1: restarted\n{}",
            timeline(&records)
        );
        let status = h.engine.status(one).unwrap();
        let app = container_status(&status, "app");
        assert_eq!(
            (app.restart_count, exit_code(&app), last_exit_code(&app)),
            (1, Some(0), Some(1))
        );
        assert_eq!(status.phase.as_deref(), Some("Succeeded"));
    }
}

conformance! {
    /// §6.1: under Never a container that exits 1 is not restarted and the pod is Failed.
    async fn never_leaves_a_failed_container_and_fails_the_pod(h, scale = 0.1, feature = "Restart policies and crash-loop back-off") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: never-fails}
    spec:
      restartPolicy: Never
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "exit 1"]}
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        assert_eq!(
            starts(&records, pod, "app").len(),
            1,
            "{}",
            timeline(&records)
        );
        assert!(events(&records, "BackOff").is_empty());
        let status = h.engine.status(pod).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        let app = container_status(&status, "app");
        let terminated = app.state.unwrap().terminated.unwrap();
        assert_eq!(
            (
                app.restart_count,
                terminated.exit_code,
                terminated.reason.as_deref()
            ),
            (0, 1, Some("Error"))
        );
        assert!(app.last_state.is_none_or(|s| s.terminated.is_none()));
    }
}

conformance! {
    /// §3.5: a failing preStop gives the Warning FailedPreStopHook "PreStopHook failed", and
    /// termination goes on: SIGTERM still comes, at once.
    async fn failed_prestop_warns_and_termination_goes_on(h, scale = 0.1, feature = "preStop hooks: exec, httpGet, sleep; grace accounting; failure") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: prestop-fails}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'touch $OUT/got-term; exit 0' TERM; touch $OUT/up; while true; do sleep 0.05; done"]
        lifecycle:
          preStop: {exec: {command: ["sh", "-c", "echo no; exit 1"]}}
    "#,
        );
        let pod = &pods[0];
        h.file("up").await;
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let warning = events(&records, "FailedPreStopHook");
        assert_eq!(warning.len(), 1, "{}", timeline(&records));
        let event = warning[0].event().unwrap();
        assert_eq!(
            (event.type_, event.message.as_str()),
            (EventType::Warning, "PreStopHook failed")
        );
        let finished = hook_finished(&records, pod, "app", HookKind::PreStop);
        let error = hook_error(finished[0]).expect("the hook failed");
        assert!(
            error.starts_with(
                "Exec lifecycle hook ([sh -c echo no; exit 1]) for Container \"app\" in Pod \"prestop-fails_default("
            ),
            "{error}"
        );
        let term = signals(&records, pod, "app", "SIGTERM");
        assert_eq!(term.len(), 1, "{}", timeline(&records));
        assert!(term[0].seq > finished[0].seq);
        // At once: not held back until the grace period (30 s) runs out.
        let delay = secs(terminating(&records, pod), term[0]);
        assert!(delay < 1.0, "SIGTERM {delay:.3} s after the deletion");
        assert!(
            h.out.path().join("got-term").exists(),
            "the app saw SIGTERM"
        );
        assert!(signals(&records, pod, "app", "SIGKILL").is_empty());
        assert_eq!(h.phase(pod), "Succeeded");
    }
}

conformance! {
    /// §3.5 / §4.3: a preStop that outlasts the grace period is abandoned when the grace runs out;
    /// the stop signal comes then, and SIGKILL exactly 2 s later (the one-time minimum window), so
    /// the deletion takes grace + 2 s.
    async fn prestop_longer_than_the_grace_gets_the_one_time_two_seconds(h, scale = 0.2, feature = "preStop hooks: exec, httpGet, sleep; grace accounting; failure") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: prestop-hangs}
    spec:
      terminationGracePeriodSeconds: 3
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/up; while true; do sleep 0.05; done"]
        lifecycle:
          preStop: {exec: {command: ["sleep", "10"]}}
    "#,
        );
        let pod = &pods[0];
        h.file("up").await;
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        let hook = hook_started(&records, pod, "app", HookKind::PreStop);
        let term = signals(&records, pod, "app", "SIGTERM");
        let kill = signals(&records, pod, "app", "SIGKILL");
        let exit = exits(&records, pod, "app");
        let done = obs(&records, pod, None, |o| {
            matches!(o, Observation::PodFinished)
        });
        assert!(
            hook.len() == 1 && term.len() == 1 && kill.len() == 1 && exit.len() == 1,
            "{}",
            timeline(&records)
        );
        let mut failures = Vec::new();
        about(&h, &mut failures, "preStop start", secs(t0, hook[0]), 0.0);
        about(&h, &mut failures,
            "SIGTERM (grace ran out)",
            secs(t0, term[0]),
            3.0,
        );
        about(&h, &mut failures,
            "SIGTERM → SIGKILL",
            secs(term[0], kill[0]),
            2.0,
        );
        about(&h, &mut failures, "container gone", secs(t0, exit[0]), 5.0);
        // Removing what is left (the kubelet's SyncTerminatedPod) adds a little: §11 allows about
        // 1 s, plus the runtime's own latency (Docker removes two containers).
        let whole = secs(t0, done[0]);
        let most = 6.0 + h.latency().as_secs_f64() / h.scale();
        if !(5.0 - TOLERANCE..=most).contains(&whole) {
            failures.push(format!("whole deletion: {whole:.3} s, expected 5 to {most:.1} s"));
        }
        verdict(&failures, &records);
        assert!(matches!(
            exit[0].observation(),
            Some(Observation::ContainerExited { exit_code: 137, .. })
        ));
    }
}

conformance! {
    /// §4.3: the whole seconds a preStop takes come off the grace period: a 2.5 s hook in a 10 s
    /// grace → SIGTERM right after the hook, SIGKILL 8 s later when SIGTERM is ignored.
    async fn prestop_time_comes_off_the_grace_in_whole_seconds(h, scale = 0.2, feature = "preStop hooks: exec, httpGet, sleep; grace accounting; failure") {
        // 2.5 s of manifest time: 2 whole seconds, with room on both sides for exec overhead.
        let hook_wall = 2.5 * h.scale();
        let pods = h.apply(&format!(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {{name: prestop-two}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/up; while true; do sleep 0.05; done"]
        lifecycle:
          preStop: {{exec: {{command: ["sleep", "{hook_wall}"]}}}}
    "#
        ));
        let pod = &pods[0];
        h.file("up").await;
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        let done = hook_finished(&records, pod, "app", HookKind::PreStop);
        let term = signals(&records, pod, "app", "SIGTERM");
        let kill = signals(&records, pod, "app", "SIGKILL");
        assert!(
            done.len() == 1 && term.len() == 1 && kill.len() == 1,
            "{}",
            timeline(&records)
        );
        assert_eq!(hook_error(done[0]), None, "the hook succeeded");
        // 2.x s, or 3.x when Docker's exec is slow: the rule is about the whole seconds either way.
        let took = secs(t0, done[0]);
        assert!(
            (2.0..4.0).contains(&took),
            "test premise: the hook should take 2.x s (3.x with a slow exec), took {took:.3} s"
        );
        let whole_seconds = took.floor();
        let mut failures = Vec::new();
        about(&h, &mut failures,
            "preStop end → SIGTERM",
            secs(done[0], term[0]),
            0.0,
        );
        about(&h, &mut failures,
            &format!("SIGTERM → SIGKILL (10 − {whole_seconds})"),
            secs(term[0], kill[0]),
            10.0 - whole_seconds,
        );
        verdict(&failures, &records);
    }
}

conformance! {
    /// §5.4: an exec probe is bounded by timeoutSeconds: `sleep 5` with timeoutSeconds 1 fails
    /// after 1 s with `command "sleep 5" timed out`, on every attempt.
    async fn exec_probe_timeout_is_enforced(h, scale = 0.2, feature = "Probe parameters: initialDelay, period, timeout, thresholds") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: probe-timeout}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
        readinessProbe:
          exec: {command: ["sleep", "5"]}
          timeoutSeconds: 1
          periodSeconds: 2
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT, "three readiness attempts", |r| {
            probe_attempts(r, pod, ProbeKind::Readiness).len() >= 3
        })
        .await;
        let records = h.records();
        let attempts = probe_attempts(&records, pod, ProbeKind::Readiness);
        for attempt in &attempts[..3] {
            assert!(
                matches!(
                    attempt.observation(),
                    Some(Observation::ProbeAttempt { outcome, output, .. })
                        if *outcome == Attempt::Failure && output == "command \"sleep 5\" timed out"
                ),
                "{attempt:?}"
            );
        }
        let unhealthy = events(&records, "Unhealthy");
        assert!(unhealthy.len() >= 3);
        assert!(unhealthy.iter().all(|e| {
            e.event().unwrap().message == "Readiness probe failed: command \"sleep 5\" timed out"
        }));
        let started = starts(&records, pod, "app")[0];
        let mut failures = Vec::new();
        // The first attempt runs when the worker starts, with the container: it ends 1 s later.
        about(&h, &mut failures,
            "first attempt (timeout 1 s)",
            secs(started, attempts[0]),
            1.0,
        );
        // Each later attempt also ends 1 s after its tick: they stay a period apart.
        about(&h, &mut failures,
            "attempt 1 → 2",
            secs(attempts[0], attempts[1]),
            2.0,
        );
        about(&h, &mut failures,
            "attempt 2 → 3",
            secs(attempts[1], attempts[2]),
            2.0,
        );
        verdict(&failures, &records);
        assert!(!condition(&h.engine.status(pod).unwrap(), "Ready"));
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §5.2: no probe runs before initialDelaySeconds, and the first runs right at it (the
    /// kubelet times the first attempt from the container's start, not from a period tick).
    async fn initial_delay_holds_probes_back(h, scale = 0.1, feature = "Probe parameters: initialDelay, period, timeout, thresholds") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: delayed}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
        readinessProbe: {exec: {command: ["true"]}, initialDelaySeconds: 5, periodSeconds: 2}
        livenessProbe: {exec: {command: ["true"]}, initialDelaySeconds: 5, periodSeconds: 2}
    "#,
        );
        let pod = &pods[0];
        until_status(&h, pod, "Ready", |s| condition(s, "Ready")).await;
        // Both probes start at the same delay; liveness may be logged just after Ready.
        h.until(Duration::from_secs(5), "a liveness attempt", |r| {
            !probe_attempts(r, pod, ProbeKind::Liveness).is_empty()
        })
        .await;
        let records = h.records();
        let started = starts(&records, pod, "app")[0];
        let mut failures = Vec::new();
        for probe in [ProbeKind::Readiness, ProbeKind::Liveness] {
            let first = probe_attempts(&records, pod, probe)[0];
            about(&h, &mut failures, &format!("first {probe} attempt after the start"), secs(started, first), 5.0);
        }
        let ready = obs(&records, pod, Some("app"), |o| {
            matches!(o, Observation::ReadyChanged { ready: true })
        })[0];
        if secs(started, ready) < 5.0 {
            failures.push("Ready before the initial delay".to_owned());
        }
        verdict(&failures, &records);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §5.2: with successThreshold 3 a readiness probe publishes Success only after three
    /// consecutive successes; a failure in between starts the count over.
    async fn readiness_success_threshold_needs_consecutive_successes(h, scale = 0.1, feature = "Probe parameters: initialDelay, period, timeout, thresholds") {
        // Attempts: success, success, failure, success, success, success → Ready after the 6th.
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: threshold}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
        readinessProbe:
          exec: {command: ["sh", "-c", "n=$(cat $OUT/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > $OUT/n; [ $n -ne 3 ]"]}
          periodSeconds: 1
          successThreshold: 3
    "#,
        );
        let pod = &pods[0];
        until_status(&h, pod, "Ready", |s| condition(s, "Ready")).await;
        let records = h.records();
        let ready = obs(&records, pod, Some("app"), |o| {
            matches!(o, Observation::ReadyChanged { ready: true })
        })[0];
        let before: Vec<Option<Attempt>> = probe_attempts(&records, pod, ProbeKind::Readiness)
            .into_iter()
            .filter(|a| a.seq < ready.seq)
            .map(outcome)
            .collect();
        use Attempt::{Failure, Success};
        assert_eq!(
            before,
            [Success, Success, Failure, Success, Success, Success].map(Some),
            "{}",
            timeline(&records)
        );
        assert_eq!(
            obs(&records, pod, Some("app"), |o| {
                matches!(o, Observation::ReadyChanged { .. })
            })
            .len(),
            1,
            "Ready never flipped before"
        );
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §4.3 / §5.3: a liveness probe's own terminationGracePeriodSeconds replaces the pod's (30 s)
    /// for the liveness kill: SIGKILL comes that long after SIGTERM when SIGTERM is ignored.
    async fn liveness_probe_grace_overrides_the_pods(h, scale = 0.2, feature = "Liveness probes") {
        let pod_yaml = |grace: u32| {
            format!(
                r#"
    apiVersion: v1
    kind: Pod
    metadata: {{name: probe-grace-{grace}}}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/up-{grace}; while true; do sleep 0.05; done"]
        livenessProbe:
          exec: {{command: ["sh", "-c", "! test -f $OUT/up-{grace}"]}}
          periodSeconds: 1
          failureThreshold: 1
          terminationGracePeriodSeconds: {grace}
    "#
            )
        };
        // 2 s as the rule's example; 4 s so that the floor of 2 s cannot pass for the override.
        let pods = h.apply(&format!("{}\n---\n{}", pod_yaml(2).trim_end(), pod_yaml(4)));
        h.until(LIMIT, "a liveness kill in both pods", |r| {
            pods.iter()
                .all(|p| !signals(r, p, "app", "SIGKILL").is_empty())
        })
        .await;
        let records = h.records();
        let mut failures = Vec::new();
        for (pod, grace) in pods.iter().zip([2.0, 4.0]) {
            let killing = events(&records, "Killing")
                .into_iter()
                .find(|r| r.pod == *pod)
                .expect("a liveness kill");
            assert_eq!(
                killing.event().unwrap().message,
                "Container app failed liveness probe, will be restarted"
            );
            let term = signals(&records, pod, "app", "SIGTERM")[0];
            let kill = signals(&records, pod, "app", "SIGKILL")[0];
            assert!(term.seq > killing.seq && kill.seq > term.seq);
            about(&h, &mut failures,
                &format!("{pod}: SIGTERM → SIGKILL"),
                secs(term, kill),
                grace,
            );
        }
        verdict(&failures, &records);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §5.3 / §6.1: under restartPolicy Never a liveness kill is final: the message has no
    /// ", will be restarted", the container stays terminated and the pod is Failed.
    async fn liveness_kill_under_never_is_not_restarted(h, scale = 0.1, feature = "Liveness probes") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: liveness-never}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 3
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'exit 143' TERM; touch $OUT/up; while true; do sleep 0.05; done"]
        livenessProbe:
          exec: {command: ["sh", "-c", "! test -f $OUT/up"]}
          periodSeconds: 1
          failureThreshold: 1
    "#,
        );
        let pod = &pods[0];
        // Finished, or (wrongly) started again: either ends the wait at once.
        h.until(LIMIT, "pod finished or restarted", |r| {
            pod_finished(pod)(r) || starts(r, pod, "app").len() > 1
        })
        .await;
        let records = h.records();
        let killing: Vec<&str> = events(&records, "Killing")
            .iter()
            .map(|r| r.event().unwrap().message.as_str())
            .collect();
        assert_eq!(
            killing.first().copied(),
            Some("Container app failed liveness probe")
        );
        let mut failures = Vec::new();
        if starts(&records, pod, "app").len() != 1 {
            failures.push("the container was started again after the liveness kill".to_owned());
        }
        if !events(&records, "BackOff").is_empty() {
            failures.push("a BackOff event: a restart was scheduled".to_owned());
        }
        if !pod_finished(pod)(&records) {
            failures.push("the pod did not finish".to_owned());
        }
        verdict(&failures, &records);
        let status = h.engine.status(pod).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        let app = container_status(&status, "app");
        assert_eq!((app.restart_count, exit_code(&app)), (0, Some(143)));
    }
}

conformance! {
    /// §1.3 / §6.2: a crash-looping container waits in CrashLoopBackOff with the kubelet's message,
    /// restartCount counts the restarts so far, and lastState holds the last exit.
    async fn crash_loop_back_off_status(h, scale = 0.05, feature = "Restart policies and crash-loop back-off") {
        let pods = h.apply_with_uids(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: crashloop}
    spec:
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "exit 3"]}
    "#,
        );
        let (pod, uid) = (&pods[0].0, &pods[0].1);
        assert!(!uid.is_empty());
        let backing_off = |s: &PodStatus, seconds: u32| {
            find_status(s, "app")
                .and_then(|app| app.state)
                .and_then(|s| s.waiting)
                .and_then(|w| w.message)
                .is_some_and(|m| m.starts_with(&format!("back-off {seconds}s ")))
        };
        for (seconds, restarts) in [(10, 1), (20, 2)] {
            let status = until_status(&h, pod, &format!("back-off {seconds}s"), |s| {
                backing_off(s, seconds)
            })
            .await;
            let app = container_status(&status, "app");
            let waiting = app.state.as_ref().unwrap().waiting.as_ref().unwrap();
            assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
            assert_eq!(
                waiting.message.as_deref().unwrap(),
                format!(
                    "back-off {seconds}s restarting failed container=app pod=crashloop_default({uid})"
                )
            );
            assert_eq!(app.restart_count, restarts);
            let last = app
                .last_state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap();
            assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));
            assert_eq!(status.phase.as_deref(), Some("Running"));
        }
        let records = h.records();
        assert!(has_event(
            &records,
            "BackOff",
            &format!("Back-off restarting failed container app in pod crashloop_default({uid})")
        ));
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §3.1: the kubelet has no tcpSocket hook handler, so a tcpSocket postStart fails:
    /// FailedPostStartHook, the container is killed and restarted.
    async fn tcp_socket_post_start_fails_and_restarts(h, scale = 0.05, feature = "postStart hooks: exec, httpGet, sleep, tcpSocket; failure") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: poststart-tcp}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.05; done"]
        lifecycle:
          postStart: {tcpSocket: {port: 8080}}
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT, "a restart", |r| {
            !obs(r, pod, Some("app"), |o| {
                matches!(o, Observation::ContainerStarted { restart_count: 1 })
            })
            .is_empty()
        })
        .await;
        let records = h.records();
        let warning = events(&records, "FailedPostStartHook");
        assert!(!warning.is_empty(), "{}", timeline(&records));
        let event = warning[0].event().unwrap();
        assert_eq!(
            (event.type_, event.message.as_str()),
            (EventType::Warning, "PostStartHook failed")
        );
        assert!(has_event(&records, "Killing", "FailedPostStartHook"));
        let finished = hook_finished(&records, pod, "app", HookKind::PostStart);
        let error = hook_error(finished[0]).expect("the hook failed");
        assert!(
            error.starts_with("Cannot run handler: invalid handler"),
            "{error}"
        );
        // Killed at once after the failed hook: by SIGTERM once its trap is set (143), or, as
        // PID 1 ignores a SIGTERM it has no handler for yet, by SIGKILL after the grace (137).
        assert!(
            matches!(
                exits(&records, pod, "app")[0].observation(),
                Some(Observation::ContainerExited { exit_code: 143 | 137, .. })
            ),
            "{}",
            timeline(&records)
        );
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §3.1: a sleep preStop makes the kubelet wait; SIGTERM comes after the sleep.
    async fn sleep_prestop_delays_sigterm(h, scale = 0.2, feature = "preStop hooks: exec, httpGet, sleep; grace accounting; failure") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: prestop-sleep}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'touch $OUT/got-term; exit 0' TERM; touch $OUT/up; while true; do sleep 0.05; done"]
        lifecycle:
          preStop: {sleep: {seconds: 3}}
    "#,
        );
        let pod = &pods[0];
        h.file("up").await;
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        let done = hook_finished(&records, pod, "app", HookKind::PreStop);
        let term = signals(&records, pod, "app", "SIGTERM");
        assert!(done.len() == 1 && term.len() == 1, "{}", timeline(&records));
        assert_eq!(hook_error(done[0]), None);
        assert!(term[0].seq > done[0].seq, "SIGTERM after the sleep");
        let mut failures = Vec::new();
        about(&h, &mut failures, "sleep hook", secs(t0, done[0]), 3.0);
        about(&h, &mut failures, "SIGTERM", secs(t0, term[0]), 3.0);
        verdict(&failures, &records);
        assert!(h.out.path().join("got-term").exists());
        assert!(events(&records, "FailedPreStopHook").is_empty());
        assert!(signals(&records, pod, "app", "SIGKILL").is_empty());
        assert_eq!(h.phase(pod), "Succeeded");
    }
}

/// A pod with an app and two sidecars whose preStop hooks take `hook` manifest seconds (a
/// `sleep` scaled to wall time); every container ignores SIGTERM when `stubborn`.
fn sidecar_pod(name: &str, grace: i64, hook: f64, scale: f64, stubborn: bool) -> String {
    let sleep = hook * scale;
    let on_term = if stubborn { "''" } else { "'exit 0'" };
    let container = |n: &str, sidecar: bool| {
        let restart = if sidecar {
            "\n        restartPolicy: Always"
        } else {
            ""
        };
        format!(
            r#"
      - name: {n}
        image: busybox{restart}
        command: ["sh", "-c", "trap {on_term} TERM; touch $OUT/{name}-{n}-up; while true; do sleep 0.05; done"]
        lifecycle:
          preStop: {{exec: {{command: ["sh", "-c", "sleep {sleep}"]}}}}"#
        )
    };
    format!(
        r#"
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}}}
    spec:
      terminationGracePeriodSeconds: {grace}
      initContainers:{}{}
      containers:{}
    "#,
        container("side1", true),
        container("side2", true),
        container("app", false),
    )
}

conformance! {
    /// §4.3: all containers of a terminating pod are killed at once (`killContainersWithSyncResult`):
    /// every preStop starts when termination begins, and only the stop signals are ordered — the
    /// app first, then the sidecars in reverse order, each after the later one has exited. With
    /// 4 s hooks and grace 10, the app gets SIGTERM at 4 s, each sidecar as soon as the one it
    /// waits for has exited, and the last container is gone just after 4 s (one after another it would take
    /// 12 s). The chain of exits adds each shell's reaction time (its trap runs between sleeps).
    async fn sidecar_prestops_run_together_and_only_stop_signals_are_ordered(h, scale = 0.2, feature = "Sidecar containers: start order, restarts, stopped after the app") {
        let pods = h.apply(&sidecar_pod("together", 10, 4.0, h.scale(), false));
        let pod = &pods[0];
        for c in ["side1", "side2", "app"] {
            h.file(&format!("together-{c}-up")).await;
        }
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        let mut failures = Vec::new();
        for c in ["side1", "side2", "app"] {
            let hook = hook_started(&records, pod, c, HookKind::PreStop);
            assert_eq!(hook.len(), 1, "{c}: {}", timeline(&records));
            about(&h, &mut failures, &format!("{c} preStop start"), secs(t0, hook[0]), 0.0);
            let term = signals(&records, pod, c, "SIGTERM");
            assert_eq!(term.len(), 1, "{c}: {}", timeline(&records));
            let at = secs(t0, term[0]);
            if !(4.0 - TOLERANCE..=5.0).contains(&at) {
                failures.push(format!("{c} SIGTERM at {at:.3} s, expected within [3.7, 5] s"));
            }
        }
        about(&h, &mut failures, "app SIGTERM", secs(t0, signals(&records, pod, "app", "SIGTERM")[0]), 4.0);
        let term = |c| signals(&records, pod, c, "SIGTERM")[0].seq;
        let exit = |c| exits(&records, pod, c)[0].seq;
        if !(exit("app") < term("side2") && exit("side2") < term("side1")) {
            failures.push("stop signals: app, then side2 after the app exited, then side1 after side2 exited".into());
        }
        // The last container out (side1) ends the termination; removing the containers and
        // the sandbox afterwards is the runtime's own time, which this rule does not govern.
        let last = exits(&records, pod, "side1")[0];
        let at = secs(t0, last);
        let allowance = h.latency().as_secs_f64() / h.scale();
        if !(4.0 - TOLERANCE..=5.5 + allowance).contains(&at) {
            failures.push(format!(
                "the last container exited at {at:.3} s, expected within [3.7, {:.2}] s",
                5.5 + allowance
            ));
        }
        verdict(&failures, &records);
    }
}

conformance! {
    /// §4.3: the grace period is one budget for the whole pod. Hooks longer than grace 6 are all
    /// cut at 6 s; no time is left to wait for a turn, so every container gets its stop signal
    /// then and SIGKILL 2 s later: the pod ends at grace + 2 s whatever the number of sidecars.
    async fn sidecar_prestops_share_one_grace_period(h, scale = 0.2, feature = "Sidecar containers: start order, restarts, stopped after the app") {
        let pods = h.apply(&sidecar_pod("budget", 6, 20.0, h.scale(), true));
        let pod = &pods[0];
        for c in ["side1", "side2", "app"] {
            h.file(&format!("budget-{c}-up")).await;
        }
        h.engine.delete(pod, None).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        let mut failures = Vec::new();
        for c in ["side1", "side2", "app"] {
            let hook = hook_started(&records, pod, c, HookKind::PreStop);
            about(&h, &mut failures, &format!("{c} preStop start"), secs(t0, hook[0]), 0.0);
            let term = signals(&records, pod, c, "SIGTERM");
            let kill = signals(&records, pod, c, "SIGKILL");
            assert!(term.len() == 1 && kill.len() == 1, "{c}: {}", timeline(&records));
            about(&h, &mut failures, &format!("{c} SIGTERM"), secs(t0, term[0]), 6.0);
            about(&h, &mut failures, &format!("{c} SIGKILL"), secs(t0, kill[0]), 8.0);
        }
        let finished = obs(&records, pod, None, |o| matches!(o, Observation::PodFinished))[0];
        about(&h, &mut failures, "pod finished (grace + 2 s)", secs(t0, finished), 8.0);
        verdict(&failures, &records);
    }
}

conformance! {
    /// §4.4: a force deletion (grace 0) gets the kubelet's floor of 1 s (`calculateEffectiveGracePeriod`):
    /// preStop runs for at most that second, then the stop signal, and SIGKILL 2 s later (the
    /// minimum stop window). It is not an instant kill.
    async fn force_deletion_gets_one_second_and_the_stop_window(h, scale = 0.2, feature = "Graceful deletion: stop signal, SIGKILL at the deadline, overrides, 0") {
        let pods = h.apply(&format!(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {{name: forced}}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/forced-up; while true; do sleep 0.05; done"]
        lifecycle:
          preStop: {{exec: {{command: ["sh", "-c", "touch $OUT/prestop; sleep {}"]}}}}
    "#,
            10.0 * h.scale()
        ));
        let pod = &pods[0];
        h.file("forced-up").await;
        h.engine.delete(pod, Some(0)).unwrap();
        h.until(LIMIT, "pod finished", pod_finished(pod)).await;
        let records = h.records();
        let t0 = terminating(&records, pod);
        assert!(
            matches!(t0.observation(), Some(Observation::Terminating { grace_seconds: 1 })),
            "grace 0 is floored to 1: {}",
            timeline(&records)
        );
        let hook = hook_finished(&records, pod, "app", HookKind::PreStop);
        let term = signals(&records, pod, "app", "SIGTERM");
        let kill = signals(&records, pod, "app", "SIGKILL");
        assert!(hook.len() == 1 && term.len() == 1 && kill.len() == 1, "{}", timeline(&records));
        let mut failures = Vec::new();
        about(&h, &mut failures, "preStop cut after the 1 s grace", secs(t0, hook[0]), 1.0);
        about(&h, &mut failures, "SIGTERM", secs(t0, term[0]), 1.0);
        about(&h, &mut failures, "SIGKILL (the 2 s stop window)", secs(t0, kill[0]), 3.0);
        if !h.out.path().join("prestop").exists() {
            failures.push("preStop did not run".into());
        }
        verdict(&failures, &records);
    }
}

conformance! {
    /// §5.1: the first probe is timed from the container's start: with initialDelaySeconds 1 and
    /// periodSeconds 60 the first startup attempt comes at 1 s, not at 60 s.
    async fn first_probe_comes_at_the_initial_delay_not_a_period_later(h, scale = 0.1, feature = "Probe parameters: initialDelay, period, timeout, thresholds") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: first-probe}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
        startupProbe: {exec: {command: ["true"]}, initialDelaySeconds: 1, periodSeconds: 60}
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT, "a startup attempt", |r| !probe_attempts(r, pod, ProbeKind::Startup).is_empty())
            .await;
        let records = h.records();
        let started = starts(&records, pod, "app")[0];
        let first = probe_attempts(&records, pod, ProbeKind::Startup)[0];
        let mut failures = Vec::new();
        about(&h, &mut failures, "first startup attempt after the start", secs(started, first), 1.0);
        verdict(&failures, &records);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §2.1: while a pod initialises, the containers that have not run yet wait with reason
    /// PodInitializing (the kubelet's default for a pod with init containers), not ContainerCreating.
    async fn containers_not_yet_run_wait_in_pod_initializing(h, scale = 0.1, feature = "Init containers: in order, shared volumes, failure handling") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: initializing}
    spec:
      initContainers:
      - name: init1
        image: busybox
        command: ["sh", "-c", "exit 1"]
      - name: init2
        image: busybox
        command: ["true"]
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
    "#,
        );
        let pod = &pods[0];
        let status = until_status(&h, pod, "init1 restarted once", |s| {
            find_status(s, "init1").is_some_and(|c| c.restart_count >= 1)
        })
        .await;
        let waiting = |c: Option<ContainerStatus>| {
            c.and_then(|c| c.state).and_then(|s| s.waiting).and_then(|w| w.reason)
        };
        assert_eq!(
            waiting(find_status(&status, "init2")).as_deref(),
            Some("PodInitializing"),
            "{status:#?}"
        );
        assert_eq!(
            waiting(find_status(&status, "app")).as_deref(),
            Some("PodInitializing"),
            "{status:#?}"
        );
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// The kubelet's `EnsureImageExists` in its own words: an image that is there is
    /// `Pulled … already present on machine`; one the runtime has to build first is `Pulling`,
    /// then `Pulled … Successfully pulled image … in <time>` (Docker: the image is removed first,
    /// so it is built during the run).
    async fn images_are_reported_in_the_kubelets_words(h, scale = 0.5, feature = "Images: built before they are needed, reported as Pulling/Pulled") {
        if h.runtime == "docker" {
            let docker = bollard::Docker::connect_with_local_defaults().unwrap();
            let _ = docker
                .remove_image("sample:v2", None::<bollard::query_parameters::RemoveImageOptions>, None)
                .await;
        }
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: images}
    spec:
      containers:
      - name: built
        image: sample:v2
        command: ["sleep", "300"]
      - name: present
        image: busybox
        command: ["sleep", "300"]
    "#,
        );
        let pod = &pods[0];
        h.until(LIMIT.mul_f64(3.0), "both started", |r| {
            starts(r, pod, "built").len() == 1 && starts(r, pod, "present").len() == 1
        })
        .await;
        let records = h.records();
        let messages = |container: &str| -> Vec<String> {
            records
                .iter()
                .filter(|r| r.pod == *pod && r.container.as_deref() == Some(container))
                .filter_map(|r| match r.event() {
                    Some(e) if e.reason == "Pulling" || e.reason == "Pulled" => {
                        Some(format!("{}: {}", e.reason, e.message))
                    }
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            messages("present"),
            ["Pulled: Container image \"busybox\" already present on machine"],
            "{}",
            timeline(&records)
        );
        let built = messages("built");
        if h.runtime == "docker" {
            assert_eq!(built.len(), 2, "{}", timeline(&records));
            assert_eq!(built[0], "Pulling: Pulling image \"sample:v2\"");
            assert!(
                built[1].starts_with("Pulled: Successfully pulled image \"sample:v2\" in "),
                "{}",
                built[1]
            );
        } else {
            assert_eq!(built, ["Pulled: Container image \"sample:v2\" already present on machine"]);
        }
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// Containers are told the time scale (`PODLIFE_TIME_SCALE`, wall seconds per manifest
    /// second), so that their own sleeps can follow it.
    async fn containers_are_told_the_time_scale(h, scale = 0.5, feature = "Probe parameters: initialDelay, period, timeout, thresholds") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: scaled}
    spec:
      restartPolicy: Never
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "echo $PODLIFE_TIME_SCALE > $OUT/scale.tmp; mv $OUT/scale.tmp $OUT/scale"]
    "#,
        );
        h.file("scale").await;
        assert_eq!(h.read("scale").trim().parse::<f64>().unwrap(), h.scale());
        h.until(LIMIT, "pod finished", pod_finished(&pods[0])).await;
    }
}

/// A Deployment of two busybox pods, Ready at once, with `minReadySeconds: 5` and a rolling
/// update that never goes below two available pods; `version` changes its template.
fn deployment(version: u32) -> String {
    format!(
        r#"
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: roll}}
    spec:
      replicas: 2
      minReadySeconds: 5
      strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
      selector: {{matchLabels: {{app: roll}}}}
      template:
        metadata: {{labels: {{app: roll}}}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: app
            image: busybox
            command: ["sleep", "300"]
            env: [{{name: VERSION, value: "{version}"}}]
            readinessProbe: {{exec: {{command: ["true"]}}, periodSeconds: 1}}
    "#
    )
}

/// The `Replicas` counts on the timeline, with their records.
fn replica_counts(records: &[Record]) -> Vec<(&Record, usize, usize)> {
    records
        .iter()
        .filter_map(|r| match r.observation() {
            Some(Observation::Replicas {
                ready, available, ..
            }) => Some((r, *ready, *available)),
            _ => None,
        })
        .collect()
}

conformance! {
    /// §9.2: a pod is available once it has been Ready for `minReadySeconds`, and a rolling
    /// update of a changed manifest counts *available* pods against `maxUnavailable`: with
    /// maxUnavailable 0 an old pod goes only 5 s after its replacement became Ready.
    async fn min_ready_seconds_paces_the_rollout_of_a_changed_manifest(h, scale = 0.1, feature = "Workload controllers: replacements, StatefulSet order, Jobs") {
        h.apply_plan(&deployment(1)).await;
        h.until(LIMIT, "2 available", |r| replica_counts(r).iter().any(|(_, _, a)| *a == 2))
            .await;
        let records = h.records();
        let counts = replica_counts(&records);
        let both_ready = counts.iter().find(|(_, ready, _)| *ready == 2).unwrap().0;
        let both_available = counts.iter().find(|(_, _, a)| *a == 2).unwrap().0;
        let mut failures = Vec::new();
        if secs(both_ready, both_available) < 5.0 - TOLERANCE {
            failures.push(format!(
                "available {:.2} s after Ready, expected minReadySeconds 5",
                secs(both_ready, both_available)
            ));
        }
        let old: Vec<String> = h.engine.pods();
        h.apply_plan(&deployment(2)).await;
        h.until(LIMIT, "both old pods deleted", |r| {
            events(r, "SuccessfulDelete").len() == 2
                && replica_counts(r).last().is_some_and(|(_, _, a)| *a == 2)
        })
        .await;
        let records = h.records();
        let new_ready = records
            .iter()
            .find(|r| {
                !old.contains(&r.pod)
                    && matches!(r.observation(), Some(Observation::ConditionChanged { condition: podlife::engine::status::ConditionKind::Ready, status: true }))
            })
            .expect("a new pod became Ready");
        let first_delete = events(&records, "SuccessfulDelete")[0];
        if secs(new_ready, first_delete) < 5.0 - TOLERANCE {
            failures.push(format!(
                "an old pod was deleted {:.2} s after the first new pod became Ready; it was \
                 not available yet (minReadySeconds 5, maxUnavailable 0)",
                secs(new_ready, first_delete)
            ));
        }
        let rolled = events(&records, "ScalingReplicaSet");
        if rolled.len() != 1 {
            failures.push(format!("one rollout expected, saw {}", rolled.len()));
        }
        verdict(&failures, &records);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §9.2: with `minReadySeconds`, a StatefulSet's OrderedReady creates ordinal n+1 only
    /// once ordinal n has been Ready that long (`isRunningAndAvailable`).
    async fn stateful_set_waits_for_the_previous_pod_to_be_available(h, scale = 0.1, feature = "Workload controllers: replacements, StatefulSet order, Jobs") {
        h.apply_plan(
            r#"
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db}
    spec:
      replicas: 2
      minReadySeconds: 4
      serviceName: db
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: app
            image: busybox
            command: ["sleep", "300"]
            readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
    "#,
        )
        .await;
        h.until(LIMIT, "db-1 created", |r| {
            r.iter().any(|r| r.pod == "db-1" && r.event().is_some_and(|e| e.reason == "Scheduled"))
        })
        .await;
        let records = h.records();
        let ready = obs(&records, "db-0", None, |o| {
            matches!(o, Observation::ConditionChanged { condition: podlife::engine::status::ConditionKind::Ready, status: true })
        })[0];
        let created = records
            .iter()
            .find(|r| r.pod == "db-1" && r.event().is_some_and(|e| e.reason == "Scheduled"))
            .unwrap();
        let mut failures = Vec::new();
        about(&h, &mut failures, "db-1 created after db-0 became Ready", secs(ready, created), 4.0);
        verdict(&failures, &records);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    /// §11: a kubelet restart keeps what the runtime holds: a completed init container is not
    /// run again and the restart count and last state come through; crash-loop back-off,
    /// which lived in the lost kubelet's memory, starts over, so a container waiting in
    /// back-off is restarted at once.
    async fn kubelet_restart_keeps_counts_and_starts_back_off_over(h, scale = 0.2, feature = "Kubelet restarts: running containers adopted, nothing run again, status kept") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: restarted}
    spec:
      initContainers:
      - {name: setup, image: busybox, command: ["true"]}
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "exit 3"]}
    "#,
        );
        let pod = &pods[0];
        until_status(&h, pod, "back-off 10s", |s| {
            find_status(s, "app")
                .and_then(|app| app.state?.waiting?.message)
                .is_some_and(|m| m.starts_with("back-off 10s "))
        })
        .await;
        h.engine.restart_kubelet().await;
        h.until(LIMIT, "app started a third time", |r| starts(r, pod, "app").len() >= 3)
            .await;
        let records = h.records();
        let restarted = obs(&records, pod, None, |o| matches!(o, Observation::KubeletRestarted))[0];
        let third = starts(&records, pod, "app")[2];
        let mut failures = Vec::new();
        if !matches!(third.observation(), Some(Observation::ContainerStarted { restart_count: 2 })) {
            failures.push(format!("the third start has restart count 2: {third:?}"));
        }
        if secs(restarted, third) > 5.0 {
            failures.push(format!(
                "app restarted at once after the kubelet restart (its 10 s back-off starts over), not {:.1}s later",
                secs(restarted, third)
            ));
        }
        if starts(&records, pod, "setup").len() != 1 {
            failures.push("the completed init container is not run again".into());
        }
        if exits(&records, pod, "app").len() < 2 {
            failures.push("both exits before the restart recorded".into());
        }
        let status = until_status(&h, pod, "restart count 2", |s| {
            find_status(s, "app").is_some_and(|app| app.restart_count >= 2)
        })
        .await;
        let app = container_status(&status, "app");
        if last_exit_code(&app) != Some(3) {
            failures.push(format!("last state kept with exit code 3: {app:?}"));
        }
        verdict(&failures, &records);
        h.engine.kill_all_and_wait().await;
    }
}
