//! Pod status in Kubernetes' own shape, from the worker's view of its containers: the phase
//! algorithm (`getPhase`), the conditions the kubelet owns, and container statuses
//! (docs/semantics.md §1).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, PodCondition, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::spec::{RestartPolicy, Role};

pub use crate::time::now;

/// How a container instance ended, for its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminated {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub container_id: String,
}

/// A container's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: Timestamp,
        container_id: String,
    },
    Terminated(Terminated),
}

/// What the status needs to know about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    pub role: Role,
    pub state: State,
    pub last_terminated: Option<Terminated>,
    pub restart_count: i32,
    pub ready: bool,
    pub started: bool,
    /// The signal that stops it, once it has started (`containerStatuses[].stopSignal`).
    pub stop_signal: Option<String>,
}

impl ContainerView {
    fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Exit code of the latest termination: the current state's, or `lastState`'s while waiting.
    fn last_exit(&self) -> Option<i32> {
        match &self.state {
            State::Terminated(t) => Some(t.exit_code),
            State::Waiting { .. } => self.last_terminated.as_ref().map(|t| t.exit_code),
            State::Running { .. } => None,
        }
    }
}

/// A pod's phase (`status.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl PodPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }

    /// Succeeded or Failed: no container will run again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl std::fmt::Display for PodPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pod phase, as `getPhase` computes it. `pod_terminal`: the pod is being deleted and
/// everything has stopped (then all-zero exits mean Succeeded, anything else Failed).
pub fn phase(
    containers: &[ContainerView],
    policy: RestartPolicy,
    app_ever_started: bool,
    pod_terminal: bool,
) -> PodPhase {
    let (mut pending_init, mut failed_init) = (0, 0);
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in containers {
        match c.role {
            Role::Init => match c.last_exit() {
                Some(0) if matches!(c.state, State::Terminated(_)) => {}
                Some(code) if code != 0 => failed_init += 1,
                _ => pending_init += 1,
            },
            Role::Sidecar => {
                if c.running() {
                    if c.started {
                        running += 1;
                    } else {
                        pending_init += 1;
                    }
                } else if matches!(c.state, State::Waiting { .. }) && c.last_terminated.is_none() {
                    pending_init += 1;
                    waiting += 1;
                }
            }
            Role::App => match &c.state {
                State::Running { .. } => running += 1,
                State::Terminated(t) => {
                    stopped += 1;
                    if t.exit_code == 0 {
                        succeeded += 1;
                    }
                }
                State::Waiting { .. } => match &c.last_terminated {
                    Some(t) => {
                        stopped += 1;
                        if t.exit_code == 0 {
                            succeeded += 1;
                        }
                    }
                    None => waiting += 1,
                },
            },
        }
    }
    if failed_init > 0 && policy == RestartPolicy::Never {
        return PodPhase::Failed;
    }
    if (pending_init > 0 && !app_ever_started) || waiting > 0 {
        return PodPhase::Pending;
    }
    if running > 0 {
        return PodPhase::Running;
    }
    if stopped > 0 {
        if pod_terminal {
            return if stopped == succeeded {
                PodPhase::Succeeded
            } else {
                PodPhase::Failed
            };
        }
        return match policy {
            RestartPolicy::Always => PodPhase::Running,
            _ if stopped == succeeded => PodPhase::Succeeded,
            RestartPolicy::Never => PodPhase::Failed,
            RestartPolicy::OnFailure => PodPhase::Running,
        };
    }
    PodPhase::Pending
}

/// Remembers when each condition last changed, so `lastTransitionTime` moves only on change.
#[derive(Debug, Default, Clone)]
pub struct Conditions {
    last: HashMap<ConditionKind, (bool, Timestamp)>,
}

impl Conditions {
    /// Records `status` for `kind`; returns whether it changed.
    pub fn set(&mut self, kind: ConditionKind, status: bool) -> bool {
        match self.last.get(&kind) {
            Some((old, _)) if *old == status => false,
            _ => {
                self.last.insert(kind, (status, now()));
                true
            }
        }
    }

    /// The conditions `status` reports, with their transition times: a restarted kubelet's
    /// status manager starts from the API's status, so nothing it still holds "changes".
    pub fn from_status(status: &PodStatus) -> Self {
        let last = status
            .conditions
            .iter()
            .flatten()
            .filter_map(|c| {
                let kind = ConditionKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == c.type_)?;
                let since = c.last_transition_time.as_ref().map_or_else(now, |t| t.0);
                Some((kind, (c.status == "True", since)))
            })
            .collect();
        Self { last }
    }

    fn since(&self, kind: ConditionKind) -> Option<Time> {
        self.last.get(&kind).map(|(_, t)| Time(*t))
    }
}

/// Everything the pod-level status is made of.
#[derive(Debug, Clone)]
pub struct PodView<'a> {
    pub containers: &'a [ContainerView],
    pub phase: PodPhase,
    pub sandbox_ready: bool,
    pub app_ever_started: bool,
    pub pod_ip: Option<String>,
    pub start_time: Option<Timestamp>,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// A pod condition the kubelet sets (`status.conditions[].type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ConditionKind {
    PodReadyToStartContainers,
    Initialized,
    Ready,
    ContainersReady,
    PodScheduled,
}

impl ConditionKind {
    /// Every kind, in the kubelet's order.
    pub const ALL: [ConditionKind; 5] = [
        Self::PodReadyToStartContainers,
        Self::Initialized,
        Self::Ready,
        Self::ContainersReady,
        Self::PodScheduled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PodReadyToStartContainers => "PodReadyToStartContainers",
            Self::Initialized => "Initialized",
            Self::Ready => "Ready",
            Self::ContainersReady => "ContainersReady",
            Self::PodScheduled => "PodScheduled",
        }
    }
}

impl std::fmt::Display for ConditionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ConditionKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| format!("no pod condition is called {name:?}"))
    }
}

/// The condition values of `view`, in the kubelet's order.
pub fn condition_values(
    view: &PodView<'_>,
) -> Vec<(ConditionKind, bool, Option<&'static str>, Option<String>)> {
    let list = |names: Vec<&str>| format!("[{}]", names.join(" "));
    let incomplete: Vec<&str> = view
        .containers
        .iter()
        .filter(|c| match c.role {
            Role::Init => !matches!(&c.state, State::Terminated(t) if t.exit_code == 0),
            Role::Sidecar => !c.started,
            Role::App => false,
        })
        .map(|c| c.name.as_str())
        .collect();
    let initialized = incomplete.is_empty() || view.app_ever_started;
    let unready: Vec<&str> = view
        .containers
        .iter()
        .filter(|c| c.role != Role::Init && !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    let ready = unready.is_empty();
    let (ready_reason, ready_message) = match (ready, view.phase) {
        (true, _) => (None, None),
        (false, PodPhase::Failed) => (Some("PodFailed"), None),
        (false, PodPhase::Succeeded) => (Some("PodCompleted"), None),
        (false, _) => (
            Some("ContainersNotReady"),
            Some(format!("containers with unready status: {}", list(unready))),
        ),
    };
    let (init_reason, init_message) = if initialized {
        (
            if view.phase == PodPhase::Succeeded {
                Some("PodCompleted")
            } else {
                None
            },
            None,
        )
    } else {
        (
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: {}",
                list(incomplete)
            )),
        )
    };
    let [to_start, init, pod_ready, containers_ready, scheduled] = ConditionKind::ALL;
    vec![
        (to_start, view.sandbox_ready, None, None),
        (init, initialized, init_reason, init_message),
        (pod_ready, ready, ready_reason, ready_message.clone()),
        (containers_ready, ready, ready_reason, ready_message),
        (scheduled, true, None, None),
    ]
}

/// The pod's status in Kubernetes' shape; `conditions` must already hold the current values.
pub fn pod_status(view: &PodView<'_>, conditions: &Conditions) -> PodStatus {
    let conditions_out = condition_values(view)
        .into_iter()
        .map(|(kind, status, reason, message)| PodCondition {
            type_: kind.as_str().to_owned(),
            status: if status { "True" } else { "False" }.to_owned(),
            reason: reason.map(str::to_owned),
            message,
            last_transition_time: conditions.since(kind),
            ..PodCondition::default()
        })
        .collect();
    let statuses = |role: fn(Role) -> bool| -> Option<Vec<ContainerStatus>> {
        let list: Vec<ContainerStatus> = view
            .containers
            .iter()
            .filter(|c| role(c.role))
            .map(container_status)
            .collect();
        (!list.is_empty()).then_some(list)
    };
    PodStatus {
        phase: Some(view.phase.as_str().to_owned()),
        conditions: Some(conditions_out),
        container_statuses: statuses(|r| r == Role::App),
        init_container_statuses: statuses(|r| r != Role::App),
        pod_ip: view.pod_ip.clone(),
        host_ip: Some("127.0.0.1".to_owned()),
        start_time: view.start_time.map(Time),
        reason: view.reason.clone(),
        message: view.message.clone(),
        qos_class: Some("BestEffort".to_owned()),
        ..PodStatus::default()
    }
}

impl Terminated {
    /// A termination as the API reported it: what a restarted kubelet reads back.
    pub fn from_api(t: &ContainerStateTerminated) -> Self {
        let at = |time: &Option<Time>| time.as_ref().map_or(Timestamp::UNIX_EPOCH, |t| t.0);
        Self {
            exit_code: t.exit_code,
            signal: t.signal,
            reason: t.reason.clone().unwrap_or_default(),
            message: t.message.clone(),
            started_at: at(&t.started_at),
            finished_at: at(&t.finished_at),
            container_id: t.container_id.clone().unwrap_or_default(),
        }
    }
}

fn terminated(t: &Terminated) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: t.exit_code,
        signal: t.signal,
        reason: Some(t.reason.clone()),
        message: t.message.clone(),
        started_at: Some(Time(t.started_at)),
        finished_at: Some(Time(t.finished_at)),
        container_id: Some(t.container_id.clone()),
    }
}

fn container_status(c: &ContainerView) -> ContainerStatus {
    let (state, id) = match &c.state {
        State::Waiting { reason, message } => (
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.clone()),
                    message: message.clone(),
                }),
                ..ContainerState::default()
            },
            None,
        ),
        State::Running {
            started_at,
            container_id,
        } => (
            ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(Time(*started_at)),
                }),
                ..ContainerState::default()
            },
            Some(container_id.clone()),
        ),
        State::Terminated(t) => (
            ContainerState {
                terminated: Some(terminated(t)),
                ..ContainerState::default()
            },
            Some(t.container_id.clone()),
        ),
    };
    ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone(),
        image_id: String::new(),
        container_id: id,
        state: Some(state),
        last_state: c.last_terminated.as_ref().map(|t| ContainerState {
            terminated: Some(terminated(t)),
            ..ContainerState::default()
        }),
        ready: c.ready,
        started: Some(c.started),
        restart_count: c.restart_count,
        stop_signal: c.stop_signal.clone(),
        ..ContainerStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(role: Role, state: State, last: Option<i32>) -> ContainerView {
        let t = |code| Terminated {
            exit_code: code,
            signal: None,
            reason: "Error".into(),
            message: None,
            started_at: now(),
            finished_at: now(),
            container_id: "x".into(),
        };
        ContainerView {
            name: "c".into(),
            image: "i".into(),
            role,
            state,
            last_terminated: last.map(t),
            restart_count: 0,
            ready: false,
            started: false,
            stop_signal: None,
        }
    }

    fn waiting() -> State {
        State::Waiting {
            reason: "ContainerCreating".into(),
            message: None,
        }
    }

    fn running() -> State {
        State::Running {
            started_at: now(),
            container_id: "x".into(),
        }
    }

    fn exited(code: i32) -> State {
        State::Terminated(Terminated {
            exit_code: code,
            signal: None,
            reason: "Error".into(),
            message: None,
            started_at: now(),
            finished_at: now(),
            container_id: "x".into(),
        })
    }

    #[test]
    fn phases_as_get_phase_decides() {
        use RestartPolicy::*;
        let app = |s, last| view(Role::App, s, last);
        assert_eq!(
            phase(&[app(waiting(), None)], Always, false, false),
            PodPhase::Pending
        );
        assert_eq!(
            phase(
                &[app(running(), None), app(waiting(), None)],
                Always,
                true,
                false
            ),
            PodPhase::Pending
        );
        assert_eq!(
            phase(&[app(waiting(), Some(1))], Always, true, false),
            PodPhase::Running,
            "CrashLoopBackOff is Running"
        );
        assert_eq!(
            phase(&[app(exited(0), None)], Always, true, false),
            PodPhase::Running
        );
        assert_eq!(
            phase(&[app(exited(0), None)], Never, true, false),
            PodPhase::Succeeded
        );
        assert_eq!(
            phase(&[app(exited(1), None)], Never, true, false),
            PodPhase::Failed
        );
        assert_eq!(
            phase(&[app(exited(1), None)], OnFailure, true, false),
            PodPhase::Running
        );
        assert_eq!(
            phase(
                &[app(running(), None), app(exited(1), None)],
                Never,
                true,
                false
            ),
            PodPhase::Running
        );
        assert_eq!(
            phase(&[app(exited(143), None)], Always, true, true),
            PodPhase::Failed,
            "deleted pod"
        );
        assert_eq!(
            phase(&[app(exited(0), None)], Always, true, true),
            PodPhase::Succeeded
        );
        let init = view(Role::Init, exited(1), None);
        assert_eq!(
            phase(&[init.clone(), app(waiting(), None)], Never, false, false),
            PodPhase::Failed
        );
        assert_eq!(
            phase(&[init, app(waiting(), None)], Always, false, false),
            PodPhase::Pending
        );
    }

    #[test]
    fn conditions_name_what_is_missing() {
        let mut init = view(Role::Init, running(), None);
        init.name = "setup".into();
        let mut app = view(Role::App, waiting(), None);
        app.name = "web".into();
        let containers = [init, app];
        let v = PodView {
            containers: &containers,
            phase: PodPhase::Pending,
            sandbox_ready: true,
            app_ever_started: false,
            pod_ip: None,
            start_time: None,
            reason: None,
            message: None,
        };
        let values = condition_values(&v);
        assert_eq!(values[1].0, ConditionKind::Initialized);
        assert!(!values[1].1);
        assert_eq!(
            values[1].3.as_deref(),
            Some("containers with incomplete status: [setup]")
        );
        assert_eq!(
            values[2].3.as_deref(),
            Some("containers with unready status: [web]")
        );
    }
}
