//! The kinds podlife runs or feeds to pods, and a typed object of any of them.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, Secret, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::schema::{Schema, ShapeId};

/// A kind of object podlife understands: one it runs, or one that pods consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    Pod,
    Deployment,
    ReplicaSet,
    ReplicationController,
    StatefulSet,
    DaemonSet,
    Job,
    Service,
    ConfigMap,
    Secret,
    PersistentVolumeClaim,
}

impl Kind {
    /// The kinds podlife runs.
    pub const RUN: [Kind; 8] = [
        Kind::Pod,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::ReplicationController,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
        Kind::Service,
    ];

    /// The kinds pods consume (volumes, environment), read as typed [`Input`]s.
    pub const INPUTS: [Kind; 3] = [Kind::ConfigMap, Kind::Secret, Kind::PersistentVolumeClaim];

    pub const ALL: [Kind; 11] = [
        Kind::Pod,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::ReplicationController,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
        Kind::Service,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::PersistentVolumeClaim,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::Service => "Service",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The apiVersion that serves this kind today.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Pod
            | Kind::ReplicationController
            | Kind::Service
            | Kind::ConfigMap
            | Kind::Secret
            | Kind::PersistentVolumeClaim => "v1",
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => "apps/v1",
            Kind::Job => "batch/v1",
        }
    }

    /// Whether `api_version` defaulted `spec.selector` from the template's labels, as
    /// extensions/v1beta1 and apps/v1beta1 did (apps/v1 requires it).
    pub fn defaults_selector(self, api_version: &str) -> bool {
        matches!(api_version, "extensions/v1beta1" | "apps/v1beta1")
    }

    /// Whether this kind makes pods (everything but Service and the pod inputs).
    pub fn is_workload(self) -> bool {
        self != Kind::Service && !self.is_pod_input()
    }

    /// Whether pods consume objects of this kind (ConfigMap, Secret, PersistentVolumeClaim).
    pub fn is_pod_input(self) -> bool {
        Kind::INPUTS.contains(&self)
    }

    /// The schema of this kind.
    pub fn shape(self) -> ShapeId {
        let schema = Schema::get();
        match self {
            Kind::Pod => schema.of::<Pod>(),
            Kind::Deployment => schema.of::<Deployment>(),
            Kind::ReplicaSet => schema.of::<ReplicaSet>(),
            Kind::ReplicationController => schema.of::<ReplicationController>(),
            Kind::StatefulSet => schema.of::<StatefulSet>(),
            Kind::DaemonSet => schema.of::<DaemonSet>(),
            Kind::Job => schema.of::<Job>(),
            Kind::Service => schema.of::<Service>(),
            Kind::ConfigMap => schema.of::<ConfigMap>(),
            Kind::Secret => schema.of::<Secret>(),
            Kind::PersistentVolumeClaim => schema.of::<PersistentVolumeClaim>(),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed Kubernetes object of a kind podlife runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    ReplicaSet(Box<ReplicaSet>),
    ReplicationController(Box<ReplicationController>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    Job(Box<Job>),
    Service(Box<Service>),
}

impl Object {
    /// Reads `json` (already checked against the schema) as an object of `kind`, one of
    /// [`Kind::RUN`].
    pub fn from_json(kind: Kind, json: serde_json::Value) -> Result<Object, serde_json::Error> {
        use serde_json::from_value as read;
        Ok(match kind {
            Kind::Pod => Object::Pod(read(json)?),
            Kind::Deployment => Object::Deployment(read(json)?),
            Kind::ReplicaSet => Object::ReplicaSet(read(json)?),
            Kind::ReplicationController => Object::ReplicationController(read(json)?),
            Kind::StatefulSet => Object::StatefulSet(read(json)?),
            Kind::DaemonSet => Object::DaemonSet(read(json)?),
            Kind::Job => Object::Job(read(json)?),
            Kind::Service => Object::Service(read(json)?),
            Kind::ConfigMap | Kind::Secret | Kind::PersistentVolumeClaim => {
                return Err(serde::de::Error::custom(format!(
                    "a {kind} is an input, not run"
                )));
            }
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Object::Pod(_) => Kind::Pod,
            Object::Deployment(_) => Kind::Deployment,
            Object::ReplicaSet(_) => Kind::ReplicaSet,
            Object::ReplicationController(_) => Kind::ReplicationController,
            Object::StatefulSet(_) => Kind::StatefulSet,
            Object::DaemonSet(_) => Kind::DaemonSet,
            Object::Job(_) => Kind::Job,
            Object::Service(_) => Kind::Service,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Pod(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::ReplicaSet(o) => &o.metadata,
            Object::ReplicationController(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
        }
    }

    /// `metadata.name`, or `generateName` when only that is set.
    pub fn name(&self) -> &str {
        name_of(self.metadata())
    }

    /// `metadata.namespace`, or `default`.
    pub fn namespace(&self) -> &str {
        namespace_of(self.metadata())
    }
}

/// `metadata.name`, or `generateName` when only that is set.
pub fn name_of(meta: &ObjectMeta) -> &str {
    meta.name
        .as_deref()
        .or(meta.generate_name.as_deref())
        .unwrap_or("")
}

/// `metadata.namespace`, or `default`.
pub fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// A typed object that pods consume: mounted as a volume, read into environment variables, or
/// claimed as storage. Kept apart from [`Object`] because it runs nothing itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
}

impl Input {
    /// Reads `json` (already checked against the schema) as an input of `kind`, one of
    /// [`Kind::INPUTS`].
    pub fn from_json(kind: Kind, json: serde_json::Value) -> Result<Input, serde_json::Error> {
        use serde_json::from_value as read;
        Ok(match kind {
            Kind::ConfigMap => Input::ConfigMap(read(json)?),
            Kind::Secret => Input::Secret(read(json)?),
            Kind::PersistentVolumeClaim => Input::PersistentVolumeClaim(read(json)?),
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "a {kind} is not an input"
                )));
            }
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Input::ConfigMap(_) => Kind::ConfigMap,
            Input::Secret(_) => Kind::Secret,
            Input::PersistentVolumeClaim(_) => Kind::PersistentVolumeClaim,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Input::ConfigMap(o) => &o.metadata,
            Input::Secret(o) => &o.metadata,
            Input::PersistentVolumeClaim(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        name_of(self.metadata())
    }

    pub fn namespace(&self) -> &str {
        namespace_of(self.metadata())
    }
}
