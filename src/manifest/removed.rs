//! apiVersions that Kubernetes stopped serving, with the release that removed them.
//!
//! Old manifests still use them (the seed's `extensions/v1beta1` Deployment). podlife reads
//! the kinds it runs as their current version, but says that an API server of that release or
//! later rejects the object: a warning, or an error under `--kubernetes-version` at or above
//! the removal. Source: the Kubernetes deprecated API migration guide.

use super::diagnostic::{Code, Diagnostic, Severity};
use super::options::Options;
use super::version::KubeVersion;

/// One removed apiVersion of some kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub api_version: &'static str,
    pub kinds: &'static [&'static str],
    /// The first release that no longer serves it.
    pub release: KubeVersion,
    /// What to write instead; `None` when the kind itself is gone (PodSecurityPolicy).
    pub replacement: Option<&'static str>,
}

impl Removed {
    /// How bad using it is for an API server of `target` (unknown: a warning).
    pub fn severity(&self, target: Option<KubeVersion>) -> Severity {
        match target {
            Some(target) if target >= self.release => Severity::Error,
            _ => Severity::Warning,
        }
    }

    /// The finding for an object of `kind` at this apiVersion: a warning, or an error when the
    /// user's `--kubernetes-version` no longer serves it. `read_as` is the version podlife
    /// reads the object as, for kinds it runs.
    pub fn diagnostic(&self, kind: &str, options: &Options, read_as: Option<&str>) -> Diagnostic {
        let written = self.api_version;
        let release = self.release;
        let severity = self.severity(options.kubernetes_version);
        let instead = match self.replacement {
            Some(modern) => format!("use `apiVersion: {modern}`"),
            None => format!("{kind} is gone from Kubernetes: remove it"),
        };
        let read = match read_as {
            Some(modern) => format!("; podlife reads this {kind} as {modern}"),
            None => String::new(),
        };
        let target = match (severity, options.kubernetes_version) {
            (Severity::Error, Some(target)) => {
                format!(", such as the --kubernetes-version {target}")
            }
            _ => String::new(),
        };
        let label = match self.replacement {
            Some(modern) => format!("use {modern}"),
            None => "no longer served".to_owned(),
        };
        let rejected = format!("API servers of Kubernetes {release} and later reject this one");
        Diagnostic::new(
            severity,
            Code::Deprecated,
            format!("`{written}` {kind} was removed in Kubernetes {release}"),
        )
        .label(label)
        .help(format!("{instead} ({rejected}{target}){read}"))
    }
}

const fn removed(
    api_version: &'static str,
    kinds: &'static [&'static str],
    minor: u32,
    replacement: Option<&'static str>,
) -> Removed {
    Removed {
        api_version,
        kinds,
        release: KubeVersion::new(1, minor),
        replacement,
    }
}

const APPS: &[&str] = &["Deployment", "DaemonSet", "ReplicaSet"];
const RBAC: &[&str] = &["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"];
const REVIEWS: &[&str] = &[
    "SubjectAccessReview",
    "LocalSubjectAccessReview",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
];
const WEBHOOKS: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];
const FLOW: &[&str] = &["FlowSchema", "PriorityLevelConfiguration"];
const STORAGE: &[&str] = &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"];

/// The removed apiVersions, by release.
pub const REMOVED: &[Removed] = &[
    removed("extensions/v1beta1", APPS, 16, Some("apps/v1")),
    removed(
        "apps/v1beta1",
        &["Deployment", "StatefulSet", "ControllerRevision"],
        16,
        Some("apps/v1"),
    ),
    removed(
        "apps/v1beta2",
        &[
            "Deployment",
            "DaemonSet",
            "ReplicaSet",
            "StatefulSet",
            "ControllerRevision",
        ],
        16,
        Some("apps/v1"),
    ),
    removed(
        "extensions/v1beta1",
        &["NetworkPolicy"],
        16,
        Some("networking.k8s.io/v1"),
    ),
    removed("extensions/v1beta1", &["PodSecurityPolicy"], 16, None),
    removed(
        "extensions/v1beta1",
        &["Ingress"],
        22,
        Some("networking.k8s.io/v1"),
    ),
    removed(
        "networking.k8s.io/v1beta1",
        &["Ingress", "IngressClass"],
        22,
        Some("networking.k8s.io/v1"),
    ),
    removed(
        "apiextensions.k8s.io/v1beta1",
        &["CustomResourceDefinition"],
        22,
        Some("apiextensions.k8s.io/v1"),
    ),
    removed(
        "admissionregistration.k8s.io/v1beta1",
        WEBHOOKS,
        22,
        Some("admissionregistration.k8s.io/v1"),
    ),
    removed(
        "apiregistration.k8s.io/v1beta1",
        &["APIService"],
        22,
        Some("apiregistration.k8s.io/v1"),
    ),
    removed(
        "authentication.k8s.io/v1beta1",
        &["TokenReview"],
        22,
        Some("authentication.k8s.io/v1"),
    ),
    removed(
        "authorization.k8s.io/v1beta1",
        REVIEWS,
        22,
        Some("authorization.k8s.io/v1"),
    ),
    removed(
        "certificates.k8s.io/v1beta1",
        &["CertificateSigningRequest"],
        22,
        Some("certificates.k8s.io/v1"),
    ),
    removed(
        "coordination.k8s.io/v1beta1",
        &["Lease"],
        22,
        Some("coordination.k8s.io/v1"),
    ),
    removed(
        "rbac.authorization.k8s.io/v1beta1",
        RBAC,
        22,
        Some("rbac.authorization.k8s.io/v1"),
    ),
    removed(
        "scheduling.k8s.io/v1beta1",
        &["PriorityClass"],
        22,
        Some("scheduling.k8s.io/v1"),
    ),
    removed(
        "storage.k8s.io/v1beta1",
        STORAGE,
        22,
        Some("storage.k8s.io/v1"),
    ),
    removed("batch/v1beta1", &["CronJob"], 25, Some("batch/v1")),
    removed(
        "discovery.k8s.io/v1beta1",
        &["EndpointSlice"],
        25,
        Some("discovery.k8s.io/v1"),
    ),
    removed(
        "events.k8s.io/v1beta1",
        &["Event"],
        25,
        Some("events.k8s.io/v1"),
    ),
    removed(
        "autoscaling/v2beta1",
        &["HorizontalPodAutoscaler"],
        25,
        Some("autoscaling/v2"),
    ),
    removed(
        "policy/v1beta1",
        &["PodDisruptionBudget"],
        25,
        Some("policy/v1"),
    ),
    removed("policy/v1beta1", &["PodSecurityPolicy"], 25, None),
    removed(
        "node.k8s.io/v1beta1",
        &["RuntimeClass"],
        25,
        Some("node.k8s.io/v1"),
    ),
    removed(
        "autoscaling/v2beta2",
        &["HorizontalPodAutoscaler"],
        26,
        Some("autoscaling/v2"),
    ),
    removed(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        FLOW,
        26,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    removed(
        "storage.k8s.io/v1beta1",
        &["CSIStorageCapacity"],
        27,
        Some("storage.k8s.io/v1"),
    ),
    removed(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        FLOW,
        29,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
    removed(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        FLOW,
        32,
        Some("flowcontrol.apiserver.k8s.io/v1"),
    ),
];

/// The removal of `kind` at `api_version`, if Kubernetes once served it there.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static Removed> {
    REMOVED
        .iter()
        .find(|r| r.api_version == api_version && r.kinds.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_and_their_severity() {
        let r = lookup("extensions/v1beta1", "Deployment").unwrap();
        assert_eq!(r.release, KubeVersion::new(1, 16));
        assert_eq!(r.severity(None), Severity::Warning);
        assert_eq!(r.severity(Some(KubeVersion::new(1, 15))), Severity::Warning);
        assert_eq!(r.severity(Some(KubeVersion::new(1, 16))), Severity::Error);
        let ingress = lookup("extensions/v1beta1", "Ingress").unwrap();
        assert_eq!(ingress.release, KubeVersion::new(1, 22));
        assert!(lookup("apps/v1", "Deployment").is_none());
        // scheduling.k8s.io/v1beta1 serves other kinds again.
        assert!(lookup("scheduling.k8s.io/v1beta1", "Workload").is_none());
    }
}
