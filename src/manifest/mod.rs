//! Kubernetes manifests: loading, strict validation and expansion of workloads into pods.
//!
//! The pipeline for one input: [`hazards`] (copy-paste characters, on raw text) → [`yaml`]
//! (spanned parse) → [`document`] (kind and apiVersion, [`strict`] schema check against
//! k8s-openapi, typed object, [`validate`] API rules) → [`expand`] (workloads → pods).
//! [`kinds`] decides what each object is to podlife: run, an input to pods, or only checked
//! and noted ([`not_run`]).

pub mod catalog;
pub mod diagnostic;
pub mod document;
pub mod expand;
pub mod field;
pub mod hazards;
pub mod kinds;
pub mod load;
pub mod newer;
pub mod not_run;
pub mod object;
pub mod options;
pub mod removed;
pub mod render;
pub mod repair;
pub mod schema;
pub mod selector;
pub mod source;
pub mod strict;
pub mod suggest;
pub mod validate;
pub mod version;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic, Position, Severity};
pub use document::{Manifest, Origin};
pub use load::{
    FileReport, analyze, analyze_with, load_file, load_file_with, load_inputs, load_reader,
};
pub use not_run::NotRun;
pub use object::{Input, Kind, Object};
pub use options::Options;
pub use source::Source;
pub use version::KubeVersion;
