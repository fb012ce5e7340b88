//! Workloads → the pods their controllers would create, named as Kubernetes names them.
//!
//! podlife has one node and no API server, so the controllers' first step is done here, once:
//! replicas × template with Kubernetes' names (`web-0` for a StatefulSet, `web-5d9c7b6f4-x2kqz`
//! for a Deployment), labels and owner references. What each controller does afterwards
//! (ordered start, replacing deleted and failed pods, Job completions and back-off) is said by
//! a [`WorkloadPlan`] and done by the engine (`engine::controller`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DeploymentStrategy;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Service, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::document::{Manifest, Origin};
use super::object::{Input, Kind, Object};

/// The random source of generated name suffixes (seed it for reproducible names).
pub type NameRng = fastrand::Rng;

/// Characters Kubernetes uses for generated names (no vowels, no look-alikes).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Generated names keep at most this much of their base (`maxGeneratedNameLength`).
const MAX_GENERATED_BASE: usize = 58;

/// Who made a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub kind: Kind,
    pub name: String,
}

/// One pod to run.
#[derive(Debug, Clone)]
pub struct PodPlan {
    pub pod: Pod,
    /// The workload it came from; `None` for a bare Pod.
    pub owner: Option<Owner>,
    /// The StatefulSet ordinal, for ordered start.
    pub ordinal: Option<u32>,
    pub origin: Origin,
}

impl PodPlan {
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }
}

/// A Service to route to the pods it selects.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub service: Service,
    pub origin: Origin,
}

/// How a workload's controller keeps its pods after the first ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "policy", rename_all = "camelCase")]
pub enum Policy {
    /// ReplicaSet, ReplicationController, Deployment (its ReplicaSet) and DaemonSet (one node):
    /// the pods that are neither terminating nor finished are kept at their number, a
    /// replacement with a new name for each one that is. A Deployment can roll out a new
    /// template (`kubectl rollout restart`, or the manifest applied again with a changed
    /// template) by its `update`. A pod counts as available once it has been Ready for
    /// `min_ready_seconds`.
    Replicas {
        update: Option<Update>,
        min_ready_seconds: i64,
    },
    /// StatefulSet: one pod per ordinal, replaced under the same name once the old one is
    /// gone. `OrderedReady` (the default) creates ordinal n+1 only once n is Running and
    /// Ready (and, with `min_ready_seconds`, available); `Parallel` creates them all at once.
    Ordinals {
        ordered: bool,
        min_ready_seconds: i64,
    },
    /// Job: `completions` pods must succeed, at most `parallelism` run at once; a failed pod
    /// is replaced after the back-off (10 s, doubling, at most 6 min) until more than
    /// `backoffLimit` have failed or `activeDeadlineSeconds` have passed.
    Job {
        completions: u32,
        parallelism: u32,
        backoff_limit: u32,
        indexed: bool,
        /// The Job fails (`DeadlineExceeded`) this long after it started.
        active_deadline_seconds: Option<i64>,
    },
}

/// How a Deployment replaces its pods with a new template's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// `Recreate`: every old pod is gone before a new one is created.
    pub recreate: bool,
    /// `RollingUpdate.maxSurge`, in pods (percentages rounded up).
    pub max_surge: u32,
    /// `RollingUpdate.maxUnavailable`, in pods (percentages rounded down; 1 when both are 0).
    pub max_unavailable: u32,
}

impl Update {
    /// A Deployment's strategy for `replicas` pods (RollingUpdate 25 %/25 % by default).
    pub fn of(strategy: Option<&DeploymentStrategy>, replicas: u32) -> Self {
        let resolve = |value: Option<&IntOrString>, up: bool| -> u32 {
            match value {
                None => {
                    let quarter = f64::from(replicas) * 0.25;
                    (if up { quarter.ceil() } else { quarter.floor() }) as u32
                }
                Some(IntOrString::Int(n)) => (*n).max(0) as u32,
                Some(IntOrString::String(p)) => {
                    let pct = p.trim_end_matches('%').parse::<f64>().unwrap_or(25.0) / 100.0;
                    let n = f64::from(replicas) * pct;
                    (if up { n.ceil() } else { n.floor() }) as u32
                }
            }
        };
        if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
            return Self {
                recreate: true,
                max_surge: 0,
                max_unavailable: replicas,
            };
        }
        let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
        let max_surge = resolve(rolling.and_then(|r| r.max_surge.as_ref()), true);
        let max_unavailable = resolve(rolling.and_then(|r| r.max_unavailable.as_ref()), false);
        Self {
            recreate: false,
            max_surge,
            max_unavailable: if max_surge == 0 && max_unavailable == 0 {
                1
            } else {
                max_unavailable
            },
        }
    }
}

/// A workload whose pods a controller keeps: the pods of the plan whose `owner` it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadPlan {
    pub owner: Owner,
    pub policy: Policy,
}

/// Everything a set of manifests asks to run.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub pods: Vec<PodPlan>,
    pub services: Vec<ServicePlan>,
    pub workloads: Vec<WorkloadPlan>,
    /// The ConfigMaps, Secrets and claims its pods consume.
    pub inputs: Vec<Input>,
}

impl Plan {
    /// This plan with the pod inputs of the same manifests (a bundle's ConfigMaps, …).
    pub fn with_inputs(mut self, inputs: &[Manifest<Input>]) -> Self {
        self.inputs.extend(inputs.iter().map(|m| m.object.clone()));
        self
    }

    /// The first pods of `workload`, in order.
    pub fn pods_of(&self, workload: &WorkloadPlan) -> Vec<&PodPlan> {
        self.pods
            .iter()
            .filter(|p| p.owner.as_ref() == Some(&workload.owner))
            .collect()
    }
}

/// Expands validated manifests into pods and services; `rng` makes the random name suffixes
/// (seed it for reproducible names).
pub fn expand(manifests: &[Manifest], rng: &mut fastrand::Rng) -> Plan {
    let mut plan = Plan::default();
    for manifest in manifests {
        let origin = &manifest.origin;
        let object = &manifest.object;
        let namespace = object.namespace().to_owned();
        let name = object.name().to_owned();
        let uid = uid(rng);
        let owner = Owner {
            kind: object.kind(),
            name: name.clone(),
        };
        let make = |pod_name: String,
                    template: &PodTemplateSpec,
                    extra: Labels,
                    owner_ref: OwnerReference,
                    ordinal: Option<u32>,
                    rng: &mut fastrand::Rng| {
            let mut pod = pod_from_template(template, pod_name, &namespace, extra, rng);
            pod.metadata.owner_references = Some(vec![owner_ref]);
            PodPlan {
                pod,
                owner: Some(owner.clone()),
                ordinal,
                origin: origin.clone(),
            }
        };
        match object {
            Object::Pod(pod) => {
                let mut pod = (**pod).clone();
                pod.metadata.namespace = Some(namespace.clone());
                pod.metadata.uid = Some(uid);
                if pod.metadata.name.is_none() {
                    pod.metadata.name = Some(generate_name(&name, rng));
                }
                plan.pods.push(PodPlan {
                    pod,
                    owner: None,
                    ordinal: None,
                    origin: origin.clone(),
                });
            }
            Object::Deployment(d) => {
                let s = &d.spec;
                plan.workloads.push(WorkloadPlan {
                    owner: owner.clone(),
                    policy: Policy::Replicas {
                        update: Some(Update::of(
                            s.strategy.as_ref(),
                            s.replicas.unwrap_or(1).max(0) as u32,
                        )),
                        min_ready_seconds: s.min_ready_seconds.unwrap_or(0).into(),
                    },
                });
                let hash = template_hash(&s.template);
                let rs_name = format!("{name}-{hash}");
                let owner = owner_ref("apps/v1", "ReplicaSet", &rs_name, rng);
                for _ in 0..s.replicas.unwrap_or(1).max(0) {
                    let labels = labels([("pod-template-hash", hash.as_str())]);
                    let pod_name = generate_name(&rs_name, rng);
                    plan.pods.push(make(
                        pod_name,
                        &s.template,
                        labels,
                        owner.clone(),
                        None,
                        rng,
                    ));
                }
            }
            Object::ReplicaSet(_) | Object::ReplicationController(_) => {
                let (template, replicas, min_ready) = match object {
                    Object::ReplicaSet(r) => (
                        r.spec.template.clone(),
                        r.spec.replicas,
                        r.spec.min_ready_seconds,
                    ),
                    Object::ReplicationController(rc) => {
                        let spec = rc.spec.clone().unwrap_or_default();
                        (spec.template, spec.replicas, spec.min_ready_seconds)
                    }
                    _ => unreachable!("matched above"),
                };
                let template = template.unwrap_or_default();
                plan.workloads.push(WorkloadPlan {
                    owner: owner.clone(),
                    policy: Policy::Replicas {
                        update: None,
                        min_ready_seconds: min_ready.unwrap_or(0).into(),
                    },
                });
                let owner = controller_ref(object, &uid);
                for _ in 0..replicas.unwrap_or(1).max(0) {
                    let pod_name = generate_name(&name, rng);
                    plan.pods.push(make(
                        pod_name,
                        &template,
                        Labels::new(),
                        owner.clone(),
                        None,
                        rng,
                    ));
                }
            }
            Object::StatefulSet(st) => {
                let s = &st.spec;
                plan.workloads.push(WorkloadPlan {
                    owner: owner.clone(),
                    policy: Policy::Ordinals {
                        ordered: s.pod_management_policy.as_deref() != Some("Parallel"),
                        min_ready_seconds: s.min_ready_seconds.unwrap_or(0).into(),
                    },
                });
                let owner = controller_ref(object, &uid);
                for ordinal in 0..s.replicas.unwrap_or(1).max(0) as u32 {
                    let pod_name = format!("{name}-{ordinal}");
                    let index = ordinal.to_string();
                    let extra = labels([
                        ("statefulset.kubernetes.io/pod-name", pod_name.as_str()),
                        ("apps.kubernetes.io/pod-index", index.as_str()),
                    ]);
                    let mut pod = make(
                        pod_name.clone(),
                        &s.template,
                        extra,
                        owner.clone(),
                        Some(ordinal),
                        rng,
                    );
                    if let Some(spec) = pod.pod.spec.as_mut() {
                        // Each claim template is a volume of the pod, bound to the claim
                        // `<template>-<pod>` (the controller's `updateStorage`), which the pod
                        // recreated under its name finds again.
                        for template in s.volume_claim_templates.iter().flatten() {
                            let volume = template.metadata.name.clone().unwrap_or_default();
                            let volumes = spec.volumes.get_or_insert_with(Vec::new);
                            volumes.retain(|v| v.name != volume);
                            volumes.push(Volume {
                                name: volume.clone(),
                                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                    claim_name: format!("{volume}-{pod_name}"),
                                    read_only: None,
                                }),
                                ..Volume::default()
                            });
                        }
                        spec.hostname = Some(pod_name);
                        spec.subdomain = s.service_name.clone();
                    }
                    plan.pods.push(pod);
                }
            }
            Object::DaemonSet(ds) => {
                plan.workloads.push(WorkloadPlan {
                    owner: owner.clone(),
                    policy: Policy::Replicas {
                        update: None,
                        min_ready_seconds: ds.spec.min_ready_seconds.unwrap_or(0).into(),
                    },
                });
                let owner = controller_ref(object, &uid);
                let extra = labels([("pod-template-generation", "1")]);
                let pod_name = generate_name(&name, rng);
                plan.pods
                    .push(make(pod_name, &ds.spec.template, extra, owner, None, rng));
            }
            Object::Job(job) => {
                let spec = job.spec.clone().unwrap_or_default();
                let owner = controller_ref(object, &uid);
                let completions = spec.completions.unwrap_or(1).max(0);
                let parallelism = spec.parallelism.unwrap_or(1).max(0);
                let indexed = spec.completion_mode.as_deref() == Some("Indexed");
                plan.workloads.push(WorkloadPlan {
                    owner: Owner {
                        kind: object.kind(),
                        name: name.clone(),
                    },
                    policy: Policy::Job {
                        completions: completions as u32,
                        parallelism: parallelism as u32,
                        backoff_limit: spec.backoff_limit.unwrap_or(6).max(0) as u32,
                        indexed,
                        active_deadline_seconds: spec.active_deadline_seconds,
                    },
                });
                for index in 0..parallelism.min(completions.max(1)) {
                    let extra = labels([
                        ("batch.kubernetes.io/job-name", name.as_str()),
                        ("job-name", name.as_str()),
                        ("batch.kubernetes.io/controller-uid", uid.as_str()),
                        ("controller-uid", uid.as_str()),
                    ]);
                    let base = if indexed {
                        format!("{name}-{index}")
                    } else {
                        name.clone()
                    };
                    let pod_name = generate_name(&base, rng);
                    let mut pod = make(pod_name, &spec.template, extra, owner.clone(), None, rng);
                    if indexed {
                        pod.pod
                            .metadata
                            .annotations
                            .get_or_insert_with(BTreeMap::new)
                            .insert(
                                "batch.kubernetes.io/job-completion-index".into(),
                                index.to_string(),
                            );
                    }
                    plan.pods.push(pod);
                }
            }
            Object::Service(service) => {
                let mut service = (**service).clone();
                service.metadata.namespace = Some(namespace.clone());
                service.metadata.uid = Some(uid);
                plan.services.push(ServicePlan {
                    service,
                    origin: origin.clone(),
                });
            }
        }
    }
    plan
}

type Labels = BTreeMap<String, String>;

fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn pod_from_template(
    template: &PodTemplateSpec,
    name: String,
    namespace: &str,
    extra_labels: Labels,
    rng: &mut fastrand::Rng,
) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    let mut labels = meta.labels.unwrap_or_default();
    labels.extend(extra_labels);
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_owned()),
            uid: Some(uid(rng)),
            labels: Some(labels),
            annotations: meta.annotations,
            ..ObjectMeta::default()
        },
        spec: Some(template.spec.clone().unwrap_or_default()),
        status: None,
    }
}

fn controller_ref(object: &Object, uid: &str) -> OwnerReference {
    let kind = object.kind();
    OwnerReference {
        api_version: kind.api_version().to_owned(),
        kind: kind.as_str().to_owned(),
        name: object.name().to_owned(),
        uid: uid.to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn owner_ref(api_version: &str, kind: &str, name: &str, rng: &mut fastrand::Rng) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        uid: uid(rng),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// `base-` plus five random characters, as `generateName` does.
pub fn generate_name(base: &str, rng: &mut fastrand::Rng) -> String {
    let mut prefix = format!("{base}-");
    prefix.truncate(MAX_GENERATED_BASE);
    prefix.extend((0..5).map(|_| ALPHANUMS[rng.usize(..ALPHANUMS.len())] as char));
    prefix
}

/// A random RFC 4122-shaped identifier.
/// A random UID in the shape of Kubernetes' (a version-4 UUID).
pub fn uid(rng: &mut fastrand::Rng) -> String {
    let hex = |n: usize, rng: &mut fastrand::Rng| -> String {
        (0..n)
            .map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0'))
            .collect()
    };
    format!(
        "{}-{}-4{}-{}-{}",
        hex(8, rng),
        hex(4, rng),
        hex(3, rng),
        hex(4, rng),
        hex(12, rng)
    )
}

/// The `pod-template-hash` label: FNV-32a of the template, encoded like Kubernetes'
/// `SafeEncodeString`. (Kubernetes hashes Go's dump of the struct, so the value differs; the
/// shape and the stability for an unchanged template are the same.)
pub fn template_hash(template: &PodTemplateSpec) -> String {
    let bytes = serde_json::to_vec(template).unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|c| ALPHANUMS[usize::from(c) % ALPHANUMS.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_update_numbers_as_the_deployment_controller_rounds_them() {
        let default = Update::of(None, 3);
        assert_eq!((default.max_surge, default.max_unavailable), (1, 0));
        let ten = Update::of(None, 10);
        assert_eq!((ten.max_surge, ten.max_unavailable), (3, 2));
        let one = Update::of(None, 1);
        assert_eq!((one.max_surge, one.max_unavailable), (1, 0));
        let recreate = Update::of(
            Some(&DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            3,
        );
        assert!(recreate.recreate);
    }

    #[test]
    fn generated_names_look_like_kubernetes() {
        let mut rng = fastrand::Rng::with_seed(7);
        let name = generate_name("nginx-demo", &mut rng);
        assert!(name.starts_with("nginx-demo-"));
        assert_eq!(name.len(), "nginx-demo-".len() + 5);
        assert!(
            name["nginx-demo-".len()..]
                .bytes()
                .all(|c| ALPHANUMS.contains(&c))
        );
        let long = generate_name(&"a".repeat(80), &mut rng);
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn template_hash_is_stable_and_changes_with_the_template() {
        let a = PodTemplateSpec::default();
        let b = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                name: Some("x".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(template_hash(&a), template_hash(&a));
        assert_ne!(template_hash(&a), template_hash(&b));
    }
}
