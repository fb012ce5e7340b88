//! Workload controllers: what the ReplicaSet, StatefulSet and Job controllers do with a
//! workload's pods after the first ones, on podlife's one node.
//!
//! Each follows the engine's log, as the endpoints controller does, and acts on its own pods'
//! records: a pod that begins terminating or finishes is replaced (a ReplicaSet counts only
//! pods that are neither); a StatefulSet creates ordinal n+1 once n is Ready and brings a
//! gone pod back under its name; a Job counts successes and failures, replaces failed pods
//! after its back-off and ends when `completions` pods have succeeded or more than
//! `backoffLimit` have failed. Every pod it creates or deletes is an event on the workload
//! (`SuccessfulCreate`, `SuccessfulDelete`, and a Job's `Completed` / `BackoffLimitExceeded`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Event, EventType, Observation, Record, Shared, What};
use crate::manifest::expand::{Policy, Update, WorkloadPlan, generate_name, template_hash, uid};

/// The annotation (and label) with an Indexed Job pod's completion index.
const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// Runs `workload`'s controller: creates its first pods (`first`, as planned) and keeps them
/// until it is done (a Job) or stopped.
/// What a controller can be asked to do besides keeping its pods.
#[derive(Debug, Clone)]
pub enum Command {
    /// `kubectl rollout restart`: roll out the template again (a Deployment).
    Restart,
    /// The workload's manifest applied again: `first` are the pods it plans now (their number
    /// is the new replica count, the first one the new template). A Deployment rolls out a
    /// changed template; any replica set follows a changed count.
    Apply { first: Vec<Pod> },
}

pub(super) async fn keep(
    engine: &Shared,
    workload: WorkloadPlan,
    first: Vec<Pod>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let Some(template) = first.first().cloned() else {
        return;
    };
    let mut records = engine.log.subscribe();
    let mut last_seen = engine.log.records().last().map(|r| r.seq);
    let mut controller = Controller {
        engine: engine.clone(),
        name: workload_name(&workload, &template),
        set: workload.owner.name.clone(),
        template,
        rng: fastrand::Rng::new(),
    };
    let mut state = State::new(&workload.policy, &first, engine.log.scale());
    state.start(&mut controller, first);
    while !state.done() {
        let record = tokio::select! {
            // Records first: a command (a rollout) must see every record logged before it.
            biased;
            received = records.recv() => received,
            () = sleep_until(state.timer()) => {
                state.timer_fired(&mut controller);
                continue;
            }
            Some(command) = commands.recv() => {
                state.command(&mut controller, command);
                continue;
            }
        };
        let records = match record {
            Ok(record) => vec![record],
            // Fell behind: read what was missed from the log itself.
            Err(RecvError::Lagged(_)) => engine.log.records(),
            Err(RecvError::Closed) => return,
        };
        for record in records {
            if last_seen.is_some_and(|seen| record.seq <= seen) {
                continue;
            }
            last_seen = Some(record.seq);
            state.observe(&mut controller, &record);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `replicaset/web-5d9c7b6f4`, `statefulset/db`, `job/once`: the controller of the pods (a
/// Deployment's pods belong to its ReplicaSet), as the timeline names it.
pub fn workload_name(workload: &WorkloadPlan, pod: &Pod) -> String {
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    match owner {
        Some(o) => format!("{}/{}", o.kind.to_lowercase(), o.name),
        None => format!(
            "{}/{}",
            workload.owner.kind.as_str().to_lowercase(),
            workload.owner.name
        ),
    }
}

/// What every kind of controller does to pods.
struct Controller {
    engine: Shared,
    /// How its events name it (`replicaset/web-5d9c7b6f4`).
    name: String,
    /// The workload's own name (a StatefulSet's, for its messages).
    set: String,
    /// The pod its new pods are copies of.
    template: Pod,
    rng: fastrand::Rng,
}

impl Controller {
    fn event(&self, type_: EventType, reason: &str, message: String) {
        self.engine.log.push(
            &self.name,
            None,
            What::Event(Event {
                type_,
                reason: reason.to_owned(),
                message,
            }),
        );
    }

    fn observe(&self, observation: Observation) {
        self.engine
            .log
            .push(&self.name, None, What::Observation(observation));
    }

    /// Creates `pod`; whether it was.
    fn create(&self, pod: Pod) -> bool {
        let name = pod.metadata.name.clone().unwrap_or_default();
        match self.engine.apply(pod) {
            Ok(()) if self.name.starts_with("statefulset/") => self.event(
                EventType::Normal,
                "SuccessfulCreate",
                format!("create Pod {name} in StatefulSet {} successful", self.set),
            ),
            Ok(()) => self.event(
                EventType::Normal,
                "SuccessfulCreate",
                format!("Created pod: {name}"),
            ),
            Err(e) => {
                self.event(
                    EventType::Warning,
                    "FailedCreate",
                    format!("Error creating: {e}"),
                );
                return false;
            }
        }
        true
    }

    fn delete(&self, pod: &str) {
        if self.engine.delete(pod, None).is_ok() {
            self.event(
                EventType::Normal,
                "SuccessfulDelete",
                format!("Deleted pod: {pod}"),
            );
        }
    }

    /// A new pod from the template: named `base-xxxxx`, with a fresh uid.
    fn new_pod(&mut self, base: &str) -> Pod {
        let mut pod = self.template.clone();
        pod.metadata.name = Some(generate_name(base, &mut self.rng));
        pod.metadata.uid = Some(uid(&mut self.rng));
        pod
    }

    /// `pod` again under its name, with a fresh uid (a StatefulSet's replacement).
    fn again(&mut self, pod: &Pod) -> Pod {
        let mut pod = pod.clone();
        pod.metadata.uid = Some(uid(&mut self.rng));
        pod
    }
}

/// The name a generated pod name was made from: `web-5d9c7b6f4-x2kqz` → `web-5d9c7b6f4`.
fn generated_base(name: &str) -> &str {
    name.rsplit_once('-').map_or(name, |(base, _)| base)
}

fn phase_is_terminal(record: &Record) -> bool {
    matches!(record.observation(), Some(Observation::PhaseChanged { phase }) if phase == "Succeeded" || phase == "Failed")
}

enum State {
    Replicas(Replicas),
    Ordinals(Ordinals),
    Job(Job),
}

impl State {
    fn new(policy: &Policy, first: &[Pod], scale: crate::time::TimeScale) -> Self {
        match policy {
            Policy::Replicas {
                update,
                min_ready_seconds,
            } => State::Replicas(Replicas {
                desired: first.len(),
                update: *update,
                min_ready: scale.seconds(*min_ready_seconds),
                ..Replicas::default()
            }),
            Policy::Ordinals {
                ordered,
                min_ready_seconds,
            } => State::Ordinals(Ordinals {
                pods: first.to_vec(),
                created: BTreeSet::new(),
                ordered: *ordered,
                min_ready: scale.seconds(*min_ready_seconds),
                ready_since: BTreeMap::new(),
            }),
            Policy::Job {
                completions,
                parallelism,
                backoff_limit,
                indexed,
                active_deadline_seconds,
            } => State::Job(Job {
                deadline: active_deadline_seconds.map(|s| Instant::now() + scale.seconds(s)),
                completions: *completions,
                parallelism: *parallelism,
                backoff_limit: *backoff_limit,
                indexed: *indexed,
                on_failure: first
                    .first()
                    .and_then(|p| p.spec.as_ref())
                    .and_then(|s| s.restart_policy.as_deref())
                    == Some("OnFailure"),
                ..Job::default()
            }),
        }
    }

    fn start(&mut self, c: &mut Controller, first: Vec<Pod>) {
        match self {
            State::Replicas(s) => s.start(c, first),
            State::Ordinals(s) => s.start(c),
            State::Job(s) => s.start(c, first),
        }
    }

    fn observe(&mut self, c: &mut Controller, record: &Record) {
        match self {
            State::Replicas(s) => s.observe(c, record),
            State::Ordinals(s) => s.observe(c, record),
            State::Job(s) => s.observe(c, record),
        }
    }

    fn command(&mut self, c: &mut Controller, command: Command) {
        match (self, command) {
            (State::Replicas(s), Command::Restart) => s.restart(c),
            (State::Replicas(s), Command::Apply { first }) => s.apply(c, first),
            (_, Command::Restart) => c.event(
                EventType::Warning,
                "RestartNotSupported",
                "only a Deployment rolls out again here".to_owned(),
            ),
            (_, Command::Apply { .. }) => c.event(
                EventType::Warning,
                "UpdateNotSupported",
                "only a Deployment or a replica set takes a changed manifest here".to_owned(),
            ),
        }
    }

    fn timer(&self) -> Option<Instant> {
        match self {
            State::Job(s) => s.backoff_until.into_iter().chain(s.deadline).min(),
            State::Replicas(s) => s.next_available(),
            State::Ordinals(s) => s.next_available(),
        }
    }

    fn timer_fired(&mut self, c: &mut Controller) {
        match self {
            State::Replicas(s) => {
                s.roll(c);
                s.report(c);
            }
            State::Ordinals(s) => s.create_after_available(c),
            State::Job(_) => {}
        }
        if let State::Job(s) = self {
            let now = Instant::now();
            if s.deadline.is_some_and(|d| d <= now) {
                c.event(
                    EventType::Warning,
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline".to_owned(),
                );
                s.end(c);
            } else if s.backoff_until.is_some_and(|b| b <= now) {
                s.backoff_until = None;
                s.fill(c);
            }
        }
    }

    fn done(&self) -> bool {
        matches!(self, State::Job(s) if s.finished)
    }
}

/// ReplicaSet, ReplicationController, Deployment, DaemonSet; a Deployment's rollout.
#[derive(Default)]
struct Replicas {
    desired: usize,
    update: Option<Update>,
    /// Pods of the current template, neither terminating nor finished.
    active: BTreeSet<String>,
    /// Pods of the template before a rollout, neither terminating nor finished.
    old: BTreeSet<String>,
    /// Old pods not yet finished (`Recreate` waits for them).
    old_alive: BTreeSet<String>,
    /// Ready pods, since when: one is *available* once it has been Ready for `min_ready`.
    ready_since: BTreeMap<String, Instant>,
    /// `minReadySeconds`, in wall time.
    min_ready: Duration,
    /// The counts last put on the timeline (ready, available).
    reported: Option<(usize, usize)>,
    /// The pods counted as available when the counts were last worked out.
    counted: BTreeSet<String>,
    /// The current template's generated-name base (its ReplicaSet's name).
    base: String,
}

impl Replicas {
    fn start(&mut self, c: &mut Controller, first: Vec<Pod>) {
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
    fn is_available(&self, pod: &str, now: Instant) -> bool {
        self.ready_since
            .get(pod)
            .is_some_and(|since| *since + self.min_ready <= now)
    }

    /// How many of `pods` are available.
    fn available_in(&self, pods: &BTreeSet<String>, now: Instant) -> usize {
        pods.iter().filter(|p| self.is_available(p, now)).count()
    }

    /// When the next Ready pod not yet counted as available becomes available (possibly
    /// already: a record may have been handled in between).
    fn next_available(&self) -> Option<Instant> {
        self.ready_since
            .iter()
            .filter(|(pod, _)| !self.counted.contains(*pod))
            .map(|(_, since)| *since + self.min_ready)
            .min()
    }

    /// Puts the workload's ready and available counts on its timeline when they change, as the
    /// ReplicaSet's `status.readyReplicas` / `availableReplicas` would.
    fn report(&mut self, c: &Controller) {
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

    fn observe(&mut self, c: &mut Controller, record: &Record) {
        let pod = record.pod.as_str();
        match record.observation() {
            Some(Observation::ConditionChanged { condition, status }) if condition == "Ready" => {
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
    fn leaves(&mut self, c: &mut Controller, pod: &str) {
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
    fn restart(&mut self, c: &mut Controller) {
        if self.update.is_none() {
            return;
        }
        let mut template = c.template.clone();
        let meta = &mut template.metadata;
        meta.annotations.get_or_insert_with(BTreeMap::new).insert(
            "kubectl.kubernetes.io/restartedAt".to_owned(),
            super::status::now().to_string(),
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
    fn apply(&mut self, c: &mut Controller, first: Vec<Pod>) {
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
    fn scale(&mut self, c: &mut Controller) {
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
    fn roll_out(&mut self, c: &mut Controller, template: Pod, replica_set: String) {
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
    fn roll(&mut self, c: &mut Controller) {
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
    fn scale_down_old(&mut self, c: &mut Controller, update: Update) {
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

/// StatefulSet.
struct Ordinals {
    /// Ordinal n's pod.
    pods: Vec<Pod>,
    created: BTreeSet<usize>,
    ordered: bool,
    /// `minReadySeconds`, in wall time: `OrderedReady` waits for ordinal n to be available.
    min_ready: Duration,
    /// Ready ordinals whose successor waits for them to be available, since when.
    ready_since: BTreeMap<usize, Instant>,
}

impl Ordinals {
    fn ordinal(&self, pod: &str) -> Option<usize> {
        self.pods
            .iter()
            .position(|p| p.metadata.name.as_deref() == Some(pod))
    }

    fn create(&mut self, c: &mut Controller, ordinal: usize) {
        if self.created.insert(ordinal) {
            let pod = c.again(&self.pods[ordinal]);
            if !c.create(pod) {
                self.created.remove(&ordinal);
            }
        }
    }

    fn start(&mut self, c: &mut Controller) {
        let first = if self.ordered { 1 } else { self.pods.len() };
        for ordinal in 0..first.min(self.pods.len()) {
            self.create(c, ordinal);
        }
    }

    fn observe(&mut self, c: &mut Controller, record: &Record) {
        let Some(ordinal) = self.ordinal(&record.pod) else {
            return;
        };
        match record.observation() {
            // OrderedReady: the next ordinal once this one is Running and available.
            Some(Observation::ConditionChanged { condition, status }) if condition == "Ready" => {
                if *status && ordinal + 1 < self.pods.len() {
                    self.ready_since.insert(ordinal, Instant::now());
                    self.create_after_available(c);
                } else {
                    self.ready_since.remove(&ordinal);
                }
            }
            // Gone (deleted, failed): the same name again.
            Some(Observation::PodFinished) => {
                self.ready_since.remove(&ordinal);
                self.created.remove(&ordinal);
                self.create(c, ordinal);
            }
            _ => {}
        }
    }

    /// Creates the successor of every ordinal that has been Ready for `minReadySeconds`.
    fn create_after_available(&mut self, c: &mut Controller) {
        let now = Instant::now();
        let due: Vec<usize> = self
            .ready_since
            .iter()
            .filter(|(_, since)| **since + self.min_ready <= now)
            .map(|(ordinal, _)| *ordinal)
            .collect();
        for ordinal in due {
            self.ready_since.remove(&ordinal);
            self.create(c, ordinal + 1);
        }
    }

    /// When the next Ready ordinal whose successor waits becomes available (possibly
    /// already).
    fn next_available(&self) -> Option<Instant> {
        self.ready_since
            .values()
            .map(|since| *since + self.min_ready)
            .min()
    }
}

/// Job.
#[derive(Default)]
struct Job {
    completions: u32,
    parallelism: u32,
    backoff_limit: u32,
    indexed: bool,
    /// `restartPolicy: OnFailure`: containers restart in place, and each failed run counts
    /// against `backoffLimit` as a failed pod does.
    on_failure: bool,
    /// Running pods and their completion index.
    active: BTreeMap<String, u32>,
    /// Indexes (or, not indexed, one number per success) that succeeded.
    succeeded: BTreeSet<u32>,
    failed: u32,
    /// Indexes of failed pods waiting for their replacement.
    retry: VecDeque<u32>,
    next_index: u32,
    backoff_until: Option<Instant>,
    /// `activeDeadlineSeconds` from the Job's start.
    deadline: Option<Instant>,
    finished: bool,
}

impl Job {
    fn start(&mut self, c: &mut Controller, first: Vec<Pod>) {
        for pod in first {
            let index = self.take_index(&pod);
            self.active
                .insert(pod.metadata.name.clone().unwrap_or_default(), index);
            c.create(pod);
        }
    }

    /// A first pod's index: its annotation (Indexed), else the next number.
    fn take_index(&mut self, pod: &Pod) -> u32 {
        let index = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(COMPLETION_INDEX))
            .and_then(|i| i.parse().ok())
            .unwrap_or(self.next_index);
        self.next_index = self.next_index.max(index + 1);
        index
    }

    fn observe(&mut self, c: &mut Controller, record: &Record) {
        let Some(index) = self.active.get(&record.pod).copied() else {
            return;
        };
        let outcome = match record.observation() {
            Some(Observation::PhaseChanged { phase }) => phase.as_str(),
            // Gone without a terminal phase (deleted while Pending): a failure, as the Job
            // controller counts a pod deleted before it succeeded.
            Some(Observation::PodFinished) => "Failed",
            // Under OnFailure the container restarts in place; its failure still counts.
            Some(Observation::ContainerExited { exit_code, .. })
                if self.on_failure && *exit_code != 0 =>
            {
                self.failed += 1;
                if self.failed > self.backoff_limit {
                    self.exceeded(c);
                }
                return;
            }
            _ => return,
        };
        match outcome {
            "Succeeded" => {
                self.active.remove(&record.pod);
                self.succeeded.insert(if self.indexed {
                    index
                } else {
                    self.succeeded.len() as u32
                });
                if self.succeeded.len() as u32 >= self.completions {
                    c.event(EventType::Normal, "Completed", "Job completed".to_owned());
                    self.end(c);
                } else {
                    self.fill(c);
                }
            }
            "Failed" => {
                self.active.remove(&record.pod);
                self.failed += 1;
                if self.failed > self.backoff_limit {
                    self.exceeded(c);
                } else {
                    self.retry.push_back(index);
                    // 10 s, doubling with each failure, at most 6 min (manifest time).
                    let delay = (10u64 << (self.failed - 1).min(6)).min(360);
                    let wall = c.engine.log.scale().wall(Duration::from_secs(delay));
                    self.backoff_until = Some(Instant::now() + wall);
                }
            }
            _ => {}
        }
    }

    /// Creates pods until `parallelism` run or every completion has one, unless a back-off
    /// is under way.
    fn fill(&mut self, c: &mut Controller) {
        if self.finished || self.backoff_until.is_some() {
            return;
        }
        while (self.active.len() as u32) < self.parallelism
            && (self.active.len() + self.succeeded.len()) < self.completions as usize
        {
            let index = match self.retry.pop_front() {
                Some(index) => index,
                None if self.indexed => {
                    let index = (0..self.completions)
                        .find(|i| {
                            !self.succeeded.contains(i) && !self.active.values().any(|a| a == i)
                        })
                        .unwrap_or(self.next_index);
                    self.next_index = self.next_index.max(index + 1);
                    index
                }
                None => {
                    self.next_index += 1;
                    self.next_index - 1
                }
            };
            let pod = if self.indexed {
                let mut pod = c.new_pod(&format!("{}-{index}", c.set));
                for map in [&mut pod.metadata.annotations, &mut pod.metadata.labels] {
                    map.get_or_insert_with(BTreeMap::new)
                        .insert(COMPLETION_INDEX.to_owned(), index.to_string());
                }
                pod
            } else {
                let set = c.set.clone();
                c.new_pod(&set)
            };
            self.active
                .insert(pod.metadata.name.clone().unwrap_or_default(), index);
            c.create(pod);
        }
    }

    /// More than `backoffLimit` failures: the Job has failed.
    fn exceeded(&mut self, c: &mut Controller) {
        c.event(
            EventType::Warning,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit".to_owned(),
        );
        self.end(c);
    }

    /// Done: the pods still running are deleted.
    fn end(&mut self, c: &mut Controller) {
        self.finished = true;
        for pod in std::mem::take(&mut self.active).into_keys() {
            c.delete(&pod);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_lose_their_suffix() {
        assert_eq!(generated_base("web-5d9c7b6f4-x2kqz"), "web-5d9c7b6f4");
        assert_eq!(generated_base("once-x2kqz"), "once");
    }
}
