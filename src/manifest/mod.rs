//! Kubernetes manifests: loading, strict validation and expansion of workloads into pods.

pub mod diagnostic;
pub mod hazards;
pub mod repair;
pub mod source;
pub mod yaml;
