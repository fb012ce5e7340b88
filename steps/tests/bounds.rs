//! A stated time bound is the bound judged: `Then the pod is Ready within 10s` at 10x on
//! Docker fails when Ready comes 12 s (manifest time) after the step began and passes when it
//! comes 9 s after, although the runtime's latency allowance lets the step wait 3 s of wall
//! time (30 s of manifest time) longer. The same on the process runtime.
//!
//! Each case runs a one-scenario feature through the real steps: a testapp container whose
//! readiness probe first runs (and succeeds) `initialDelaySeconds` after it starts, so Ready
//! comes at a known manifest time after `the pod is Running` was seen.

use std::io::Write;
use std::sync::{Arc, Mutex};

use cucumber::writer::{self, Stats as _};
use cucumber::{World as _, WriterExt as _};
use podlife_steps::{PodlifeWorld, RuntimeKind};

/// Step output collected for the assertion messages.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("output").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn feature(ready_after: u32) -> String {
    format!(
        r#"Feature: a bound
  Scenario: Ready {ready_after}s after the container started
    Given time runs 10x faster
    And the manifest:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: late
      spec:
        containers:
        - name: app
          image: podlife/testapp:1
          command: ["testapp", "--http", "8080"]
          readinessProbe:
            httpGet:
              path: /healthz
              port: 8080
            initialDelaySeconds: {ready_after}
            periodSeconds: 1
      """
    When it is applied
    Then the pod is Running within 60s
    And the pod is Ready within 10s
"#
    )
}

/// Runs the feature on `runtime`: (passed steps, failed steps, what the steps printed).
async fn outcome(runtime: RuntimeKind, ready_after: u32) -> (usize, usize, String) {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let path = dir.path().join("bound.feature");
    std::fs::write(&path, feature(ready_after)).expect("the feature");
    let output = Output::default();
    let result = PodlifeWorld::cucumber()
        .with_writer(
            writer::Basic::raw(output.clone(), writer::Coloring::Never, 0)
                .summarized()
                .normalized(),
        )
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .before(move |_, _, _, world| {
            Box::pin(async move {
                world.runtime = runtime;
            })
        })
        .after(|_, _, _, _, world| {
            Box::pin(async move {
                if let Some(world) = world {
                    world.shut_down().await;
                }
            })
        })
        .run(path)
        .await;
    let text = String::from_utf8_lossy(&output.0.lock().expect("output")).into_owned();
    (result.passed_steps(), result.failed_steps(), text)
}

async fn docker_available() -> bool {
    match podlife::runtime::docker::DockerRuntime::new().await {
        Ok(_) => true,
        Err(why) => {
            println!("SKIPPED on Docker: {why}");
            false
        }
    }
}

async fn judged(runtime: RuntimeKind) {
    let (passed, failed, text) = outcome(runtime, 9).await;
    assert_eq!((passed, failed), (5, 0), "Ready at 9s must pass:\n{text}");

    let (passed, failed, text) = outcome(runtime, 12).await;
    assert_eq!((passed, failed), (4, 1), "Ready at 12s must fail:\n{text}");
    assert!(
        text.contains("expected late to be Ready within 10.00s (manifest time); it came 1"),
        "the failure must be the bound, judged on when Ready came:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bound_is_judged_on_the_record_on_docker() {
    if docker_available().await {
        judged(RuntimeKind::Docker).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bound_is_judged_on_the_record_on_the_process_runtime() {
    judged(RuntimeKind::Process).await;
}
