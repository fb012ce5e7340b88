//! The Job controller's part: completions, parallelism, back-off, deadline.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::time::Instant;

use super::Controller;
use crate::engine::{EventType, Observation, Record};

/// The annotation (and label) with an Indexed Job pod's completion index.
const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// Job.
#[derive(Default)]
pub(super) struct Job {
    pub(super) completions: u32,
    pub(super) parallelism: u32,
    pub(super) backoff_limit: u32,
    pub(super) indexed: bool,
    /// `restartPolicy: OnFailure`: containers restart in place, and each failed run counts
    /// against `backoffLimit` as a failed pod does.
    pub(super) on_failure: bool,
    /// Running pods and their completion index.
    pub(super) active: BTreeMap<String, u32>,
    /// Indexes (or, not indexed, one number per success) that succeeded.
    pub(super) succeeded: BTreeSet<u32>,
    pub(super) failed: u32,
    /// Indexes of failed pods waiting for their replacement.
    pub(super) retry: VecDeque<u32>,
    pub(super) next_index: u32,
    pub(super) backoff_until: Option<Instant>,
    /// `activeDeadlineSeconds` from the Job's start.
    pub(super) deadline: Option<Instant>,
    pub(super) finished: bool,
}

impl Job {
    pub(super) fn start(&mut self, c: &mut Controller, first: Vec<Pod>) {
        for pod in first {
            let index = self.take_index(&pod);
            self.active
                .insert(pod.metadata.name.clone().unwrap_or_default(), index);
            c.create(pod);
        }
    }

    /// A first pod's index: its annotation (Indexed), else the next number.
    pub(super) fn take_index(&mut self, pod: &Pod) -> u32 {
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

    pub(super) fn observe(&mut self, c: &mut Controller, record: &Record) {
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
    pub(super) fn fill(&mut self, c: &mut Controller) {
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
    pub(super) fn exceeded(&mut self, c: &mut Controller) {
        c.event(
            EventType::Warning,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit".to_owned(),
        );
        self.end(c);
    }

    /// Done: the pods still running are deleted.
    pub(super) fn end(&mut self, c: &mut Controller) {
        self.finished = true;
        for pod in std::mem::take(&mut self.active).into_keys() {
            c.delete(&pod);
        }
    }
}
