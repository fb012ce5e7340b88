//! podlife: runs Kubernetes pod manifests with kubelet-faithful lifecycle semantics.
//!
//! The library is organised as the data flows: [`manifest`] turns YAML into validated,
//! expanded pods; the engine (to come) runs them on a container runtime; [`cli`] is the
//! `podlife` command.

pub mod cli;
pub mod conformance;
pub mod engine;
pub mod images;
pub mod manifest;
pub mod probe;
pub mod runtime;
pub mod time;
