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

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Event, EventType, Observation, Record, Shared, What};
use crate::manifest::expand::{Policy, WorkloadPlan, generate_name, uid};

mod job;
mod ordinals;
mod replicas;

use job::Job;
use ordinals::Ordinals;
use replicas::Replicas;

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

/// Runs `workload`'s controller: creates its first pods (`first`, as planned) and keeps them
/// until it is done (a Job) or stopped.
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
    matches!(record.observation(), Some(Observation::PhaseChanged { phase }) if phase.is_terminal())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_lose_their_suffix() {
        assert_eq!(generated_base("web-5d9c7b6f4-x2kqz"), "web-5d9c7b6f4");
        assert_eq!(generated_base("once-x2kqz"), "once");
    }
}
