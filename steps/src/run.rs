//! A scenario's running part: an engine on the chosen runtime, a scratch directory shared
//! with the containers, and the fixture servers (monitor, backend, TCP service) the manifests
//! talk to. Everything it starts is stopped when the scenario ends, passed or failed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use podlife::engine::{Engine, Record};
use podlife::probe::hosts::Hosts;
use podlife::runtime::docker::{DockerOptions, DockerRuntime};
use podlife::runtime::process::ProcessRuntime;
use podlife::time::TimeScale;

/// The runtimes a scenario can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Process,
    Docker,
}

impl RuntimeKind {
    pub const ALL: [RuntimeKind; 2] = [RuntimeKind::Process, RuntimeKind::Docker];

    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Process => "process",
            RuntimeKind::Docker => "docker",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// The runtime of the pass the runner is in (it runs the features once per runtime).
pub fn current_runtime() -> RuntimeKind {
    RuntimeKind::ALL[CURRENT.load(Ordering::Relaxed) as usize]
}

/// Set by the runner before each pass.
pub fn set_current_runtime(kind: RuntimeKind) {
    let index = RuntimeKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0);
    CURRENT.store(index as u8, Ordering::Relaxed);
}

/// A fixture server: `testapp` serving HTTP, reachable from pods and from the engine under
/// its name.
pub struct Fixture {
    pub name: String,
    pub ip: IpAddr,
    pub port: u16,
    /// testapp's event log (every request, with timestamps).
    pub log: PathBuf,
    /// The host process (process runtime); a Docker fixture goes with the run's network.
    process: Option<std::process::Child>,
}

impl Fixture {
    /// `http://ip:port`.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    /// The JSON lines of its event log.
    pub fn events(&self) -> Vec<serde_json::Value> {
        read_events(&self.log)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(child) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The JSON lines of a testapp `--log` file.
pub fn read_events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The engine, its runtime, and what the scenario started around it.
pub struct Run {
    pub kind: RuntimeKind,
    pub engine: Arc<Engine>,
    pub out: tempfile::TempDir,
    pub fixtures: Vec<Fixture>,
    pub monitors: Vec<crate::monitor::Monitor>,
    docker: Option<Arc<DockerRuntime>>,
    hosts: Hosts,
}

impl Run {
    /// Starts an engine at `scale` on `kind`: the images and the static testapp are made
    /// ready first, so that a scenario's clock does not include building them.
    pub async fn start(kind: RuntimeKind, scale: f64) -> Result<Self, String> {
        let out = tempfile::tempdir().map_err(|e| format!("scratch directory: {e}"))?;
        let scale = TimeScale::new(scale).map_err(|e| e.to_string())?;
        let hosts = Hosts::new();
        let testapp = podlife::images::static_testapp(&|_| {})
            .await
            .map_err(|e| e.to_string())?;
        let (runtime, docker): (Arc<dyn podlife::runtime::ContainerRuntime>, _) = match kind {
            RuntimeKind::Process => {
                let dir = testapp.parent().unwrap_or(Path::new("/")).to_path_buf();
                let runtime = ProcessRuntime::new()
                    .map_err(|e| format!("process runtime: {e}"))?
                    .with_path_prepended(&dir)
                    .with_shared_dir(out.path())
                    .with_hosts(hosts.clone());
                (Arc::new(runtime), None)
            }
            RuntimeKind::Docker => {
                let runtime = DockerRuntime::with_options(DockerOptions {
                    hosts: hosts.clone(),
                    shared_dirs: vec![out.path().to_path_buf()],
                })
                .await
                .map_err(|e| e.to_string())?;
                for image in [
                    podlife::images::PAUSE_IMAGE,
                    podlife::images::BUSYBOX_IMAGE,
                    podlife::images::TESTAPP_IMAGE,
                ] {
                    podlife::images::ensure(runtime.docker(), image, &|_| {})
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let runtime = Arc::new(runtime);
                (runtime.clone(), Some(runtime))
            }
        };
        let engine = Arc::new(Engine::with_hosts(runtime, scale, hosts.clone()));
        Ok(Self {
            kind,
            engine,
            out,
            fixtures: Vec::new(),
            monitors: Vec::new(),
            docker,
            hosts,
        })
    }

    pub fn scale(&self) -> TimeScale {
        self.engine.log().scale()
    }

    pub fn records(&self) -> Vec<Record> {
        self.engine.log().records()
    }

    /// Starts `testapp` with `args` as the fixture `name`, listening for HTTP on `port`.
    pub async fn start_fixture(
        &mut self,
        name: &str,
        port: u16,
        args: &[&str],
    ) -> Result<&Fixture, String> {
        let log = self.out.path().join(format!("fixture-{name}.log"));
        let mut command: Vec<String> = vec![
            "testapp".into(),
            "--http".into(),
            port.to_string(),
            "--name".into(),
            name.into(),
            "--log".into(),
            log.display().to_string(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        let (ip, process) = match &self.docker {
            Some(docker) => {
                command[0] = "/usr/local/bin/testapp".into();
                let ip = docker
                    .start_fixture(name, podlife::images::TESTAPP_IMAGE, &command)
                    .await
                    .map_err(|e| e.to_string())?;
                (ip, None)
            }
            None => {
                let testapp = podlife::images::static_testapp(&|_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                let ip = own_loopback();
                let mut fixture = std::process::Command::new(testapp);
                fixture
                    .args(&command[1..])
                    .args(["--bind", &ip.to_string()])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
                // It dies with the harness, even a SIGKILLed one.
                // SAFETY: only an async-signal-safe system call between fork and exec.
                unsafe {
                    use std::os::unix::process::CommandExt;
                    fixture.pre_exec(|| {
                        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                        Ok(())
                    });
                }
                let child = fixture
                    .spawn()
                    .map_err(|e| format!("cannot start the fixture {name}: {e}"))?;
                (ip, Some(child))
            }
        };
        self.hosts.alias(name, ip);
        self.fixtures.push(Fixture {
            name: name.to_owned(),
            ip,
            port,
            log: log.clone(),
            process,
        });
        // Ready when its start event is in the log.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !read_events(&log).iter().any(|e| e["event"] == "start") {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("the fixture {name} did not start within 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(self.fixtures.last().expect("just pushed"))
    }

    /// Starts the monitor `name` on `port` (see [`crate::monitor`]), reachable under its name.
    pub async fn start_monitor(&mut self, name: &str, port: u16, tls: bool) -> Result<(), String> {
        let ip = match &self.docker {
            Some(docker) => network_gateway(docker).await?,
            None => own_loopback(),
        };
        let monitor = crate::monitor::start(name, ip, port, tls, self.engine.log().clone()).await?;
        self.hosts.alias(name, ip);
        self.monitors.push(monitor);
        Ok(())
    }

    pub fn monitor(&self, name: &str) -> Option<&crate::monitor::Monitor> {
        self.monitors.iter().find(|m| m.name == name)
    }

    pub fn fixture(&self, name: &str) -> Option<&Fixture> {
        self.fixtures.iter().find(|f| f.name == name)
    }

    /// Deletes every pod at once and waits until all are gone (the scenario's teardown).
    pub async fn shutdown(&self) {
        let _ =
            tokio::time::timeout(Duration::from_secs(60), self.engine.kill_all_and_wait()).await;
    }
}

/// A loopback address of its own (127.200–254.x.y), so that servers of concurrent scenarios
/// can all use the port the manifest names.
fn own_loopback() -> IpAddr {
    IpAddr::from([
        127,
        fastrand::u8(200..=254),
        fastrand::u8(..),
        fastrand::u8(1..=254),
    ])
}

/// The gateway of the run's Docker network: this machine, as the pods on it reach it.
async fn network_gateway(docker: &DockerRuntime) -> Result<IpAddr, String> {
    let network = docker
        .docker()
        .inspect_network(docker.network(), None)
        .await
        .map_err(|e| format!("cannot inspect the run's network: {e}"))?;
    network
        .ipam
        .and_then(|ipam| ipam.config)
        .into_iter()
        .flatten()
        .find_map(|c| c.gateway.and_then(|g| g.parse().ok()))
        .ok_or_else(|| format!("the network {} has no gateway", docker.network()))
}
