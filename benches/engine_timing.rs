//! Timing of the engine on the process runtime (`cargo bench --bench engine_timing`):
//!
//! 1. SIGKILL precision: 100 containers ignore SIGTERM; how far after the grace deadline is
//!    SIGKILL sent, and how far after it has the container gone (target p99 < 20 ms)?
//! 2. Probe period drift: one exec probe over 100 periods; how far is each attempt from
//!    `start + k × period` (target < 5 ms)?
//! 3. Engine CPU: 200 pods × 2 HTTP probes at a 1 s period, served by `testapp`
//!    (target < 10 % of one core).

mod common;

use common::{percentile, pods, times};

use std::sync::Arc;
use std::time::Duration;

use podlife::engine::{Engine, Observation};
use podlife::runtime::process::ProcessRuntime;
use podlife::time::TimeScale;

/// An engine on the process runtime whose containers also see `shared` (their /tmp is
/// private).
fn engine(scale: f64, shared: Option<&std::path::Path>) -> Arc<Engine> {
    let mut runtime = ProcessRuntime::new().expect("process runtime");
    if let Some(dir) = shared {
        runtime = runtime.with_shared_dir(dir);
    }
    Arc::new(Engine::new(
        Arc::new(runtime),
        TimeScale::new(scale).unwrap(),
    ))
}

fn summary(name: &str, mut values: Vec<f64>, target: f64) {
    values.sort_by(f64::total_cmp);
    let p50 = percentile(&values, 0.5);
    let p99 = percentile(&values, 0.99);
    let max = values.last().copied().unwrap_or_default();
    println!(
        "{name}: n={} p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms (target p99 < {target} ms: {})",
        values.len(),
        if p99 < target { "met" } else { "MISSED" }
    );
}

async fn sigkill_precision() {
    const PODS: usize = 100;
    const BATCH: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let mut signal_errors = Vec::new();
    let mut exit_errors = Vec::new();
    for batch in 0..PODS / BATCH {
        let engine = engine(1.0, Some(dir.path()));
        let mut names = Vec::new();
        for i in 0..BATCH {
            let name = format!("stubborn-{batch}-{i}");
            let flag = dir.path().join(&name);
            let yaml = format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: app\n    image: busybox\n    command: [sh, -c, \"trap '' TERM; touch {}; while true; do sleep 1; done\"]\n",
                flag.display()
            );
            for pod in pods(&yaml) {
                engine.apply(pod).unwrap();
            }
            names.push((name, flag));
        }
        for (_, flag) in &names {
            while !flag.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        for (name, _) in &names {
            engine.delete(name, None).unwrap();
        }
        for (name, _) in &names {
            engine.wait_finished(name).await;
        }
        let records = engine.log().records();
        for (name, _) in &names {
            let term = times(
                &records,
                name,
                |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGTERM),
            )[0];
            let kill = times(
                &records,
                name,
                |o| matches!(o, Observation::SignalSent { signal } if *signal == podlife::runtime::Signal::SIGKILL),
            )[0];
            let exit = times(&records, name, |o| {
                matches!(o, Observation::ContainerExited { .. })
            })[0];
            // The window after SIGTERM is max(grace, 2 s) = 2 s.
            let deadline = term + Duration::from_secs(2);
            signal_errors.push((kill.as_secs_f64() - deadline.as_secs_f64()).abs() * 1000.0);
            exit_errors.push((exit.as_secs_f64() - deadline.as_secs_f64()).abs() * 1000.0);
        }
    }
    summary("SIGKILL sent vs grace deadline", signal_errors, 20.0);
    summary("container gone vs grace deadline", exit_errors, 20.0);
}

async fn probe_drift() {
    const PERIODS: usize = 100;
    // 0.1: a 1 s period takes 100 ms; 100 periods take 10 s.
    let engine = engine(0.1, None);
    for pod in pods(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: drift}\nspec:\n  containers:\n  - name: app\n    image: busybox\n    command: [sleep, '300']\n    readinessProbe:\n      exec: {command: ['true']}\n      periodSeconds: 1\n",
    ) {
        engine.apply(pod).unwrap();
    }
    loop {
        let attempts = times(&engine.log().records(), "drift", |o| {
            matches!(o, Observation::ProbeAttempt { .. })
        });
        if attempts.len() > PERIODS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown(Some(0)).await;
    let attempts = times(&engine.log().records(), "drift", |o| {
        matches!(o, Observation::ProbeAttempt { .. })
    });
    let first = attempts[0];
    let period = Duration::from_millis(100);
    // An attempt is logged when the exec has finished; the drift that matters is the schedule.
    let drift: Vec<f64> = attempts
        .iter()
        .take(PERIODS + 1)
        .enumerate()
        .map(|(k, t)| {
            let expected = first + period * k as u32;
            (t.as_secs_f64() - expected.as_secs_f64()).abs() * 1000.0
        })
        .collect();
    summary(
        "probe attempt vs start + k × period (100 periods)",
        drift,
        5.0,
    );
}

fn cpu_seconds() -> f64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    tv(usage.user_time()) + tv(usage.system_time())
}

async fn probe_cpu() {
    const PODS: usize = 200;
    let testapp = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|d| d.join("testapp")))
        .filter(|p| p.exists());
    let Some(testapp) = testapp else {
        println!("engine CPU: SKIPPED (build testapp first: cargo build --release -p testapp)");
        return;
    };
    let engine = engine(1.0, None);
    let mut yaml = String::new();
    for i in 0..PODS {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}}}\nspec:\n  containers:\n  - name: app\n    image: testapp\n    command: [{}, --http, '8080']\n    ports: [{{name: http, containerPort: 8080}}]\n    readinessProbe: {{httpGet: {{path: /healthz, port: http}}, periodSeconds: 1}}\n    livenessProbe: {{httpGet: {{path: /healthz, port: 8080}}, periodSeconds: 1}}\n",
            testapp.display()
        ));
    }
    for pod in pods(&yaml) {
        engine.apply(pod).unwrap();
    }
    // Let every pod start and settle, then measure 20 s.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let before = cpu_seconds();
    let probes_before = engine.log().records().len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let used = cpu_seconds() - before;
    let records = engine.log().records();
    let mut outcomes = std::collections::BTreeMap::new();
    for r in &records[probes_before..] {
        if let Some(Observation::ProbeAttempt { outcome, probe, .. }) = r.observation() {
            *outcomes
                .entry(format!("{probe} {outcome}"))
                .or_insert(0usize) += 1;
        }
    }
    let attempts: usize = outcomes.values().sum();
    engine.shutdown(Some(0)).await;
    let share = used / 20.0 * 100.0;
    println!(
        "engine CPU with {PODS} pods × 2 HTTP probes every 1 s: {share:.1} % of one core ({attempts} attempts in 20 s: {outcomes:?}; target < 10 %: {})",
        if share < 10.0 { "met" } else { "MISSED" }
    );
}

fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        if wants("kill") {
            sigkill_precision().await;
        }
        if wants("drift") {
            probe_drift().await;
        }
        if wants("cpu") {
            probe_cpu().await;
        }
    });
}
