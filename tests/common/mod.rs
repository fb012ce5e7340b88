//! The test harness shared by the engine tests: an engine on a fresh runtime (process or
//! Docker), a scratch directory shared with the containers, and queries over the event log.
//!
//! [`conformance!`] runs one test body on every runtime: the same manifests, the same
//! assertions. On Docker, `$TESTAPP` is the testapp image's binary and the scratch directory is
//! bind-mounted at the same path; manifest time runs at least half as fast as real time there,
//! since containers take longer to start.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use podlife::conformance::{self, Outcome, Verdict};
use podlife::engine::{Engine, Observation, Record};
use podlife::manifest::expand::{NameRng, expand};
use podlife::manifest::{Source, analyze};
use podlife::runtime::docker::{DockerOptions, DockerRuntime};
use podlife::runtime::process::ProcessRuntime;
use podlife::time::TimeScale;

/// Runs a test body on every runtime:
/// `conformance! { async fn name(h, scale = 0.1, feature = "Liveness probes") { … } }` makes
/// `name::process` and `name::docker`, and records each one's verdict under `feature` (one of
/// [`podlife::conformance::FEATURES`]) for the README's table. Without a Docker engine, the
/// Docker one says SKIPPED (on the terminal, not captured), is recorded as skipped, and passes.
#[macro_export]
macro_rules! conformance {
    ($(#[$meta:meta])* async fn $name:ident($h:ident, scale = $scale:expr, feature = $feature:expr) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn process() {
                #[allow(unused_mut)]
                let mut $h = $crate::common::Harness::process($scale)
                    .recording($feature, stringify!($name));
                $body
            }

            #[tokio::test]
            async fn docker() {
                let Some(mut $h) = $crate::common::Harness::docker($scale).await else {
                    $crate::common::record_skip($feature, stringify!($name), "docker", "no Docker engine");
                    return;
                };
                $h = $h.recording($feature, stringify!($name));
                $body
            }
        }
    };
}

/// An engine on a fresh runtime, and a scratch directory for the containers to write what
/// they saw.
pub struct Harness {
    pub engine: Engine,
    pub out: tempfile::TempDir,
    /// `process` or `docker`.
    pub runtime: &'static str,
    /// How much slower than asked manifest time runs (Docker: scales below 0.5 are raised).
    pub stretch: f64,
    /// The conformance feature and test this harness reports on when dropped.
    recording: Option<(&'static str, &'static str)>,
    /// Set by [`Harness::unsupported`].
    unsupported: Option<String>,
}

impl Drop for Harness {
    /// Records the verdict: fail while unwinding from a panic, else pass (or unsupported).
    fn drop(&mut self) {
        let Some((feature, test)) = self.recording else {
            return;
        };
        let verdict = if std::thread::panicking() {
            Verdict::Fail
        } else if self.unsupported.is_some() {
            Verdict::Unsupported
        } else {
            Verdict::Pass
        };
        let mut outcome = Outcome::new(feature, self.runtime, test, verdict);
        outcome.note = self.unsupported.clone();
        let _ = conformance::record(&conformance::results_path(), &outcome);
    }
}

/// Records that a conformance test could not run on `runtime`.
pub fn record_skip(feature: &str, test: &str, runtime: &str, why: &str) {
    let mut outcome = Outcome::new(feature, runtime, test, Verdict::Skipped);
    outcome.note = Some(why.to_owned());
    let _ = conformance::record(&conformance::results_path(), &outcome);
}

impl Harness {
    /// On the process runtime.
    pub fn new(scale: f64) -> Self {
        Self::process(scale)
    }

    pub fn process(scale: f64) -> Self {
        let out = tempfile::tempdir().unwrap();
        // Containers have a private /tmp: the scratch directory stays theirs to write to.
        let runtime = ProcessRuntime::new()
            .expect("process runtime")
            .with_shared_dir(out.path());
        Self {
            engine: Engine::new(Arc::new(runtime), TimeScale::new(scale).unwrap()),
            out,
            runtime: "process",
            stretch: 1.0,
            recording: None,
            unsupported: None,
        }
    }

    /// On Docker, or `None` (after saying so) when there is no Docker engine.
    pub async fn docker(scale: f64) -> Option<Self> {
        let out = tempfile::tempdir().unwrap();
        let options = DockerOptions {
            shared_dirs: vec![out.path().to_path_buf()],
            ..DockerOptions::default()
        };
        match DockerRuntime::with_options(options).await {
            Ok(runtime) => {
                // Images are built on first use; build them before the test's clock starts
                // (a fresh machine compiles the static testapp here, which takes a minute).
                for image in [
                    podlife::images::PAUSE_IMAGE,
                    podlife::images::BUSYBOX_IMAGE,
                    podlife::images::TESTAPP_IMAGE,
                ] {
                    podlife::images::ensure(runtime.docker(), image, &|line| {
                        terminal_line(&format!("image {image}: {line}"))
                    })
                    .await
                    .unwrap_or_else(|e| panic!("cannot provide {image}: {e}"));
                }
                let actual = scale.max(0.5);
                Some(Self {
                    engine: Engine::new(Arc::new(runtime), TimeScale::new(actual).unwrap()),
                    out,
                    runtime: "docker",
                    stretch: actual / scale,
                    recording: None,
                    unsupported: None,
                })
            }
            Err(e) => {
                skipped(&format!("no Docker engine: {e}"));
                None
            }
        }
    }

    /// Reports this harness's verdict for `feature` when it is dropped.
    pub fn recording(mut self, feature: &'static str, test: &'static str) -> Self {
        assert!(
            conformance::FEATURES.contains(&feature),
            "{feature:?} is not one of podlife::conformance::FEATURES"
        );
        self.recording = Some((feature, test));
        self
    }

    /// Marks the test as one this runtime cannot pass by design, saying why; the test body
    /// then returns without asserting.
    pub fn unsupported(&mut self, why: &str) {
        skipped(&format!("{} runtime: {why}", self.runtime));
        self.unsupported = Some(why.to_owned());
    }

    /// How late this runtime may report what happened (wall time): Docker's wait and inspect
    /// calls add a few hundred milliseconds to an exit; a process is reaped within tens of
    /// milliseconds even on a loaded 2-core CI machine (seen: 26 ms for one SIGKILL, which at
    /// scale 0.2 is 0.13 s of manifest time).
    pub fn latency(&self) -> Duration {
        match self.runtime {
            "docker" => Duration::from_millis(300),
            _ => Duration::from_millis(40),
        }
    }

    /// The time scale the engine runs at (wall = manifest × scale).
    pub fn scale(&self) -> f64 {
        self.engine.log().scale().factor()
    }

    /// Whether volumes are mounted at their mountPath (always on Docker; as root on process).
    pub fn isolation(&self) -> bool {
        self.runtime == "docker" || ProcessRuntime::new().is_ok_and(|r| r.isolation())
    }

    /// Validates and runs `yaml` (`$OUT` in it becomes the scratch directory, `$TESTAPP` the
    /// testapp program); returns the pod names.
    pub fn apply(&self, yaml: &str) -> Vec<String> {
        self.apply_with_uids(yaml)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// `yaml` with `$OUT`, `$TESTAPP` and the testapp image filled in for this runtime.
    fn render(&self, yaml: &str) -> String {
        let testapp = match self.runtime {
            "docker" => "/usr/local/bin/testapp".to_owned(),
            _ => testapp().display().to_string(),
        };
        let yaml = yaml
            .replace("$OUT", &self.out.path().display().to_string())
            .replace("$TESTAPP", &testapp);
        if self.runtime == "docker" {
            yaml.replace(
                "image: testapp",
                &format!("image: {}", podlife::images::TESTAPP_IMAGE),
            )
        } else {
            yaml
        }
    }

    pub fn records(&self) -> Vec<Record> {
        self.engine.log().records()
    }

    /// Waits (at most `limit` of wall time) until `check` holds for the log.
    pub async fn until(&self, limit: Duration, what: &str, check: impl Fn(&[Record]) -> bool) {
        let limit = limit.mul_f64(self.stretch)
            + if self.runtime == "docker" {
                Duration::from_secs(10)
            } else {
                Duration::ZERO
            };
        let deadline = tokio::time::Instant::now() + limit;
        let mut updates = self.engine.log().subscribe();
        loop {
            let records = self.records();
            if check(&records) {
                return;
            }
            // A pod that cannot get a sandbox (no image, no busybox) will never get there.
            if let Some(e) = events(&records, "FailedCreatePodSandBox").first() {
                panic!(
                    "waiting for {what}: {:?}; log:\n{}",
                    e.event().map(|e| &e.message),
                    timeline(&records)
                );
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                panic!(
                    "timed out waiting for {what}; log:\n{}",
                    timeline(&self.records())
                );
            }
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(200)), updates.recv()).await;
        }
    }

    /// Whether the pod's Ready condition is True.
    pub fn ready(&self, pod: &str) -> bool {
        self.engine
            .status(pod)
            .and_then(|s| s.conditions)
            .and_then(|c| c.into_iter().find(|c| c.type_ == "Ready"))
            .is_some_and(|c| c.status == "True")
    }

    pub fn phase(&self, pod: &str) -> String {
        self.engine
            .status(pod)
            .and_then(|s| s.phase)
            .unwrap_or_default()
    }

    /// Waits until the container has written `file` into the scratch directory.
    pub async fn file(&self, file: &str) {
        let path = self.out.path().join(file);
        self.until(Duration::from_secs(10), file, |_| path.exists())
            .await;
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.out.path().join(file)).unwrap_or_default()
    }
}

pub fn timeline(records: &[Record]) -> String {
    records
        .iter()
        .map(|r| {
            format!(
                "{:>8.3}s {} {:?} {:?}",
                r.wall.as_secs_f64(),
                r.pod,
                r.container,
                r.what
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn events<'a>(records: &'a [Record], reason: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.event().is_some_and(|e| e.reason == reason))
        .collect()
}

pub fn has_event(records: &[Record], reason: &str, message: &str) -> bool {
    records.iter().any(|r| {
        r.event()
            .is_some_and(|e| e.reason == reason && e.message.contains(message))
    })
}

pub fn observed<'a>(
    records: &'a [Record],
    f: impl Fn(&Observation) -> bool + 'a,
) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.observation().is_some_and(&f))
        .collect()
}

pub fn finished(records: &[Record]) -> bool {
    records
        .iter()
        .any(|r| matches!(r.observation(), Some(Observation::PodFinished)))
}

/// Says on the terminal (bypassing libtest's capture) that a test did not run, and why.
pub fn skipped(why: &str) {
    terminal_line(&format!("SKIPPED {{name}}: {why}"));
}

/// Writes `line` to the terminal, bypassing libtest's capture; `{name}` becomes the test's.
fn terminal_line(line: &str) {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(std::io::stderr(), "{}", line.replace("{name}", &name));
}

/// The `testapp` binary (built by `cargo test` as a workspace member; built here otherwise).
pub fn testapp() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let path = dir.join("testapp");
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "testapp"])
            .status()
            .expect("cargo build -p testapp");
        assert!(status.success(), "building testapp failed");
    }
    path
}

/// A helper process that is killed and reaped when dropped, also when the test panics: one
/// left running would leak and keep the test's output pipe open (CI would wait for it).
pub struct Helper(pub std::process::Child);

impl Helper {
    /// Starts `command` with no stdio attached.
    pub fn spawn(command: &mut std::process::Command) -> Self {
        use std::process::Stdio;
        Self(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start helper process"),
        )
    }
}

impl std::ops::Deref for Helper {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Helper {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The JSON lines of a testapp `--log` file.
pub fn testapp_events(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

impl Harness {
    /// Validates `yaml` and applies it as `podlife run` does: Services, bare pods, and
    /// workloads handed to their controllers. Applying a workload again updates it.
    pub async fn apply_plan(&self, yaml: &str) {
        let yaml = self.render(yaml);
        let report = analyze(Source::new("test.yaml", yaml));
        assert!(report.is_valid(), "{:#?}", report.diagnostics);
        let plan = expand(
            &report.manifests,
            &mut NameRng::with_seed(fastrand::u64(..)),
        )
        .with_inputs(&report.inputs);
        let errors = self.engine.apply_plan(&plan).await;
        assert!(errors.is_empty(), "{errors:?}");
    }

    /// Like [`Harness::apply`], but returns each pod's `(name, uid)`, for kubelet messages that
    /// name a pod as `<name>_<namespace>(<uid>)`.
    pub fn apply_with_uids(&self, yaml: &str) -> Vec<(String, String)> {
        let yaml = self.render(yaml);
        let report = analyze(Source::new("test.yaml", yaml));
        assert!(report.is_valid(), "{:#?}", report.diagnostics);
        let plan = expand(&report.manifests, &mut NameRng::with_seed(3));
        plan.pods
            .into_iter()
            .map(|p| {
                let name = p.name().to_owned();
                let uid = p.pod.metadata.uid.clone().unwrap_or_default();
                self.engine.apply(p.pod).unwrap();
                (name, uid)
            })
            .collect()
    }
}

/// Builds `tag` from `dockerfile` (an in-memory context, `FROM` an image of ours, which is
/// ensured first): for tests that need an image property no recipe has, such as STOPSIGNAL.
pub async fn build_test_image(tag: &str, from: &str, dockerfile: &str) {
    use futures::StreamExt;
    let docker = podlife::images::connect().await.expect("Docker engine");
    podlife::images::ensure(&docker, from, &|_| {})
        .await
        .expect("base image");
    let mut context = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    context
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .unwrap();
    let body = context.into_inner().unwrap();
    let options = bollard::query_parameters::BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(body.into())));
    while let Some(item) = stream.next().await {
        item.unwrap_or_else(|e| panic!("building {tag}: {e}"));
    }
}
