//! Events (what the kubelet would emit) and observations (what a test needs to see that the
//! kubelet does not publish), in one append-only, timestamped log per engine.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::spec::ProbeKind;
use super::status::{ConditionKind, PodPhase};
use crate::runtime::Signal;
use crate::time::TimeScale;

/// A Kubernetes event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    Normal,
    Warning,
}

/// A kubelet event: reason and message as the kubelet writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub type_: EventType,
    pub reason: String,
    pub message: String,
}

/// Which lifecycle hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HookKind {
    PostStart,
    PreStop,
}

/// How one probe attempt came out, before thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Attempt {
    Success,
    /// Passed with a warning (`ProbeWarning`).
    Warning,
    Failure,
    /// The prober could not run it; not counted.
    Error,
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Failure => "failure",
            Self::Error => "error",
        })
    }
}

/// A signal by its name (`SIGTERM`), as reports show it.
fn signal_name<S: serde::Serializer>(signal: &Signal, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(signal.as_str())
}

/// Things that happened which tests assert on but the kubelet does not publish.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "observation", rename_all = "camelCase")]
pub enum Observation {
    /// A container instance started (its process runs).
    ContainerStarted {
        restart_count: i32,
    },
    /// A container instance ended.
    ContainerExited {
        exit_code: i32,
        signal: Option<i32>,
        reason: String,
    },
    HookStarted {
        hook: HookKind,
    },
    /// A hook finished; `error` when it failed.
    HookFinished {
        hook: HookKind,
        error: Option<String>,
    },
    /// One probe attempt and its raw outcome.
    ProbeAttempt {
        probe: ProbeKind,
        outcome: Attempt,
        output: String,
    },
    /// A probe's published result changed (after its threshold).
    ProbeResult {
        probe: ProbeKind,
        success: bool,
    },
    /// A signal was sent to a container.
    SignalSent {
        #[serde(serialize_with = "signal_name")]
        signal: Signal,
    },
    /// The pod began terminating, with this grace period (manifest seconds).
    Terminating {
        grace_seconds: i64,
    },
    PhaseChanged {
        phase: PodPhase,
    },
    ConditionChanged {
        condition: ConditionKind,
        status: bool,
    },
    /// A container's `ready` changed.
    ReadyChanged {
        ready: bool,
    },
    /// The pod worker is done: everything stopped and removed.
    PodFinished,
    /// The kubelet restarted: a new worker takes the pod over from the runtime
    /// (docs/semantics.md §11).
    KubeletRestarted,
    /// After a kubelet restart, a container instance found in the runtime, running or exited
    /// (its postStart is not run again).
    ContainerAdopted {
        restart_count: i32,
        running: bool,
    },
    /// The pod's place in a Service changed (`added to service web`, `removed from service
    /// web: not ready`); `ready` is whether it now gets new connections.
    Endpoint {
        service: String,
        change: String,
        ready: bool,
    },
    /// A replica workload's counts changed (its ReplicaSet's `status`): pods wanted, Ready,
    /// and available (Ready for `minReadySeconds`).
    Replicas {
        desired: usize,
        ready: usize,
        available: usize,
    },
    /// A request reached a monitor started by podlife (`podlife run --monitor`).
    Request {
        method: String,
        path: String,
        user_agent: String,
    },
}

/// What a [`Record`] holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum What {
    Event(Event),
    Observation(Observation),
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Position in the log.
    pub seq: u64,
    /// Wall time since the engine started.
    #[serde(serialize_with = "seconds")]
    pub wall: Duration,
    /// The same instant in manifest time (wall / time scale).
    #[serde(serialize_with = "seconds")]
    pub manifest: Duration,
    pub pod: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(flatten)]
    pub what: What,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Record {
    pub fn event(&self) -> Option<&Event> {
        match &self.what {
            What::Event(e) => Some(e),
            What::Observation(_) => None,
        }
    }

    pub fn observation(&self) -> Option<&Observation> {
        match &self.what {
            What::Observation(o) => Some(o),
            What::Event(_) => None,
        }
    }
}

/// The engine's log: appended to by every pod worker, read by the CLI and the harness.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    scale: TimeScale,
    records: Mutex<Vec<Record>>,
    sender: broadcast::Sender<Record>,
}

impl EventLog {
    pub fn new(scale: TimeScale) -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                scale,
                records: Mutex::new(Vec::new()),
                sender: broadcast::channel(4096).0,
            }),
        }
    }

    pub fn scale(&self) -> TimeScale {
        self.inner.scale
    }

    /// Wall time since the engine started.
    pub fn elapsed(&self) -> Duration {
        self.inner.start.elapsed()
    }

    pub fn push(&self, pod: &str, container: Option<&str>, what: What) -> Record {
        let wall = self.elapsed();
        let mut records = self.inner.records.lock().expect("event log");
        let record = Record {
            seq: records.len() as u64,
            wall,
            manifest: self.inner.scale.manifest(wall),
            pod: pod.to_owned(),
            container: container.map(str::to_owned),
            what,
        };
        records.push(record.clone());
        // Sent under the lock, so that followers receive records in `seq` order.
        let _ = self.inner.sender.send(record.clone());
        drop(records);
        record
    }

    /// Logs a kubelet-style event about `pod` (and `container`).
    pub fn event(
        &self,
        pod: &str,
        container: Option<&str>,
        type_: EventType,
        reason: &str,
        message: String,
    ) -> Record {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            message,
        };
        self.push(pod, container, What::Event(event))
    }

    /// Logs an observation about `pod` (and `container`).
    pub fn observe(&self, pod: &str, container: Option<&str>, observation: Observation) -> Record {
        self.push(pod, container, What::Observation(observation))
    }

    /// Everything so far.
    pub fn records(&self) -> Vec<Record> {
        self.inner.records.lock().expect("event log").clone()
    }

    /// Records from now on (together with [`EventLog::records`] for the past).
    pub fn subscribe(&self) -> broadcast::Receiver<Record> {
        self.inner.sender.subscribe()
    }
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog").finish_non_exhaustive()
    }
}
