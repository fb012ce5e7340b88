//! podlife's Gherkin step library: the [`PodlifeWorld`] each scenario runs in, and the steps
//! QA engineers compose feature files from. `tests/bdd.rs` runs every file under `features/`,
//! once per runtime.
//!
//! - [`validation`]: manifests and what `podlife validate` says of them.
//! - [`setup`]: time scale, overrides on the manifest, fixture servers.
//! - [`actions`]: apply, delete, wait, faults.
//! - [`assertions`]: pod and container state, events, hook side effects, probe transitions,
//!   shutdown timing and ordering, each with a time bound in manifest time.

pub mod actions;
pub mod assertions;
pub mod containers;
pub mod duration;
pub mod facts;
pub mod monitor;
pub mod order;
pub mod run;
pub mod setup;
pub mod status;
pub mod timing;
pub mod traffic;
mod validation;
mod workloads;

use std::path::{Path, PathBuf};
use std::time::Duration;

use podlife::engine::Record;
use podlife::manifest::{Diagnostic, FileReport};

pub use run::{Run, RuntimeKind, current_runtime, set_current_runtime};
pub use setup::Override;

/// The state of one scenario.
#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct PodlifeWorld {
    /// The manifest under test: the name a user would pass, and its text.
    manifest: Option<(String, String)>,
    /// What validating it found.
    report: Option<FileReport>,
    /// The finding the last "there is an error …" step matched, for "its help …".
    focus: Option<Diagnostic>,
    /// The runtime this scenario runs on.
    pub runtime: RuntimeKind,
    /// Wall time per manifest second.
    pub scale: f64,
    /// Changes to make to every pod before it is applied.
    pub overrides: Vec<Override>,
    /// The running part, from the first step that needs an engine.
    pub run: Option<Run>,
    /// The pods applied, in order.
    pub pods: Vec<String>,
    /// Each applied pod as it went to the engine (overrides included).
    pub applied: std::collections::BTreeMap<String, k8s_openapi::api::core::v1::Pod>,
    /// When the last deletion was asked for (manifest time, by the engine's log clock).
    pub deleted_at: Option<Duration>,
    /// The pod a step picked among a workload's ("one of the pods"), for "that pod".
    pub chosen: Option<String>,
    /// The answers to the last requests sent to a Service.
    pub answers: Vec<traffic::Answer>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run").field("kind", &self.kind).finish()
    }
}

impl PodlifeWorld {
    fn new() -> Self {
        Self {
            manifest: None,
            report: None,
            focus: None,
            runtime: current_runtime(),
            scale: 1.0,
            overrides: Vec::new(),
            run: None,
            pods: Vec::new(),
            applied: Default::default(),
            deleted_at: None,
            chosen: None,
            answers: Vec::new(),
        }
    }

    /// The running part, started on first use at the scenario's time scale.
    pub async fn run(&mut self) -> &mut Run {
        if self.run.is_none() {
            let run = Run::start(self.runtime, self.scale)
                .await
                .unwrap_or_else(|e| {
                    panic!("cannot start the {} runtime: {e}", self.runtime.name())
                });
            self.run = Some(run);
        }
        self.run.as_mut().expect("started above")
    }

    /// Stops everything the scenario started (every pod deleted at once): its teardown.
    pub async fn shut_down(&mut self) {
        if let Some(run) = self.run.take() {
            run.shutdown().await;
        }
    }

    /// The running part; panics with a hint when nothing was applied yet.
    pub fn started(&self) -> &Run {
        self.run
            .as_ref()
            .expect("nothing runs yet: a `When it is applied` step comes first")
    }

    /// The one pod, or the pod named `name`: its exact name, or a prefix that names one pod
    /// only (a workload's `web` for `web-x7k2q`); several candidates fail, listed.
    pub fn pod(&self, name: Option<&str>) -> String {
        match name {
            Some(name) if self.pods.iter().any(|p| p == name) => name.to_owned(),
            Some(name) => {
                let found: Vec<&String> = self
                    .pods
                    .iter()
                    .filter(|p| p.starts_with(&format!("{name}-")))
                    .collect();
                match found.as_slice() {
                    [one] => (*one).clone(),
                    [] => panic!("no pod {name:?}; the pods are {:?}", self.pods),
                    _ => panic!("{name:?} names several pods: {found:?}; name one of them"),
                }
            }
            None => match self.pods.as_slice() {
                [one] => one.clone(),
                [] => panic!("no pod was applied yet"),
                many => panic!(
                    "there are {} pods ({many:?}): say which, as `pod \"name\"`",
                    many.len()
                ),
            },
        }
    }

    /// The pod a step's subject names: `the pod`, `that pod` (the one a step picked) or
    /// `pod "name"`.
    pub fn subject(&self, text: &str) -> String {
        match text {
            "the pod" => self.pod(None),
            "that pod" => self
                .chosen
                .clone()
                .expect("`that pod`: a step that picks one of the pods comes first"),
            named => self.pod(Some(named.trim_start_matches("pod ").trim_matches('"'))),
        }
    }

    /// Manifest time → wall time at this scenario's scale.
    pub fn wall(&self, manifest: Duration) -> Duration {
        manifest.mul_f64(self.scale)
    }

    /// What happened so far, in manifest time, for failure messages.
    pub fn timeline(&self) -> String {
        match &self.run {
            Some(run) => podlife::engine::timeline::render(&run.records(), run.scale()),
            None => "(nothing ran)".to_owned(),
        }
    }

    pub fn records(&self) -> Vec<Record> {
        self.run.as_ref().map(Run::records).unwrap_or_default()
    }
}

/// The repository root: manifest paths in features are relative to it.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("steps/ sits in the repository")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(pods: &[&str]) -> PodlifeWorld {
        let mut world = PodlifeWorld::new();
        world.pods = pods.iter().map(|p| p.to_string()).collect();
        world
    }

    #[test]
    fn an_exact_name_wins_and_a_prefix_must_name_one_pod() {
        let w = world(&["web", "web-x7k2q", "db-0"]);
        assert_eq!(w.pod(Some("web")), "web");
        assert_eq!(w.pod(Some("db")), "db-0");
        let w = world(&["web-x7k2q", "web-p9d4m"]);
        let pick = std::panic::AssertUnwindSafe(|| w.pod(Some("web")));
        let ambiguous = std::panic::catch_unwind(pick).unwrap_err();
        let message = ambiguous.downcast_ref::<String>().expect("a message");
        assert!(
            message.contains("web-x7k2q") && message.contains("web-p9d4m"),
            "{message}"
        );
    }
}
