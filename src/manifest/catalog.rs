//! Every kind the Kubernetes API serves, as k8s-openapi knows it: apiVersion, kind and the
//! schema to check objects of kinds podlife does not run, so their typos are caught too.
//!
//! The list is k8s-openapi's resource types for the `latest` feature (see
//! [`super::version::SCHEMA_VERSION`]), less the discovery types (`APIGroup`, `Status`, …)
//! that are never written in a manifest.

use k8s_openapi::Resource;
use schemars::generate::SchemaGenerator;

/// A kind the API server serves at one apiVersion.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The type's schema name, to look its shape up in [`super::schema::Schema`].
    pub schema_name: fn() -> std::borrow::Cow<'static, str>,
    /// Adds the type's schema to a generator.
    pub register: fn(&mut SchemaGenerator),
}

/// Two entries are the same when they name the same kind at the same apiVersion.
impl PartialEq for Served {
    fn eq(&self, other: &Self) -> bool {
        (self.api_version, self.kind) == (other.api_version, other.kind)
    }
}

impl Served {
    /// The API group (`""` for the core group of `v1`).
    pub fn group(&self) -> &'static str {
        group_of(self.api_version)
    }
}

/// The group of `api_version`: `apps` of `apps/v1`, `""` of `v1`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

fn served<T: Resource + schemars::JsonSchema>() -> Served {
    Served {
        api_version: T::API_VERSION,
        kind: T::KIND,
        schema_name: T::schema_name,
        register: |generator| {
            generator.subschema_for::<T>();
        },
    }
}

/// Every served kind.
pub fn all() -> &'static [Served] {
    static ALL: std::sync::LazyLock<Vec<Served>> = std::sync::LazyLock::new(|| {
        use k8s_openapi::*;
        vec![
            served::<api::admissionregistration::v1::MutatingAdmissionPolicy>(),
            served::<api::admissionregistration::v1::MutatingAdmissionPolicyBinding>(),
            served::<api::admissionregistration::v1::MutatingWebhookConfiguration>(),
            served::<api::admissionregistration::v1::ValidatingAdmissionPolicy>(),
            served::<api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(),
            served::<api::admissionregistration::v1::ValidatingWebhookConfiguration>(),
            served::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicy>(),
            served::<api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding>(),
            served::<api::admissionregistration::v1beta1::MutatingAdmissionPolicy>(),
            served::<api::admissionregistration::v1beta1::MutatingAdmissionPolicyBinding>(),
            served::<api::apiserverinternal::v1alpha1::StorageVersion>(),
            served::<api::apps::v1::ControllerRevision>(),
            served::<api::apps::v1::DaemonSet>(),
            served::<api::apps::v1::Deployment>(),
            served::<api::apps::v1::ReplicaSet>(),
            served::<api::apps::v1::StatefulSet>(),
            served::<api::authentication::v1::SelfSubjectReview>(),
            served::<api::authentication::v1::TokenRequest>(),
            served::<api::authentication::v1::TokenReview>(),
            served::<api::authorization::v1::LocalSubjectAccessReview>(),
            served::<api::authorization::v1::SelfSubjectAccessReview>(),
            served::<api::authorization::v1::SelfSubjectRulesReview>(),
            served::<api::authorization::v1::SubjectAccessReview>(),
            served::<api::autoscaling::v1::HorizontalPodAutoscaler>(),
            served::<api::autoscaling::v1::Scale>(),
            served::<api::autoscaling::v2::HorizontalPodAutoscaler>(),
            served::<api::batch::v1::CronJob>(),
            served::<api::batch::v1::Job>(),
            served::<api::certificates::v1::CertificateSigningRequest>(),
            served::<api::certificates::v1::ClusterTrustBundle>(),
            served::<api::certificates::v1::PodCertificateRequest>(),
            served::<api::certificates::v1beta1::ClusterTrustBundle>(),
            served::<api::certificates::v1beta1::PodCertificateRequest>(),
            served::<api::coordination::v1::Lease>(),
            served::<api::coordination::v1alpha2::LeaseCandidate>(),
            served::<api::coordination::v1beta1::LeaseCandidate>(),
            served::<api::core::v1::Binding>(),
            served::<api::core::v1::ComponentStatus>(),
            served::<api::core::v1::ConfigMap>(),
            served::<api::core::v1::Endpoints>(),
            served::<api::core::v1::Event>(),
            served::<api::core::v1::LimitRange>(),
            served::<api::core::v1::Namespace>(),
            served::<api::core::v1::Node>(),
            served::<api::core::v1::PersistentVolume>(),
            served::<api::core::v1::PersistentVolumeClaim>(),
            served::<api::core::v1::Pod>(),
            served::<api::core::v1::PodTemplate>(),
            served::<api::core::v1::ReplicationController>(),
            served::<api::core::v1::ResourceQuota>(),
            served::<api::core::v1::Secret>(),
            served::<api::core::v1::Service>(),
            served::<api::core::v1::ServiceAccount>(),
            served::<api::discovery::v1::EndpointSlice>(),
            served::<api::events::v1::Event>(),
            served::<api::flowcontrol::v1::FlowSchema>(),
            served::<api::flowcontrol::v1::PriorityLevelConfiguration>(),
            served::<api::lifecycle::v1alpha1::Eviction>(),
            served::<api::lifecycle::v1alpha1::EvictionRequest>(),
            served::<api::networking::v1::IPAddress>(),
            served::<api::networking::v1::Ingress>(),
            served::<api::networking::v1::IngressClass>(),
            served::<api::networking::v1::NetworkPolicy>(),
            served::<api::networking::v1::ServiceCIDR>(),
            served::<api::node::v1::RuntimeClass>(),
            served::<api::policy::v1::Eviction>(),
            served::<api::policy::v1::PodDisruptionBudget>(),
            served::<api::rbac::v1::ClusterRole>(),
            served::<api::rbac::v1::ClusterRoleBinding>(),
            served::<api::rbac::v1::Role>(),
            served::<api::rbac::v1::RoleBinding>(),
            served::<api::resource::v1::DeviceClass>(),
            served::<api::resource::v1::DeviceTaintRule>(),
            served::<api::resource::v1::ResourceClaim>(),
            served::<api::resource::v1::ResourceClaimTemplate>(),
            served::<api::resource::v1::ResourceSlice>(),
            served::<api::resource::v1alpha3::DeviceTaintRule>(),
            served::<api::resource::v1alpha3::ResourcePoolStatusRequest>(),
            served::<api::resource::v1beta1::DeviceClass>(),
            served::<api::resource::v1beta1::ResourceClaim>(),
            served::<api::resource::v1beta1::ResourceClaimTemplate>(),
            served::<api::resource::v1beta1::ResourceSlice>(),
            served::<api::resource::v1beta2::DeviceClass>(),
            served::<api::resource::v1beta2::DeviceTaintRule>(),
            served::<api::resource::v1beta2::ResourceClaim>(),
            served::<api::resource::v1beta2::ResourceClaimTemplate>(),
            served::<api::resource::v1beta2::ResourceSlice>(),
            served::<api::scheduling::v1::PriorityClass>(),
            served::<api::scheduling::v1alpha3::CompositePodGroup>(),
            served::<api::scheduling::v1alpha3::PodGroup>(),
            served::<api::scheduling::v1alpha3::Workload>(),
            served::<api::scheduling::v1beta1::PodGroup>(),
            served::<api::scheduling::v1beta1::Workload>(),
            served::<api::storage::v1::CSIDriver>(),
            served::<api::storage::v1::CSINode>(),
            served::<api::storage::v1::CSIStorageCapacity>(),
            served::<api::storage::v1::StorageClass>(),
            served::<api::storage::v1::VolumeAttachment>(),
            served::<api::storage::v1::VolumeAttributesClass>(),
            served::<api::storagemigration::v1::StorageVersionMigration>(),
            served::<api::storagemigration::v1beta1::StorageVersionMigration>(),
            served::<apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(
            ),
            served::<kube_aggregator::pkg::apis::apiregistration::v1::APIService>(),
        ]
    });
    &ALL
}

/// The kind `kind` at `api_version`, if the API serves it.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static Served> {
    all()
        .iter()
        .find(|s| s.api_version == api_version && s.kind == kind)
}

/// Whether `group` is one of Kubernetes' own API groups (not a custom resource's), counting
/// `extensions`, whose last kinds were removed in 1.22.
pub fn is_builtin_group(group: &str) -> bool {
    group == "extensions" || all().iter().any(|s| s.group() == group)
}

/// The apiVersions that serve `kind` today, the preferred first: GA before beta before
/// alpha, the newest of each (`autoscaling/v2` before `autoscaling/v1`).
pub fn api_versions_of(kind: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = all()
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.api_version)
        .collect();
    versions.sort_by_key(|v| (stability(v), std::cmp::Reverse(*v)));
    versions
}

/// GA versions sort before beta, beta before alpha.
fn stability(api_version: &str) -> u8 {
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    if version.contains("alpha") {
        2
    } else if version.contains("beta") {
        1
    } else {
        0
    }
}

/// Every kind name served in `group`, for "did you mean" on a misspelled kind.
pub fn kinds_in_group(group: &str) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = all()
        .iter()
        .filter(|s| s.group() == group)
        .map(|s| s.kind)
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_kinds_of_typical_bundles() {
        for (api_version, kind) in [
            ("v1", "ServiceAccount"),
            ("v1", "ConfigMap"),
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("networking.k8s.io/v1", "Ingress"),
            ("policy/v1", "PodDisruptionBudget"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ] {
            assert!(lookup(api_version, kind).is_some(), "{api_version} {kind}");
        }
        assert!(is_builtin_group("apps") && is_builtin_group("") && is_builtin_group("extensions"));
        assert!(!is_builtin_group("cert-manager.io"));
        assert_eq!(
            api_versions_of("HorizontalPodAutoscaler")[0],
            "autoscaling/v2"
        );
        assert_eq!(group_of("apps/v1"), "apps");
    }
}
