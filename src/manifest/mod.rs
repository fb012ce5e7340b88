//! Kubernetes manifests: loading, strict validation and expansion of workloads into pods.
//!
//! The pipeline for one input: [`hazards`] (copy-paste characters, on raw text) → [`yaml`]
//! (spanned parse) → [`document`] (kind and apiVersion, [`strict`] schema check against
//! k8s-openapi, typed object, [`validate`] API rules) → [`expand`] (workloads → pods).

pub mod diagnostic;
pub mod document;
pub mod expand;
pub mod field;
pub mod hazards;
pub mod load;
pub mod object;
pub mod render;
pub mod repair;
pub mod schema;
pub mod selector;
pub mod source;
pub mod strict;
pub mod suggest;
pub mod validate;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic, Position, Severity};
pub use document::{Manifest, Origin};
pub use load::{FileReport, analyze, load_file, load_inputs, load_reader};
pub use object::{Kind, Object};
pub use source::Source;
