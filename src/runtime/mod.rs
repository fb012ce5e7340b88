//! The container runtime seam: what the engine needs from a runtime, and nothing of
//! Kubernetes. The engine owns every semantic (hooks, probes, grace periods, restarts); a
//! runtime only creates, starts, signals, waits for and removes containers in a pod sandbox.
//!
//! Implementations: [`process`] (local process groups, the embedded default), [`docker`], and
//! [`sim`] (scripted containers for tests under a paused clock).

pub mod docker;
pub mod netns;
pub mod process;
pub mod sim;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::jiff::Timestamp;

pub use crate::images::Fetched;
pub use nix::sys::signal::Signal;

/// What a pod sandbox needs: identity and volumes.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub pod_uid: String,
    pub pod_name: String,
    pub namespace: String,
    pub hostname: String,
    /// The pod's DNS names besides its hostname, longest first (a StatefulSet pod's
    /// `db-0.db.default.svc.cluster.local`, …, `db-0.db`): the runtime's resolver should
    /// answer them with the pod IP, and the pod's own `/etc/hosts` lists them.
    pub domain_names: Vec<String>,
    /// The pod's volumes, shared by its containers.
    pub volumes: Vec<VolumeSpec>,
    /// The pod's annotations, as CRI's `PodSandboxConfig` carries them (the simulated runtime
    /// reads its scripts there).
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A pod volume, by what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    pub source: VolumeSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// emptyDir: empty when the pod starts, gone with it.
    Empty,
    /// Files the kubelet writes for the pod (a ConfigMap's or Secret's keys, the downward
    /// API), mounted read-only as the kubelet mounts them.
    Files(Vec<VolumeFile>),
    /// A PersistentVolumeClaim (or a StatefulSet's claim template): storage that outlives the
    /// pod, found again under the claim's name by the next pod that mounts it.
    Claim(String),
}

/// One file of a [`VolumeSource::Files`] volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFile {
    /// Relative to the volume (`config/app.properties`).
    pub path: String,
    pub content: Vec<u8>,
    pub mode: u32,
}

impl VolumeSpec {
    pub fn empty(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            source: VolumeSource::Empty,
        }
    }

    /// Whether containers may write to it.
    pub fn writable(&self) -> bool {
        !matches!(self.source, VolumeSource::Files(_))
    }
}

/// Writes `files` under `dir` (its subdirectories made as needed), each with its mode.
pub fn write_volume_files(dir: &std::path::Path, files: &[VolumeFile]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.content)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))?;
    }
    Ok(())
}

/// A created pod sandbox: the pod's network identity and volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub id: String,
    /// The pod IP: probes and httpGet hooks go here.
    pub ip: IpAddr,
}

/// A Service's virtual address (its "cluster IP"), which the runtime provides so that pods and
/// this machine both reach it; the engine's proxy listens there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAddress {
    /// The runtime's handle on it (Docker: the Service sandbox's container).
    pub id: String,
    pub ip: IpAddr,
    /// The network namespace (a `/proc/<pid>/ns/net` path) that listeners on `ip` must be
    /// bound in; `None` for this process's own.
    pub netns: Option<PathBuf>,
}

/// A volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub volume: String,
    pub path: String,
    pub read_only: bool,
}

/// One container to create, already resolved from the pod spec.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// Kubernetes `command` (replaces the image's entrypoint when set).
    pub command: Vec<String>,
    /// Kubernetes `args` (replaces the image's cmd when set).
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub mounts: Vec<MountSpec>,
    /// Instance number (the container's restartCount), for names and logs.
    pub attempt: i32,
    /// Where the container writes its termination message (`terminationMessagePath`).
    pub termination_message_path: Option<String>,
}

/// Identifies one container instance in its runtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerId(pub String);

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a container instance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code; 128 + signal when a signal ended it.
    pub code: i32,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub oom_killed: bool,
}

impl ExitStatus {
    /// The container state reason Kubernetes shows (`Completed`, `Error`, `OOMKilled`).
    pub fn reason(&self) -> &'static str {
        if self.oom_killed {
            "OOMKilled"
        } else if self.code == 0 {
            "Completed"
        } else {
            "Error"
        }
    }
}

/// A container the runtime holds, as CRI's `ListContainers` and `ContainerStatus` report it:
/// what a restarted kubelet finds and adopts (docs/semantics.md §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    pub id: ContainerId,
    /// The pod spec's container name.
    pub name: String,
    /// Its instance number ([`ContainerSpec::attempt`], the restartCount it was started as).
    pub attempt: i32,
    pub state: ContainerState,
}

/// Where a container instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    /// Created, never started.
    Created,
    Running {
        started_at: Timestamp,
    },
    Exited {
        started_at: Timestamp,
        finished_at: Timestamp,
        exit: ExitStatus,
    },
}

impl ContainerState {
    /// A container's state from when it started and how and when it ended, if it did.
    pub fn of(started: Option<Timestamp>, ended: Option<(ExitStatus, Timestamp)>) -> Self {
        match (started, ended) {
            (Some(started_at), Some((exit, finished_at))) => Self::Exited {
                started_at,
                finished_at,
                exit,
            },
            (Some(started_at), None) => Self::Running { started_at },
            (None, _) => Self::Created,
        }
    }
}

/// `records` in the order `list_containers` gives them: by name, then attempt.
pub fn by_name_and_attempt(mut records: Vec<ContainerRecord>) -> Vec<ContainerRecord> {
    records.sort_by(|a, b| (&a.name, a.attempt).cmp(&(&b.name, b.attempt)));
    records
}

/// What an image says about how to run it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `STOPSIGNAL`, if the image sets one.
    pub stop_signal: Option<Signal>,
}

/// A signal by name as images (`STOPSIGNAL`) and pod specs (`lifecycle.stopSignal`) give it:
/// `SIGQUIT`, `QUIT` or `3`, with Linux's aliases (`SIGCLD`, `SIGPOLL`, `SIGIOT`). Real-time
/// signals (`SIGRTMIN+n`) have no [`Signal`] and give `None`.
pub fn parse_signal(name: &str) -> Option<Signal> {
    if let Ok(n) = name.trim().parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let name = name.trim().to_uppercase();
    let full = if name.starts_with("SIG") {
        name
    } else {
        format!("SIG{name}")
    };
    match full.as_str() {
        "SIGCLD" => Some(Signal::SIGCHLD),
        "SIGPOLL" => Some(Signal::SIGIO),
        "SIGIOT" => Some(Signal::SIGABRT),
        _ => full.parse().ok(),
    }
}

/// The result of an exec that ran to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    /// stdout and stderr together, at most [`EXEC_OUTPUT_LIMIT`] bytes.
    pub output: String,
}

/// Exec output kept, like the kubelet's 10 KiB.
pub const EXEC_OUTPUT_LIMIT: usize = 10 * 1024;

/// Why an exec did not produce an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// It ran past its timeout and was killed.
    TimedOut,
    /// It could not run (no such command, container not running…).
    Failed(String),
}

/// How a simulated pod network answered one of the engine's httpGet, tcpSocket or gRPC checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkAnswer {
    Passed,
    /// Failed, with what the check's failure says.
    Failed(String),
    TimedOut,
}

/// A runtime operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError(pub String);

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuntimeError {}

impl From<std::io::Error> for RuntimeError {
    fn from(e: std::io::Error) -> Self {
        RuntimeError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

/// What the engine needs from a container runtime.
#[async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    /// A short name for reports (`process`, `docker`).
    fn name(&self) -> &'static str;

    /// Things users should know about this runtime on this machine (missing isolation…),
    /// said once at start-up.
    fn notices(&self) -> Vec<String> {
        Vec::new()
    }

    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox>;
    /// The sandbox of the pod with uid `pod_uid`, if the runtime holds one (CRI's
    /// `ListPodSandbox` by the pod's label): a restarted kubelet finds its pods' sandboxes.
    async fn find_sandbox(&self, pod_uid: &str) -> Result<Option<Sandbox>>;
    /// Every container of `sandbox`, by name and then attempt (CRI's `ListContainers` and
    /// `ContainerStatus`).
    async fn list_containers(&self, sandbox: &Sandbox) -> Result<Vec<ContainerRecord>>;
    /// Removes the sandbox and its volumes; its containers must be removed first.
    async fn remove_sandbox(&self, sandbox: &Sandbox) -> Result<()>;

    /// Makes sure `image` is on the machine, as the kubelet's `EnsureImageExists` does before
    /// creating a container: built from podlife's recipe or pulled when missing, `fetching`
    /// called just before that begins. Runtimes without images have nothing to do.
    async fn pull_image(&self, _image: &str, _fetching: &(dyn Fn() + Sync)) -> Result<Fetched> {
        Ok(Fetched::Present)
    }

    /// How long an exec (a probe's or hook's command) takes the runtime to start and reap,
    /// roughly: a compressed probe timeout below it fails for the wrong reason.
    fn exec_latency(&self) -> Duration {
        Duration::ZERO
    }

    /// The image every pod sandbox runs (the kubelet's pod infra container), if any.
    fn sandbox_image(&self) -> Option<&'static str> {
        None
    }

    async fn image_config(&self, image: &str) -> Result<ImageConfig>;

    /// A runtime that simulates its pods' network answers the engine's httpGet, tcpSocket and
    /// gRPC checks (probes and hooks) of container `id` on `port` itself, within `timeout`.
    /// `None`, as from every real runtime: the engine reaches the pod over the network.
    async fn network_check(
        &self,
        _id: &ContainerId,
        _port: u16,
        _timeout: Option<Duration>,
    ) -> Option<NetworkAnswer> {
        None
    }

    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<ContainerId>;
    async fn start_container(&self, id: &ContainerId) -> Result<()>;
    /// Resolves when the container has exited (at once if it already has).
    async fn wait_container(&self, id: &ContainerId) -> Result<ExitStatus>;
    /// Sends `signal` to the container's processes.
    async fn signal_container(&self, id: &ContainerId, signal: Signal) -> Result<()>;

    /// Stops a container as CRI's `StopContainer` does: sends `signal`, then SIGKILL once
    /// `deadline` has passed unless the container has exited first, and returns once it has
    /// exited. The deadline may move in while it waits (the kubelet calls StopContainer again
    /// with a shorter timeout); `killing` is told just before the SIGKILL. The process, Docker
    /// and simulated runtimes share this implementation.
    async fn stop_container(
        &self,
        id: &ContainerId,
        signal: Signal,
        mut deadline: tokio::sync::watch::Receiver<tokio::time::Instant>,
        killing: &(dyn Fn() + Sync),
    ) -> Result<()> {
        // A container that has just exited cannot be signalled; waiting says so.
        let _ = self.signal_container(id, signal).await;
        let exit = self.wait_container(id);
        tokio::pin!(exit);
        loop {
            let at = *deadline.borrow_and_update();
            tokio::select! {
                exited = &mut exit => return exited.map(|_| ()),
                () = tokio::time::sleep_until(at) => break,
                Ok(()) = deadline.changed() => {}
            }
        }
        killing();
        let _ = self.signal_container(id, Signal::SIGKILL).await;
        exit.await.map(|_| ())
    }
    /// Runs `command` inside the container; `timeout` kills it when it runs longer.
    async fn exec(
        &self,
        id: &ContainerId,
        command: &[String],
        timeout: Option<Duration>,
    ) -> std::result::Result<ExecOutput, ExecError>;
    /// Up to `limit` bytes of a file inside the container, `None` if it does not exist.
    async fn read_file(
        &self,
        id: &ContainerId,
        path: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>>;
    /// The last `lines` lines (at most `bytes` bytes) of the container's output.
    async fn logs_tail(&self, id: &ContainerId, lines: usize, bytes: usize) -> Result<String>;
    async fn remove_container(&self, id: &ContainerId) -> Result<()>;

    /// An address for a Service that pods reach, also under `names` (its DNS names) where the
    /// runtime has a resolver of its own; the engine adds the names to pods' `/etc/hosts`.
    async fn create_service_address(&self, names: &[String]) -> Result<ServiceAddress>;
    /// Gives the address back (listeners on it must be closed first).
    async fn remove_service_address(&self, address: &ServiceAddress) -> Result<()>;
}

/// A loopback address for a Service, away from 127.0.0.x and from the process runtime's pod
/// addresses (127.16–250.x.y): 127.251–254.x.y. Pods that share this machine's network (the
/// process runtime) reach it as it is.
pub fn loopback_service_address() -> ServiceAddress {
    let ip = IpAddr::from([
        127,
        fastrand::u8(251..=254),
        fastrand::u8(..),
        fastrand::u8(1..=254),
    ]);
    ServiceAddress {
        id: ip.to_string(),
        ip,
        netns: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("SIGQUIT"), Some(Signal::SIGQUIT));
        assert_eq!(parse_signal("TERM"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGPOLL"), Some(Signal::SIGIO));
        assert_eq!(parse_signal("SIGRTMIN+1"), None);
        assert_eq!(parse_signal("nope"), None);
    }
}
