//! Taking a pod over after a kubelet restart (docs/semantics.md §11). The lost worker's memory
//! is gone; the runtime still holds the pod's sandbox and containers, and the API still holds
//! the pod's last status. Running containers keep running (postStart is not run again) with
//! the restartCount the runtime gives them; containers that exited are seen as exited;
//! containers that never ran start as usual. Probe workers start afresh; `started` and
//! `ready` are kept until a probe decides (KEP-4781); crash-loop back-off, which lived in the
//! lost worker's memory, starts over.

use std::time::Duration;

use k8s_openapi::api::core::v1::PodStatus;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::engine::events::Observation;
use crate::engine::prober::Gates;
use crate::engine::spec::{ProbeKind, Role};
use crate::engine::status;
use crate::engine::status::{Conditions, PodPhase, State, Terminated};

use super::{Live, Msg, PodWorker, stop_signal_of};
use k8s_openapi::api::core::v1::ContainerStatus;

use crate::runtime::{ContainerRecord, ContainerState};

/// What a worker that replaces a lost one starts from.
pub struct KubeletRestart {
    /// The pod's last status, as the API holds it.
    pub previous: PodStatus,
    /// The deletion under way, if any (its grace period, `None` for the pod's own): it starts
    /// over, preStop included, as `deletionGracePeriodSeconds` is all the API keeps of it.
    pub deletion: Option<Option<i64>>,
}

impl PodWorker {
    /// Makes this worker the replacement of a lost one (see the module documentation).
    pub fn adopting(mut self, restart: KubeletRestart) -> Self {
        self.restart = Some(restart);
        self
    }

    /// Takes over the pod's sandbox and containers; false when the pod never started (the
    /// kubelet was down when it was created) or the runtime holds no sandbox of it, so there
    /// is nothing to take over.
    pub(super) async fn adopt(&mut self) -> bool {
        let Some(KubeletRestart { previous, deletion }) = self.restart.take() else {
            return false;
        };
        self.start_time = previous.start_time.as_ref().map(|t| t.0);
        let sandbox = match self.start_time {
            Some(_) => {
                self.observe(None, Observation::KubeletRestarted);
                self.runtime.find_sandbox(&self.uid).await.ok().flatten()
            }
            None => None,
        };
        let Some(sandbox) = sandbox else {
            // Started afresh; a deletion asked for meanwhile comes first.
            if let Some(grace) = deletion {
                let _ = self.tx.send(Msg::Delete { grace });
            }
            return false;
        };
        let records = match self.runtime.list_containers(&sandbox).await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(pod = %self.name, "cannot list the pod's containers: {e}");
                Vec::new()
            }
        };
        self.pod_ip = Some(sandbox.ip.to_string());
        self.sandbox = Some(sandbox.clone());
        self.conditions = Conditions::from_status(&previous);
        if let Some(phase) = [PodPhase::Succeeded, PodPhase::Failed]
            .into_iter()
            .find(|p| previous.phase.as_deref() == Some(p.as_str()))
        {
            self.phase = phase;
        }
        for index in 0..self.slots.len() {
            let name = self.slots[index].container.name.clone();
            let instances: Vec<&ContainerRecord> =
                records.iter().filter(|r| r.name == name).collect();
            let before = previous
                .init_container_statuses
                .iter()
                .chain(previous.container_statuses.iter())
                .flatten()
                .find(|s| s.name == name);
            self.adopt_container(index, &instances, before, sandbox.ip)
                .await;
        }
        if let Some(grace) = deletion {
            self.handle(Msg::Delete { grace }).await;
        }
        true
    }

    /// Takes over container `index` from its `instances` in the runtime (oldest first), with
    /// `before`, its status as the API last had it.
    async fn adopt_container(
        &mut self,
        index: usize,
        instances: &[&ContainerRecord],
        before: Option<&ContainerStatus>,
        pod_ip: std::net::IpAddr,
    ) {
        let Some((latest, older)) = instances.split_last() else {
            // Never created: it starts as usual.
            return;
        };
        // Earlier instances are gone with the pod, as the kubelet's garbage collection keeps
        // only what a status still shows.
        self.dead.extend(older.iter().map(|r| r.id.clone()));
        let container_id = format!("{}://{}", self.runtime.name(), latest.id);
        let slot = &mut self.slots[index];
        slot.view.restart_count = latest.attempt;
        slot.instances = latest.attempt + 1;
        slot.view.last_terminated = before
            .and_then(|b| b.last_state.as_ref())
            .and_then(|s| s.terminated.as_ref())
            .map(Terminated::from_api);
        let (started_at, exited_at) = match latest.state {
            ContainerState::Created => {
                // Lost between create and start: removed, and started again as this attempt.
                slot.instances = latest.attempt;
                self.dead.push(latest.id.clone());
                return;
            }
            ContainerState::Exited {
                started_at,
                finished_at,
                ..
            } => {
                // Its exit was already handled if the status shows it, as its state or, while
                // it waits in back-off, as its last state.
                let known = before
                    .into_iter()
                    .flat_map(|b| [b.state.as_ref(), b.last_state.as_ref()])
                    .flatten()
                    .filter_map(|s| s.terminated.as_ref())
                    .find(|t| t.container_id.as_deref() == Some(container_id.as_str()));
                if let Some(known) = known {
                    slot.view.state = State::Terminated(Terminated::from_api(known));
                    slot.view.stop_signal = before.and_then(|b| b.stop_signal.clone());
                    if slot.role == Role::App {
                        self.app_ever_started = true;
                    }
                    self.dead.push(latest.id.clone());
                    return;
                }
                // It exited while no worker watched: its exit is handled as any other.
                (started_at, Some(finished_at))
            }
            ContainerState::Running { started_at } => (started_at, None),
        };
        let container = slot.container.clone();
        let has_startup = slot.probes.iter().any(|p| p.kind == ProbeKind::Startup);
        let has_readiness = slot.probes.iter().any(|p| p.kind == ProbeKind::Readiness);
        let was = |field: fn(&ContainerStatus) -> bool| before.is_some_and(field);
        let started = !has_startup || was(|b| b.started == Some(true));
        let ready = started
            && slot.role != Role::Init
            && (!has_readiness || was(|b| b.ready))
            && exited_at.is_none();
        let stop_signal = stop_signal_of(&container, &self.runtime).await;
        let slot = &mut self.slots[index];
        slot.view.state = State::Running {
            started_at,
            container_id,
        };
        slot.view.started = started;
        slot.view.ready = ready;
        slot.view.stop_signal = Some(stop_signal.as_str().to_owned());
        slot.live = Some(Live {
            id: latest.id.clone(),
            attempt: latest.attempt,
            started_at,
            exited_at,
            gates: watch::channel(Gates {
                started,
                terminating: false,
                exited: false,
            })
            .0,
            killing: false,
            cut: watch::channel(None).0,
            stop_signal,
        });
        if slot.role == Role::App {
            self.app_ever_started = true;
        }
        self.observe(
            Some(&container.name),
            Observation::ContainerAdopted {
                restart_count: latest.attempt,
                running: exited_at.is_none(),
            },
        );
        self.watch_exit(index, latest.attempt, &latest.id);
        if exited_at.is_none() {
            let ran: Duration = status::now()
                .duration_since(started_at)
                .try_into()
                .unwrap_or_default();
            let since = Instant::now().checked_sub(ran).unwrap_or_else(Instant::now);
            let target = self.target(&container, &latest.id, pod_ip);
            self.start_probes(index, since, &target, true);
        }
    }
}
