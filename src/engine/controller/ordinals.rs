//! The StatefulSet controller's part: one pod per ordinal, in order, back under its name.

use crate::engine::status::ConditionKind;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio::time::Instant;

use super::Controller;
use crate::engine::{Observation, Record};

/// StatefulSet.
pub(super) struct Ordinals {
    /// Ordinal n's pod.
    pub(super) pods: Vec<Pod>,
    pub(super) created: BTreeSet<usize>,
    pub(super) ordered: bool,
    /// `minReadySeconds`, in wall time: `OrderedReady` waits for ordinal n to be available.
    pub(super) min_ready: Duration,
    /// Ready ordinals whose successor waits for them to be available, since when.
    pub(super) ready_since: BTreeMap<usize, Instant>,
}

impl Ordinals {
    pub(super) fn ordinal(&self, pod: &str) -> Option<usize> {
        self.pods
            .iter()
            .position(|p| p.metadata.name.as_deref() == Some(pod))
    }

    pub(super) fn create(&mut self, c: &mut Controller, ordinal: usize) {
        if self.created.insert(ordinal) {
            let pod = c.again(&self.pods[ordinal]);
            if !c.create(pod) {
                self.created.remove(&ordinal);
            }
        }
    }

    pub(super) fn start(&mut self, c: &mut Controller) {
        let first = if self.ordered { 1 } else { self.pods.len() };
        for ordinal in 0..first.min(self.pods.len()) {
            self.create(c, ordinal);
        }
    }

    pub(super) fn observe(&mut self, c: &mut Controller, record: &Record) {
        let Some(ordinal) = self.ordinal(&record.pod) else {
            return;
        };
        match record.observation() {
            // OrderedReady: the next ordinal once this one is Running and available.
            Some(Observation::ConditionChanged { condition, status })
                if *condition == ConditionKind::Ready =>
            {
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
    pub(super) fn create_after_available(&mut self, c: &mut Controller) {
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
    pub(super) fn next_available(&self) -> Option<Instant> {
        self.ready_since
            .values()
            .map(|since| *since + self.min_ready)
            .min()
    }
}
