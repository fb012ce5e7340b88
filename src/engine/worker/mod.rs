//! The pod worker: one task per pod that owns the pod's state and reacts to messages (container
//! exits, probe results, back-off timers, deletion), the way the kubelet's pod worker runs
//! `SyncPod` → `SyncTerminatingPod` → `SyncTerminatedPod`.
//!
//! After every message, [`PodWorker::sync`] decides what to do next from the state alone:
//! start the next init container, start or restart app containers (with crash-loop back-off),
//! notice that the pod has completed, or drive termination. Starting a container (create →
//! start → postStart) happens inside the sync, one container after another, as in the kubelet;
//! killing one (preStop → stop signal → grace → SIGKILL) runs in a task of its own, so probes
//! and deletion keep being handled meanwhile.

mod adopt;
mod prepare;
mod start;
mod terminate;

pub use adopt::KubeletRestart;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodStatus};
use k8s_openapi::jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::events::{EventLog, EventType, HookKind, Observation, What};
use super::handlers::{self, Target};
use super::inputs::SharedInputs;
use super::kill::{Cut, Kill, TerminationOrder};
use super::prober::{Gates, ProbeWorker};
use super::service_env;
use super::spec::{self, Handler, ProbeKind, ProbeSpec, RestartPolicy, Role};
use super::status::{self, Conditions, ContainerView, PodView, State, Terminated};
use crate::probe::hosts::Hosts;
use crate::runtime::{
    ContainerId, ContainerRuntime, ContainerSpec, ExitStatus, Fetched, MountSpec, Sandbox,
    SandboxSpec, Signal, VolumeSpec,
};

/// How often a volume whose source is missing is tried again (manifest seconds).
const MOUNT_RETRY_SECONDS: i64 = 2;

/// The environment variable that tells containers the time scale.
pub const TIME_SCALE_VARIABLE: &str = "PODLIFE_TIME_SCALE";

/// Termination messages are cut at this size; the log fallback at 80 lines / 2 KiB.
const TERMINATION_MESSAGE_LIMIT: usize = 4096;
const FALLBACK_LINES: usize = 80;
const FALLBACK_BYTES: usize = 2048;

/// Messages to a pod worker.
#[derive(Debug)]
pub enum Msg {
    Exited {
        slot: usize,
        attempt: i32,
        exit: ExitStatus,
    },
    Probe {
        slot: usize,
        attempt: i32,
        kind: ProbeKind,
        success: bool,
    },
    /// A back-off wait is over.
    Restart { slot: usize },
    /// Delete the pod, with this grace period (manifest seconds) instead of the pod's.
    Delete { grace: Option<i64> },
    /// Stop everything now: SIGKILL without preStop or stop window (`podlife run`'s second
    /// Ctrl-C and test teardown; a deletion, however short, always gets the kubelet's window).
    KillNow,
    /// `activeDeadlineSeconds` has passed.
    Deadline,
    /// Nothing new: look at the state again.
    Resync,
}

/// One container of the pod and its current instance.
struct Slot {
    container: Container,
    role: Role,
    probes: Vec<ProbeSpec>,
    view: ContainerView,
    live: Option<Live>,
    backoff: Backoff,
    /// A back-off timer is running.
    restart_pending: bool,
    /// The back-off timer has fired: start it on this sync.
    restart_due: bool,
    /// Restart whatever the exit code (it was killed by a failed probe or postStart).
    force_restart: bool,
    instances: i32,
}

/// The running instance of a container.
struct Live {
    id: ContainerId,
    attempt: i32,
    started_at: Timestamp,
    /// When it ended, if the runtime already said so when it was adopted.
    exited_at: Option<Timestamp>,
    gates: watch::Sender<Gates>,
    killing: bool,
    /// Moves in the deadlines of the kill under way (a later, shorter deletion).
    cut: watch::Sender<Option<Cut>>,
    /// What stops it: `lifecycle.stopSignal`, else the image's STOPSIGNAL, else SIGTERM.
    stop_signal: Signal,
}

/// The tasks a pod worker starts (probe workers, exit waiters, kills, timers): they end with
/// it, so a worker that is stopped — at the pod's end, or abruptly as a restarting kubelet's
/// are — leaves nothing of its own running.
#[derive(Default)]
struct Tasks(JoinSet<()>);

impl Tasks {
    fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        while self.0.try_join_next().is_some() {}
        self.0.spawn(task);
    }
}

/// A pod worker; see the module documentation.
pub struct PodWorker {
    pod: Pod,
    name: String,
    namespace: String,
    uid: String,
    spec: PodSpec,
    runtime: Arc<dyn ContainerRuntime>,
    log: EventLog,
    /// The engine's host names, for httpGet/tcpSocket handlers that name a host.
    hosts: Hosts,
    /// The variables of the Services that existed when the pod was applied.
    service_env: Vec<(String, String)>,
    /// The ConfigMaps and Secrets its environment and volumes come from.
    inputs: SharedInputs,
    /// Told when everything is stopped and removed, before that is logged: a controller
    /// that reacts to the record may reuse the pod's name at once.
    done: watch::Sender<bool>,
    policy: RestartPolicy,
    slots: Vec<Slot>,
    sandbox: Option<Sandbox>,
    /// The pod IP, kept after the sandbox is gone (as status.podIP is).
    pod_ip: Option<String>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    status: watch::Sender<PodStatus>,
    /// Set when deletion starts, so that long waits inside a sync can give way.
    stopping: watch::Sender<bool>,
    conditions: Conditions,
    phase: &'static str,
    app_ever_started: bool,
    start_time: Option<Timestamp>,
    /// Grace period of the termination under way (manifest seconds).
    terminating: Option<i64>,
    /// The order of the stop signals of the termination under way.
    order: Option<TerminationOrder>,
    /// Deleted (or past its deadline), rather than completed by itself.
    deleted: bool,
    reason: Option<String>,
    message: Option<String>,
    dead: Vec<ContainerId>,
    finished: bool,
    tasks: Tasks,
    /// Set when this worker replaces one a restarting kubelet lost: it adopts what the
    /// runtime still holds (docs/semantics.md §11).
    restart: Option<adopt::KubeletRestart>,
    /// When the kubelet (re)started, if it did while this pod could be affected: probe
    /// workers begun within a period of it are spread out (see [`ProbeWorker`]).
    kubelet_started: Option<Instant>,
}

/// The signal that stops `container`: `lifecycle.stopSignal`, else its image's STOPSIGNAL,
/// else SIGTERM (KEP-4960's order).
async fn stop_signal_of(container: &Container, runtime: &Arc<dyn ContainerRuntime>) -> Signal {
    let own = container
        .lifecycle
        .as_ref()
        .and_then(|l| l.stop_signal.as_deref())
        .and_then(crate::runtime::parse_signal);
    match own {
        Some(signal) => signal,
        None => runtime
            .image_config(container.image.as_deref().unwrap_or_default())
            .await
            .ok()
            .and_then(|c| c.stop_signal)
            .unwrap_or(Signal::SIGTERM),
    }
}

impl PodWorker {
    /// Gives the pod's containers these Service variables (before their own `env`).
    pub fn with_service_env(mut self, env: Vec<(String, String)>) -> Self {
        self.service_env = env;
        self
    }

    /// Reads ConfigMaps and Secrets from `inputs`.
    pub fn with_inputs(mut self, inputs: SharedInputs) -> Self {
        self.inputs = inputs;
        self
    }

    /// The kubelet started at `at` (see [`PodWorker::kubelet_started`]).
    pub fn with_kubelet_started(mut self, at: Option<Instant>) -> Self {
        self.kubelet_started = at;
        self
    }

    /// Sends `true` on `done` when the pod has finished (everything stopped and removed).
    pub fn with_done(mut self, done: watch::Sender<bool>) -> Self {
        self.done = done;
        self
    }

    pub fn new(
        pod: Pod,
        runtime: Arc<dyn ContainerRuntime>,
        log: EventLog,
        tx: mpsc::UnboundedSender<Msg>,
        rx: mpsc::UnboundedReceiver<Msg>,
        status: watch::Sender<PodStatus>,
        hosts: Hosts,
    ) -> Self {
        let spec = pod.spec.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let namespace = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let lists = [
            (spec.init_containers.clone().unwrap_or_default(), true),
            (spec.containers.clone(), false),
        ];
        let slots = lists
            .into_iter()
            .flat_map(|(list, init)| list.into_iter().map(move |c| (c, init)))
            .map(|(container, init)| {
                let role = Role::of(&container, init);
                Slot {
                    probes: if role == Role::Init {
                        Vec::new()
                    } else {
                        ProbeSpec::of_container(&container)
                    },
                    view: ContainerView {
                        name: container.name.clone(),
                        image: container.image.clone().unwrap_or_default(),
                        role,
                        // The kubelet's default waiting state (`convertToAPIContainerStatuses`):
                        // PodInitializing for every container of a pod with init containers.
                        state: State::Waiting {
                            reason: if spec.init_containers.as_ref().is_none_or(Vec::is_empty) {
                                "ContainerCreating".into()
                            } else {
                                "PodInitializing".into()
                            },
                            message: None,
                        },
                        last_terminated: None,
                        restart_count: 0,
                        ready: false,
                        started: false,
                        stop_signal: None,
                    },
                    container,
                    role,
                    live: None,
                    backoff: Backoff::default(),
                    restart_pending: false,
                    restart_due: false,
                    force_restart: false,
                    instances: 0,
                }
            })
            .collect();
        Self {
            policy: RestartPolicy::of(&spec),
            hosts,
            service_env: Vec::new(),
            inputs: SharedInputs::default(),
            done: watch::channel(false).0,
            pod,
            name,
            namespace,
            uid,
            spec,
            runtime,
            log,
            slots,
            sandbox: None,
            pod_ip: None,
            tx,
            rx,
            status,
            stopping: watch::channel(false).0,
            conditions: Conditions::default(),
            phase: "Pending",
            app_ever_started: false,
            start_time: None,
            terminating: None,
            order: None,
            deleted: false,
            reason: None,
            message: None,
            dead: Vec::new(),
            finished: false,
            tasks: Tasks::default(),
            restart: None,
            kubelet_started: None,
        }
    }

    /// `name_namespace(uid)`, as kubelet messages name pods.
    fn pod_ref(&self) -> String {
        format!("{}_{}({})", self.name, self.namespace, self.uid)
    }

    fn event(&self, container: Option<&str>, type_: EventType, reason: &str, message: String) {
        self.log
            .event(&self.name, container, type_, reason, message);
    }

    fn observe(&self, container: Option<&str>, observation: Observation) {
        self.log.observe(&self.name, container, observation);
    }

    /// Runs the pod until it has finished: everything stopped and removed.
    pub async fn run(mut self) {
        if self.adopt().await {
            self.arm_deadline();
            self.publish();
            return self.serve().await;
        }
        if self.start_time.is_none() {
            self.event(
                None,
                EventType::Normal,
                "Scheduled",
                format!(
                    "Successfully assigned {}/{} to podlife",
                    self.namespace, self.name
                ),
            );
            self.start_time = Some(status::now());
        }
        self.arm_deadline();

        let Some(volumes) = self.volumes().await else {
            // Deleted while waiting for a volume's source.
            self.phase = "Failed";
            self.publish();
            self.finish().await;
            return;
        };
        let hostname = self
            .spec
            .hostname
            .clone()
            .unwrap_or_else(|| self.name.clone());
        // With a subdomain (a StatefulSet's serviceName), the pod has DNS names of its own, as
        // its headless Service gives it: `db-0.db.default.svc.cluster.local` and shorter.
        let domain_names: Vec<String> = self
            .spec
            .subdomain
            .iter()
            .flat_map(|sub| {
                let ns = &self.namespace;
                [
                    format!("{hostname}.{sub}.{ns}.svc.cluster.local"),
                    format!("{hostname}.{sub}.{ns}.svc"),
                    format!("{hostname}.{sub}.{ns}"),
                    format!("{hostname}.{sub}"),
                ]
            })
            .collect();
        let sandbox_spec = SandboxSpec {
            pod_uid: self.uid.clone(),
            pod_name: self.name.clone(),
            namespace: self.namespace.clone(),
            hostname: hostname.clone(),
            domain_names: domain_names.clone(),
            volumes,
            annotations: self.pod.metadata.annotations.clone().unwrap_or_default(),
        };
        match self.runtime.create_sandbox(&sandbox_spec).await {
            Ok(sandbox) => {
                self.pod_ip = Some(sandbox.ip.to_string());
                // Hooks, probes and pods created from now on resolve them too.
                for name in &domain_names {
                    self.hosts.alias(name, sandbox.ip);
                }
                self.sandbox = Some(sandbox);
            }
            Err(e) => {
                self.event(
                    None,
                    EventType::Warning,
                    "FailedCreatePodSandBox",
                    format!("Failed to create pod sandbox: {e}"),
                );
                self.phase = "Failed";
                self.publish();
                self.finish().await;
                return;
            }
        }
        self.publish();
        self.serve().await;
    }

    /// activeDeadlineSeconds counts from the pod's startTime, sandbox creation included.
    fn arm_deadline(&mut self) {
        let (Some(deadline), Some(start)) = (self.spec.active_deadline_seconds, self.start_time)
        else {
            return;
        };
        let scale = self.log.scale();
        let ran: Duration = status::now()
            .duration_since(start)
            .try_into()
            .unwrap_or_default();
        let wait = scale.seconds(deadline).saturating_sub(ran);
        let tx = self.tx.clone();
        self.tasks.spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = tx.send(Msg::Deadline);
        });
    }

    /// Syncs, then handles messages until the pod has finished.
    async fn serve(&mut self) {
        self.sync().await;
        while !self.finished {
            let Some(msg) = self.rx.recv().await else {
                break;
            };
            self.handle(msg).await;
            self.sync().await;
        }
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Exited {
                slot,
                attempt,
                exit,
            } => self.exited(slot, attempt, exit).await,
            Msg::Probe {
                slot,
                attempt,
                kind,
                success,
            } => self.probe_result(slot, attempt, kind, success),
            Msg::Restart { slot } => {
                let s = &mut self.slots[slot];
                s.restart_pending = false;
                s.restart_due = true;
            }
            Msg::Delete { grace } => {
                // The kubelet's pod worker gives every deletion at least 1 s
                // (`calculateEffectiveGracePeriod`): a force deletion still runs preStop for up
                // to a second and gets the stop window (docs/semantics.md §4.4).
                let grace = grace
                    .unwrap_or_else(|| spec::grace_seconds(&self.spec))
                    .max(1);
                self.deleted = true;
                self.begin_termination(grace);
            }
            Msg::KillNow => {
                self.deleted = true;
                self.begin_termination(1);
                for live in self.slots.iter().filter_map(|s| s.live.as_ref()) {
                    live.cut.send_replace(Some(Cut::Now));
                }
            }
            Msg::Resync => {}
            Msg::Deadline => {
                if self.terminating.is_none() && !is_terminal(self.phase) {
                    let message = "Pod was active on the node longer than the specified deadline";
                    self.event(None, EventType::Warning, "DeadlineExceeded", message.into());
                    self.reason = Some("DeadlineExceeded".into());
                    self.message = Some(message.into());
                    self.deleted = true;
                    self.begin_termination(spec::grace_seconds(&self.spec).max(1));
                }
            }
        }
        self.publish();
    }

    async fn exited(&mut self, index: usize, attempt: i32, exit: ExitStatus) {
        let Some(live) = self.slots[index].live.take_if(|l| l.attempt == attempt) else {
            return;
        };
        live.gates.send_modify(|g| g.exited = true);
        if let Some(order) = &self.order {
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

    fn probe_result(&mut self, index: usize, attempt: i32, kind: ProbeKind, success: bool) {
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
                if self.terminating.is_some() || live.killing {
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
                self.slots[index].force_restart =
                    self.policy != RestartPolicy::Never || slot.role == Role::Sidecar;
                self.kill(index, message, grace);
            }
            (ProbeKind::Liveness, true) => {}
        }
    }

    fn set_ready(&mut self, index: usize, ready: bool) {
        let slot = &mut self.slots[index];
        if slot.view.ready != ready {
            slot.view.ready = ready;
            let name = slot.container.name.clone();
            self.observe(Some(&name), Observation::ReadyChanged { ready });
        }
    }

    /// Decides and does what comes next, as the kubelet's SyncPod does.
    async fn sync(&mut self) {
        if self.finished {
            return;
        }
        if self.terminating.is_some() {
            self.sync_terminating().await;
            return;
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
                || slot.force_restart
                || match &slot.view.state {
                    State::Terminated(t) => self.policy.restarts(t.exit_code),
                    State::Waiting { .. } => true,
                    State::Running { .. } => false,
                };
            if wants_start && !self.finished && self.terminating.is_none() {
                self.start_or_back_off(index).await;
            }
        }
        if self.terminating.is_some() {
            // Deleted while starting containers.
            self.sync_terminating().await;
            return;
        }
        let done = self.slots.iter().filter(|s| s.role == Role::App).all(|s| {
            s.live.is_none()
                && !s.restart_pending
                && !s.force_restart
                && matches!(&s.view.state, State::Terminated(t) if !self.policy.restarts(t.exit_code))
        });
        if done {
            self.complete().await;
        }
    }

    /// The pod has run to completion (or its init failed under Never): stop what still runs.
    async fn complete(&mut self) {
        if !is_terminal(self.phase) {
            self.phase = status::phase(&self.views(), self.policy, self.app_ever_started, false);
        }
        self.begin_termination(spec::grace_seconds(&self.spec));
        self.publish();
        self.sync_terminating().await;
    }

    fn views(&self) -> Vec<ContainerView> {
        self.slots.iter().map(|s| s.view.clone()).collect()
    }

    /// Recomputes the status, records what changed, and publishes it.
    fn publish(&mut self) {
        let views = self.views();
        if !is_terminal(self.phase) && self.terminating.is_none() {
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
        if old_phase.as_deref() != Some(self.phase) {
            self.observe(
                None,
                Observation::PhaseChanged {
                    phase: self.phase.to_owned(),
                },
            );
        }
        self.status.send_replace(new);
        let _ = &self.pod;
    }
}

fn succeeded(state: &State) -> bool {
    matches!(state, State::Terminated(t) if t.exit_code == 0)
}

fn is_terminal(phase: &str) -> bool {
    phase == "Succeeded" || phase == "Failed"
}
