//! Network probes and httpGet hooks against real servers (testapp) on the process runtime.

#[macro_use]
mod common;

use std::time::Duration;

use common::{Helper, events, finished, has_event, observed, testapp, testapp_events, timeline};
use podlife::engine::Observation;

conformance! {
    async fn http_liveness_failure_restarts_with_the_kubelet_message(h, scale = 0.1, feature = "Liveness probes") {
        let pods = h.apply(r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: http-live}
    spec:
      containers:
      - name: web
        image: testapp
        command: ["$TESTAPP", "--http", "8080", "--unhealthy-after", "500ms"]
        ports: [{name: http, containerPort: 8080}]
        livenessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
          failureThreshold: 2
    "#);
        h.until(Duration::from_secs(15), "a restart", |r| {
            !observed(r, |o| {
                matches!(o, Observation::ContainerStarted { restart_count: 1 })
            })
            .is_empty()
        })
        .await;
        let records = h.records();
        assert!(
            has_event(
                &records,
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500"
            ),
            "{}",
            timeline(&records)
        );
        assert_eq!(events(&records, "Killing").len(), 1);
        // testapp exits 0 on SIGTERM: the liveness kill still restarts it.
        let exited = observed(&records, |o| {
            matches!(o, Observation::ContainerExited { .. })
        });
        assert!(matches!(
            exited[0].observation(),
            Some(Observation::ContainerExited { exit_code: 0, .. })
        ));
        let _ = &pods;
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn tcp_and_grpc_readiness(h, scale = 0.1, feature = "Readiness probes") {
        let pods = h.apply(r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: tcp-ready}
    spec:
      containers:
      - name: app
        image: testapp
        command: ["$TESTAPP", "--tcp", "9000"]
        readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
---
    apiVersion: v1
    kind: Pod
    metadata: {name: grpc-ready}
    spec:
      containers:
      - name: app
        image: testapp
        command: ["$TESTAPP", "--grpc", "9090", "--healthy-after", "1s"]
        readinessProbe: {grpc: {port: 9090}, periodSeconds: 1}
    "#);
        h.until(Duration::from_secs(10), "both ready", |_| {
            h.ready(&pods[0]) && h.ready(&pods[1])
        })
        .await;
        let records = h.records();
        // gRPC was NOT_SERVING for the first second: unready first, with the kubelet's text.
        assert!(
            has_event(
                &records,
                "Unhealthy",
                "Readiness probe failed: service unhealthy (responded with \"NOT_SERVING\")"
            ),
            "{}",
            timeline(&records)
        );
        h.engine.kill_all_and_wait().await;
    }
}

conformance! {
    async fn prestop_http_hook_reaches_the_monitor_before_sigterm(h, scale = 1.0, feature = "preStop hooks: exec, httpGet, sleep; grace accounting; failure") {
        let monitor_log = h.out.path().join("monitor.log");
        let app_log = h.out.path().join("app.log");
        // The monitor runs beside the engine, as the seed's monitor.com would.
        let monitor = Helper::spawn(
            std::process::Command::new(testapp())
                .args(["--bind", "127.0.0.1", "--http", "0", "--log"])
                .arg(&monitor_log),
        );
        let started = std::time::Instant::now();
        let port = loop {
            assert!(started.elapsed() < Duration::from_secs(10), "the monitor did not start");
            if let Some(start) = testapp_events(&monitor_log)
                .into_iter()
                .find(|e| e["event"] == "start")
            {
                break start["http_port"].as_u64().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let pods = h.apply(&format!(
            r#"
    apiVersion: v1
    kind: Pod
    metadata: {{name: hooked}}
    spec:
      containers:
      - name: war
        image: testapp
        command: ["$TESTAPP", "--http", "8080", "--log", "{}"]
        lifecycle:
          preStop:
            httpGet: {{host: 127.0.0.1, port: {port}, path: /waring}}
    "#,
            app_log.display()
        ));
        let pod = &pods[0];
        h.until(Duration::from_secs(10), "running", |_| {
            testapp_events(&app_log)
                .iter()
                .any(|e| e["event"] == "start")
        })
        .await;
        h.engine.delete(pod, None).unwrap();
        h.until(Duration::from_secs(10), "pod finished", finished)
            .await;
        drop(monitor);
        let request = testapp_events(&monitor_log)
            .into_iter()
            .find(|e| e["event"] == "request" && e["path"] == "/waring")
            .expect("the monitor got GET /waring");
        assert_eq!(request["method"], "GET");
        assert_eq!(request["user_agent"], "kube-lifecycle/1.37");
        let sigterm = testapp_events(&app_log)
            .into_iter()
            .find(|e| e["event"] == "signal" && e["signal"] == "SIGTERM")
            .expect("the app got SIGTERM");
        assert!(
            request["ts_ms"].as_u64() <= sigterm["ts_ms"].as_u64(),
            "preStop request {request} after SIGTERM {sigterm}"
        );
        assert_eq!(h.phase(pod), "Succeeded");
    }
}

conformance! {
    async fn startup_probe_gates_liveness_and_readiness(h, scale = 0.1, feature = "Startup probes") {
        let pods = h.apply(r#"
    apiVersion: v1
    kind: Pod
    metadata: {name: slow-start}
    spec:
      containers:
      - name: app
        image: testapp
        command: ["$TESTAPP", "--http", "8080", "--healthy-after", "1500ms"]
        startupProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 30}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 1}
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
    "#);
        h.until(Duration::from_secs(10), "ready", |_| h.ready(&pods[0]))
            .await;
        let records = h.records();
        // Liveness (failureThreshold 1) never ran while the app was unhealthy: startup gated it.
        assert!(
            !has_event(&records, "Unhealthy", "Liveness probe failed"),
            "{}",
            timeline(&records)
        );
        assert!(has_event(
            &records,
            "Unhealthy",
            "Startup probe failed: HTTP probe failed with statuscode: 500"
        ));
        assert!(events(&records, "Killing").is_empty());
        let status = h.engine.status(&pods[0]).unwrap();
        let c = &status.container_statuses.unwrap()[0];
        assert_eq!((c.started, c.ready, c.restart_count), (Some(true), true, 0));
        h.engine.kill_all_and_wait().await;
    }
}
