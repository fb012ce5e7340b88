//! What a pod's containers report: an instance's exit (with its termination message) and
//! probe results, which move `ready` and `started` or kill the instance.

use crate::engine::events::{Observation, What};
use crate::engine::spec::{ProbeKind, RestartPolicy, Role};
use crate::engine::status::{State, Terminated};
use crate::engine::{spec, status};
use crate::runtime::ExitStatus;

use super::{FALLBACK_BYTES, FALLBACK_LINES, PodWorker, Restart, Stage, TERMINATION_MESSAGE_LIMIT};

impl PodWorker {
    pub(super) async fn exited(&mut self, index: usize, attempt: i32, exit: ExitStatus) {
        let Some(live) = self.slots[index].live.take_if(|l| l.attempt == attempt) else {
            return;
        };
        live.gates.send_modify(|g| g.exited = true);
        if let Stage::Terminating { order, .. } = &self.stage {
            order.exited(index);
        }
        let container = self.slots[index].container.clone();
        let path = container
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into());
        let mut message = self
            .runtime
            .read_file(&live.id, &path, TERMINATION_MESSAGE_LIMIT)
            .await
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .filter(|m| !m.is_empty());
        if message.is_none()
            && exit.code != 0
            && container.termination_message_policy.as_deref() == Some("FallbackToLogsOnError")
        {
            message = self
                .runtime
                .logs_tail(&live.id, FALLBACK_LINES, FALLBACK_BYTES)
                .await
                .ok()
                .filter(|m| !m.is_empty());
        }
        let terminated = Terminated {
            exit_code: exit.code,
            signal: exit.signal,
            reason: exit.reason().to_owned(),
            message,
            started_at: live.started_at,
            finished_at: live.exited_at.unwrap_or_else(status::now),
            container_id: format!("{}://{}", self.runtime.name(), live.id),
        };
        self.observe(
            Some(&container.name),
            Observation::ContainerExited {
                exit_code: exit.code,
                signal: exit.signal,
                reason: terminated.reason.clone(),
            },
        );
        let slot = &mut self.slots[index];
        if slot.view.ready {
            self.log.push(
                &self.name,
                Some(&container.name),
                What::Observation(Observation::ReadyChanged { ready: false }),
            );
        }
        slot.view.state = State::Terminated(terminated);
        slot.view.ready = false;
        slot.view.started = false;
        self.dead.push(live.id);
    }

    pub(super) fn probe_result(
        &mut self,
        index: usize,
        attempt: i32,
        kind: ProbeKind,
        success: bool,
    ) {
        let slot = &self.slots[index];
        let Some(live) = slot.live.as_ref().filter(|l| l.attempt == attempt) else {
            return;
        };
        let name = slot.container.name.clone();
        let has_readiness = slot.probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        match (kind, success) {
            (ProbeKind::Readiness, ready) => {
                let ready =
                    ready && slot.view.started && matches!(slot.view.state, State::Running { .. });
                self.set_ready(index, ready);
            }
            (ProbeKind::Startup, true) => {
                live.gates.send_modify(|g| g.started = true);
                self.slots[index].view.started = true;
                if !has_readiness {
                    self.set_ready(index, true);
                }
            }
            (ProbeKind::Startup | ProbeKind::Liveness, false) => {
                if self.terminating().is_some() || live.killing {
                    return;
                }
                let probe = slot.probes.iter().find(|p| p.kind == kind);
                let grace = probe
                    .and_then(|p| p.termination_grace)
                    .unwrap_or_else(|| spec::grace_seconds(&self.spec));
                let suffix = if self.policy == RestartPolicy::Never && slot.role == Role::App {
                    ""
                } else {
                    ", will be restarted"
                };
                let prefix = if slot.role == Role::Sidecar {
                    "Init container"
                } else {
                    "Container"
                };
                let message = format!("{prefix} {name} failed {kind} probe{suffix}");
                if self.policy != RestartPolicy::Never || slot.role == Role::Sidecar {
                    self.slots[index].restart = Restart::Forced;
                }
                self.kill(index, message, grace);
            }
            (ProbeKind::Liveness, true) => {}
        }
    }

    pub(super) fn set_ready(&mut self, index: usize, ready: bool) {
        let slot = &mut self.slots[index];
        if slot.view.ready != ready {
            slot.view.ready = ready;
            let name = slot.container.name.clone();
            self.observe(Some(&name), Observation::ReadyChanged { ready });
        }
    }
}
