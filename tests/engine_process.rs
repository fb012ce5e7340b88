//! The lifecycle engine on the process runtime, with real processes, signals and timing.
//! Manifests go through the same validation and expansion as `podlife run`.

#[macro_use]
mod common;

use std::time::Duration;

use common::{build_test_image, events, finished, has_event, observed, testapp_events, timeline};
use podlife::engine::{EventType, Observation, Record};

/// The signals the engine sent, in order.
fn signals_sent(records: &[Record]) -> Vec<&str> {
    observed(records, |o| matches!(o, Observation::SignalSent { .. }))
        .iter()
        .filter_map(|r| match r.observation() {
            Some(Observation::SignalSent { signal }) => Some(signal.as_str()),
            _ => None,
        })
        .collect()
}

/// Waits for the testapp of `pod` (logging to `$OUT/app.log`) to start, deletes the pod and
/// waits until it has finished: the records, and the testapp's log.
async fn delete_started_testapp(
    h: &common::Harness,
    pod: &str,
) -> (Vec<Record>, std::path::PathBuf) {
    let log = h.out.path().join("app.log");
    h.until(Duration::from_secs(10), "testapp started", |_| {
        testapp_events(&log).iter().any(|e| e["event"] == "start")
    })
    .await;
    h.engine.delete(pod, None).unwrap();
    h.until(Duration::from_secs(10), "pod finished", finished)
        .await;
    (h.records(), log)
}

/// The first container's `containerStatuses[].stopSignal`.
fn status_stop_signal(h: &common::Harness, pod: &str) -> Option<String> {
    let status = h.engine.status(pod)?;
    status.container_statuses?.first()?.stop_signal.clone()
}

/// The signals a testapp logged receiving, in order.
fn signals_received(log: &std::path::Path) -> Vec<String> {
    testapp_events(log)
        .iter()
        .filter(|e| e["event"] == "signal")
        .map(|e| e["signal"].as_str().unwrap_or_default().to_owned())
        .collect()
}

conformance! {
    async fn init_containers_run_in_order_and_share_a_volume(h, scale = 1.0, feature = "Init containers: in order, shared volumes, failure handling") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: init-order}
    spec:
      initContainers:
      - name: first
        image: busybox
        command: ["sh", "-c", "echo first >> /work/order; echo first >> $OUT/order"]
        volumeMounts: [{name: work, mountPath: /podlife-e2e-work}]
      - name: second
        image: busybox
        command: ["sh", "-c", "sleep 0.2; echo second >> $OUT/order"]
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "echo app >> $OUT/order; exec sleep 300"]
      volumes: [{name: work, emptyDir: {}}]
    "#
            .replace("/work/order", "/podlife-e2e-work/order")
            .as_str(),
        );
        let pod = &pods[0];
        h.until(Duration::from_secs(10), "Running", |_| {
            h.phase(pod) == "Running"
        })
        .await;
        h.until(Duration::from_secs(5), "the app's line", |_| {
            h.read("order").contains("app")
        })
        .await;
        assert_eq!(h.read("order"), "first\nsecond\napp\n");
        let status = h.engine.status(pod).unwrap();
        let init = status.init_container_statuses.unwrap();
        assert!(init.iter().all(|c| {
            c.state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap()
                .reason
                .as_deref()
                == Some("Completed")
        }));
        let initialized = status
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Initialized")
            .unwrap();
        assert_eq!(initialized.status, "True");
        // Created/Started for each container, in order.
        let records = h.records();
        let started: Vec<&str> = events(&records, "Started")
            .iter()
            .map(|r| r.container.as_deref().unwrap())
            .collect();
        assert_eq!(started, ["first", "second", "app"]);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn init_failure_under_never_fails_the_pod(h, scale = 1.0, feature = "Init containers: in order, shared volumes, failure handling") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: init-fails}
    spec:
      restartPolicy: Never
      initContainers:
      - {name: check, image: busybox, command: ["sh", "-c", "exit 3"]}
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "echo ran > $OUT/app"]}
    "#,
        );
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        assert_eq!(h.phase(&pods[0]), "Failed");
        assert_eq!(h.read("app"), "", "the app container never starts");
        let status = h.engine.status(&pods[0]).unwrap();
        let init = &status.init_container_statuses.unwrap()[0];
        assert_eq!(
            init.state
                .as_ref()
                .unwrap()
                .terminated
                .as_ref()
                .unwrap()
                .exit_code,
            3
        );
    }
}

conformance! {
    async fn prestop_runs_before_the_stop_signal(h, scale = 1.0, feature = "preStop hooks: exec, httpGet, sleep; grace accounting; failure") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: prestop}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'if [ -f $OUT/prestop ]; then echo yes > $OUT/saw; else echo no > $OUT/saw; fi; exit 0' TERM; touch $OUT/trapped; while true; do sleep 0.05; done"]
        lifecycle:
          preStop:
            exec: {command: ["sh", "-c", "sleep 0.3; touch $OUT/prestop"]}
    "#,
        );
        let pod = &pods[0];
        h.file("trapped").await;
        h.engine.delete(pod, None).unwrap();
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        assert_eq!(h.read("saw"), "yes\n", "SIGTERM arrived after preStop");
        let records = h.records();
        let hook_done = observed(&records, |o| {
            matches!(o, Observation::HookFinished { error: None, .. })
        })[0]
            .wall;
        let term = observed(
            &records,
            |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGTERM),
        )[0]
        .wall;
        assert!(hook_done <= term);
        assert!(has_event(&records, "Killing", "Stopping container app"));
        // Exited 0 on SIGTERM: a deleted pod whose containers all exit 0 is Succeeded.
        assert_eq!(h.phase(pod), "Succeeded");
    }
}

conformance! {
    async fn sigterm_ignored_means_sigkill_at_the_grace_deadline(h, scale = 1.0, feature = "Graceful deletion: stop signal, SIGKILL at the deadline, overrides, 0") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: stubborn}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/trapped; while true; do sleep 0.05; done"]
    "#,
        );
        let pod = &pods[0];
        h.file("trapped").await;
        h.engine.delete(pod, None).unwrap();
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        let records = h.records();
        let term = observed(
            &records,
            |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGTERM),
        )[0]
        .wall;
        let kill = observed(
            &records,
            |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGKILL),
        )[0]
        .wall;
        let gap = kill - term;
        assert!(
            gap >= Duration::from_millis(1950) && gap <= Duration::from_millis(2150),
            "SIGKILL {gap:?} after SIGTERM, expected 2 s ± 100 ms"
        );
        let status = h.engine.status(pod).unwrap();
        let state = status.container_statuses.unwrap()[0].state.clone().unwrap();
        let terminated = state.terminated.unwrap();
        assert_eq!(
            (terminated.exit_code, terminated.reason.as_deref()),
            (137, Some("Error"))
        );
        assert_eq!(h.phase(pod), "Failed");
    }
}

conformance! {
    async fn the_image_stopsignal_replaces_sigterm(h, scale = 1.0, feature = "Image STOPSIGNAL") {
        if h.runtime == "process" {
            h.unsupported("a process has no image, so no STOPSIGNAL");
            return;
        }
        // As the official nginx image does: SIGQUIT is its graceful stop.
        build_test_image(
            "podlife/test-stopsignal:1",
            podlife::images::TESTAPP_IMAGE,
            "FROM podlife/testapp:1\nSTOPSIGNAL SIGQUIT\n",
        )
        .await;
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: quitter}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: podlife/test-stopsignal:1
        command: ["$TESTAPP", "--log", "$OUT/app.log"]
    "#,
        );
        let pod = &pods[0];
        let (records, log) = delete_started_testapp(&h, pod).await;
        let sent = signals_sent(&records);
        assert_eq!(sent, ["SIGQUIT", "SIGKILL"], "{}", timeline(&records));
        assert_eq!(
            status_stop_signal(&h, pod).as_deref(),
            Some("SIGQUIT"),
            "the image's STOPSIGNAL in containerStatuses[].stopSignal"
        );
        let received = signals_received(&log);
        assert_eq!(received, ["SIGQUIT"], "what the container received");
    }
}

conformance! {
    async fn lifecycle_stop_signal_replaces_sigterm(h, scale = 1.0, feature = "Container stop signal (lifecycle.stopSignal)") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: interrupted}
    spec:
      os: {name: linux}
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: podlife/testapp:1
        command: ["$TESTAPP", "--log", "$OUT/app.log"]
        lifecycle:
          stopSignal: SIGINT
    "#,
        );
        let pod = &pods[0];
        let (records, log) = delete_started_testapp(&h, pod).await;
        let sent = signals_sent(&records);
        assert_eq!(sent, ["SIGINT"], "{}", timeline(&records));
        assert_eq!(
            status_stop_signal(&h, pod).as_deref(),
            Some("SIGINT"),
            "containerStatuses[].stopSignal"
        );
        let received = signals_received(&log);
        assert_eq!(received, ["SIGINT"], "what the container received");
        let status = h.engine.status(pod).unwrap();
        let state = status.container_statuses.unwrap()[0].state.clone().unwrap();
        assert_eq!(state.terminated.unwrap().exit_code, 0, "it shut down on SIGINT by itself");
    }
}

conformance! {
    async fn liveness_failure_restarts_the_container(h, scale = 0.1, feature = "Liveness probes") {
        // 0.1: a 1 s period takes 100 ms.
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: liveness}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap 'exit 143' TERM; if [ -f $OUT/started-once ]; then touch $OUT/healthy; else touch $OUT/started-once; fi; while true; do sleep 0.05; done"]
        livenessProbe:
          exec: {command: ["test", "-f", "$OUT/healthy"]}
          periodSeconds: 1
          failureThreshold: 3
    "#,
        );
        let pod = &pods[0];
        h.until(Duration::from_secs(15), "a restart", |r| {
            !observed(r, |o| {
                matches!(o, Observation::ContainerStarted { restart_count: 1 })
            })
            .is_empty()
        })
        .await;
        h.until(Duration::from_secs(5), "Running again", |_| {
            h.phase(pod) == "Running"
        })
        .await;
        let records = h.records();
        let unhealthy = events(&records, "Unhealthy");
        assert_eq!(
            unhealthy.len(),
            3,
            "one Unhealthy per failed attempt:\n{}",
            timeline(&records)
        );
        assert!(
            unhealthy[0]
                .event()
                .unwrap()
                .message
                .starts_with("Liveness probe failed")
        );
        assert!(has_event(
            &records,
            "Killing",
            "Container app failed liveness probe, will be restarted"
        ));
        // Failure published after failureThreshold × periodSeconds (±1 period).
        let first = observed(&records, |o| {
            matches!(o, Observation::ContainerStarted { restart_count: 0 })
        })[0]
            .manifest;
        let killed = events(&records, "Killing")[0].manifest;
        let detect = killed - first;
        assert!(
            detect >= Duration::from_secs(2) && detect <= Duration::from_secs(4),
            "{detect:?}"
        );
        let status = h.engine.status(pod).unwrap();
        let c = &status.container_statuses.unwrap()[0];
        assert_eq!(c.restart_count, 1);
        let last = c.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(last.exit_code, 143);
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn readiness_flips_both_ways(h, scale = 0.1, feature = "Readiness probes") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: readiness}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
        readinessProbe:
          exec: {command: ["test", "-f", "$OUT/ready"]}
          periodSeconds: 1
          failureThreshold: 2
    "#,
        );
        let pod = &pods[0];
        h.until(Duration::from_secs(5), "Running", |_| {
            h.phase(pod) == "Running"
        })
        .await;
        assert!(!h.ready(pod), "not ready before the first success");
        std::fs::write(h.out.path().join("ready"), "").unwrap();
        h.until(Duration::from_secs(5), "Ready", |_| h.ready(pod))
            .await;
        std::fs::remove_file(h.out.path().join("ready")).unwrap();
        h.until(Duration::from_secs(5), "not Ready", |_| !h.ready(pod))
            .await;
        let records = h.records();
        // Ready went false after the 2nd failure, not the 1st.
        let failures: Vec<_> = observed(
            &records,
            |o| matches!(o, Observation::ProbeAttempt { outcome, .. } if *outcome == podlife::engine::events::Attempt::Failure),
        )
        .into_iter()
        .filter(|r| {
            r.wall
                > observed(&records, |o| {
                    matches!(o, Observation::ReadyChanged { ready: true })
                })[0]
                    .wall
        })
        .collect();
        let unready = observed(&records, |o| {
            matches!(o, Observation::ReadyChanged { ready: false })
        })[0]
            .wall;
        assert!(failures.len() >= 2 && failures[1].wall <= unready && failures[0].wall < unready);
        assert!(!has_event(&records, "Killing", ""), "readiness never kills");
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn crash_loop_back_off_doubles(h, scale = 0.05, feature = "Restart policies and crash-loop back-off") {
        // 0.05: the 10 s and 20 s back-offs take 0.5 s and 1 s.
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: crasher}
    spec:
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "exit 1"]}
    "#,
        );
        let pod = &pods[0];
        h.until(Duration::from_secs(10), "four starts", |r| {
            observed(r, |o| matches!(o, Observation::ContainerStarted { .. })).len() >= 4
        })
        .await;
        let records = h.records();
        let at = |f: fn(&Observation) -> bool| -> Vec<Duration> {
            observed(&records, f).iter().map(|r| r.manifest).collect()
        };
        // A start attempt begins with the Pulled event, before the runtime creates anything.
        let attempts: Vec<Duration> = events(&records, "Pulled").iter().map(|r| r.manifest).collect();
        let exits = at(|o| matches!(o, Observation::ContainerExited { .. }));
        // Back-off runs from an exit to the next start attempt.
        let gaps: Vec<f64> = exits
            .iter()
            .zip(&attempts[1..])
            .map(|(exit, start)| (*start - *exit).as_secs_f64())
            .collect();
        // First restart at once, then 10 s, then 20 s (manifest time), each ± 2 s.
        assert!(gaps[0] < 2.0, "{gaps:?}");
        assert!((gaps[1] - 10.0).abs() < 2.0, "{gaps:?}");
        assert!((gaps[2] - 20.0).abs() < 2.0, "{gaps:?}");
        assert!(has_event(
            &records,
            "BackOff",
            "Back-off restarting failed container app in pod crasher_default("
        ));
        assert_eq!(
            h.phase(pod),
            "Running",
            "a crash-looping Always pod is Running"
        );
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn failed_poststart_kills_and_restarts(h, scale = 0.05, feature = "postStart hooks: exec, httpGet, sleep, tcpSocket; failure") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: poststart}
    spec:
      containers:
      - name: app
        image: busybox
        command: ["sleep", "300"]
        lifecycle:
          postStart: {exec: {command: ["sh", "-c", "echo nope; exit 1"]}}
    "#,
        );
        h.until(Duration::from_secs(10), "a restart", |r| {
            !observed(r, |o| {
                matches!(o, Observation::ContainerStarted { restart_count: 1 })
            })
            .is_empty()
        })
        .await;
        let records = h.records();
        assert!(has_event(
            &records,
            "FailedPostStartHook",
            "PostStartHook failed"
        ));
        assert!(has_event(&records, "Killing", "FailedPostStartHook"));
        let failed = observed(&records, |o| {
            matches!(o, Observation::HookFinished { error: Some(_), .. })
        });
        let Some(Observation::HookFinished {
            error: Some(message),
            ..
        }) = failed[0].observation()
        else {
            panic!()
        };
        assert!(message.starts_with("Exec lifecycle hook ([sh -c echo nope; exit 1]) for Container \"app\" in Pod \"poststart_default("), "{message}");
        assert!(message.ends_with("message: \"nope\\n\""), "{message}");
        let _ = &pods;
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn active_deadline_fails_the_pod(h, scale = 0.1, feature = "activeDeadlineSeconds") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: deadline}
    spec:
      activeDeadlineSeconds: 5
      terminationGracePeriodSeconds: 1
      containers:
      - {name: app, image: busybox, command: ["sleep", "300"]}
    "#,
        );
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        let status = h.engine.status(&pods[0]).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        assert_eq!(status.reason.as_deref(), Some("DeadlineExceeded"));
        let records = h.records();
        let deadline = events(&records, "DeadlineExceeded")[0];
        assert!((deadline.manifest.as_secs_f64() - 5.0).abs() < 1.0);
        assert_eq!(deadline.event().unwrap().type_, EventType::Warning);
    }
}

conformance! {
    async fn termination_message_and_log_fallback(h, scale = 1.0, feature = "Termination messages") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: messages}
    spec:
      restartPolicy: Never
      containers:
      - name: file
        image: busybox
        command: ["sh", "-c", "echo 'all done' > /dev/termination-log"]
      - name: logs
        image: busybox
        command: ["sh", "-c", "echo 'it broke'; exit 4"]
        terminationMessagePolicy: FallbackToLogsOnError
    "#,
        );
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        let status = h.engine.status(&pods[0]).unwrap();
        let by_name = |n: &str| {
            status
                .container_statuses
                .clone()
                .unwrap()
                .into_iter()
                .find(|c| c.name == n)
                .unwrap()
                .state
                .unwrap()
                .terminated
                .unwrap()
        };
        if h.isolation() {
            assert_eq!(by_name("file").message.as_deref(), Some("all done\n"));
        }
        assert_eq!(by_name("logs").message.as_deref(), Some("it broke"));
        assert_eq!(status.phase.as_deref(), Some("Failed"));
    }
}

conformance! {
    async fn a_shorter_second_deletion_redoes_the_kill(h, scale = 1.0, feature = "Graceful deletion: stop signal, SIGKILL at the deadline, overrides, 0") {
        let pods = h.apply(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: shorter}
    spec:
      terminationGracePeriodSeconds: 60
      containers:
      - name: app
        image: busybox
        command: ["sh", "-c", "trap '' TERM; touch $OUT/trapped; while true; do sleep 0.05; done"]
    "#,
        );
        let pod = &pods[0];
        h.file("trapped").await;
        h.engine.delete(pod, None).unwrap();
        h.until(Duration::from_secs(5), "SIGTERM", |r| {
            !observed(
                r,
                |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGTERM),
            )
            .is_empty()
        })
        .await;
        // kubectl delete --grace-period=3 while the 60 s termination is under way.
        h.engine.delete(pod, Some(3)).unwrap();
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        let records = h.records();
        let term = observed(
            &records,
            |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGTERM),
        )[0]
        .wall;
        let kill = observed(
            &records,
            |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGKILL),
        )[0]
        .wall;
        let gap = (kill - term).as_secs_f64();
        assert!(
            (2.8..=3.4).contains(&gap),
            "SIGKILL {gap:.3} s after SIGTERM, expected about 3 s"
        );
    }
}

/// What an acceptance run found on the process runtime: an exec hook's and probe's relative
/// path resolved against this machine's `/`, and concurrent pods shared `/tmp`, so one pod's
/// probe file made another pod Ready. Each container now works in its own directory and has
/// a private `/tmp` that its hooks and probes share (a mount namespace: root). Not a
/// conformance test: Docker gives this by construction.
#[tokio::test]
async fn hooks_and_probes_see_the_containers_directory_and_private_tmp() {
    let h = common::Harness::process(0.2);
    if !h.isolation() {
        common::skipped("a private /tmp needs a mount namespace (root)");
        return;
    }
    let tmp_file = format!("podlife-ready-{}", fastrand::u64(..));
    let hook_file = format!("podlife-started-{}", fastrand::u64(..));
    let pods = h.apply(
        &r#"
apiVersion: v1
kind: Pod
metadata: {name: maker}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "touch /tmp/READY; while true; do sleep 0.05; done"]
    lifecycle:
      postStart: {exec: {command: ["touch", "STARTED"]}}
    startupProbe: {exec: {command: ["test", "-f", "STARTED"]}, periodSeconds: 1}
    readinessProbe: {exec: {command: ["cat", "/tmp/READY"]}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "while true; do sleep 0.05; done"]
    readinessProbe: {exec: {command: ["cat", "/tmp/READY"]}, periodSeconds: 1}
"#
        .replace("READY", &tmp_file)
        .replace("STARTED", &hook_file),
    );
    h.until(Duration::from_secs(10), "maker Ready", |_| {
        h.ready(&pods[0])
    })
    .await;
    // `other` has had a few readiness attempts by now: none found maker's file.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let records = h.records();
    assert!(!h.ready(&pods[1]), "{}", timeline(&records));
    assert!(
        events(&records, "Unhealthy")
            .iter()
            .any(|e| e.pod == pods[1]),
        "other's probe fails"
    );
    for host in [format!("/tmp/{tmp_file}"), format!("/{hook_file}")] {
        assert!(
            !std::path::Path::new(&host).exists(),
            "{host} was written on this machine"
        );
    }
    h.engine.shutdown(Some(0)).await;
}
