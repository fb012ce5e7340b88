//! The check options `validate` and `run` share.

use clap::Args;

use crate::manifest::{KubeVersion, Options};

/// How strictly to judge the objects read.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Make objects of kinds podlife does not run (ServiceAccount, Role, Ingress, custom
    /// resources, …) errors, instead of notes. ConfigMaps, Secrets and PersistentVolumeClaims
    /// are read for the pods and stay valid.
    #[arg(long)]
    pub strict_kinds: bool,

    /// The Kubernetes release the manifests are for (e.g. 1.29): apiVersions removed at or
    /// before it are errors, not warnings.
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<KubeVersion>,
}

impl CheckArgs {
    pub fn options(&self) -> Options {
        Options {
            strict_kinds: self.strict_kinds,
            kubernetes_version: self.kubernetes_version,
        }
    }
}
