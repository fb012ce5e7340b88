//! The simulated runtime: containers are scripts, not processes. Nothing here touches the
//! machine (no processes, files, network or images), and every wait is a tokio timer, so the
//! whole engine runs under a paused tokio clock: engine rules are tested deterministically, in
//! milliseconds, and a manifest's timing can be tried out at once.
//!
//! What a container does — how long it runs, its exit code, what its stop signal does, how
//! its exec commands and network checks answer over time — is its [`Script`]: from the pod's
//! annotation `sim.podlife.dev/<container>` (its text: [`Script`]'s `FromStr`), else given to
//! the runtime per container name (or `pod/container`). A container without one runs until
//! it is signalled, exits 128 + signal at once, and passes every check.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::jiff::Timestamp;
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{
    ContainerId, ContainerRecord, ContainerRuntime, ContainerSpec, ContainerState, ExecError,
    ExecOutput, ExitStatus, ImageConfig, NetworkAnswer, Result, RuntimeError, Sandbox, SandboxSpec,
    ServiceAddress,
};
use crate::time::now;

mod script;

pub use script::{ANNOTATION_PREFIX, Check, CheckMatch, OnSignal, Script};

/// The simulated runtime; see the module documentation.
#[derive(Default)]
pub struct SimRuntime {
    /// Scripts by `pod/container` or `container`.
    scripts: Mutex<HashMap<String, Script>>,
    sandboxes: Mutex<HashMap<String, SimSandbox>>,
    containers: Mutex<HashMap<ContainerId, SimContainer>>,
    next_sandbox: AtomicU32,
    next_container: AtomicU64,
}

struct SimSandbox {
    pod_uid: String,
    pod_name: String,
    ip: IpAddr,
    /// Scripts from the pod's `sim.podlife.dev/<container>` annotations.
    scripts: HashMap<String, Script>,
}

struct SimContainer {
    sandbox: String,
    name: String,
    attempt: i32,
    script: Script,
    started: Option<(Instant, Timestamp)>,
    /// The exit and when it came.
    exit: watch::Sender<Option<(ExitStatus, Timestamp)>>,
    signals: Option<mpsc::UnboundedSender<Signal>>,
}

impl SimRuntime {
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives containers named `name` (`container`, or `pod/container` for one pod's, the pod
    /// by its name) this script.
    pub fn script(self, name: &str, script: Script) -> Self {
        self.scripts
            .lock()
            .expect("runtime state")
            .insert(name.to_owned(), script);
        self
    }

    fn script_for(&self, pod: &str, container: &str) -> Script {
        let scripts = self.scripts.lock().expect("runtime state");
        scripts
            .get(&format!("{pod}/{container}"))
            .or_else(|| scripts.get(container))
            .cloned()
            .unwrap_or_default()
    }

    fn with_container<T>(
        &self,
        id: &ContainerId,
        f: impl FnOnce(&mut SimContainer) -> T,
    ) -> Result<T> {
        let mut containers = self.containers.lock().expect("runtime state");
        let container = containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError(format!("no container {id}")))?;
        Ok(f(container))
    }

    /// How `id`'s check `wanted` answers now, after taking its time (bounded by `timeout`);
    /// `None` when it timed out.
    async fn run_check(
        &self,
        id: &ContainerId,
        wanted: impl FnOnce() -> CheckMatch,
        timeout: Option<Duration>,
    ) -> Result<Option<bool>> {
        let (check, started) = self.with_container(id, |c| {
            // Most containers script no checks: then nothing needs to be matched.
            let check = if c.script.checks.is_empty() {
                None
            } else {
                c.script.check_for(&wanted()).cloned()
            };
            (check, c.started.map(|(at, _)| at))
        })?;
        let Some(started) = started.filter(|_| self.running(id)) else {
            return Err(RuntimeError(format!("container {id} is not running")));
        };
        let Some(check) = check else {
            return Ok(Some(true));
        };
        if let Some(timeout) = timeout.filter(|t| check.takes > *t) {
            tokio::time::sleep(timeout).await;
            return Ok(None);
        }
        tokio::time::sleep(check.takes).await;
        Ok(Some(check.answer(started.elapsed())))
    }

    fn running(&self, id: &ContainerId) -> bool {
        self.with_container(id, |c| c.started.is_some() && c.exit.borrow().is_none())
            .unwrap_or(false)
    }
}

/// Plays `script` for one instance: exits by itself, or as its signals decide.
async fn play(
    script: Script,
    exit: watch::Sender<Option<(ExitStatus, Timestamp)>>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
) {
    let ends = |code: i32, signal: Option<i32>| {
        exit.send_replace(Some((
            ExitStatus {
                code,
                signal,
                oom_killed: false,
            },
            now(),
        )));
    };
    let by_itself = async {
        match script.runs_for {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(by_itself);
    // The exit a caught signal set in motion.
    let mut leaving: Option<(Instant, i32, Option<i32>)> = None;
    loop {
        let until = leaving.map(|(at, _, _)| at);
        tokio::select! {
            () = &mut by_itself => return ends(script.exit_code, None),
            () = async {
                match until {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                let (_, code, signal) = leaving.expect("only set with a time");
                return ends(code, signal);
            }
            signal = signals.recv() => {
                let Some(signal) = signal else { return };
                let number = signal as i32;
                if signal == Signal::SIGKILL {
                    return ends(128 + number, Some(number));
                }
                let (after, code, by) = match script.on_signal {
                    OnSignal::Dies => (Duration::ZERO, 128 + number, Some(number)),
                    OnSignal::Exits { after, code } => (after, code, None),
                    OnSignal::Ignores => continue,
                };
                if leaving.is_none() {
                    leaving = Some((Instant::now() + after, code, by));
                }
            }
        }
    }
}

#[async_trait]
impl ContainerRuntime for SimRuntime {
    fn name(&self) -> &'static str {
        "sim"
    }

    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox> {
        let mut scripts = HashMap::new();
        for (key, text) in &spec.annotations {
            if let Some(container) = key.strip_prefix(ANNOTATION_PREFIX) {
                let script = text
                    .parse()
                    .map_err(|why| RuntimeError(format!("annotation {key}: {why}")))?;
                scripts.insert(container.to_owned(), script);
            }
        }
        let n = self.next_sandbox.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n}", spec.pod_name);
        // 10.88.0.0/16 and up, as a CNI bridge would hand out; nothing listens there.
        let ip = IpAddr::from([10, 88 + (n >> 16) as u8, (n >> 8) as u8, n as u8 + 2]);
        self.sandboxes.lock().expect("runtime state").insert(
            id.clone(),
            SimSandbox {
                pod_uid: spec.pod_uid.clone(),
                pod_name: spec.pod_name.clone(),
                ip,
                scripts,
            },
        );
        Ok(Sandbox { id, ip })
    }

    async fn find_sandbox(&self, pod_uid: &str) -> Result<Option<Sandbox>> {
        let sandboxes = self.sandboxes.lock().expect("runtime state");
        Ok(sandboxes
            .iter()
            .find(|(_, s)| s.pod_uid == pod_uid)
            .map(|(id, s)| Sandbox {
                id: id.clone(),
                ip: s.ip,
            }))
    }

    async fn list_containers(&self, sandbox: &Sandbox) -> Result<Vec<ContainerRecord>> {
        let containers = self.containers.lock().expect("runtime state");
        let records = containers
            .iter()
            .filter(|(_, c)| c.sandbox == sandbox.id)
            .map(|(id, c)| ContainerRecord {
                id: id.clone(),
                name: c.name.clone(),
                attempt: c.attempt,
                state: ContainerState::of(c.started.map(|(_, at)| at), *c.exit.borrow()),
            })
            .collect();
        Ok(super::by_name_and_attempt(records))
    }

    async fn remove_sandbox(&self, sandbox: &Sandbox) -> Result<()> {
        self.sandboxes
            .lock()
            .expect("runtime state")
            .remove(&sandbox.id);
        Ok(())
    }

    async fn image_config(&self, _image: &str) -> Result<ImageConfig> {
        Ok(ImageConfig::default())
    }

    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<ContainerId> {
        let (pod, annotated) = {
            let sandboxes = self.sandboxes.lock().expect("runtime state");
            let pod = sandboxes
                .get(&sandbox.id)
                .ok_or_else(|| RuntimeError(format!("no sandbox {}", sandbox.id)))?;
            (pod.pod_name.clone(), pod.scripts.get(&spec.name).cloned())
        };
        let script = annotated
            .unwrap_or_else(|| self.script_for(&pod, &spec.name))
            .for_attempt(spec.attempt)
            .clone();
        let n = self.next_container.fetch_add(1, Ordering::Relaxed);
        let id = ContainerId(format!("{}-{}-{n}", sandbox.id, spec.name));
        self.containers.lock().expect("runtime state").insert(
            id.clone(),
            SimContainer {
                sandbox: sandbox.id.clone(),
                name: spec.name.clone(),
                attempt: spec.attempt,
                script,
                started: None,
                exit: watch::channel(None).0,
                signals: None,
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<()> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (script, exit) = self.with_container(id, |c| {
            c.started = Some((Instant::now(), now()));
            c.signals = Some(tx);
            (c.script.clone(), c.exit.clone())
        })?;
        tokio::spawn(play(script, exit, rx));
        Ok(())
    }

    async fn wait_container(&self, id: &ContainerId) -> Result<ExitStatus> {
        let mut exit = self.with_container(id, |c| c.exit.subscribe())?;
        let ended = exit
            .wait_for(Option::is_some)
            .await
            .map_err(|_| RuntimeError(format!("container {id} vanished")))?;
        Ok(ended.expect("waited for an exit").0)
    }

    async fn signal_container(&self, id: &ContainerId, signal: Signal) -> Result<()> {
        self.with_container(id, |c| {
            if let Some(signals) = &c.signals {
                let _ = signals.send(signal);
            }
        })
    }

    async fn exec(
        &self,
        id: &ContainerId,
        command: &[String],
        timeout: Option<Duration>,
    ) -> std::result::Result<ExecOutput, ExecError> {
        let wanted = || CheckMatch::Exec(command.join(" "));
        match self.run_check(id, wanted, timeout).await {
            Ok(Some(ok)) => Ok(ExecOutput {
                exit_code: if ok { 0 } else { 1 },
                output: String::new(),
            }),
            Ok(None) => Err(ExecError::TimedOut),
            Err(e) => Err(ExecError::Failed(e.0)),
        }
    }

    async fn network_check(
        &self,
        id: &ContainerId,
        port: u16,
        timeout: Option<Duration>,
    ) -> Option<NetworkAnswer> {
        Some(
            match self.run_check(id, || CheckMatch::Port(port), timeout).await {
                Ok(Some(true)) => NetworkAnswer::Passed,
                Ok(Some(false)) => {
                    NetworkAnswer::Failed(format!("simulated failure on port {port}"))
                }
                Ok(None) => NetworkAnswer::TimedOut,
                Err(e) => NetworkAnswer::Failed(e.0),
            },
        )
    }

    async fn read_file(
        &self,
        id: &ContainerId,
        _path: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>> {
        self.with_container(id, |c| {
            c.script.termination_message.as_ref().map(|m| {
                let mut bytes = m.as_bytes().to_vec();
                bytes.truncate(limit);
                bytes
            })
        })
    }

    async fn logs_tail(&self, id: &ContainerId, lines: usize, bytes: usize) -> Result<String> {
        self.with_container(id, |c| {
            let kept: Vec<&str> = c.script.log.lines().rev().take(lines).collect();
            let mut text = kept.into_iter().rev().collect::<Vec<_>>().join("\n");
            if text.len() > bytes {
                let cut = text.len() - bytes;
                let cut = (cut..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(text.len());
                text.drain(..cut);
            }
            text
        })
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<()> {
        let removed = self.containers.lock().expect("runtime state").remove(id);
        if let Some(signals) = removed.and_then(|c| c.signals) {
            let _ = signals.send(Signal::SIGKILL);
        }
        Ok(())
    }

    async fn create_service_address(&self, _names: &[String]) -> Result<ServiceAddress> {
        Ok(super::loopback_service_address())
    }

    async fn remove_service_address(&self, _address: &ServiceAddress) -> Result<()> {
        Ok(())
    }
}
