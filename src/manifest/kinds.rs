//! What an object is to podlife, from its apiVersion and kind: one it runs or feeds to pods,
//! another kind Kubernetes serves (checked against its schema, then noted), a custom
//! resource (noted, not checked), or a mistake.

use super::catalog::{self, Served};
use super::diagnostic::{Code, Diagnostic};
use super::object::Kind;
use super::removed::{self, Removed};

/// The role of an object, decided by its apiVersion and kind alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// A kind podlife runs or feeds to pods; its apiVersion is checked on the way.
    Podlife(Kind),
    /// Another kind that Kubernetes serves at this apiVersion.
    Served(&'static Served),
    /// A kind at an apiVersion Kubernetes no longer serves.
    Removed(&'static Removed),
    /// A kind of an API group that Kubernetes does not define: a custom resource.
    Custom,
    /// No apiVersion; `served_at` are the apiVersions that serve the kind (maybe none).
    MissingApiVersion { served_at: Vec<&'static str> },
    /// A served kind at an apiVersion that does not serve it (`v1` Ingress).
    WrongApiVersion { served_at: Vec<&'static str> },
    /// No such kind in this built-in apiVersion (a typo such as `Deploymnet`).
    Unknown,
}

/// Decides the role of an object of `kind` written with `api_version`.
///
/// The group comes first: a `serving.knative.dev/v1` Service is a custom resource, not a
/// Kubernetes Service.
pub fn classify(api_version: Option<&str>, kind: &str) -> Role {
    if let Some(version) = api_version
        && !catalog::is_builtin_group(catalog::group_of(version))
    {
        return Role::Custom;
    }
    if let Some(kind) = Kind::from_name(kind) {
        return Role::Podlife(kind);
    }
    let Some(version) = api_version else {
        return Role::MissingApiVersion {
            served_at: catalog::api_versions_of(kind),
        };
    };
    if let Some(served) = catalog::lookup(version, kind) {
        return Role::Served(served);
    }
    if let Some(removed) = removed::lookup(version, kind) {
        return Role::Removed(removed);
    }
    let served_at = catalog::api_versions_of(kind);
    if served_at.is_empty() {
        Role::Unknown
    } else {
        Role::WrongApiVersion { served_at }
    }
}

/// An object of `kind` without `apiVersion`; `help` says what to add.
pub fn missing_api_version(kind: &str, help: String) -> Diagnostic {
    Diagnostic::error(
        Code::MissingApiVersion,
        format!("the {kind} has no `apiVersion`"),
    )
    .label("apiVersion missing")
    .help(help)
}

/// `written` does not serve `kind`, which `modern` does.
pub fn wrong_api_version(written: &str, kind: &str, modern: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UnknownApiVersion,
        format!("`{written}` does not serve {kind}"),
    )
    .label(format!("{kind} is {modern}"))
    .help(format!("use `apiVersion: {modern}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_of_typical_objects() {
        assert_eq!(
            classify(Some("apps/v1"), "Deployment"),
            Role::Podlife(Kind::Deployment)
        );
        assert_eq!(
            classify(Some("v1"), "ConfigMap"),
            Role::Podlife(Kind::ConfigMap)
        );
        assert!(matches!(
            classify(Some("v1"), "ServiceAccount"),
            Role::Served(s) if s.kind == "ServiceAccount"
        ));
        assert!(matches!(
            classify(Some("extensions/v1beta1"), "Ingress"),
            Role::Removed(r) if r.release.minor == 22
        ));
        assert_eq!(
            classify(Some("serving.knative.dev/v1"), "Service"),
            Role::Custom
        );
        assert_eq!(
            classify(Some("cert-manager.io/v1"), "Certificate"),
            Role::Custom
        );
        assert_eq!(classify(Some("apps/v1"), "Deploymnet"), Role::Unknown);
        assert_eq!(
            classify(Some("v1"), "Ingress"),
            Role::WrongApiVersion {
                served_at: vec!["networking.k8s.io/v1"]
            }
        );
        assert_eq!(
            classify(None, "ServiceAccount"),
            Role::MissingApiVersion {
                served_at: vec!["v1"]
            }
        );
    }
}
