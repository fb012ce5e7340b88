//! The lifecycle engine: runs pods with the kubelet's semantics on a [`ContainerRuntime`].
//!
//! [`Engine`] is the handle: apply pods, delete them (with a grace override), read their
//! status, and follow the event log. Each pod is driven by its own [`worker::PodWorker`] task;
//! every wait is a tokio timer and every manifest duration passes through the engine's
//! [`TimeScale`].

pub mod backoff;
pub mod events;
pub mod handlers;
pub mod prober;
pub mod spec;
pub mod status;
pub mod timeline;
pub mod worker;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use events::{Event, EventLog, EventType, HookKind, Observation, Record, What};

use crate::probe::hosts::Hosts;
use crate::runtime::ContainerRuntime;
use crate::time::TimeScale;
use worker::{Msg, PodWorker};

struct PodEntry {
    tx: mpsc::UnboundedSender<Msg>,
    status: watch::Receiver<PodStatus>,
    task: Option<JoinHandle<()>>,
}

/// The engine: a runtime, a time scale, an event log and the pods it runs.
pub struct Engine {
    runtime: Arc<dyn ContainerRuntime>,
    log: EventLog,
    pods: Mutex<BTreeMap<String, PodEntry>>,
    hosts: Hosts,
}

impl Engine {
    pub fn new(runtime: Arc<dyn ContainerRuntime>, scale: TimeScale) -> Self {
        Self::with_hosts(runtime, scale, Hosts::new())
    }

    /// An engine whose host names are `hosts`, a table shared with the runtime (the Docker
    /// runtime writes it into each pod's `/etc/hosts`).
    pub fn with_hosts(runtime: Arc<dyn ContainerRuntime>, scale: TimeScale, hosts: Hosts) -> Self {
        Self {
            runtime,
            log: EventLog::new(scale),
            pods: Mutex::new(BTreeMap::new()),
            hosts,
        }
    }

    /// The names this engine's hooks and probes resolve before the system's resolver (the
    /// node's `/etc/hosts`): add fixture servers here, such as the seed's `monitor.com`.
    pub fn hosts(&self) -> &Hosts {
        &self.hosts
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    pub fn runtime(&self) -> &Arc<dyn ContainerRuntime> {
        &self.runtime
    }

    /// Starts running `pod` (named, with a uid: see [`crate::manifest::expand`]).
    pub fn apply(&self, pod: Pod) -> Result<(), String> {
        let name = pod
            .metadata
            .name
            .clone()
            .ok_or_else(|| "a pod needs a name".to_owned())?;
        let mut pods = self.pods.lock().expect("engine state");
        if pods.contains_key(&name) {
            return Err(format!("pod {name} already exists"));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (status_tx, status_rx) = watch::channel(PodStatus {
            phase: Some("Pending".into()),
            ..PodStatus::default()
        });
        let worker = PodWorker::new(
            pod,
            self.runtime.clone(),
            self.log.clone(),
            tx.clone(),
            rx,
            status_tx,
            self.hosts.clone(),
        );
        let task = tokio::spawn(worker.run());
        pods.insert(
            name,
            PodEntry {
                tx,
                status: status_rx,
                task: Some(task),
            },
        );
        Ok(())
    }

    /// Names of the pods applied so far.
    pub fn pods(&self) -> Vec<String> {
        self.pods
            .lock()
            .expect("engine state")
            .keys()
            .cloned()
            .collect()
    }

    /// Deletes a pod gracefully; `grace` (manifest seconds) overrides the pod's
    /// `terminationGracePeriodSeconds`, and 0 kills at once.
    pub fn delete(&self, pod: &str, grace: Option<i64>) -> Result<(), String> {
        let pods = self.pods.lock().expect("engine state");
        let entry = pods.get(pod).ok_or_else(|| format!("no pod {pod}"))?;
        let _ = entry.tx.send(Msg::Delete { grace });
        Ok(())
    }

    /// The current status of a pod.
    pub fn status(&self, pod: &str) -> Option<PodStatus> {
        let pods = self.pods.lock().expect("engine state");
        pods.get(pod).map(|e| e.status.borrow().clone())
    }

    /// Follows a pod's status.
    pub fn watch(&self, pod: &str) -> Option<watch::Receiver<PodStatus>> {
        let pods = self.pods.lock().expect("engine state");
        pods.get(pod).map(|e| e.status.clone())
    }

    /// Waits until a pod's worker has finished (everything stopped and removed).
    pub async fn wait_finished(&self, pod: &str) {
        let task = {
            let mut pods = self.pods.lock().expect("engine state");
            pods.get_mut(pod).and_then(|e| e.task.take())
        };
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// Deletes every pod (with `grace`) and waits until all have finished.
    pub async fn shutdown(&self, grace: Option<i64>) {
        let names = self.pods();
        for name in &names {
            let _ = self.delete(name, grace);
        }
        for name in &names {
            self.wait_finished(name).await;
        }
    }
}
