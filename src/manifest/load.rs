//! Reading manifests from files, directories and stdin, and running every check on them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diagnostic::{Code, Diagnostic, Position, Severity};
use super::document::{self, Manifest};
use super::hazards;
use super::not_run::NotRun;
use super::object::Input;
use super::options::Options;
use super::source::Source;
use super::yaml;

/// Largest input accepted. The API server takes at most 3 MiB per object; a whole stream of
/// manifests above this is a mistake (or an attack), and is refused before it is read.
pub const MAX_INPUT_BYTES: u64 = 32 * 1024 * 1024;

/// Everything found in one input, and the objects it holds.
#[derive(Debug)]
pub struct FileReport {
    pub source: Arc<Source>,
    pub diagnostics: Vec<Diagnostic>,
    /// The objects podlife runs.
    pub manifests: Vec<Manifest>,
    /// The objects pods consume (ConfigMaps, Secrets, PersistentVolumeClaims).
    pub inputs: Vec<Manifest<Input>>,
    /// The objects podlife only checks (each also has a `not-run` note).
    pub not_run: Vec<NotRun>,
}

impl FileReport {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    pub fn is_valid(&self) -> bool {
        self.errors() == 0
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Loads each argument: a file, a directory (its `.yaml`, `.yml` and `.json` files, like
/// `kubectl apply -f DIR`; with `recursive`, also those of its subdirectories) or `-` for stdin.
pub fn load_inputs(inputs: &[String], recursive: bool, options: &Options) -> Vec<FileReport> {
    let mut reports = Vec::new();
    for input in inputs {
        if input == "-" {
            reports.push(read("<stdin>", std::io::stdin().lock(), options));
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            let mut files = Vec::new();
            collect_manifest_files(path, recursive, &mut files);
            if files.is_empty() {
                reports.push(unreadable(
                    input,
                    Diagnostic::error(
                        Code::Empty,
                        format!("no .yaml, .yml or .json files in {input}"),
                    )
                    .help("pass manifest files, or use --recursive for subdirectories"),
                ));
            }
            reports.extend(files.iter().map(|f| load_file_with(f, options)));
        } else {
            reports.push(load_file_with(path, options));
        }
    }
    reports
}

fn collect_manifest_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if recursive {
                collect_manifest_files(&path, recursive, out);
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

/// Loads one file, with the default [`Options`].
pub fn load_file(path: &Path) -> FileReport {
    load_file_with(path, &Options::default())
}

/// Loads one file.
pub fn load_file_with(path: &Path, options: &Options) -> FileReport {
    let name = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => read(&name, file, options),
        Err(e) => unreadable(
            &name,
            Diagnostic::error(Code::Io, format!("cannot read {name}: {e}"))
                .help("check the path; pass `-` to read a manifest from stdin"),
        ),
    }
}

/// Loads an input from `reader`, refusing more than [`MAX_INPUT_BYTES`] without reading it all.
pub fn load_reader(name: &str, reader: impl Read) -> FileReport {
    read(name, reader, &Options::default())
}

fn read(name: &str, reader: impl Read, options: &Options) -> FileReport {
    let mut bytes = Vec::new();
    if let Err(e) = reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes) {
        return unreadable(
            name,
            Diagnostic::error(Code::Io, format!("cannot read {name}: {e}")),
        );
    }
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return unreadable(
            name,
            Diagnostic::error(
                Code::InputTooLarge,
                format!("{name} is larger than {} MiB", MAX_INPUT_BYTES / (1024 * 1024)),
            )
            .help("podlife reads manifests up to 32 MiB per input; split the stream into several files"),
        );
    }
    // A UTF-8 byte-order mark (Windows editors write one) is not part of the manifest.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(text) => analyze_with(Source::new(name, text), options),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let source = Source::new(name, text);
            let (line, column) = source.position(offset);
            FileReport {
                diagnostics: vec![
                    Diagnostic::error(
                        Code::Io,
                        format!("{name} is not UTF-8 text (byte {offset})"),
                    )
                    .at(Position::new(line, column, 1))
                    .help("save the manifest as UTF-8"),
                ],
                manifests: Vec::new(),
                inputs: Vec::new(),
                not_run: Vec::new(),
                source,
            }
        }
    }
}

fn unreadable(name: &str, diagnostic: Diagnostic) -> FileReport {
    FileReport {
        source: Source::new(name, ""),
        diagnostics: vec![diagnostic],
        manifests: Vec::new(),
        inputs: Vec::new(),
        not_run: Vec::new(),
    }
}

/// Stack for analysis: every nesting level of a document costs stack in the parser and the
/// checks (tens of KiB per level in debug builds), up to [`yaml::MAX_DEPTH`] levels.
const ANALYSIS_STACK: usize = 64 * 1024 * 1024;

/// Runs every check on `source` with the default [`Options`].
pub fn analyze(source: Arc<Source>) -> FileReport {
    analyze_with(source, &Options::default())
}

/// Runs every check on `source`: hazards, YAML, schema, API rules.
///
/// The work runs on a thread of its own with a stack sized for the deepest document accepted,
/// so the caller's stack (a 2 MiB test or tokio worker thread) does not matter.
pub fn analyze_with(source: Arc<Source>, options: &Options) -> FileReport {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("podlife-analyze".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(scope, || analyze_here(source, options))
            .expect("spawning the analysis thread")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn analyze_here(source: Arc<Source>, options: &Options) -> FileReport {
    let (mut diagnostics, mut repaired) = hazards::scan(&source);
    let parsed = yaml::parse_stream(&mut repaired);
    diagnostics.extend(parsed.diagnostics);
    let (mut manifests, mut inputs, mut not_run) = (Vec::new(), Vec::new(), Vec::new());
    let documents = parsed.documents.len();
    for (i, node) in parsed.documents.into_iter().enumerate() {
        let interpreted = document::interpret(&source, node, i + 1, options);
        diagnostics.extend(interpreted.diagnostics);
        manifests.extend(interpreted.manifests);
        inputs.extend(interpreted.inputs);
        not_run.extend(interpreted.not_run);
    }
    if documents == 0 && diagnostics.iter().all(|d| !d.is_error()) {
        diagnostics.push(
            Diagnostic::warning(
                Code::Empty,
                format!("{} holds no Kubernetes objects", source.name()),
            )
            .help("an empty file or only comments; nothing will run"),
        );
    }
    diagnostics.sort_by_key(|d| (d.at.map(|a| (a.line, a.column)), d.severity));
    diagnostics.dedup();
    FileReport {
        source,
        diagnostics,
        manifests,
        inputs,
        not_run,
    }
}
