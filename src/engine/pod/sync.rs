//! The pod worker's decision after every message, as the kubelet's `SyncPod`: which
//! container to start or restart next, when the pod has completed, and when to go on with a
//! termination.

use crate::engine::spec::{RestartPolicy, Role};
use crate::engine::status::State;
use crate::engine::{spec, status};

use super::{PodWorker, Restart, Stage, succeeded};

impl PodWorker {
    /// Decides and does what comes next, as the kubelet's SyncPod does.
    pub(super) async fn sync(&mut self) {
        match self.stage {
            Stage::Terminated => return,
            Stage::Terminating { .. } => return self.sync_terminating().await,
            Stage::Running => {}
        }
        // Init containers, in order: each must succeed (or, for sidecars, have started)
        // before the next one runs.
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            match slot.role {
                Role::App => break,
                Role::Init => {
                    if succeeded(&slot.view.state) {
                        continue;
                    }
                    if slot.live.is_some() {
                        return;
                    }
                    let failed =
                        matches!(&slot.view.state, State::Terminated(t) if t.exit_code != 0);
                    if failed && self.policy == RestartPolicy::Never {
                        // An init container that ran and failed fails the pod under Never; one
                        // that could not start is retried, as it never ran.
                        self.complete().await;
                        return;
                    }
                    self.start_or_back_off(index).await;
                    return;
                }
                Role::Sidecar => {
                    if slot.live.is_none() {
                        self.start_or_back_off(index).await;
                    }
                    let slot = &self.slots[index];
                    if (slot.live.is_some() && slot.view.started) || self.app_ever_started {
                        continue;
                    }
                    return;
                }
            }
        }
        // App containers, one after the other.
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.role != Role::App || slot.live.is_some() {
                continue;
            }
            let wants_start = slot.instances == 0
                || slot.restart != Restart::Idle
                || match &slot.view.state {
                    State::Terminated(t) => self.policy.restarts(t.exit_code),
                    State::Waiting { .. } => true,
                    State::Running { .. } => false,
                };
            if wants_start && matches!(self.stage, Stage::Running) {
                self.start_or_back_off(index).await;
            }
        }
        if self.terminating().is_some() {
            // Deleted while starting containers.
            self.sync_terminating().await;
            return;
        }
        let done = self.slots.iter().filter(|s| s.role == Role::App).all(|s| {
            s.live.is_none()
                && s.restart == Restart::Idle
                && matches!(&s.view.state, State::Terminated(t) if !self.policy.restarts(t.exit_code))
        });
        if done {
            self.complete().await;
        }
    }

    /// The pod has run to completion (or its init failed under Never): stop what still runs.
    pub(super) async fn complete(&mut self) {
        if !self.phase.is_terminal() {
            self.phase = status::phase(&self.views(), self.policy, self.app_ever_started, false);
        }
        self.begin_termination(spec::grace_seconds(&self.spec));
        self.publish();
        self.sync_terminating().await;
    }
}
