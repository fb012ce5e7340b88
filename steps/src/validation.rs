//! Steps about manifests and what `podlife validate` says of them.
//!
//! ```gherkin
//! Given the manifest "fixtures/seed/war-hooks.yaml"
//! When it is validated
//! Then it is invalid with 10 errors and 0 warnings
//! And there is an error "unknown field `prestop`" at line 12, column 7
//! And its help says "did you mean `preStop`?"
//! ```

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use podlife::manifest::expand::expand;
use podlife::manifest::{Severity, load_reader};

use crate::{PodlifeWorld, repository_root};

#[given(expr = "the manifest {string}")]
fn manifest_file(world: &mut PodlifeWorld, path: String) {
    let full = repository_root().join(&path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("cannot read the manifest {path} ({}): {e}", full.display()));
    world.manifest = Some((path, text));
}

#[given("the manifest:")]
fn manifest_inline(world: &mut PodlifeWorld, step: &Step) {
    let text = step
        .docstring
        .clone()
        .expect("write the manifest as a doc string (between \"\"\" lines) under this step");
    // Line 1 is the doc string's first line, as a reader counts.
    let text = text.strip_prefix('\n').unwrap_or(&text).to_owned();
    world.manifest = Some(("inline.yaml".to_owned(), text));
}

#[when("it is validated")]
fn validate(world: &mut PodlifeWorld) {
    let (name, text) = world
        .manifest
        .as_ref()
        .expect("a `Given the manifest …` step comes first");
    world.report = Some(load_reader(name, text.as_bytes()));
}

impl PodlifeWorld {
    fn report(&self) -> &podlife::manifest::FileReport {
        self.report
            .as_ref()
            .expect("a `When it is validated` step comes first")
    }

    /// Every finding, one per line, for failure messages.
    fn findings(&self) -> String {
        let report = self.report();
        let lines: Vec<String> = report
            .diagnostics
            .iter()
            .map(|d| {
                let at = d.at.map_or(String::new(), |a| {
                    format!(" at line {}, column {}", a.line, a.column)
                });
                format!("  {:?} [{}] {:?}{at}", d.severity, d.code, d.message)
            })
            .collect();
        if lines.is_empty() {
            "  (no findings)".to_owned()
        } else {
            lines.join("\n")
        }
    }
}

#[then("it is valid")]
fn valid(world: &mut PodlifeWorld) {
    assert!(
        world.report().is_valid(),
        "expected the manifest to be valid, but podlife found:\n{}",
        world.findings()
    );
}

#[then(expr = "it is invalid with {int} error(s) and {int} warning(s)")]
fn invalid_with(world: &mut PodlifeWorld, errors: usize, warnings: usize) {
    let report = world.report();
    assert!(
        (report.errors(), report.warnings()) == (errors, warnings),
        "expected {errors} errors and {warnings} warnings, found {} and {}:\n{}",
        report.errors(),
        report.warnings(),
        world.findings()
    );
}

#[then(regex = r#"^there is (an error|a warning) ["'](.+)["'] at line (\d+), column (\d+)$"#)]
fn finding_at(world: &mut PodlifeWorld, kind: String, text: String, line: usize, column: usize) {
    let severity = if kind == "an error" {
        Severity::Error
    } else {
        Severity::Warning
    };
    let found = world
        .report()
        .diagnostics
        .iter()
        .find(|d| {
            d.severity == severity
                && d.message.contains(&text)
                && d.at.is_some_and(|a| (a.line, a.column) == (line, column))
        })
        .cloned();
    assert!(
        found.is_some(),
        "expected {kind} containing {text:?} at line {line}, column {column}; podlife found:\n{}",
        world.findings()
    );
    world.focus = found;
}

#[then(expr = "its help says {string}")]
fn help_says(world: &mut PodlifeWorld, text: String) {
    let focus = world
        .focus
        .as_ref()
        .expect("a `there is an error …` step comes first");
    let help = focus.help.as_deref().unwrap_or("(no help)");
    assert!(
        help.contains(&text),
        "expected the help of {:?} to say {text:?}, it says {help:?}",
        focus.message
    );
}

#[then(expr = "it runs {int} pod(s)")]
fn runs_pods(world: &mut PodlifeWorld, pods: usize) {
    let plan = expand(&world.report().manifests, &mut seeded_names());
    assert_eq!(
        plan.pods.len(),
        pods,
        "expected {pods} pods, the manifest runs {:?}",
        plan.pods.iter().map(|p| p.name()).collect::<Vec<_>>()
    );
}

/// Pod names are random in Kubernetes; a fixed seed keeps failure messages stable.
fn seeded_names() -> podlife::manifest::expand::NameRng {
    podlife::manifest::expand::NameRng::with_seed(1)
}
