//! The process runtime: a container is a process group on this machine.
//!
//! - Each pod gets a directory (its emptyDir volumes live there) and its own loopback address
//!   (`127.x.y.z`) as pod IP; containers see it as `POD_IP`, so replicas can listen on the same
//!   port by binding to it.
//! - Each container is a process group (`command` + `args`, its `env`, `workingDir`, else its
//!   own directory under the pod's). Exec'd probes and hooks run in the same directory.
//! - Where the kernel allows (root), each container gets what a container runtime gives it
//!   ([`namespaces`]): a PID namespace whose PID 1 is its first process (the stop signal goes
//!   to PID 1 only, which ignores signals it has no handler for, and when PID 1 ends the
//!   kernel kills the rest), and a private mount namespace with a private `/tmp` (a tmpfs),
//!   volumes bind-mounted at their `mountPath` and the termination-message file at its path;
//!   missing mount points outside `/tmp` are created and removed again afterwards. Exec'd
//!   processes join both. Without root a container is a plain process group: signals go to the
//!   whole group, `/tmp` is the host's, and volumes are only reachable through
//!   `PODLIFE_VOLUME_<NAME>` variables (said at start-up).
//! - Containers of podlife's busybox-based images get busybox's commands first on `PATH`
//!   ([`applets`]), as in the image.
//! - Nothing outlives the engine: every process gets `PR_SET_PDEATHSIG`, the runtime kills its
//!   groups when dropped, and a new runtime reaps the leftovers of runs whose engine died.

mod applets;
mod namespaces;

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::jiff::Timestamp;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use applets::Applets;
use namespaces::{BindMount, MountKind, MountPlan, Namespaces, PidNamespace};

use super::{
    ContainerId, ContainerRecord, ContainerRuntime, ContainerSpec, ContainerState,
    EXEC_OUTPUT_LIMIT, ExecError, ExecOutput, ExitStatus, ImageConfig, Result, RuntimeError,
    Sandbox, SandboxSpec, ServiceAddress, VolumeSource, VolumeSpec, write_volume_files,
};
use crate::probe::hosts::Hosts;

/// Where a file mount comes from: the termination-message file of a container.
const TERMINATION_LOG: &str = "termination-log";

/// The process runtime. Dropping it kills every process it started.
pub struct ProcessRuntime {
    run_dir: PathBuf,
    /// Mount points podlife created on this machine, shared by concurrent runs.
    registry: PathBuf,
    /// Second octet of this runtime's pod IPs (127.<octet>.x.y), one no other live run on
    /// this machine uses, so that engines running side by side (concurrent scenarios) never
    /// give two pods one address.
    octet: u8,
    next_pod: AtomicU32,
    next_container: AtomicU64,
    namespaces: Namespaces,
    /// The containers' `PATH`.
    path: String,
    /// Host directories every container sees at their own path, also inside its private
    /// `/tmp` (directories on `PATH`, shared directories).
    visible: Vec<PathBuf>,
    /// Names every pod's `/etc/hosts` lists (with isolation), e.g. a test's `monitor.com`.
    hosts: Hosts,
    sandboxes: Arc<Mutex<HashMap<String, PodDir>>>,
    containers: Mutex<HashMap<ContainerId, Arc<Proc>>>,
}

#[derive(Debug, Clone)]
struct PodDir {
    dir: PathBuf,
    spec: SandboxSpec,
    ip: IpAddr,
}

impl PodDir {
    fn hosts_path(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    /// Writes the pod's `/etc/hosts` (bind-mounted into its containers) when its text
    /// changed: in place, so that the mounts see it.
    fn write_hosts(&self, hosts: &Hosts) {
        let text = hosts_file(self.ip, &self.spec, hosts);
        let path = self.hosts_path();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            let _ = std::fs::write(&path, text);
        }
    }
}

/// podlife's own source tree when it lies inside `/tmp` (a clone there): containers run its
/// programs (the testapp) and tests hand them paths in it, so a container's private `/tmp`
/// must not hide it.
fn own_tree_in_tmp() -> Option<PathBuf> {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR"));
    (tree.join("Cargo.toml").is_file() && namespaces::in_private_tmp(tree))
        .then(|| tree.to_path_buf())
}

/// One container instance.
struct Proc {
    /// The sandbox it belongs to, its container name and attempt: what `list_containers`
    /// reports.
    sandbox: String,
    name: String,
    attempt: i32,
    dir: PathBuf,
    program: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
    mounts: Vec<BindMount>,
    /// Host directories it sees at their own path inside its private `/tmp`.
    visible: Vec<PathBuf>,
    /// Its first process's PID on this machine, which is also its process group.
    pgid: Mutex<Option<i32>>,
    /// When it started and ended (set before `exit` is sent).
    times: Mutex<(Option<Timestamp>, Option<Timestamp>)>,
    exit: watch::Sender<Option<ExitStatus>>,
}

impl Proc {
    /// `program` (the first process or an exec'd one) with the container's environment, in
    /// a process group of its own, without stdin.
    fn command(&self, program: &[String]) -> std::process::Command {
        let mut command = std::process::Command::new(&program[0]);
        command
            .args(&program[1..])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .process_group(0);
        command
    }
}

impl ProcessRuntime {
    /// A runtime whose state lives under `PODLIFE_STATE_DIR` (default `/tmp/podlife-<uid>`).
    /// Leftovers of runs whose engine died are reaped first.
    pub fn new() -> Result<Self> {
        let root = state_root();
        let runs = root.join("runs");
        let registry = root.join("mount-points");
        std::fs::create_dir_all(&runs)?;
        std::fs::create_dir_all(&registry)?;
        reap_dead_runs(&runs, &registry);
        let pid = std::process::id();
        let name = format!("{pid}-{:08x}", fastrand::u32(..));
        // Staged under a dot-name and renamed into place with its owner file, so that a
        // runtime starting beside this one never sees it without an owner and reaps it.
        let staged = runs.join(format!(".{name}"));
        let choosing = OCTETS.lock().unwrap_or_else(|e| e.into_inner());
        let octet = free_octet(&runs);
        std::fs::create_dir_all(&staged)?;
        std::fs::write(staged.join("owner"), owner_token(pid).unwrap_or_default())?;
        std::fs::write(staged.join("octet"), octet.to_string())?;
        let run_dir = runs.join(name);
        std::fs::rename(&staged, &run_dir)?;
        drop(choosing);
        Ok(Self {
            run_dir,
            registry,
            octet,
            next_pod: AtomicU32::new(0),
            next_container: AtomicU64::new(1),
            namespaces: Namespaces::detect(),
            path: std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            visible: own_tree_in_tmp().into_iter().collect(),
            hosts: Hosts::new(),
            sandboxes: Arc::default(),
            containers: Mutex::new(HashMap::new()),
        })
    }

    /// Puts `dir` first on the containers' `PATH`: a harness makes `testapp` a command, as it
    /// is in the testapp image.
    pub fn with_path_prepended(mut self, dir: &Path) -> Self {
        self.path = format!("{}:{}", dir.display(), self.path);
        self.visible.push(dir.to_path_buf());
        self
    }

    /// Keeps `dir` of this machine at its own path in every container, even inside the
    /// container's private `/tmp` (as the Docker runtime's `shared_dirs`): a test's scratch
    /// directory, where containers write what they saw.
    pub fn with_shared_dir(mut self, dir: &Path) -> Self {
        self.visible.push(dir.to_path_buf());
        self
    }

    /// Names every pod resolves through its `/etc/hosts`, as the kubelet writes it (share the
    /// table with the engine's). A name added later (a Service, a StatefulSet peer) reaches
    /// the running pods too: their files are rewritten, as cluster DNS would answer it.
    pub fn with_hosts(mut self, hosts: Hosts) -> Self {
        let pods = Arc::downgrade(&self.sandboxes);
        hosts.on_change(move |hosts| {
            let Some(pods) = pods.upgrade() else {
                return;
            };
            for pod in pods.lock().expect("runtime state").values() {
                pod.write_hosts(hosts);
            }
        });
        self.hosts = hosts;
        self
    }

    /// Whether containers get private mount namespaces (volumes at their mountPath, a
    /// private `/tmp`).
    pub fn isolation(&self) -> bool {
        self.namespaces.mount
    }

    /// Whether each container gets a PID namespace whose PID 1 is its first process.
    pub fn pid_namespace(&self) -> bool {
        self.namespaces.pid
    }

    /// Finds busybox now if any of `images` is busybox-based (otherwise the first such
    /// container does), so that [`ContainerRuntime::notices`] can say whether it is there.
    pub async fn prepare_for<'a>(&self, images: impl IntoIterator<Item = &'a str>) {
        if images.into_iter().any(applets::busybox_based) {
            self.applets().await;
        }
    }

    /// Busybox's commands, linked on first use (once for this process).
    async fn applets(&self) -> &'static Applets {
        let runs = self
            .run_dir
            .parent()
            .expect("a run is in the runs directory");
        applets::shared(runs).await
    }

    fn proc(&self, id: &ContainerId) -> Result<Arc<Proc>> {
        self.containers
            .lock()
            .expect("runtime state")
            .get(id)
            .cloned()
            .ok_or_else(|| RuntimeError(format!("no container {id}")))
    }

    /// Makes sure `target` exists (a directory, or an empty file when `file`) so that it can
    /// be bind-mounted in private namespaces. Mount points podlife creates are shared by the
    /// runs that use them and removed when the last one ends; they stay empty on the machine,
    /// since containers only write into their private mounts.
    fn ensure_mount_point(&self, target: &Path, file: bool) -> Result<()> {
        let _lock = registry_lock(&self.registry)?;
        let entry = self.registry.join(escape(target));
        std::fs::create_dir_all(&entry)?;
        std::fs::write(entry.join(run_name(&self.run_dir)), "")?;
        record(&self.run_dir.join("created"), &target.display().to_string());
        if target.exists() {
            return Ok(());
        }
        let mut outermost = target.to_path_buf();
        while let Some(parent) = outermost.parent().filter(|p| !p.exists()) {
            outermost = parent.to_path_buf();
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if file {
            std::fs::File::create(target)?;
        } else {
            std::fs::create_dir_all(target)?;
        }
        std::fs::write(entry.join(CREATED), outermost.display().to_string())?;
        Ok(())
    }

    /// The `PATH` of a container of `image`: busybox's commands first for a busybox-based
    /// image, as in the image (the host's `sh` may be dash, which rejects `trap … SIGTERM`).
    async fn path_for(&self, image: &str) -> String {
        if applets::busybox_based(image) {
            self.applets().await.path_for(&self.path)
        } else {
            self.path.clone()
        }
    }

    /// Host directories a container of `pod` sees at their own path inside its private
    /// `/tmp`: the runtime's, the pod's directory (the containers' own directories, volumes
    /// by `PODLIFE_VOLUME_<NAME>`) and busybox's commands.
    fn visible_in(&self, pod: &PodDir) -> Vec<PathBuf> {
        let applets = applets::shared_if_made().and_then(Applets::dir);
        self.visible
            .iter()
            .chain([&pod.dir])
            .map(PathBuf::clone)
            .chain(applets.map(Path::to_path_buf))
            .collect()
    }

    /// Where volume `name` of `pod` lives: in the pod's directory, or for a claim in the run's
    /// `claims/`, where the next pod that mounts the claim finds it again.
    fn volume_dir(&self, pod: &PodDir, name: &str) -> PathBuf {
        match pod.spec.volumes.iter().find(|v| v.name == name) {
            Some(VolumeSpec {
                source: VolumeSource::Claim(claim),
                ..
            }) => self.run_dir.join("claims").join(claim),
            _ => pod.dir.join("volumes").join(name),
        }
    }

    /// A container's bind mounts (with a private mount namespace): its volumes at their
    /// `mountPath`, its termination-message file, the pod's `/etc/hosts`.
    fn container_mounts(
        &self,
        pod: &PodDir,
        spec: &ContainerSpec,
        dir: &Path,
    ) -> Result<Vec<BindMount>> {
        let mut mounts = Vec::new();
        for m in &spec.mounts {
            let writable = pod
                .spec
                .volumes
                .iter()
                .find(|v| v.name == m.volume)
                .is_none_or(VolumeSpec::writable);
            mounts.push(BindMount {
                source: self.volume_dir(pod, &m.volume),
                target: PathBuf::from(&m.path),
                read_only: m.read_only || !writable,
                kind: MountKind::Dir,
            });
        }
        if let Some(path) = &spec.termination_message_path {
            mounts.push(BindMount {
                source: dir.join(TERMINATION_LOG),
                target: PathBuf::from(path),
                read_only: false,
                kind: MountKind::File,
            });
        }
        mounts.push(BindMount {
            source: pod.hosts_path(),
            target: PathBuf::from("/etc/hosts"),
            read_only: true,
            kind: MountKind::File,
        });
        for mount in &mounts {
            // One inside the private /tmp is made there, in the container's namespace.
            if !namespaces::in_private_tmp(&mount.target) {
                self.ensure_mount_point(&mount.target, mount.kind == MountKind::File)?;
            }
        }
        Ok(mounts)
    }
}

/// In a registry entry: the outermost path podlife created for it.
const CREATED: &str = ".created";

fn run_name(run_dir: &Path) -> String {
    run_dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Serialises registry changes between concurrent runs.
fn registry_lock(registry: &Path) -> std::io::Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(registry.join(".lock"))?;
    lock.lock()?;
    Ok(lock)
}

/// A path as one file name.
fn escape(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('%', "%25")
        .replace('/', "%2F")
}

impl Drop for ProcessRuntime {
    fn drop(&mut self) {
        reap_run(&self.run_dir, &self.registry);
    }
}

#[async_trait]
impl ContainerRuntime for ProcessRuntime {
    /// A fork and exec into the container's namespaces: a few milliseconds.
    fn exec_latency(&self) -> Duration {
        Duration::from_millis(10)
    }

    fn name(&self) -> &'static str {
        "process"
    }

    fn notices(&self) -> Vec<String> {
        let mut notices = vec![
            "process runtime: containers run as process groups on this machine; images are not \
             used, so every container needs a `command`"
                .to_owned(),
        ];
        if !self.namespaces.pid {
            notices.push(
                "process runtime: no PID namespaces here (needs root): the stop signal reaches \
                 every process of a container, not only its first, and a first process without \
                 a handler for it dies of it (PID 1 would ignore it)"
                    .to_owned(),
            );
        }
        if !self.namespaces.mount {
            notices.push(
                "process runtime: no mount namespaces here (needs root): /tmp is this machine's, \
                 shared by all containers, and volumes are not mounted at their mountPath, \
                 containers find them in PODLIFE_VOLUME_<NAME>"
                    .to_owned(),
            );
        }
        notices.extend(applets::shared_if_made().and_then(Applets::notice));
        notices
    }

    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox> {
        let n = self.next_pod.fetch_add(1, Ordering::Relaxed);
        let ip = pod_ip(self.octet, n);
        let id = format!(
            "{}-{}",
            spec.pod_name,
            &spec.pod_uid[..spec.pod_uid.len().min(8)]
        );
        let dir = self.run_dir.join("pods").join(&id);
        std::fs::create_dir_all(&dir)?;
        let pod = PodDir {
            dir,
            spec: spec.clone(),
            ip,
        };
        for volume in &spec.volumes {
            let path = self.volume_dir(&pod, &volume.name);
            match &volume.source {
                VolumeSource::Files(files) => write_volume_files(&path, files)?,
                VolumeSource::Empty | VolumeSource::Claim(_) => std::fs::create_dir_all(&path)?,
            }
        }
        if self.namespaces.mount {
            // The pod's /etc/hosts, shared by its containers and kept up to date.
            pod.write_hosts(&self.hosts);
        }
        self.sandboxes
            .lock()
            .expect("runtime state")
            .insert(id.clone(), pod);
        Ok(Sandbox { id, ip })
    }

    async fn find_sandbox(&self, pod_uid: &str) -> Result<Option<Sandbox>> {
        let sandboxes = self.sandboxes.lock().expect("runtime state");
        Ok(sandboxes
            .iter()
            .find(|(_, pod)| pod.spec.pod_uid == pod_uid)
            .map(|(id, pod)| Sandbox {
                id: id.clone(),
                ip: pod.ip,
            }))
    }

    async fn list_containers(&self, sandbox: &Sandbox) -> Result<Vec<ContainerRecord>> {
        let containers = self.containers.lock().expect("runtime state");
        let records = containers
            .iter()
            .filter(|(_, proc)| proc.sandbox == sandbox.id)
            .map(|(id, proc)| {
                let (started, finished) = *proc.times.lock().expect("container state");
                let ended = (*proc.exit.borrow()).zip(finished);
                ContainerRecord {
                    id: id.clone(),
                    name: proc.name.clone(),
                    attempt: proc.attempt,
                    state: ContainerState::of(started, ended),
                }
            })
            .collect();
        Ok(super::by_name_and_attempt(records))
    }

    async fn remove_sandbox(&self, sandbox: &Sandbox) -> Result<()> {
        let pod = self
            .sandboxes
            .lock()
            .expect("runtime state")
            .remove(&sandbox.id);
        if let Some(pod) = pod {
            let _ = std::fs::remove_dir_all(&pod.dir);
        }
        Ok(())
    }

    async fn image_config(&self, _image: &str) -> Result<ImageConfig> {
        // Images are not used here: no entrypoint to fall back on, SIGTERM to stop.
        Ok(ImageConfig::default())
    }

    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<ContainerId> {
        let pod = self
            .sandboxes
            .lock()
            .expect("runtime state")
            .get(&sandbox.id)
            .cloned()
            .ok_or_else(|| RuntimeError(format!("no sandbox {}", sandbox.id)))?;
        let program: Vec<String> = spec.command.iter().chain(&spec.args).cloned().collect();
        if spec.command.is_empty() {
            return Err(RuntimeError(format!(
                "container {:?} has no `command`: the process runtime runs commands, not images \
                 ({}); add a `command`, or use the Docker runtime",
                spec.name, spec.image
            )));
        }
        let n = self.next_container.fetch_add(1, Ordering::Relaxed);
        let id = ContainerId(format!("{}-{}-{n}", sandbox.id, spec.name));
        let dir = pod
            .dir
            .join("containers")
            .join(format!("{}-{}", spec.name, spec.attempt));
        std::fs::create_dir_all(&dir)?;
        std::fs::File::create(dir.join(TERMINATION_LOG))?;

        let path = self.path_for(&spec.image).await;
        let mut env = vec![
            ("PATH".to_owned(), path),
            ("HOSTNAME".to_owned(), pod.spec.hostname.clone()),
            ("POD_NAME".to_owned(), pod.spec.pod_name.clone()),
            ("POD_NAMESPACE".to_owned(), pod.spec.namespace.clone()),
            ("POD_IP".to_owned(), pod.ip.to_string()),
        ];
        for volume in &pod.spec.volumes {
            let var = format!(
                "PODLIFE_VOLUME_{}",
                volume
                    .name
                    .to_uppercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            );
            env.push((
                var,
                self.volume_dir(&pod, &volume.name).display().to_string(),
            ));
        }
        env.extend(spec.env.iter().cloned());

        let mounts = if self.namespaces.mount {
            self.container_mounts(&pod, spec, &dir)?
        } else {
            Vec::new()
        };
        // A container without `workingDir` works in a directory of its own (an image's `/`
        // would be this machine's), which its exec'd probes and hooks share.
        let cwd = match &spec.working_dir {
            Some(dir) if Path::new(dir).is_dir() || self.namespaces.mount => PathBuf::from(dir),
            _ => dir.clone(),
        };
        let proc = Arc::new(Proc {
            sandbox: sandbox.id.clone(),
            name: spec.name.clone(),
            attempt: spec.attempt,
            dir,
            program,
            env,
            cwd,
            mounts,
            visible: self.visible_in(&pod),
            pgid: Mutex::new(None),
            times: Mutex::default(),
            exit: watch::channel(None).0,
        });
        self.containers
            .lock()
            .expect("runtime state")
            .insert(id.clone(), proc);
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<()> {
        let proc = self.proc(id)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(proc.dir.join("log"))?;
        let mut command = proc.command(&proc.program);
        command.stdout(log.try_clone()?).stderr(log);
        let plan = if self.namespaces.mount {
            let plan = MountPlan::prepare(&proc.visible, &proc.mounts, self.namespaces.pid);
            Some(plan.with_workdir(&proc.cwd))
        } else {
            None
        };
        let cwd = proc.cwd.clone();
        // SAFETY: `enter_container` only makes async-signal-safe system calls.
        unsafe {
            command.pre_exec(move || namespaces::enter_container(plan.as_ref(), &cwd));
        }
        let pid_ns = if self.namespaces.pid {
            PidNamespace::New
        } else {
            PidNamespace::Host
        };
        let started = namespaces::spawn_waited(command, pid_ns)
            .await
            .map_err(|e| RuntimeError(format!("cannot start {:?}: {e}", proc.program.join(" "))))?;
        let pid = started.pid;
        *proc.pgid.lock().expect("container state") = Some(pid);
        proc.times.lock().expect("container state").0 = Some(crate::time::now());
        record(&self.run_dir.join("pgids"), &pid.to_string());
        let watcher = proc.clone();
        tokio::spawn(async move {
            let status = started.exit.await;
            // The container is gone when its main process is: take the rest of the group
            // (in a PID namespace the kernel has taken the rest already).
            let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
            let exit = match status {
                Ok(Ok(status)) => exit_status(status),
                _ => ExitStatus {
                    code: 128,
                    signal: None,
                    oom_killed: false,
                },
            };
            watcher.times.lock().expect("container state").1 = Some(crate::time::now());
            watcher.exit.send_replace(Some(exit));
        });
        Ok(())
    }

    async fn wait_container(&self, id: &ContainerId) -> Result<ExitStatus> {
        let proc = self.proc(id)?;
        let mut exit = proc.exit.subscribe();
        let status = exit
            .wait_for(Option::is_some)
            .await
            .map_err(|_| RuntimeError(format!("container {id} vanished")))?;
        Ok(status.expect("waited for Some"))
    }

    async fn signal_container(&self, id: &ContainerId, signal: Signal) -> Result<()> {
        let proc = self.proc(id)?;
        if proc.exit.borrow().is_some() {
            return Ok(());
        }
        if let Some(pgid) = *proc.pgid.lock().expect("container state") {
            // As a container runtime does, the signal goes to PID 1 only, which ignores what
            // it has no handler for (SIGKILL aside); without a PID namespace a container's
            // first process is not PID 1, so the whole group gets it.
            let target = if self.namespaces.pid { pgid } else { -pgid };
            match kill(Pid::from_raw(target), signal) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => return Err(RuntimeError(format!("cannot signal {id}: {e}"))),
            }
        }
        Ok(())
    }

    async fn exec(
        &self,
        id: &ContainerId,
        command: &[String],
        timeout: Option<Duration>,
    ) -> std::result::Result<ExecOutput, ExecError> {
        let proc = self.proc(id).map_err(|e| ExecError::Failed(e.0))?;
        let pid = (*proc.pgid.lock().expect("container state"))
            .filter(|_| proc.exit.borrow().is_none())
            .ok_or_else(|| ExecError::Failed("container is not running".into()))?;
        if command.is_empty() {
            return Err(ExecError::Failed("empty command".into()));
        }
        let not_running =
            |e: std::io::Error| ExecError::Failed(format!("container is not running: {e}"));
        let mount_ns = if self.namespaces.mount {
            Some(namespace_of(pid, "mnt").map_err(not_running)?)
        } else {
            None
        };
        let pid_ns = if self.namespaces.pid {
            PidNamespace::Join(namespace_of(pid, "pid").map_err(not_running)?)
        } else {
            PidNamespace::Host
        };
        // Close-on-exec: a process that another thread starts meanwhile must not inherit the
        // write end, or the output would not end before that process does.
        let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let mut cmd = proc.command(command);
        cmd.stdout(writer).stderr(writer2);
        let cwd = proc.cwd.clone();
        // SAFETY: `join_container` only makes async-signal-safe system calls.
        unsafe {
            cmd.pre_exec(move || namespaces::join_container(mount_ns.as_ref(), &cwd));
        }
        let started = namespaces::spawn_waited(cmd, pid_ns)
            .await
            .map_err(|e| ExecError::Failed(format!("exec {:?} failed: {e}", command.join(" "))))?;
        let mut running = KillOnDrop(Some(started.pid));
        let run = async { tokio::join!(started.exit, read_bounded(reader)) };
        let outcome = match timeout {
            Some(limit) => tokio::time::timeout(limit, run).await,
            None => Ok(run.await),
        };
        match outcome {
            Ok((Ok(Ok(status)), output)) => {
                running.0 = None;
                Ok(ExecOutput {
                    exit_code: exit_status(status).code,
                    output,
                })
            }
            Ok((Ok(Err(e)), _)) => Err(ExecError::Failed(e.to_string())),
            Ok((Err(_), _)) => Err(ExecError::Failed("the exec's waiting thread died".into())),
            Err(_) => Err(ExecError::TimedOut),
        }
    }

    async fn read_file(
        &self,
        id: &ContainerId,
        path: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>> {
        let proc = self.proc(id)?;
        let host_path = if self.namespaces.mount {
            match proc
                .mounts
                .iter()
                .find(|m| Path::new(path).starts_with(&m.target))
            {
                Some(m) => match Path::new(path).strip_prefix(&m.target) {
                    Ok(rest) if !rest.as_os_str().is_empty() => m.source.join(rest),
                    _ => m.source.clone(),
                },
                None => PathBuf::from(path),
            }
        } else {
            PathBuf::from(path)
        };
        match std::fs::File::open(&host_path) {
            Ok(file) => {
                let mut bytes = Vec::new();
                file.take(limit as u64).read_to_end(&mut bytes)?;
                Ok(Some(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn logs_tail(&self, id: &ContainerId, lines: usize, bytes: usize) -> Result<String> {
        let proc = self.proc(id)?;
        let mut file = std::fs::File::open(proc.dir.join("log"))?;
        let len = file.metadata()?.len();
        let start = len.saturating_sub(bytes as u64);
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let text = String::from_utf8_lossy(&tail);
        let kept: Vec<&str> = text.lines().rev().take(lines).collect();
        Ok(kept.into_iter().rev().collect::<Vec<_>>().join("\n"))
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<()> {
        let proc = self.containers.lock().expect("runtime state").remove(id);
        if let Some(proc) = proc
            && let Some(pgid) = *proc.pgid.lock().expect("container state")
        {
            let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
        }
        Ok(())
    }

    /// Pods share this machine's network: a loopback address of the Service's own.
    async fn create_service_address(&self, _names: &[String]) -> Result<ServiceAddress> {
        Ok(super::loopback_service_address())
    }

    async fn remove_service_address(&self, _address: &ServiceAddress) -> Result<()> {
        Ok(())
    }
}

/// Serializes choosing a pod-address octet among the runtimes of this process (concurrent
/// scenarios start theirs at the same moment).
static OCTETS: Mutex<()> = Mutex::new(());

/// A second octet for a run's pod addresses that no live run under `runs` has (each run
/// records its own in `octet`), chosen at random among the free ones.
fn free_octet(runs: &Path) -> u8 {
    let used: std::collections::BTreeSet<u8> = std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            std::fs::read_to_string(entry.path().join("octet"))
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    let free: Vec<u8> = (16..=250).filter(|o| !used.contains(o)).collect();
    match free.len() {
        0 => fastrand::u8(16..=250),
        n => free[fastrand::usize(..n)],
    }
}

/// The `n`th pod address (from 0) of a runtime: `127.<octet>.x.y`, never ending in .0 or .255.
fn pod_ip(octet: u8, n: u32) -> IpAddr {
    let n = n % (254 * 256);
    IpAddr::V4(Ipv4Addr::new(
        127,
        octet,
        (n / 254) as u8,
        (n % 254) as u8 + 1,
    ))
}

/// A container's namespace of `kind` (`mnt`, `pid`), for an exec'd process to join.
fn namespace_of(pid: i32, kind: &str) -> std::io::Result<OwnedFd> {
    Ok(std::fs::File::open(format!("/proc/{pid}/ns/{kind}"))?.into())
}

/// Kills the process group of an exec'd process that has not ended when it is dropped (timed
/// out, or its caller gave up on it).
struct KillOnDrop(Option<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
        }
    }
}

/// Reads a pipe to its end, keeping the first [`EXEC_OUTPUT_LIMIT`] bytes.
async fn read_bounded(reader: OwnedFd) -> String {
    let Ok(mut pipe) = tokio::net::unix::pipe::Receiver::from_owned_fd(reader) else {
        return String::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = EXEC_OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

fn exit_status(status: std::process::ExitStatus) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus {
            code,
            signal: None,
            oom_killed: false,
        },
        (None, Some(signal)) => ExitStatus {
            code: 128 + signal,
            signal: Some(signal),
            oom_killed: false,
        },
        (None, None) => ExitStatus {
            code: 128,
            signal: None,
            oom_killed: false,
        },
    }
}

/// Appends a line to a bookkeeping file.
fn record(file: &Path, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Where podlife keeps run state: `PODLIFE_STATE_DIR`, or `/tmp/podlife-<uid>`.
pub fn state_root() -> PathBuf {
    std::env::var_os("PODLIFE_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("podlife-{}", nix::unistd::geteuid())))
}

/// `pid starttime`: identifies a live process even after its pid is reused.
pub fn owner_token(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let start = after_name.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Reaps runs whose engine is gone (killed with SIGKILL, crashed).
/// The pod's `/etc/hosts`, as the kubelet writes it: localhost, the pod's own name at its IP,
/// then the runtime's extra names.
fn hosts_file(ip: IpAddr, spec: &SandboxSpec, extra: &Hosts) -> String {
    let mut text = String::from(
        "# Kubernetes-managed hosts file (podlife).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    // As the kubelet writes it: `10.1.2.3  db-0.db.default.svc.cluster.local  db-0`.
    let own: Vec<&str> = spec
        .domain_names
        .first()
        .map(String::as_str)
        .into_iter()
        .chain([spec.hostname.as_str()])
        .collect();
    text.push_str(&format!("{ip}\t{}\n", own.join("\t")));
    for (name, ip) in extra.entries() {
        text.push_str(&format!("{ip}\t{name}\n"));
    }
    text
}

fn reap_dead_runs(runs: &Path, registry: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        // A run being set up right now; one left by a crash in those microseconds is old.
        let staged = entry.file_name().to_string_lossy().starts_with('.');
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > std::time::Duration::from_secs(60));
        if staged && !old {
            continue;
        }
        let owner = std::fs::read_to_string(dir.join("owner")).unwrap_or_default();
        let alive = owner
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .and_then(owner_token)
            .is_some_and(|token| token == owner.trim());
        if !alive {
            reap_run(&dir, registry);
        }
    }
}

/// Kills every process group of a run, releases the mount points it used (removing those no
/// other run uses) and removes its directory.
fn reap_run(dir: &Path, registry: &Path) {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    for pgid in read("pgids")
        .lines()
        .filter_map(|l| l.trim().parse::<i32>().ok())
    {
        let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
    }
    let run = run_name(dir);
    if let Ok(_lock) = registry_lock(registry) {
        for created in read("created").lines() {
            release_mount_point(registry, Path::new(created.trim()), &run);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Drops `run` from the users of `target`; the last user removes what podlife created for it.
fn release_mount_point(registry: &Path, target: &Path, run: &str) {
    let entry = registry.join(escape(target));
    let _ = std::fs::remove_file(entry.join(run));
    let users = std::fs::read_dir(&entry)
        .map(|d| d.flatten().filter(|e| e.file_name() != CREATED).count())
        .unwrap_or(0);
    if users > 0 {
        return;
    }
    if let Ok(outermost) = std::fs::read_to_string(entry.join(CREATED)) {
        remove_empty_up_to(target, Path::new(&outermost));
    }
    let _ = std::fs::remove_dir_all(&entry);
}

/// Removes `path` if it is an empty file or directory, then its parents up to `outermost`
/// (inclusive) while they are empty.
fn remove_empty_up_to(path: &Path, outermost: &Path) {
    let removed = if path.is_dir() {
        std::fs::remove_dir(path).is_ok()
    } else {
        path.metadata().is_ok_and(|m| m.len() == 0) && std::fs::remove_file(path).is_ok()
    };
    if !removed || path == outermost {
        return;
    }
    let mut parent = path.parent();
    while let Some(dir) = parent.filter(|d| d.starts_with(outermost)) {
        if std::fs::remove_dir(dir).is_err() || dir == outermost {
            break;
        }
        parent = dir.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_ips_are_distinct_host_addresses() {
        let ips: std::collections::HashSet<IpAddr> = (0..2000).map(|n| pod_ip(42, n)).collect();
        assert_eq!(ips.len(), 2000);
        assert_eq!(pod_ip(42, 0), IpAddr::V4(Ipv4Addr::new(127, 42, 0, 1)));
        assert_eq!(pod_ip(42, 253), IpAddr::V4(Ipv4Addr::new(127, 42, 0, 254)));
        assert_eq!(pod_ip(42, 254), IpAddr::V4(Ipv4Addr::new(127, 42, 1, 1)));
    }
}
