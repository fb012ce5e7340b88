//! What the user asked of the checks (command-line choices, not properties of the manifests).

use super::version::KubeVersion;

/// How to judge the objects read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Objects podlife neither runs nor feeds to pods are errors (`unsupported-kind`), as
    /// before bundles were read, instead of notes.
    pub strict_kinds: bool,
    /// The Kubernetes release the manifests are meant for: an apiVersion removed at or before
    /// it is an error, not a warning.
    pub kubernetes_version: Option<KubeVersion>,
}
