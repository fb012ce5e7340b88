//! Scale of the engine on the simulated runtime (`cargo bench --bench sim_scale`): N pods,
//! each with a liveness and a readiness probe every 10 s, through one hour of manifest time
//! on a paused clock. Reports wall time, the engine's CPU time and memory, and how they grow
//! from 1,000 to 10,000 pods (KWOK's anchor: 100k simulated pods on one machine). Set
//! `SIM_SCALE_PODS=1000,10000` to choose the sizes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use podlife::engine::Engine;
use podlife::manifest::expand::{NameRng, expand};
use podlife::manifest::{Source, analyze};
use podlife::runtime::sim::SimRuntime;
use podlife::time::TimeScale;

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: scale}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "infinity"]
    livenessProbe:
      exec: {command: ["alive"]}
      periodSeconds: 10
    readinessProbe:
      exec: {command: ["ready"]}
      periodSeconds: 10
"#;

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    tv(usage.user_time()) + tv(usage.system_time())
}

/// Resident memory now, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

struct Outcome {
    pods: usize,
    wall: Duration,
    cpu: Duration,
    rss_mib: f64,
    records: usize,
    ready: usize,
}

fn run(pods: usize) -> Outcome {
    let report = analyze(Source::new("scale.yaml", POD.to_owned()));
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    let template = expand(&report.manifests, &mut NameRng::with_seed(1)).pods[0]
        .pod
        .clone();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let (rss_before, cpu_before, began) = (rss_mib(), cpu_time(), Instant::now());
    let (records, ready) = tokio.block_on(async {
        let engine = Engine::new(Arc::new(SimRuntime::new()), TimeScale::default());
        for n in 0..pods {
            let mut pod = template.clone();
            pod.metadata.name = Some(format!("scale-{n}"));
            pod.metadata.uid = Some(format!("uid-{n:08}"));
            engine.apply(pod).expect("a new pod");
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let ready = engine
            .pods()
            .iter()
            .filter(|p| {
                engine.status(p).is_some_and(|s| {
                    s.conditions
                        .iter()
                        .flatten()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
            })
            .count();
        let records = engine.log().records().len();
        engine.kill_all_and_wait().await;
        (records, ready)
    });
    let outcome = Outcome {
        pods,
        wall: began.elapsed(),
        cpu: cpu_time() - cpu_before,
        rss_mib: rss_mib() - rss_before,
        records,
        ready,
    };
    drop(tokio);
    outcome
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SIM_SCALE_PODS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let mut outcomes = Vec::new();
    for pods in sizes {
        let o = run(pods);
        println!(
            "{:>6} pods × 2 probes, 1 h of manifest time: wall {:.2} s, engine CPU {:.2} s, \
             memory +{:.0} MiB, {} records, {} pods Ready",
            o.pods,
            o.wall.as_secs_f64(),
            o.cpu.as_secs_f64(),
            o.rss_mib,
            o.records,
            o.ready
        );
        assert_eq!(o.ready, o.pods, "every pod is Ready after an hour");
        outcomes.push(o);
    }
    if let [first, .., last] = outcomes.as_slice() {
        let growth = |a: f64, b: f64| b / a.max(f64::EPSILON);
        println!(
            "from {} to {} pods ({}x): wall {:.1}x, CPU {:.1}x, memory {:.1}x",
            first.pods,
            last.pods,
            last.pods / first.pods,
            growth(first.wall.as_secs_f64(), last.wall.as_secs_f64()),
            growth(first.cpu.as_secs_f64(), last.cpu.as_secs_f64()),
            growth(first.rss_mib, last.rss_mib)
        );
    }
}
