//! podlife's Gherkin step library: the [`PodlifeWorld`] each scenario runs in, and the steps
//! QA engineers compose feature files from. `tests/bdd.rs` runs every file under `features/`.

mod validation;

use std::path::{Path, PathBuf};

use podlife::manifest::{Diagnostic, FileReport};

/// The state of one scenario.
#[derive(Debug, Default, cucumber::World)]
pub struct PodlifeWorld {
    /// The manifest under test: the name a user would pass, and its text.
    manifest: Option<(String, String)>,
    /// What validating it found.
    report: Option<FileReport>,
    /// The finding the last "there is an error …" step matched, for "its help …".
    focus: Option<Diagnostic>,
}

/// The repository root: manifest paths in features are relative to it.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("steps/ sits in the repository")
        .to_path_buf()
}
