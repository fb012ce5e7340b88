//! The ReplicaSet controller's part (also a ReplicationController's, a DaemonSet's on one
//! node, and a Deployment's rollouts): keep the pods at their number, roll out a new template.

use crate::engine::status::ConditionKind;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::time::Instant;

use super::{Controller, generated_base, phase_is_terminal};
use crate::engine::{EventType, Observation, Record};
use crate::manifest::expand::{Update, template_hash, uid};

/// ReplicaSet, ReplicationController, Deployment, DaemonSet; a Deployment's rollout.
#[derive(Default)]
pub(super) struct Replicas {
    pub(super) desired: usize,
    pub(super) update: Option<Update>,
    /// Pods of the current template, neither terminating nor finished.
    pub(super) active: BTreeSet<String>,
    /// Pods of the template before a rollout, neither terminating nor finished.
    pub(super) old: BTreeSet<String>,
    /// Old pods not yet finished (`Recreate` waits for them).
    pub(super) old_alive: BTreeSet<String>,
    /// Ready pods, since when: one is *available* once it has been Ready for `min_ready`.
    pub(super) ready_since: BTreeMap<String, Instant>,
    /// `minReadySeconds`, in wall time.
    pub(super) min_ready: Duration,
    /// The counts last put on the timeline (ready, available).
    pub(super) reported: Option<(usize, usize)>,
    /// The pods counted as available when the counts were last worked out.
    pub(super) counted: BTreeSet<String>,
    /// The current template's generated-name base (its ReplicaSet's name).
    pub(super) base: String,
}

impl Replicas {
    pub(super) fn start(&mut self, c: &mut Controller, first: Vec<Pod>) {
        if let Some(name) = first.first().and_then(|p| p.metadata.name.as_deref()) {
            self.base = generated_base(name).to_owned();
        }
        for pod in first {
            self.active
                .insert(pod.metadata.name.clone().unwrap_or_default());
            c.create(pod);
        }
        self.report(c);
    }

    /// Whether `pod` has been Ready for `minReadySeconds` (`podutil.IsPodAvailable`).
    pub(super) fn is_available(&self, pod: &str, now: Instant) -> bool {
        self.ready_since
            .get(pod)
            .is_some_and(|since| *since + self.min_ready <= now)
    }

    /// How many of `pods` are available.
    pub(super) fn available_in(&self, pods: &BTreeSet<String>, now: Instant) -> usize {
        pods.iter().filter(|p| self.is_available(p, now)).count()
    }

    /// When the next Ready pod not yet counted as available becomes available (possibly
    /// already: a record may have been handled in between).
    pub(super) fn next_available(&self) -> Option<Instant> {
        self.ready_since
            .iter()
            .filter(|(pod, _)| !self.counted.contains(*pod))
            .map(|(_, since)| *since + self.min_ready)
            .min()
    }

    /// Puts the workload's ready and available counts on its timeline when they change, as the
    /// ReplicaSet's `status.readyReplicas` / `availableReplicas` would.
    pub(super) fn report(&mut self, c: &Controller) {
        let now = Instant::now();
        let pods = || self.active.iter().chain(&self.old);
        let ready = pods().filter(|p| self.ready_since.contains_key(*p)).count();
        let counted: BTreeSet<String> = self
            .ready_since
            .keys()
            .filter(|p| self.is_available(p, now))
            .cloned()
            .collect();
        let available = pods().filter(|p| counted.contains(*p)).count();
        self.counted = counted;
        if self.reported != Some((ready, available)) {
            self.reported = Some((ready, available));
            c.observe(Observation::Replicas {
                desired: self.desired,
                ready,
                available,
            });
        }
    }

    pub(super) fn observe(&mut self, c: &mut Controller, record: &Record) {
        let pod = record.pod.as_str();
        match record.observation() {
            Some(Observation::ConditionChanged { condition, status })
                if *condition == ConditionKind::Ready =>
            {
                if *status {
                    self.ready_since.insert(pod.to_owned(), Instant::now());
                } else {
                    self.ready_since.remove(pod);
                }
            }
            Some(Observation::Terminating { .. }) => self.leaves(c, pod),
            _ if phase_is_terminal(record) => self.leaves(c, pod),
            Some(Observation::PodFinished) => {
                self.ready_since.remove(pod);
                self.old_alive.remove(pod);
            }
            _ => return,
        }
        self.roll(c);
        self.report(c);
    }

    /// A pod begins terminating or fails: one of the current template's is replaced.
    pub(super) fn leaves(&mut self, c: &mut Controller, pod: &str) {
        self.ready_since.remove(pod);
        self.old.remove(pod);
        if self.active.remove(pod) {
            let new = c.new_pod(generated_base(pod));
            self.active
                .insert(new.metadata.name.clone().unwrap_or_default());
            c.create(new);
        }
    }

    /// `kubectl rollout restart`: a new template (its `restartedAt` annotation and hash), and
    /// the pods of the old one become the ones to replace.
    pub(super) fn restart(&mut self, c: &mut Controller) {
        if self.update.is_none() {
            return;
        }
        let mut template = c.template.clone();
        let meta = &mut template.metadata;
        meta.annotations.get_or_insert_with(BTreeMap::new).insert(
            "kubectl.kubernetes.io/restartedAt".to_owned(),
            crate::engine::status::now().to_string(),
        );
        let labels = meta.labels.get_or_insert_with(BTreeMap::new);
        labels.remove("pod-template-hash");
        let hash = template_hash(&k8s_openapi::api::core::v1::PodTemplateSpec {
            metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                labels: Some(labels.clone()),
                annotations: meta.annotations.clone(),
                ..Default::default()
            }),
            spec: template.spec.clone(),
        });
        labels.insert("pod-template-hash".to_owned(), hash.clone());
        let replica_set = format!("{}-{hash}", c.set);
        for owner in meta.owner_references.iter_mut().flatten() {
            owner.name = replica_set.clone();
            owner.uid = uid(&mut c.rng);
        }
        self.roll_out(c, template, replica_set);
    }

    /// The manifest applied again: a changed replica count is followed at once (scaling); a
    /// Deployment's changed template is rolled out (a new ReplicaSet, by its strategy).
    pub(super) fn apply(&mut self, c: &mut Controller, first: Vec<Pod>) {
        let Some(template) = first.first().cloned() else {
            return;
        };
        self.desired = first.len();
        let hash = |pod: &Pod| {
            pod.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash").cloned())
        };
        let changed = template.spec != c.template.spec || hash(&template) != hash(&c.template);
        if changed && self.update.is_some() {
            let name = template.metadata.name.clone().unwrap_or_default();
            let replica_set = generated_base(&name).to_owned();
            self.roll_out(c, template, replica_set);
        } else {
            self.scale(c);
        }
        self.report(c);
    }

    /// Scales the current template's pods to `desired`: new ones created, the most recent
    /// surplus deleted (unready ones first).
    pub(super) fn scale(&mut self, c: &mut Controller) {
        while self.active.len() < self.desired {
            let pod = c.new_pod(&self.base);
            self.active
                .insert(pod.metadata.name.clone().unwrap_or_default());
            c.create(pod);
        }
        let mut surplus: Vec<String> = self.active.iter().cloned().collect();
        surplus.sort_by_key(|p| self.ready_since.contains_key(p));
        for pod in surplus
            .into_iter()
            .take(self.active.len().saturating_sub(self.desired))
        {
            self.active.remove(&pod);
            c.delete(&pod);
        }
    }

    /// Makes `template` (owned by ReplicaSet `replica_set`) the one new pods come from; the
    /// current pods become the old ones to replace by the strategy.
    pub(super) fn roll_out(&mut self, c: &mut Controller, template: Pod, replica_set: String) {
        let Some(update) = self.update else {
            return;
        };
        self.base = replica_set.clone();
        c.template = template;
        c.name = format!("replicaset/{replica_set}");
        self.old_alive.extend(self.active.iter().cloned());
        self.old.append(&mut self.active);
        c.event(
            EventType::Normal,
            "ScalingReplicaSet",
            format!(
                "Rolling out replica set {replica_set} ({})",
                if update.recreate {
                    "Recreate".to_owned()
                } else {
                    format!(
                        "maxSurge {}, maxUnavailable {}",
                        update.max_surge, update.max_unavailable
                    )
                }
            ),
        );
        self.roll(c);
    }

    /// One step of a rollout, as the Deployment controller takes it (`rolling.go`,
    /// `recreate.go`): old pods go while enough pods stay *available*, new ones come while
    /// the total stays within `desired + maxSurge`; `Recreate` deletes every old pod and
    /// creates new ones once they are all gone.
    pub(super) fn roll(&mut self, c: &mut Controller) {
        let Some(update) = self.update else {
            return;
        };
        if self.old.is_empty() && self.active.len() >= self.desired {
            return;
        }
        if update.recreate {
            for pod in std::mem::take(&mut self.old) {
                c.delete(&pod);
            }
            if !self.old_alive.is_empty() {
                return;
            }
        } else {
            self.scale_down_old(c, update);
        }
        let most = self.desired + update.max_surge as usize;
        while self.active.len() < self.desired && self.active.len() + self.old.len() < most {
            let pod = c.new_pod(&self.base);
            self.active
                .insert(pod.metadata.name.clone().unwrap_or_default());
            c.create(pod);
        }
    }

    /// `reconcileOldReplicaSets`: at most `all - minAvailable - newUnavailable` old pods go,
    /// unavailable ones first (`cleanupUnhealthyReplicas`); then available ones while more
    /// than `desired - maxUnavailable` pods are available
    /// (`scaleDownOldReplicaSetsForRollingUpdate`).
    pub(super) fn scale_down_old(&mut self, c: &mut Controller, update: Update) {
        let now = Instant::now();
        let min_available = self.desired.saturating_sub(update.max_unavailable as usize);
        let all = self.active.len() + self.old.len();
        let new_unavailable = self.active.len() - self.available_in(&self.active, now);
        let budget = all.saturating_sub(min_available + new_unavailable);
        if budget == 0 {
            return;
        }
        let unhealthy: Vec<String> = self
            .old
            .iter()
            .filter(|p| !self.is_available(p, now))
            .take(budget)
            .cloned()
            .collect();
        for pod in unhealthy {
            self.old.remove(&pod);
            c.delete(&pod);
        }
        let mut available =
            self.available_in(&self.active, now) + self.available_in(&self.old, now);
        let healthy: Vec<String> = self.old.iter().cloned().collect();
        for pod in healthy {
            if available <= min_available {
                break;
            }
            available -= 1;
            self.old.remove(&pod);
            c.delete(&pod);
        }
    }
}
