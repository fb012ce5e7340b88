//! Timing of the Docker runtime (`cargo bench --bench docker_timing`; needs a Docker engine):
//!
//! 1. Pod create → Running: a one-container pod through the engine (sandbox, network, app
//!    container) against a bare bollard create + start of the same image (target ≤ 1.3×).
//! 2. SIGKILL precision: containers ignore SIGTERM; how far after the grace deadline is SIGKILL
//!    sent, and how far after it does Docker report the container gone (target p99 < 50 ms)?

mod common;

use common::{percentile, pods, times};

use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use podlife::engine::{Engine, Observation};
use podlife::runtime::docker::DockerRuntime;
use podlife::time::TimeScale;

const IMAGE: &str = podlife::images::BUSYBOX_IMAGE;

/// Prints n, p50, p99 and max (ms) and returns the p50.
fn summary(name: &str, mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let p50 = percentile(&values, 0.5);
    let p99 = percentile(&values, 0.99);
    let max = values.last().copied().unwrap_or_default();
    println!(
        "{name}: n={} p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        values.len()
    );
    (p50, p99)
}

async fn engine() -> Arc<Engine> {
    let runtime = DockerRuntime::new().await.expect("a Docker engine");
    Arc::new(Engine::new(Arc::new(runtime), TimeScale::new(1.0).unwrap()))
}

/// Create + start of the image, straight through bollard, until `start` returns; on Docker's
/// default bridge, or on `network`.
async fn bare_start_ms(docker: &bollard::Docker, n: usize, network: Option<&str>) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("podlife-bench-bare-{}-{i}", std::process::id());
        let started = Instant::now();
        docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                ContainerCreateBody {
                    image: Some(IMAGE.to_owned()),
                    cmd: Some(vec!["sleep".into(), "300".into()]),
                    host_config: Some(bollard::models::HostConfig {
                        network_mode: network.map(str::to_owned),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .expect("create");
        docker.start_container(&name, None).await.expect("start");
        out.push(started.elapsed().as_secs_f64() * 1000.0);
        docker
            .remove_container(
                &name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
            .expect("remove");
    }
    out
}

/// `apply` until the pod's phase is Running (sandbox, network attach, container start).
async fn pod_running_ms(engine: &Engine, n: usize, prefix: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - {{name: app, image: busybox, command: [sleep, '300']}}\n"
        );
        let mut updates = engine.log().subscribe();
        let started = Instant::now();
        for pod in pods(&yaml) {
            engine.apply(pod).unwrap();
        }
        loop {
            let record = updates.recv().await.expect("event log");
            if record.pod == name
                && matches!(
                    record.observation(),
                    Some(Observation::PhaseChanged {
                        phase: podlife::engine::status::PodPhase::Running
                    })
                )
            {
                break;
            }
        }
        out.push(started.elapsed().as_secs_f64() * 1000.0);
        engine.delete(&name, Some(0)).unwrap();
        engine.wait_finished(&name).await;
    }
    out
}

async fn create_to_running() {
    const N: usize = 20;
    let docker = podlife::images::connect().await.expect("a Docker engine");
    podlife::images::ensure(&docker, IMAGE, &|_| {})
        .await
        .expect("busybox image");
    podlife::images::ensure(&docker, podlife::images::PAUSE_IMAGE, &|_| {})
        .await
        .expect("pause image");
    let runtime = DockerRuntime::new().await.expect("a Docker engine");
    let network = runtime.network().to_owned();
    let engine = Engine::new(Arc::new(runtime), TimeScale::new(1.0).unwrap());
    // One of each first, so that neither side pays for a cold start.
    bare_start_ms(&docker, 1, None).await;
    pod_running_ms(&engine, 1, "warm").await;
    let (bare, _) = summary(
        "bare bollard create+start (default bridge)",
        bare_start_ms(&docker, N, None).await,
    );
    summary(
        "bare bollard create+start (on the run's network, as a pod sandbox is)",
        bare_start_ms(&docker, N, Some(&network)).await,
    );
    let (pod, _) = summary(
        "podlife pod apply → Running",
        pod_running_ms(&engine, N, "bench").await,
    );
    let ratio = pod / bare;
    println!(
        "pod create → Running / bare create+start (p50): {ratio:.2}× (target ≤ 1.3×: {})",
        if ratio <= 1.3 { "met" } else { "MISSED" }
    );
    engine.shutdown(Some(0)).await;
}

async fn sigkill_precision() {
    const PODS: usize = 30;
    const BATCH: usize = 10;
    let mut signal_errors = Vec::new();
    let mut exit_errors = Vec::new();
    for batch in 0..PODS / BATCH {
        let engine = engine().await;
        let mut names = Vec::new();
        for i in 0..BATCH {
            let name = format!("stubborn-{batch}-{i}");
            let yaml = format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: app\n    image: busybox\n    command: [sh, -c, \"trap '' TERM; while true; do sleep 1; done\"]\n"
            );
            for pod in pods(&yaml) {
                engine.apply(pod).unwrap();
            }
            names.push(name);
        }
        for name in &names {
            while engine.status(name).and_then(|s| s.phase).as_deref() != Some("Running") {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // Let the shells install their traps.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for name in &names {
            engine.delete(name, None).unwrap();
        }
        for name in &names {
            engine.wait_finished(name).await;
        }
        let records = engine.log().records();
        for name in &names {
            let signal = |s: &'static str| {
                times(
                    &records,
                    name,
                    move |o| matches!(o, Observation::SignalSent { signal } if signal.as_str() == s),
                )[0]
            };
            let (term, kill) = (signal("SIGTERM"), signal("SIGKILL"));
            let exit = times(&records, name, |o| {
                matches!(o, Observation::ContainerExited { .. })
            })[0];
            // The window after SIGTERM is max(grace, 2 s) = 2 s.
            let deadline = term + Duration::from_secs(2);
            signal_errors.push((kill.as_secs_f64() - deadline.as_secs_f64()).abs() * 1000.0);
            exit_errors.push((exit.as_secs_f64() - deadline.as_secs_f64()).abs() * 1000.0);
        }
        engine.shutdown(Some(0)).await;
    }
    let (_, p99) = summary("SIGKILL sent vs grace deadline", signal_errors);
    println!(
        "  target p99 < 50 ms: {}",
        if p99 < 50.0 { "met" } else { "MISSED" }
    );
    summary("container reported gone vs grace deadline", exit_errors);
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        if DockerRuntime::new().await.is_err() {
            println!("docker_timing: SKIPPED (no Docker engine)");
            return;
        }
        create_to_running().await;
        sigkill_precision().await;
    });
}
