//! The lifecycle engine: runs pods with the kubelet's semantics on a [`ContainerRuntime`].
//!
//! [`Engine`] is the handle: apply pods, delete them (with a grace override), read their
//! status, and follow the event log. Each pod is driven by its own [`pod::PodWorker`] task;
//! every wait is a tokio timer and every manifest duration passes through the engine's
//! [`TimeScale`].

pub mod backoff;
pub mod controller;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod handlers;
pub mod inputs;
pub mod kill;
pub mod pod;
pub mod prober;
pub mod proxy;
pub mod service_env;
pub mod spec;
pub mod status;
pub mod timeline;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{ContainerPort, Pod, PodStatus, Service};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use error::EngineError;
pub use events::{Event, EventLog, EventType, HookKind, Observation, Record, What};

use crate::manifest::expand::{Plan, WorkloadPlan};
use crate::manifest::object::Input;
use crate::probe::hosts::Hosts;
use crate::runtime::{ContainerRuntime, ServiceAddress};
use crate::time::TimeScale;
use pod::{Msg, PodWorker};

/// A pod as the engine's API side holds it: its spec, its last status and the deletion asked
/// for outlive its worker (the kubelet's part), which a restart replaces.
struct PodEntry {
    pod: Pod,
    tx: mpsc::UnboundedSender<Msg>,
    status: watch::Sender<PodStatus>,
    /// Turns true when the pod's worker is done (everything stopped and removed).
    done: watch::Sender<bool>,
    /// Taken while a kubelet restart replaces it.
    worker: Option<JoinHandle<()>>,
    /// The deletion asked for, if any, with its grace override (the shortest asked).
    deletion: Option<Option<i64>>,
    /// For Service selectors and named target ports.
    labels: BTreeMap<String, String>,
    ports: Vec<ContainerPort>,
}

impl PodEntry {
    /// Still at work (its worker has neither finished the pod nor died).
    fn live(&self) -> bool {
        !*self.done.borrow() && self.worker.as_ref().is_some_and(|w| !w.is_finished())
    }

    /// Remembers a deletion with `grace`: the shorter override wins, as the API server
    /// only ever shortens `deletionGracePeriodSeconds`.
    fn note_deletion(&mut self, grace: Option<i64>) {
        self.deletion = Some(match (self.deletion.flatten(), grace) {
            (Some(old), Some(new)) => Some(old.min(new)),
            (old, new) => new.or(old),
        });
    }
}

type Pods = Arc<Mutex<BTreeMap<String, PodEntry>>>;

/// The Services and their current endpoints.
#[derive(Default)]
struct Services {
    /// Names applied or being applied.
    reserved: std::collections::BTreeSet<String>,
    specs: BTreeMap<String, Service>,
    endpoints: BTreeMap<String, Vec<endpoints::Endpoint>>,
    /// From the log, which the controller follows (a pod's status is published just after
    /// its records): Ready and phase per pod, pods that began terminating, pods gone.
    ready: BTreeMap<String, bool>,
    phase: BTreeMap<String, String>,
    terminating: std::collections::BTreeSet<String>,
    gone: std::collections::BTreeSet<String>,
    controller: Option<JoinHandle<()>>,
    /// Each Service's address and listening ports.
    addresses: BTreeMap<String, ServiceAddress>,
    proxies: BTreeMap<String, Vec<proxy::PortProxy>>,
}

impl Services {
    /// Forgets what the log said of a pod (a new pod takes its name: see [`note`]).
    fn forget(&mut self, pod: &str) {
        self.ready.remove(pod);
        self.phase.remove(pod);
        self.terminating.remove(pod);
        self.gone.remove(pod);
    }

    /// The variables a pod in `namespace` gets for the Services there (`enableServiceLinks`).
    fn env(&self, namespace: &str) -> Vec<(String, String)> {
        let links: Vec<service_env::ServiceLink> = self
            .specs
            .iter()
            .filter(|(_, s)| s.metadata.namespace.as_deref().unwrap_or("default") == namespace)
            .map(|(name, _)| service_env::ServiceLink {
                name: name.clone(),
                ports: self
                    .proxies
                    .get(name)
                    .into_iter()
                    .flatten()
                    .map(|p| (p.name.clone(), p.address))
                    .collect(),
            })
            .collect();
        service_env::from_services(&links)
    }
}

/// The names a Service answers to in its pods: `web`, `web.default`, `web.default.svc` and
/// `web.default.svc.cluster.local` (cluster DNS with the pods' search path).
pub fn service_dns_names(name: &str, namespace: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        format!("{name}.{namespace}"),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.cluster.local"),
    ]
}

/// Counts what is still at work (pod workers, controllers that may create pods) while it
/// lives: [`Engine::wait_idle`] waits for the count to reach zero.
struct Busy(Arc<watch::Sender<usize>>);

impl Busy {
    fn new(count: &Arc<watch::Sender<usize>>) -> Self {
        count.send_modify(|n| *n += 1);
        Self(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// A running workload controller.
struct WorkloadController {
    owner: crate::manifest::expand::Owner,
    name: String,
    commands: mpsc::UnboundedSender<controller::Command>,
    task: JoinHandle<()>,
}

/// What the engine's handle and its workload controllers share.
#[derive(Clone)]
struct Shared {
    runtime: Arc<dyn ContainerRuntime>,
    log: EventLog,
    pods: Pods,
    services: Arc<Mutex<Services>>,
    hosts: Hosts,
    /// The ConfigMaps and Secrets pods consume.
    inputs: inputs::SharedInputs,
    busy: Arc<watch::Sender<usize>>,
    /// Set by [`Engine::delete_all`]: no pod is created from then on.
    closing: Arc<AtomicBool>,
    kubelet: Arc<Mutex<Kubelet>>,
}

/// Whether the engine's kubelet part is running, and since when.
#[derive(Default)]
struct Kubelet {
    /// Set while it is down (see [`Engine::stop_kubelet`]).
    down: Option<Busy>,
    /// When it last started again.
    started: Option<tokio::time::Instant>,
}

/// The engine: a runtime, a time scale, an event log and the pods it runs.
pub struct Engine {
    shared: Shared,
    /// The workload controllers (by workload name, with their command channel), stopped
    /// before the engine deletes everything.
    controllers: Mutex<Vec<WorkloadController>>,
}

impl Engine {
    pub fn new(runtime: Arc<dyn ContainerRuntime>, scale: TimeScale) -> Self {
        Self::with_hosts(runtime, scale, Hosts::new())
    }

    /// An engine whose host names are `hosts`, a table shared with the runtime (the Docker
    /// runtime writes it into each pod's `/etc/hosts`).
    pub fn with_hosts(runtime: Arc<dyn ContainerRuntime>, scale: TimeScale, hosts: Hosts) -> Self {
        Self {
            shared: Shared {
                runtime,
                log: EventLog::new(scale),
                pods: Pods::default(),
                services: Arc::default(),
                hosts,
                inputs: Arc::default(),
                busy: Arc::new(watch::channel(0).0),
                closing: Arc::default(),
                kubelet: Arc::default(),
            },
            controllers: Mutex::default(),
        }
    }

    /// The names this engine's hooks and probes resolve before the system's resolver (the
    /// node's `/etc/hosts`): add fixture servers here, such as the seed's `monitor.com`.
    pub fn hosts(&self) -> &Hosts {
        &self.shared.hosts
    }

    pub fn log(&self) -> &EventLog {
        &self.shared.log
    }

    pub fn runtime(&self) -> &Arc<dyn ContainerRuntime> {
        &self.shared.runtime
    }

    /// Starts running `pod` (named, with a uid: see [`crate::manifest::expand`]). A pod whose
    /// worker is done may be applied again under its name (a StatefulSet's replacement).
    pub fn apply(&self, pod: Pod) -> Result<(), EngineError> {
        self.shared.apply(pod)
    }

    /// Starts `workload`'s controller with its first pods (`pods`, as planned): it creates
    /// them as its kind does (a StatefulSet one after another), then replaces deleted and
    /// failed pods and runs a Job to completion; see [`controller`].
    ///
    /// A workload applied again (same kind and name) goes to the controller it already has,
    /// as `kubectl apply` of a changed manifest does: a new replica count is followed, and a
    /// Deployment rolls out a changed template by its strategy.
    pub fn apply_workload(&self, workload: WorkloadPlan, pods: Vec<Pod>) {
        {
            let controllers = self.controllers.lock().expect("engine state");
            if let Some(running) = controllers.iter().find(|c| c.owner == workload.owner) {
                let _ = running
                    .commands
                    .send(controller::Command::Apply { first: pods });
                return;
            }
        }
        let busy = Busy::new(&self.shared.busy);
        let owner = workload.owner.clone();
        let shared = self.shared.clone();
        let name = workload.owner.name.clone();
        let (commands, received) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let _busy = busy;
            controller::keep(&shared, workload, pods, received).await;
        });
        self.controllers
            .lock()
            .expect("engine state")
            .push(WorkloadController {
                owner,
                name,
                commands,
                task,
            });
    }

    /// Makes a ConfigMap available to pods (env, envFrom, volumes), replacing one of the same
    /// name: containers started from now on see the new data.
    pub fn apply_config_map(&self, map: &k8s_openapi::api::core::v1::ConfigMap) {
        self.shared
            .inputs
            .write()
            .expect("engine state")
            .add_config_map(map);
    }

    /// Makes a Secret available to pods, as [`Engine::apply_config_map`] does a ConfigMap.
    pub fn apply_secret(&self, secret: &k8s_openapi::api::core::v1::Secret) {
        self.shared
            .inputs
            .write()
            .expect("engine state")
            .add_secret(secret);
    }

    /// Makes a pod input available: a ConfigMap or Secret to pods' environment and volumes.
    /// A claim needs nothing until a pod mounts it: its storage is made then.
    pub fn apply_input(&self, input: &Input) {
        match input {
            Input::ConfigMap(map) => self.apply_config_map(map),
            Input::Secret(secret) => self.apply_secret(secret),
            Input::PersistentVolumeClaim(_) => {}
        }
    }

    /// Runs what a plan asks for, as `kubectl apply` would: its pod inputs and Services first
    /// (pods find them in their environment and volumes), then bare pods, then each workload's controller with its first pods
    /// (a workload applied before gets the new plan: scaling, a rollout). Returns what could
    /// not be applied; the rest is applied anyway.
    pub async fn apply_plan(&self, plan: &Plan) -> Vec<EngineError> {
        let mut errors = Vec::new();
        for input in &plan.inputs {
            self.apply_input(input);
        }
        for service in &plan.services {
            if let Err(e) = self.apply_service(service.service.clone()).await {
                errors.push(e);
            }
        }
        for pod in plan.pods.iter().filter(|p| p.owner.is_none()) {
            if let Err(e) = self.apply(pod.pod.clone()) {
                errors.push(e);
            }
        }
        for workload in &plan.workloads {
            let first = plan
                .pods_of(workload)
                .iter()
                .map(|p| p.pod.clone())
                .collect();
            self.apply_workload(workload.clone(), first);
        }
        errors
    }

    /// `kubectl rollout restart deployment/<name>`: the Deployment rolls its pods over to a
    /// new template by its strategy (RollingUpdate's maxSurge/maxUnavailable, or Recreate).
    pub fn rollout_restart(&self, deployment: &str) -> Result<(), EngineError> {
        let controllers = self.controllers.lock().expect("engine state");
        let controller = controllers
            .iter()
            .find(|c| c.name == deployment)
            .ok_or_else(|| EngineError::NoWorkload(deployment.to_owned()))?;
        controller
            .commands
            .send(controller::Command::Restart)
            .map_err(|_| EngineError::ControllerStopped(deployment.to_owned()))
    }

    /// Starts keeping the endpoints of `service` (named): the pods its selector matches, as
    /// they become ready, unready, terminating and gone. Each change is an
    /// [`Observation::Endpoint`] on the pod's timeline. The Service gets an address from the
    /// runtime, with a proxy listening on each of its ports, and its DNS names resolve there
    /// for hooks, probes and pods applied after it (their `/etc/hosts`), which also get its
    /// environment variables.
    pub async fn apply_service(&self, service: Service) -> Result<(), EngineError> {
        let name = service
            .metadata
            .name
            .clone()
            .ok_or(EngineError::Unnamed("service"))?;
        // Applied again (`kubectl apply` of a changed manifest): the new selector and
        // `publishNotReadyAddresses` take effect at once; its address and ports stay.
        {
            let mut services = self.shared.services.lock().expect("engine state");
            if let Some(spec) = services.specs.get_mut(&name) {
                *spec = service;
                drop(services);
                sync_endpoints(&self.shared.pods, &self.shared.services, &self.shared.log);
                return Ok(());
            }
        }
        // Reserved until it is applied or has failed: a concurrent apply of the same name
        // fails at once rather than making a second address.
        if !self
            .shared
            .services
            .lock()
            .expect("engine state")
            .reserved
            .insert(name.clone())
        {
            return Err(EngineError::ServiceExists(name));
        }
        let release = || {
            let mut services = self.shared.services.lock().expect("engine state");
            services.reserved.remove(&name);
        };
        let namespace = service
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let names = service_dns_names(&name, &namespace);
        let address = match self.shared.runtime.create_service_address(&names).await {
            Ok(address) => address,
            Err(e) => {
                release();
                return Err(EngineError::ServiceAddress {
                    service: name,
                    why: e.to_string(),
                });
            }
        };
        // A proxy per Service port; `sessionAffinity: ClientIP` keeps a client on its pod
        // for `timeoutSeconds` (3 hours by default) of manifest time.
        let spec = service.spec.clone().unwrap_or_default();
        let affinity = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
            let timeout = spec
                .session_affinity_config
                .and_then(|c| c.client_ip)
                .and_then(|c| c.timeout_seconds)
                .unwrap_or(10_800);
            self.shared.log.scale().seconds(i64::from(timeout))
        });
        let mut proxies = Vec::new();
        for port in service.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
            let state = self.shared.services.clone();
            let key = name.clone();
            let source: proxy::EndpointSource = Arc::new(move || {
                state
                    .lock()
                    .map(|s| s.endpoints.get(&key).cloned().unwrap_or_default())
                    .unwrap_or_default()
            });
            match proxy::listen(&address, port.name.clone(), port.port, source, affinity) {
                Ok(listening) => proxies.push(listening),
                Err(e) => {
                    drop(proxies);
                    let _ = self.shared.runtime.remove_service_address(&address).await;
                    release();
                    return Err(EngineError::ServicePort {
                        service: name,
                        port: port.port,
                        why: e.to_string(),
                    });
                }
            }
        }
        for dns_name in &names {
            self.shared.hosts.alias(dns_name, address.ip);
        }
        let mut services = self.shared.services.lock().expect("engine state");
        services.addresses.insert(name.clone(), address);
        services.proxies.insert(name.clone(), proxies);
        services.specs.insert(name, service);
        if services.controller.is_none() {
            // What happened before the controller started.
            for record in self.shared.log.records() {
                note(&mut services, &record);
            }
            let mut updates = self.shared.log.subscribe();
            let (pods, state, log) = (
                self.shared.pods.clone(),
                self.shared.services.clone(),
                self.shared.log.clone(),
            );
            services.controller = Some(tokio::spawn(async move {
                loop {
                    // Only what can change an endpoint: not every probe attempt and event.
                    let relevant = match updates.recv().await {
                        Ok(record) => note(&mut state.lock().expect("engine state"), &record),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            let mut s = state.lock().expect("engine state");
                            for record in log.records() {
                                note(&mut s, &record);
                            }
                            true
                        }
                        Err(_) => return,
                    };
                    if relevant {
                        sync_endpoints(&pods, &state, &log);
                    }
                }
            }));
        }
        drop(services);
        sync_endpoints(&self.shared.pods, &self.shared.services, &self.shared.log);
        Ok(())
    }

    /// The current endpoints of a Service.
    pub fn endpoints(&self, service: &str) -> Option<Vec<endpoints::Endpoint>> {
        let services = self.shared.services.lock().expect("engine state");
        services
            .specs
            .contains_key(service)
            .then(|| services.endpoints.get(service).cloned().unwrap_or_default())
    }

    /// Where each port of a Service listens: (port name, port, address).
    pub fn service_addresses(
        &self,
        service: &str,
    ) -> Vec<(Option<String>, i32, std::net::SocketAddr)> {
        let services = self.shared.services.lock().expect("engine state");
        services
            .proxies
            .get(service)
            .iter()
            .flat_map(|p| p.iter())
            .map(|p| (p.name.clone(), p.port, p.address))
            .collect()
    }

    /// Names of the Services applied so far.
    pub fn services(&self) -> Vec<String> {
        let services = self.shared.services.lock().expect("engine state");
        services.specs.keys().cloned().collect()
    }

    /// Names of the pods applied so far.
    pub fn pods(&self) -> Vec<String> {
        self.shared.pod_names()
    }

    /// Deletes a pod gracefully; `grace` (manifest seconds) overrides the pod's
    /// `terminationGracePeriodSeconds`. As on the kubelet, every deletion gets at least 1 s
    /// (0 is a force deletion: preStop for up to a second, then the 2 s stop window). A
    /// workload's controller replaces it, as on a cluster.
    pub fn delete(&self, pod: &str, grace: Option<i64>) -> Result<(), EngineError> {
        self.shared.delete(pod, grace)
    }

    /// The pods (by name) whose controller is the `kind` named `name` (`Job`, `pi`), by their
    /// owner reference, finished ones included.
    pub fn pods_owned_by(&self, kind: &str, name: &str) -> Vec<String> {
        let pods = self.shared.pods.lock().expect("engine state");
        pods.iter()
            .filter(|(_, entry)| {
                entry
                    .pod
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.controller == Some(true) && o.kind == kind && o.name == name)
            })
            .map(|(pod, _)| pod.clone())
            .collect()
    }

    /// The current status of a pod.
    pub fn status(&self, pod: &str) -> Option<PodStatus> {
        let pods = self.shared.pods.lock().expect("engine state");
        pods.get(pod).map(|e| e.status.borrow().clone())
    }

    /// Follows a pod's status.
    pub fn watch(&self, pod: &str) -> Option<watch::Receiver<PodStatus>> {
        let pods = self.shared.pods.lock().expect("engine state");
        pods.get(pod).map(|e| e.status.subscribe())
    }

    /// Waits until a pod's worker has finished (everything stopped and removed).
    pub async fn wait_finished(&self, pod: &str) {
        let done = {
            let pods = self.shared.pods.lock().expect("engine state");
            pods.get(pod).map(|e| e.done.subscribe())
        };
        if let Some(mut done) = done {
            let _ = done.wait_for(|d| *d).await;
        }
    }

    /// Waits until nothing is at work: every pod has finished and no controller will create
    /// another (a finished Job; replica controllers keep their pods until [`Engine::delete_all`]).
    pub async fn wait_idle(&self) {
        let mut busy = self.shared.busy.subscribe();
        let _ = busy.wait_for(|n| *n == 0).await;
    }

    /// Nothing is created from now on: the workload controllers stop.
    fn stop_controllers(&self) {
        // Before the pods are listed: a controller still running creates nothing after this.
        self.shared.closing.store(true, Ordering::SeqCst);
        for controller in self.controllers.lock().expect("engine state").drain(..) {
            controller.task.abort();
        }
    }

    /// Stops the workload controllers (nothing is replaced from now on) and deletes every
    /// pod with `grace`.
    pub fn delete_all(&self, grace: Option<i64>) {
        self.stop_controllers();
        self.start_kubelet();
        for name in self.pods() {
            let _ = self.delete(&name, grace);
        }
    }

    /// Deletes everything (with `grace`) and waits until all has finished.
    pub async fn shutdown(&self, grace: Option<i64>) {
        self.delete_all(grace);
        self.wait_idle().await;
    }

    /// Stops the controllers and SIGKILLs every container now, without preStop or stop
    /// window: what a second Ctrl-C and a test's teardown want, not a Kubernetes deletion.
    pub fn kill_all(&self) {
        self.stop_controllers();
        self.start_kubelet();
        for name in self.pods() {
            self.shared.send(&name, Msg::KillNow);
        }
    }

    /// Stops the kubelet's part of the engine, as when a node's kubelet is killed: every pod
    /// worker stops at once, with everything it held in memory (probe workers and their
    /// counts, back-off, hooks and kills under way), while the runtime's containers keep
    /// running unwatched. Pods applied or deleted meanwhile are recorded, as the API server
    /// records them. Controllers, Services and the log go on.
    pub async fn stop_kubelet(&self) {
        self.shared.stop_kubelet().await;
    }

    /// Starts the kubelet again after [`Engine::stop_kubelet`]: new workers take the pods over
    /// from the runtime and from the pods' last status (docs/semantics.md §11).
    pub fn start_kubelet(&self) {
        self.shared.start_kubelet();
    }

    /// [`Engine::stop_kubelet`], then [`Engine::start_kubelet`].
    pub async fn restart_kubelet(&self) {
        self.stop_kubelet().await;
        self.start_kubelet();
    }

    /// [`Engine::kill_all`], then waits until all has finished.
    pub async fn kill_all_and_wait(&self) {
        self.kill_all();
        self.wait_idle().await;
    }
}

impl Shared {
    fn pod_names(&self) -> Vec<String> {
        self.pods
            .lock()
            .expect("engine state")
            .keys()
            .cloned()
            .collect()
    }

    fn delete(&self, pod: &str, grace: Option<i64>) -> Result<(), EngineError> {
        if self.send(pod, Msg::Delete { grace }) {
            Ok(())
        } else {
            Err(EngineError::NoPod(pod.to_owned()))
        }
    }

    /// Sends `msg` to a pod's worker; false when there is no such pod.
    fn send(&self, pod: &str, msg: Msg) -> bool {
        let mut pods = self.pods.lock().expect("engine state");
        pods.get_mut(pod).is_some_and(|entry| {
            if let Msg::Delete { grace } = msg {
                entry.note_deletion(grace);
            }
            let _ = entry.tx.send(msg);
            true
        })
    }

    fn apply(&self, pod: Pod) -> Result<(), EngineError> {
        let name = pod
            .metadata
            .name
            .clone()
            .ok_or(EngineError::Unnamed("pod"))?;
        let mut pods = self.pods.lock().expect("engine state");
        if self.closing.load(Ordering::SeqCst) {
            return Err(EngineError::Closing(name));
        }
        // A finished pod's name may be taken again (its worker is done or gone).
        if pods.get(&name).is_some_and(PodEntry::live) {
            return Err(EngineError::PodExists(name));
        }
        let status = watch::channel(PodStatus {
            phase: Some("Pending".into()),
            ..PodStatus::default()
        })
        .0;
        let done = watch::channel(false).0;
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let ports = pod
            .spec
            .iter()
            .flat_map(|s| &s.containers)
            .flat_map(|c| c.ports.clone().unwrap_or_default())
            .collect();
        // While the kubelet is down a pod is only recorded; it starts when the kubelet does.
        let (tx, worker) = if self.kubelet.lock().expect("engine state").down.is_some() {
            (mpsc::unbounded_channel().0, None)
        } else {
            let (tx, worker) = self.spawn_worker(&pod, &status, &done, None);
            (tx, Some(worker))
        };
        pods.insert(
            name,
            PodEntry {
                pod,
                tx,
                status,
                done,
                worker,
                deletion: None,
                labels,
                ports,
            },
        );
        Ok(())
    }

    /// Starts the worker of `pod`, which publishes on `status` and `done`; `restart` when it
    /// takes over from a lost one.
    fn spawn_worker(
        &self,
        pod: &Pod,
        status: &watch::Sender<PodStatus>,
        done: &watch::Sender<bool>,
        restart: Option<pod::KubeletRestart>,
    ) -> (mpsc::UnboundedSender<Msg>, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let service_env = if pod.spec.as_ref().and_then(|s| s.enable_service_links) == Some(false) {
            Vec::new()
        } else {
            let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
            self.services.lock().expect("engine state").env(namespace)
        };
        let mut worker = PodWorker::new(
            pod.clone(),
            self.runtime.clone(),
            self.log.clone(),
            tx.clone(),
            rx,
            status.clone(),
            self.hosts.clone(),
        )
        .with_service_env(service_env)
        .with_inputs(self.inputs.clone())
        .with_done(done.clone())
        .with_kubelet_started(self.kubelet.lock().expect("engine state").started);
        if let Some(restart) = restart {
            worker = worker.adopting(restart);
        }
        let busy = Busy::new(&self.busy);
        let task = tokio::spawn(async move {
            worker.run().await;
            drop(busy);
        });
        (tx, task)
    }

    /// See [`Engine::stop_kubelet`].
    async fn stop_kubelet(&self) {
        let lost: Vec<JoinHandle<()>> = {
            let mut pods = self.pods.lock().expect("engine state");
            let mut kubelet = self.kubelet.lock().expect("engine state");
            if kubelet.down.is_some() {
                return;
            }
            // Nothing counts as idle while the kubelet is down.
            kubelet.down = Some(Busy::new(&self.busy));
            pods.values_mut()
                .filter(|entry| entry.live())
                .filter_map(|entry| entry.worker.take())
                .inspect(JoinHandle::abort)
                .collect()
        };
        for worker in lost {
            let _ = worker.await;
        }
    }

    /// See [`Engine::start_kubelet`].
    fn start_kubelet(&self) {
        let mut pods = self.pods.lock().expect("engine state");
        let mut kubelet = self.kubelet.lock().expect("engine state");
        let Some(_down) = kubelet.down.take() else {
            return;
        };
        kubelet.started = Some(tokio::time::Instant::now());
        drop(kubelet);
        for entry in pods.values_mut() {
            if *entry.done.borrow() || entry.worker.is_some() {
                continue;
            }
            let restart = pod::KubeletRestart {
                previous: entry.status.borrow().clone(),
                deletion: entry.deletion,
            };
            let (tx, worker) =
                self.spawn_worker(&entry.pod, &entry.status, &entry.done, Some(restart));
            entry.tx = tx;
            entry.worker = Some(worker);
        }
    }
}

/// Keeps from the log what the endpoints depend on and the pods' status does not say;
/// whether the record can change an endpoint (conditions follow the pod IP's assignment).
fn note(services: &mut Services, record: &Record) -> bool {
    // A pod's first record: a new pod may carry a finished one's name.
    if record.event().is_some_and(|e| e.reason == "Scheduled") {
        services.forget(&record.pod);
        return true;
    }
    match record.observation() {
        Some(Observation::Terminating { .. }) => {
            services.terminating.insert(record.pod.clone());
        }
        Some(Observation::PodFinished) => {
            services.gone.insert(record.pod.clone());
        }
        Some(Observation::ConditionChanged { condition, status }) => {
            if *condition == status::ConditionKind::Ready {
                services.ready.insert(record.pod.clone(), *status);
            }
        }
        Some(Observation::PhaseChanged { phase }) => {
            services.phase.insert(record.pod.clone(), phase.to_string());
        }
        _ => return false,
    }
    true
}

/// Recomputes every Service's endpoints and records what changed, per pod.
fn sync_endpoints(pods: &Pods, services: &Mutex<Services>, log: &EventLog) {
    let facts: Vec<endpoints::PodFacts> = {
        let pods = pods.lock().expect("engine state");
        let services = services.lock().expect("engine state");
        pods.iter()
            .map(|(name, entry)| {
                let status = entry.status.borrow();
                endpoints::PodFacts {
                    name: name.clone(),
                    labels: entry.labels.clone(),
                    ports: entry.ports.clone(),
                    ip: status.pod_ip.clone(),
                    phase: services
                        .phase
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| status.phase.clone().unwrap_or_default()),
                    ready: services.ready.get(name).copied().unwrap_or(false),
                    terminating: services.terminating.contains(name),
                    gone: services.gone.contains(name),
                }
            })
            .collect()
    };
    let mut services = services.lock().expect("engine state");
    let mut changes = Vec::new();
    let names: Vec<String> = services.specs.keys().cloned().collect();
    for name in names {
        let now = endpoints::select(&services.specs[&name], &facts);
        let before = services.endpoints.remove(&name).unwrap_or_default();
        for pod in &facts {
            let b = before.iter().find(|e| e.pod == pod.name);
            let a = now.iter().find(|e| e.pod == pod.name);
            if let Some(change) = endpoints::change(&name, b, a) {
                changes.push((
                    pod.name.clone(),
                    Observation::Endpoint {
                        service: name.clone(),
                        change,
                        ready: a.is_some_and(|e| e.ready),
                    },
                ));
            }
        }
        services.endpoints.insert(name, now);
    }
    drop(services);
    for (pod, observation) in changes {
        log.push(&pod, None, What::Observation(observation));
    }
}

impl Drop for Engine {
    /// The endpoints and workload controllers follow the log forever; they end with their
    /// engine.
    fn drop(&mut self) {
        if let Ok(mut controllers) = self.controllers.lock() {
            for controller in controllers.drain(..) {
                controller.task.abort();
            }
        }
        if let Ok(mut services) = self.shared.services.lock() {
            if let Some(controller) = services.controller.take() {
                controller.abort();
            }
            services.proxies.clear();
        }
    }
}
