//! Conformance results: which Kubernetes lifecycle feature passed on which runtime.
//!
//! The test suites (the engine's `conformance!` tests, and the Gherkin scenarios) append one
//! [`Outcome`] per test and runtime to a results file; [`table`] turns the latest outcomes into
//! the README's feature × runtime table, so that the table says what the tests found rather
//! than what someone typed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Short keys for [`FEATURES`], as Gherkin scenarios name them (`@conformance=liveness`).
pub const FEATURE_KEYS: &[&str] = &[
    "init",
    "sidecar",
    "poststart",
    "prestop",
    "deletion",
    "stopsignal",
    "stop-signal-field",
    "liveness",
    "readiness",
    "startup",
    "probe-parameters",
    "restart",
    "termination-message",
    "deadline",
    "services",
    "workloads",
    "images",
    "inputs",
    "kubelet-restart",
];

/// The feature a key names.
pub fn feature_by_key(key: &str) -> Option<&'static str> {
    FEATURE_KEYS
        .iter()
        .position(|k| *k == key)
        .map(|i| FEATURES[i])
}

/// The runtimes, in the table's column order.
pub const RUNTIMES: &[&str] = &["process", "docker"];

/// The lifecycle features, in the table's row order. Tests name one of these; a feature no
/// test has reported on yet is shown as such, not left out.
pub const FEATURES: &[&str] = &[
    "Init containers: in order, shared volumes, failure handling",
    "Sidecar containers: start order, restarts, stopped after the app",
    "postStart hooks: exec, httpGet, sleep, tcpSocket; failure",
    "preStop hooks: exec, httpGet, sleep; grace accounting; failure",
    "Graceful deletion: stop signal, SIGKILL at the deadline, overrides, 0",
    "Image STOPSIGNAL",
    "Container stop signal (lifecycle.stopSignal)",
    "Liveness probes",
    "Readiness probes",
    "Startup probes",
    "Probe parameters: initialDelay, period, timeout, thresholds",
    "Restart policies and crash-loop back-off",
    "Termination messages",
    "activeDeadlineSeconds",
    "Services: endpoints follow readiness; traffic, names and variables in pods",
    "Workload controllers: replacements, StatefulSet order, Jobs",
    "Images: built before they are needed, reported as Pulling/Pulled",
    "Pod inputs: ConfigMaps, Secrets, downward API, claims",
    "Kubelet restarts: running containers adopted, nothing run again, status kept",
];

/// What a test found on one runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Could not run here (no Docker engine, say): says nothing about the runtime.
    Skipped,
    /// The runtime cannot do this by design (the note says why).
    Unsupported,
}

/// One test's result on one runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// One of [`FEATURES`].
    pub feature: String,
    pub runtime: String,
    /// The test's or scenario's name.
    pub test: String,
    pub verdict: Verdict,
    /// Why it was skipped or is unsupported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was recorded (ms since the epoch): the latest result of a test wins.
    pub at_ms: u64,
}

impl Outcome {
    pub fn new(feature: &str, runtime: &str, test: &str, verdict: Verdict) -> Self {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self {
            feature: feature.to_owned(),
            runtime: runtime.to_owned(),
            test: test.to_owned(),
            verdict,
            note: None,
            at_ms,
        }
    }
}

/// Where results go: `$PODLIFE_CONFORMANCE_RESULTS`, else `conformance/results.jsonl` under
/// the Cargo target directory (`$CARGO_TARGET_DIR`, else `target` in the workspace).
pub fn results_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PODLIFE_CONFORMANCE_RESULTS") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("conformance").join("results.jsonl")
}

/// Appends `outcome` as one JSON line (one `write` on an append-mode file, so that test
/// processes and threads writing at once do not interleave).
pub fn record(path: &Path, outcome: &Outcome) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(outcome).map_err(std::io::Error::other)?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}

/// The latest outcome of every (test, runtime) in the results file; unreadable lines are
/// ignored (a test killed mid-write).
pub fn load(path: &Path) -> std::io::Result<Vec<Outcome>> {
    let text = std::fs::read_to_string(path)?;
    let mut latest: BTreeMap<(String, String), Outcome> = BTreeMap::new();
    for outcome in text
        .lines()
        .filter_map(|l| serde_json::from_str::<Outcome>(l).ok())
    {
        let key = (outcome.test.clone(), outcome.runtime.clone());
        if latest
            .get(&key)
            .is_none_or(|old| old.at_ms <= outcome.at_ms)
        {
            latest.insert(key, outcome);
        }
    }
    Ok(latest.into_values().collect())
}

/// The markdown table: a row per feature (those of [`FEATURES`] first, in order, then any
/// other a test named), a column per runtime.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut features: Vec<&str> = FEATURES.to_vec();
    for outcome in outcomes {
        if !features.contains(&outcome.feature.as_str()) {
            features.push(&outcome.feature);
        }
    }
    let mut out = format!(
        "| Feature | {} |\n|---|{}\n",
        RUNTIMES.join(" | "),
        "---|".repeat(RUNTIMES.len())
    );
    for feature in features {
        let cells: Vec<String> = RUNTIMES
            .iter()
            .map(|runtime| {
                let found: Vec<&Outcome> = outcomes
                    .iter()
                    .filter(|o| o.feature == feature && o.runtime == *runtime)
                    .collect();
                cell(&found)
            })
            .collect();
        out.push_str(&format!("| {feature} | {} |\n", cells.join(" | ")));
    }
    out
}

/// One feature on one runtime: fail if any test failed; pass if every test that ran passed.
fn cell(found: &[&Outcome]) -> String {
    let count = |v: Verdict| found.iter().filter(|o| o.verdict == v).count();
    let (pass, fail, skipped, unsupported) = (
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Skipped),
        count(Verdict::Unsupported),
    );
    let note = |v: Verdict| {
        found
            .iter()
            .filter(|o| o.verdict == v)
            .find_map(|o| o.note.clone())
            .unwrap_or_default()
    };
    let tests = |n: usize| if n == 1 { "test" } else { "tests" };
    if found.is_empty() {
        "not tested yet".to_owned()
    } else if fail > 0 {
        format!(
            "**FAIL** ({fail} of {} {})",
            found.len(),
            tests(found.len())
        )
    } else if pass > 0 && unsupported > 0 {
        format!(
            "pass ({pass} {}); not supported: {}",
            tests(pass),
            note(Verdict::Unsupported)
        )
    } else if pass > 0 {
        format!("pass ({pass} {})", tests(pass))
    } else if unsupported > 0 {
        format!("not supported: {}", note(Verdict::Unsupported))
    } else {
        format!("skipped ({skipped}): {}", note(Verdict::Skipped))
    }
}

/// The marker lines between which the README holds the generated table.
pub const BEGIN_MARKER: &str = "<!-- conformance table: generated by `cargo run -p podlife-steps --bin conformance-table -- --write README.md`; do not edit -->";
pub const END_MARKER: &str = "<!-- end of conformance table -->";

/// `document` with the text between the markers replaced by `table`, or `None` when the
/// markers are missing.
pub fn splice(document: &str, table: &str) -> Option<String> {
    let begin = document.find(BEGIN_MARKER)? + BEGIN_MARKER.len();
    let end = begin + document[begin..].find(END_MARKER)?;
    Some(format!(
        "{}\n{}{}",
        &document[..begin],
        table,
        &document[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(feature: &str, runtime: &str, test: &str, verdict: Verdict, at: u64) -> Outcome {
        Outcome {
            at_ms: at,
            ..Outcome::new(feature, runtime, test, verdict)
        }
    }

    #[test]
    fn the_latest_result_of_a_test_wins_and_any_failure_shows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let f = FEATURES[0];
        record(&path, &outcome(f, "docker", "a", Verdict::Fail, 1)).unwrap();
        record(&path, &outcome(f, "docker", "a", Verdict::Pass, 2)).unwrap();
        record(&path, &outcome(f, "docker", "b", Verdict::Pass, 1)).unwrap();
        record(&path, &outcome(f, "process", "a", Verdict::Pass, 1)).unwrap();
        record(&path, &outcome(f, "process", "b", Verdict::Fail, 3)).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"half a line")
            .unwrap();
        let table = table(&load(&path).unwrap());
        assert!(
            table.contains(&format!(
                "| {f} | **FAIL** (1 of 2 tests) | pass (2 tests) |"
            )),
            "{table}"
        );
        assert!(
            table.contains(&format!(
                "| {} | not tested yet | not tested yet |",
                FEATURES[1]
            )),
            "{table}"
        );
    }

    #[test]
    fn unsupported_and_skipped_say_why() {
        let mut gone = outcome(FEATURES[5], "process", "s", Verdict::Unsupported, 1);
        gone.note = Some("no images".into());
        let mut skip = outcome(FEATURES[5], "docker", "s", Verdict::Skipped, 1);
        skip.note = Some("no Docker engine".into());
        let table = table(&[gone, skip]);
        assert!(
            table.contains("| not supported: no images | skipped (1): no Docker engine |"),
            "{table}"
        );
    }

    #[test]
    fn every_feature_has_a_key() {
        assert_eq!(FEATURE_KEYS.len(), FEATURES.len());
        assert_eq!(feature_by_key("liveness"), Some("Liveness probes"));
        assert_eq!(feature_by_key("nope"), None);
    }

    #[test]
    fn splice_replaces_only_between_the_markers() {
        let doc = format!("intro\n{BEGIN_MARKER}\nold\n{END_MARKER}\nrest\n");
        assert_eq!(
            splice(&doc, "new\n").unwrap(),
            format!("intro\n{BEGIN_MARKER}\nnew\n{END_MARKER}\nrest\n")
        );
        assert_eq!(splice("no markers", "x"), None);
    }
}
