//! Engine rules on the simulated runtime under a paused tokio clock: every time asserted here
//! is exact (manifest time = wall time at scale 1, and the clock only moves when everything
//! waits), so these tests state the kubelet's arithmetic itself, in milliseconds of real time.
//! The § numbers are docs/semantics.md's.

use std::sync::Arc;
use std::time::Duration;

use podlife::engine::{Engine, HookKind, Observation, Record};
use podlife::manifest::expand::{NameRng, expand};
use podlife::manifest::{Source, analyze};
use podlife::runtime::sim::{Check, CheckMatch, OnSignal, Script, SimRuntime};
use podlife::time::TimeScale;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// An engine on `runtime` at scale 1 running `yaml`'s pods.
async fn run(runtime: SimRuntime, yaml: &str) -> Engine {
    let engine = Engine::new(Arc::new(runtime), TimeScale::default());
    let report = analyze(Source::new("test.yaml", yaml.to_owned()));
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    let plan = expand(&report.manifests, &mut NameRng::with_seed(1));
    let errors = engine.apply_plan(&plan).await;
    assert!(errors.is_empty(), "{errors:?}");
    engine
}

/// Lets `seconds` of manifest time pass.
async fn pass(seconds: f64) {
    tokio::time::sleep(secs(seconds)).await;
}

/// When (manifest seconds) each record of `container` matching `f` came, in order.
fn times(engine: &Engine, container: &str, f: impl Fn(&Observation) -> bool) -> Vec<f64> {
    engine
        .log()
        .records()
        .iter()
        .filter(|r| r.container.as_deref() == Some(container))
        .filter(|r| r.observation().is_some_and(&f))
        .map(|r: &Record| (r.manifest.as_secs_f64() * 1000.0).round() / 1000.0)
        .collect()
}

fn signal(name: &'static str) -> impl Fn(&Observation) -> bool {
    move |o| matches!(o, Observation::SignalSent { signal } if signal.as_str() == name)
}

fn started(o: &Observation) -> bool {
    matches!(o, Observation::ContainerStarted { .. })
}

fn exited(o: &Observation) -> bool {
    matches!(o, Observation::ContainerExited { .. })
}

const STUBBORN_WITH_HOOK: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    lifecycle:
      preStop:
        exec: {command: ["hook"]}
"#;

/// A container that ignores its stop signal and a preStop hook that takes `hook` seconds.
fn stubborn(hook: f64) -> SimRuntime {
    SimRuntime::new().script(
        "app",
        Script::forever().on_signal(OnSignal::Ignores).check(Check {
            matches: CheckMatch::Exec("hook".into()),
            answers: vec![(Duration::ZERO, true)],
            takes: secs(hook),
        }),
    )
}

/// §4.2: the whole seconds preStop took come off the grace period; SIGKILL when the rest has
/// passed after the stop signal.
#[tokio::test(start_paused = true)]
async fn prestop_time_comes_off_the_grace_in_whole_seconds() {
    let engine = run(stubborn(2.5), STUBBORN_WITH_HOOK).await;
    pass(1.0).await;
    engine.delete("web", None).unwrap();
    pass(30.0).await;
    let hook = times(&engine, "app", |o| {
        matches!(
            o,
            Observation::HookStarted {
                hook: HookKind::PreStop
            }
        )
    });
    assert_eq!(hook, [1.0]);
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [3.5]);
    // 10 - 2 (whole seconds of the 2.5 s hook) = 8 s after the stop signal.
    assert_eq!(times(&engine, "app", signal("SIGKILL")), [11.5]);
    assert_eq!(times(&engine, "app", exited), [11.5]);
}

/// §4.2: a preStop hook that outlives the grace period is cut off at it; the container then
/// gets the minimum 2 s between stop signal and SIGKILL.
#[tokio::test(start_paused = true)]
async fn prestop_longer_than_the_grace_gets_the_two_second_window() {
    let engine = run(stubborn(60.0), STUBBORN_WITH_HOOK).await;
    engine.delete("web", Some(5)).unwrap();
    pass(30.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [5.0]);
    assert_eq!(times(&engine, "app", signal("SIGKILL")), [7.0]);
}

/// §4.4: a force deletion (grace 0) still gets 1 s, for preStop, then the 2 s window.
#[tokio::test(start_paused = true)]
async fn force_deletion_gets_one_second_and_the_window() {
    let engine = run(stubborn(60.0), STUBBORN_WITH_HOOK).await;
    engine.delete("web", Some(0)).unwrap();
    pass(30.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [1.0]);
    assert_eq!(times(&engine, "app", signal("SIGKILL")), [3.0]);
}

/// §6: the first restart is at once, then 10 s doubling.
#[tokio::test(start_paused = true)]
async fn crash_loop_back_off_doubles_from_ten_seconds() {
    let runtime = SimRuntime::new().script("app", Script::exits(secs(1.0), 1));
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers:
  - {name: app, image: busybox, command: ["false"]}
"#,
    )
    .await;
    pass(100.0).await;
    // Exits at 1, 2, 13, 34; restarts at once, then after 10, 20, 40 s.
    assert_eq!(times(&engine, "app", started), [0.0, 1.0, 12.0, 33.0, 74.0]);
}

/// §5.2, §5.3: the first attempt at the container's start + initialDelaySeconds, then every
/// period; Ready after successThreshold, not Ready after failureThreshold consecutive failures.
#[tokio::test(start_paused = true)]
async fn readiness_follows_its_thresholds_from_the_initial_delay() {
    let runtime = SimRuntime::new().script(
        "app",
        Script::forever().check(Check::fails_from(
            CheckMatch::Exec("ready".into()),
            secs(40.0),
        )),
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    readinessProbe:
      exec: {command: ["ready"]}
      initialDelaySeconds: 5
      periodSeconds: 10
      successThreshold: 2
      failureThreshold: 3
"#,
    )
    .await;
    pass(100.0).await;
    let attempts = times(&engine, "app", |o| {
        matches!(o, Observation::ProbeAttempt { .. })
    });
    assert_eq!(&attempts[..6], [5.0, 15.0, 25.0, 35.0, 45.0, 55.0]);
    let ready = times(&engine, "app", |o| {
        matches!(o, Observation::ReadyChanged { ready: true })
    });
    let unready = times(&engine, "app", |o| {
        matches!(o, Observation::ReadyChanged { ready: false })
    });
    // Two successes (5, 15); failures from 45: the third at 65.
    assert_eq!(ready, [15.0]);
    assert_eq!(unready, [65.0]);
}

/// §2.1: init containers one after another, each once it has succeeded; then the app.
#[tokio::test(start_paused = true)]
async fn init_containers_run_in_order_before_the_app() {
    let runtime = SimRuntime::new()
        .script("first", Script::exits(secs(2.0), 0))
        .script("second", Script::exits(secs(3.0), 0));
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - {name: first, image: busybox, command: ["true"]}
  - {name: second, image: busybox, command: ["true"]}
  containers:
  - {name: app, image: busybox, command: ["sleep", "infinity"]}
"#,
    )
    .await;
    pass(10.0).await;
    assert_eq!(times(&engine, "first", started), [0.0]);
    assert_eq!(times(&engine, "second", started), [2.0]);
    assert_eq!(times(&engine, "app", started), [5.0]);
}

/// §4.3: on deletion the app gets its stop signal first; the sidecar once the app has exited.
#[tokio::test(start_paused = true)]
async fn sidecar_is_stopped_after_the_app_has_exited() {
    let runtime = SimRuntime::new().script(
        "app",
        Script::forever().on_signal(OnSignal::Exits {
            after: secs(3.0),
            code: 0,
        }),
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - {name: proxy, image: busybox, command: ["sleep", "infinity"], restartPolicy: Always}
  containers:
  - {name: app, image: busybox, command: ["sleep", "infinity"]}
"#,
    )
    .await;
    pass(1.0).await;
    engine.delete("web", None).unwrap();
    pass(40.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [1.0]);
    assert_eq!(times(&engine, "app", exited), [4.0]);
    assert_eq!(times(&engine, "proxy", signal("SIGTERM")), [4.0]);
    assert!(times(&engine, "proxy", signal("SIGKILL")).is_empty());
}

/// §5.3: a liveness failure at the threshold kills the container with the pod's grace period
/// and restarts it at once (its first restart).
#[tokio::test(start_paused = true)]
async fn liveness_failure_restarts_the_container() {
    let unhealthy = Script::forever().check(Check::fails_from(CheckMatch::Port(8080), secs(25.0)));
    let runtime = SimRuntime::new().script(
        "app",
        Script {
            then: vec![Script::forever()],
            ..unhealthy
        },
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 10
      failureThreshold: 3
"#,
    )
    .await;
    pass(100.0).await;
    // Attempts at 0, 10, 20 pass; 30, 40, 50 fail: killed at 50, started again at once.
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [50.0]);
    assert_eq!(times(&engine, "app", started), [0.0, 50.0]);
    let status = engine.status("web").unwrap();
    assert_eq!(status.container_statuses.unwrap()[0].restart_count, 1);
}

/// §11: a kubelet restart adopts the running container: not started again, no postStart,
/// Ready kept, its restart count from the runtime.
#[tokio::test(start_paused = true)]
async fn kubelet_restart_adopts_running_containers() {
    let runtime = SimRuntime::new().script("app", Script::forever());
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    lifecycle:
      postStart:
        exec: {command: ["started"]}
    readinessProbe:
      exec: {command: ["ready"]}
      periodSeconds: 10
"#,
    )
    .await;
    pass(15.0).await;
    engine.restart_kubelet().await;
    pass(30.0).await;
    assert_eq!(times(&engine, "app", started), [0.0]);
    let hooks = times(&engine, "app", |o| {
        matches!(o, Observation::HookStarted { .. })
    });
    assert_eq!(hooks, [0.0]);
    let readiness = times(&engine, "app", |o| {
        matches!(o, Observation::ReadyChanged { .. })
    });
    assert_eq!(readiness, [0.0], "ready once, and kept across the restart");
    let adopted = times(&engine, "app", |o| {
        matches!(
            o,
            Observation::ContainerAdopted {
                restart_count: 0,
                running: true
            }
        )
    });
    assert_eq!(adopted, [15.0]);
    // Probes go on after the restart (the first within a period, at a random point).
    let attempts = times(&engine, "app", |o| {
        matches!(o, Observation::ProbeAttempt { .. })
    });
    assert!(
        attempts.iter().filter(|t| **t > 15.0).count() >= 2,
        "{attempts:?}"
    );
}

/// When (manifest seconds) each event `reason` came.
fn event_times(engine: &Engine, reason: &str) -> Vec<f64> {
    engine
        .log()
        .records()
        .iter()
        .filter(|r| r.event().is_some_and(|e| e.reason == reason))
        .map(|r| (r.manifest.as_secs_f64() * 1000.0).round() / 1000.0)
        .collect()
}

fn phase(engine: &Engine, pod: &str) -> String {
    engine.status(pod).and_then(|s| s.phase).unwrap_or_default()
}

/// §2.2: a sidecar starts before the app and is restarted even under `Never`; when the app
/// has completed, the sidecar is stopped and the pod Succeeded.
#[tokio::test(start_paused = true)]
async fn sidecar_restarts_under_never_and_stops_when_the_app_completes() {
    let runtime = SimRuntime::new()
        .script(
            "proxy",
            Script {
                then: vec![Script::forever()],
                ..Script::exits(secs(5.0), 1)
            },
        )
        .script("app", Script::exits(secs(20.0), 0));
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  restartPolicy: Never
  initContainers:
  - {name: proxy, image: busybox, command: ["proxy"], restartPolicy: Always}
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    pass(60.0).await;
    assert_eq!(times(&engine, "proxy", started), [0.0, 5.0]);
    assert_eq!(times(&engine, "app", started), [0.0]);
    assert_eq!(times(&engine, "proxy", signal("SIGTERM")), [20.0]);
    assert_eq!(phase(&engine, "web"), "Succeeded");
}

/// §2.1, §6: a failing init container is retried with the crash-loop back-off; the app
/// starts once it has succeeded.
#[tokio::test(start_paused = true)]
async fn failed_init_container_is_retried_with_back_off() {
    let runtime = SimRuntime::new().script(
        "setup",
        Script {
            then: vec![Script::exits(secs(1.0), 1), Script::exits(secs(1.0), 0)],
            ..Script::exits(secs(1.0), 1)
        },
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - {name: setup, image: busybox, command: ["setup"]}
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    pass(60.0).await;
    // Exits 1 at 1 (restarted at once) and at 2 (back-off 10 s), succeeds at 13.
    assert_eq!(times(&engine, "setup", started), [0.0, 1.0, 12.0]);
    assert_eq!(times(&engine, "app", started), [13.0]);
}

/// §6: under `Never` a failed container is not restarted and the pod Failed; under
/// `OnFailure` only the failed one is restarted.
#[tokio::test(start_paused = true)]
async fn restart_policies_decide_what_is_restarted() {
    let yaml = |policy: &str| {
        format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  restartPolicy: {policy}
  containers:
  - {{name: good, image: busybox, command: ["good"]}}
  - {{name: bad, image: busybox, command: ["bad"]}}
"#
        )
    };
    let scripts = || {
        SimRuntime::new()
            .script("good", Script::exits(secs(1.0), 0))
            .script(
                "bad",
                Script {
                    then: vec![Script::forever()],
                    ..Script::exits(secs(2.0), 2)
                },
            )
    };
    let never = run(scripts(), &yaml("Never")).await;
    pass(30.0).await;
    assert_eq!(times(&never, "bad", started), [0.0]);
    assert_eq!(phase(&never, "web"), "Failed");
    let on_failure = run(scripts(), &yaml("OnFailure")).await;
    pass(30.0).await;
    assert_eq!(times(&on_failure, "good", started), [0.0]);
    assert_eq!(times(&on_failure, "bad", started), [0.0, 2.0]);
    assert_eq!(phase(&on_failure, "web"), "Running");
}

/// §5.1: an exec probe that outlives `timeoutSeconds` fails at the timeout.
#[tokio::test(start_paused = true)]
async fn exec_probe_timeout_fails_the_attempt_at_the_timeout() {
    let runtime = SimRuntime::new().script(
        "app",
        Script::forever().check(Check {
            matches: CheckMatch::Exec("slow".into()),
            answers: vec![(Duration::ZERO, true)],
            takes: secs(5.0),
        }),
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["app"]
    readinessProbe:
      exec: {command: ["slow"]}
      timeoutSeconds: 2
      periodSeconds: 10
"#,
    )
    .await;
    pass(15.0).await;
    let failed = times(
        &engine,
        "app",
        |o| matches!(o, Observation::ProbeAttempt { outcome: podlife::engine::events::Attempt::Failure, output, .. } if output.contains("timed out")),
    );
    assert_eq!(failed, [2.0, 12.0]);
}

/// §5.3, §4.2: a liveness probe's own `terminationGracePeriodSeconds` replaces the pod's for
/// the kill it causes.
#[tokio::test(start_paused = true)]
async fn liveness_probe_grace_overrides_the_pods() {
    let unhealthy = Script::forever()
        .on_signal(OnSignal::Ignores)
        .check(Check::fails_from(CheckMatch::Any, Duration::ZERO));
    let runtime = SimRuntime::new().script(
        "app",
        Script {
            then: vec![Script::forever()],
            ..unhealthy
        },
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: busybox
    command: ["app"]
    livenessProbe:
      exec: {command: ["alive"]}
      periodSeconds: 10
      failureThreshold: 1
      terminationGracePeriodSeconds: 3
"#,
    )
    .await;
    pass(8.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [0.0]);
    assert_eq!(times(&engine, "app", signal("SIGKILL")), [3.0]);
}

/// §3.2: a failing preStop hook is a `FailedPreStopHook` warning; the stop signal follows at
/// once.
#[tokio::test(start_paused = true)]
async fn failed_prestop_warns_and_termination_goes_on() {
    let runtime = SimRuntime::new().script(
        "app",
        Script::forever().check(Check {
            matches: CheckMatch::Exec("hook".into()),
            answers: vec![(Duration::ZERO, false)],
            takes: secs(1.0),
        }),
    );
    let engine = run(runtime, STUBBORN_WITH_HOOK).await;
    engine.delete("web", None).unwrap();
    pass(20.0).await;
    assert_eq!(event_times(&engine, "FailedPreStopHook"), [1.0]);
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [1.0]);
    assert_eq!(times(&engine, "app", exited), [1.0]);
}

/// §6: `activeDeadlineSeconds` counts from the pod's start; past it the pod is killed and
/// Failed with reason DeadlineExceeded.
#[tokio::test(start_paused = true)]
async fn active_deadline_fails_the_pod() {
    let engine = run(
        SimRuntime::new(),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  activeDeadlineSeconds: 10
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    pass(30.0).await;
    assert_eq!(event_times(&engine, "DeadlineExceeded"), [10.0]);
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [10.0]);
    assert_eq!(phase(&engine, "web"), "Failed");
    assert_eq!(
        engine.status("web").and_then(|s| s.reason).as_deref(),
        Some("DeadlineExceeded")
    );
}

/// §5.2: liveness and readiness wait for the startup probe; their ticks before it passed
/// are skipped.
#[tokio::test(start_paused = true)]
async fn startup_probe_holds_the_other_probes_back() {
    let runtime = SimRuntime::new().script(
        "app",
        Script::forever().check(Check::passes_from(
            CheckMatch::Exec("up".into()),
            secs(12.0),
        )),
    );
    let engine = run(
        runtime,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["app"]
    startupProbe:
      exec: {command: ["up"]}
      periodSeconds: 5
      failureThreshold: 10
    readinessProbe:
      exec: {command: ["ready"]}
      periodSeconds: 10
"#,
    )
    .await;
    pass(30.0).await;
    let startup = times(&engine, "app", |o| {
        matches!(
            o,
            Observation::ProbeResult {
                probe: podlife::engine::spec::ProbeKind::Startup,
                success: true
            }
        )
    });
    assert_eq!(startup, [15.0]);
    let ready = times(&engine, "app", |o| {
        matches!(o, Observation::ReadyChanged { ready: true })
    });
    assert_eq!(ready, [20.0]);
}

/// §4.1: a later deletion with a shorter grace period moves the SIGKILL in.
#[tokio::test(start_paused = true)]
async fn a_later_shorter_deletion_moves_the_kill_in() {
    let engine = run(
        SimRuntime::new().script("app", Script::forever().on_signal(OnSignal::Ignores)),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    engine.delete("web", None).unwrap();
    pass(5.0).await;
    engine.delete("web", Some(2)).unwrap();
    pass(40.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [0.0]);
    assert_eq!(times(&engine, "app", signal("SIGKILL")), [7.0]);
}

/// §4.3: a sidecar's wait for its turn ends at the grace deadline; then it gets the 2 s floor.
#[tokio::test(start_paused = true)]
async fn sidecar_stop_window_is_what_remains_of_the_grace() {
    let stubborn = Script::forever().on_signal(OnSignal::Ignores);
    let engine = run(
        SimRuntime::new()
            .script("proxy", stubborn.clone())
            .script("app", stubborn),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 4
  initContainers:
  - {name: proxy, image: busybox, command: ["proxy"], restartPolicy: Always}
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    engine.delete("web", None).unwrap();
    pass(20.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [0.0]);
    assert_eq!(times(&engine, "app", signal("SIGKILL")), [4.0]);
    assert_eq!(times(&engine, "proxy", signal("SIGTERM")), [4.0]);
    assert_eq!(times(&engine, "proxy", signal("SIGKILL")), [6.0]);
}

/// §6, §1.3: while a container waits out its back-off, its status says so in the kubelet's
/// words.
#[tokio::test(start_paused = true)]
async fn crash_loop_back_off_status_says_why_and_how_long() {
    let engine = run(
        SimRuntime::new().script("app", Script::exits(secs(1.0), 3)),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: crash, uid: 0a1b2c3d}
spec:
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    // Exits at 1 and 2; waits 10 s from 2.
    pass(5.0).await;
    let status = engine.status("crash").unwrap();
    let app = &status.container_statuses.unwrap()[0];
    let waiting = app.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    let message = waiting.message.as_deref().unwrap();
    assert!(
        message.starts_with("back-off 10s restarting failed container=app pod=crash_default("),
        "{message}"
    );
    assert_eq!(app.restart_count, 1);
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

/// §3.2: a `sleep` preStop holds the stop signal back for its seconds.
#[tokio::test(start_paused = true)]
async fn sleep_prestop_delays_the_stop_signal() {
    let engine = run(
        SimRuntime::new(),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: busybox
    command: ["app"]
    lifecycle:
      preStop:
        sleep: {seconds: 3}
"#,
    )
    .await;
    pass(1.0).await;
    engine.delete("web", None).unwrap();
    pass(10.0).await;
    assert_eq!(times(&engine, "app", signal("SIGTERM")), [4.0]);
}

/// §1.3: containers that have not run wait in PodInitializing while init containers run.
#[tokio::test(start_paused = true)]
async fn containers_not_yet_run_wait_in_pod_initializing() {
    let engine = run(
        SimRuntime::new().script("setup", Script::exits(secs(10.0), 0)),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers:
  - {name: setup, image: busybox, command: ["setup"]}
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    pass(5.0).await;
    let status = engine.status("web").unwrap();
    let app = &status.container_statuses.unwrap()[0];
    let waiting = app.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("PodInitializing"));
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    pass(10.0).await;
    assert_eq!(times(&engine, "app", started), [10.0]);
}

/// §9.2: a rolling update of a changed Deployment counts available pods: with
/// `minReadySeconds: 5` and `maxUnavailable: 0`, each old pod goes 5 s after its replacement
/// became Ready.
#[tokio::test(start_paused = true)]
async fn min_ready_seconds_paces_a_rollout() {
    let deployment = |version: u32| {
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
        command: ["app"]
        env: [{{name: VERSION, value: "{version}"}}]
        readinessProbe: {{exec: {{command: ["ready"]}}, periodSeconds: 1}}
"#
        )
    };
    let engine = run(SimRuntime::new(), &deployment(1)).await;
    pass(10.0).await;
    assert!(event_times(&engine, "SuccessfulDelete").is_empty());
    let report = analyze(Source::new("v2.yaml", deployment(2)));
    let plan = expand(&report.manifests, &mut NameRng::with_seed(2));
    assert!(engine.apply_plan(&plan).await.is_empty());
    pass(30.0).await;
    assert_eq!(event_times(&engine, "SuccessfulDelete"), [15.0, 20.0]);
}

/// A finished pod says so to whoever asks later, and its name is free again at once: a
/// StatefulSet brings a deleted pod back under its name (§9.1).
#[tokio::test(start_paused = true)]
async fn a_finished_pod_frees_its_name() {
    let engine = run(
        SimRuntime::new(),
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    pass(10.0).await;
    engine.delete("db-1", None).unwrap();
    pass(10.0).await;
    assert!(
        tokio::time::timeout(secs(1.0), engine.wait_finished("db-0"))
            .await
            .is_err(),
        "db-0 still runs"
    );
    assert_eq!(event_times(&engine, "SuccessfulCreate").len(), 3);
    assert!(event_times(&engine, "FailedCreate").is_empty());
    let single = run(
        SimRuntime::new().script("app", Script::exits(secs(1.0), 0)),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: busybox, command: ["app"]}
"#,
    )
    .await;
    pass(5.0).await;
    assert!(
        tokio::time::timeout(secs(1.0), single.wait_finished("once"))
            .await
            .is_ok(),
        "a pod that finished before anyone waited says it has finished"
    );
}
