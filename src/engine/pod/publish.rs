//! Publishing the pod's status: recomputed from the containers' views after every change,
//! with a record for each phase and condition that changed.

use crate::engine::events::Observation;
use crate::engine::status;
use crate::engine::status::{ContainerView, PodView};

use super::PodWorker;

impl PodWorker {
    pub(super) fn views(&self) -> Vec<ContainerView> {
        self.slots.iter().map(|s| s.view.clone()).collect()
    }

    /// Recomputes the status, records what changed, and publishes it.
    pub(super) fn publish(&mut self) {
        let views = self.views();
        if !self.phase.is_terminal() && self.terminating().is_none() {
            let phase = status::phase(&views, self.policy, self.app_ever_started, false);
            self.phase = phase;
        }
        let view = PodView {
            containers: &views,
            phase: self.phase,
            sandbox_ready: self.sandbox.is_some(),
            app_ever_started: self.app_ever_started,
            pod_ip: self.pod_ip.clone(),
            start_time: self.start_time,
            reason: self.reason.clone(),
            message: self.message.clone(),
        };
        for (kind, value, _, _) in status::condition_values(&view) {
            if self.conditions.set(kind, value) {
                self.observe(
                    None,
                    Observation::ConditionChanged {
                        condition: kind.to_owned(),
                        status: value,
                    },
                );
            }
        }
        let new = status::pod_status(&view, &self.conditions);
        let old_phase = self.status.borrow().phase.clone();
        if old_phase.as_deref() != Some(self.phase.as_str()) {
            self.observe(None, Observation::PhaseChanged { phase: self.phase });
        }
        self.status.send_replace(new);
        let _ = &self.pod;
    }
}
