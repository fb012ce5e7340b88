//! Runs every feature under `features/` (the repository root's). Part of `cargo test`.
//!
//! `PODLIFE_JUNIT=path` also writes a JUnit XML report, `PODLIFE_CUCUMBER_JSON=path` a
//! Cucumber JSON report, so that CI systems show each scenario.

use std::fs::File;
use std::io::Write;

use cucumber::{World as _, WriterExt as _, writer};
use podlife_steps::{PodlifeWorld, repository_root};

/// A report file named by `variable`, or nowhere.
fn report(variable: &str) -> Box<dyn Write> {
    match std::env::var_os(variable) {
        Some(path) => {
            Box::new(File::create(&path).unwrap_or_else(|e| {
                panic!("cannot write {variable}={}: {e}", path.to_string_lossy())
            }))
        }
        None => Box::new(std::io::sink()),
    }
}

#[tokio::main]
async fn main() {
    let features = repository_root().join("features");
    PodlifeWorld::cucumber()
        .with_writer(
            writer::Basic::stdout()
                .summarized()
                .tee::<PodlifeWorld, _>(writer::JUnit::for_tee(report("PODLIFE_JUNIT"), 0))
                .tee::<PodlifeWorld, _>(writer::Json::for_tee(report("PODLIFE_CUCUMBER_JSON")))
                .normalized(),
        )
        .fail_on_skipped()
        .run_and_exit(features)
        .await;
}
