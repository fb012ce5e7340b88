//! Termination: the grace period and stop order of a terminating pod, each container's kill
//! in a task of its own ([`Kill`]), and the pod's end once everything has stopped.

use crate::engine::events::{EventType, Observation};
use crate::engine::kill::{Cut, Kill, TerminationOrder};
use crate::engine::spec::Handler;
use crate::engine::status;
use crate::engine::status::PodPhase;

use super::{PodWorker, Restart, Stage};

impl PodWorker {
    pub(super) fn begin_termination(&mut self, grace: i64) {
        if self.finished() || self.terminating().is_some_and(|g| g <= grace) {
            return;
        }
        // Kills under way take the shorter grace period.
        for slot in &self.slots {
            if let Some(live) = slot.live.as_ref().filter(|l| l.killing) {
                live.cut.send_replace(Some(Cut::Grace(grace)));
            }
        }
        // A shorter deletion keeps the order of the termination under way.
        let order = match std::mem::replace(&mut self.stage, Stage::Terminated) {
            Stage::Terminating { order, .. } => order,
            _ => {
                let roles = self.slots.iter().map(|s| s.role).collect();
                let running: Vec<bool> = self.slots.iter().map(|s| s.live.is_some()).collect();
                TerminationOrder::new(roles, &running)
            }
        };
        self.stage = Stage::Terminating { grace, order };
        self.observe(
            None,
            Observation::Terminating {
                grace_seconds: grace,
            },
        );
        self.stopping.send_replace(true);
        for slot in &mut self.slots {
            if matches!(slot.restart, Restart::BackingOff | Restart::Due) {
                slot.restart = Restart::Idle;
            }
            if let Some(live) = &slot.live {
                live.gates.send_modify(|g| g.terminating = true);
            }
        }
    }

    /// Kills container `index` the kubelet's way ([`Kill`]), in a task of its own, after the
    /// `Killing` event. During a termination a sidecar's stop signal waits for its turn.
    pub(super) fn kill(&mut self, index: usize, message: String, grace: i64) {
        let Some(sandbox) = self.sandbox.clone() else {
            return;
        };
        let turn = match &self.stage {
            Stage::Terminating { order, .. } => order.prerequisites(index),
            _ => Vec::new(),
        };
        let slot = &mut self.slots[index];
        let Some(live) = slot.live.as_mut().filter(|l| !l.killing) else {
            return;
        };
        live.killing = true;
        let (id, stop_signal, cut) = (live.id.clone(), live.stop_signal, live.cut.subscribe());
        let container = slot.container.clone();
        let name = container.name.clone();
        let kill = Kill {
            target: self.target(&container, &id, sandbox.ip),
            log: self.log.clone(),
            pod: self.name.clone(),
            pre_stop: container
                .lifecycle
                .as_ref()
                .and_then(|l| l.pre_stop.as_ref())
                .and_then(Handler::of_hook),
            stop_signal,
            grace,
            turn,
            cut,
        };
        self.event(Some(&name), EventType::Normal, "Killing", message);
        self.tasks.spawn(kill.run());
    }

    /// Termination: every running container is killed at once, as the kubelet's
    /// `killContainersWithSyncResult` does; [`TerminationOrder`] orders the stop signals.
    pub(super) async fn sync_terminating(&mut self) {
        let grace = self.terminating().unwrap_or(0);
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.live.as_ref().is_some_and(|l| !l.killing) {
                let message = format!("Stopping container {}", slot.container.name);
                self.kill(index, message, grace);
            }
        }
        if self.slots.iter().all(|s| s.live.is_none()) {
            self.finish().await;
        }
    }

    /// Everything has stopped: final phase, remove containers and sandbox.
    pub(super) async fn finish(&mut self) {
        if !self.phase.is_terminal() {
            self.phase = if self.reason.as_deref() == Some("DeadlineExceeded") {
                PodPhase::Failed
            } else {
                status::phase(
                    &self.views(),
                    self.policy,
                    self.app_ever_started,
                    self.deleted,
                )
            };
        }
        for id in std::mem::take(&mut self.dead) {
            let _ = self.runtime.remove_container(&id).await;
        }
        if let Some(sandbox) = self.sandbox.take() {
            let _ = self.runtime.remove_sandbox(&sandbox).await;
        }
        self.publish();
        self.stage = Stage::Terminated;
        // Whether or not anyone waits on it yet (a later `wait_finished` must see it).
        self.done.send_replace(true);
        self.observe(None, Observation::PodFinished);
    }
}
