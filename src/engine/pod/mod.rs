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
mod publish;
mod results;
mod start;
mod sync;
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
use super::events::{EventLog, EventType, Observation};
use super::inputs::SharedInputs;
use super::kill::{Cut, TerminationOrder};
use super::prober::Gates;
use super::spec::{self, ProbeKind, ProbeSpec, RestartPolicy, Role};
use super::status::{self, Conditions, ContainerView, PodPhase, State};
use crate::probe::hosts::Hosts;
use crate::runtime::{ContainerId, ContainerRuntime, ExitStatus, Sandbox, SandboxSpec, Signal};

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
    restart: Restart,
    instances: i32,
}

/// A restart asked for a container, beyond what its exit code and the restart policy say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restart {
    /// None: the policy decides when it exits.
    Idle,
    /// Restart it whatever the exit code: a failed probe or postStart killed it, or it could
    /// not be created or started.
    Forced,
    /// Its crash-loop back-off timer is running.
    BackingOff,
    /// The back-off has passed: start it on this sync.
    Due,
}

/// Where the pod is in its life, as the kubelet's pod worker sees it.
enum Stage {
    /// `SyncPod`: containers are started, and restarted as the policy says.
    Running,
    /// `SyncTerminatingPod`: every running container is being killed within one grace period
    /// (manifest seconds), the stop signals in `order`.
    Terminating { grace: i64, order: TerminationOrder },
    /// Everything stopped and removed (`SyncTerminatedPod` done).
    Terminated,
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
    phase: PodPhase,
    app_ever_started: bool,
    start_time: Option<Timestamp>,
    stage: Stage,
    /// Deleted (or past its deadline), rather than completed by itself.
    deleted: bool,
    reason: Option<String>,
    message: Option<String>,
    dead: Vec<ContainerId>,
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
                    restart: Restart::Idle,
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
            phase: PodPhase::Pending,
            app_ever_started: false,
            start_time: None,
            stage: Stage::Running,
            deleted: false,
            reason: None,
            message: None,
            dead: Vec::new(),
            tasks: Tasks::default(),
            restart: None,
            kubelet_started: None,
        }
    }

    /// The grace period of the termination under way, if one is.
    fn terminating(&self) -> Option<i64> {
        match self.stage {
            Stage::Terminating { grace, .. } => Some(grace),
            _ => None,
        }
    }

    fn finished(&self) -> bool {
        matches!(self.stage, Stage::Terminated)
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
            self.phase = PodPhase::Failed;
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
                self.phase = PodPhase::Failed;
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
        while !self.finished() {
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
                let slot = &mut self.slots[slot];
                if slot.restart == Restart::BackingOff {
                    slot.restart = Restart::Due;
                }
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
                if self.terminating().is_none() && !self.phase.is_terminal() {
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
}

fn succeeded(state: &State) -> bool {
    matches!(state, State::Terminated(t) if t.exit_code == 0)
}
