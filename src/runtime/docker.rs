//! The Docker runtime: real containers through the Docker Engine API (bollard).
//!
//! Pods are laid out the way the kubelet's Docker integration did it: a small pause container
//! owns the pod's network namespace on a podlife network (its address there is the pod IP), and
//! every container of the pod joins it (`container:<pause>` network mode), so they share
//! `localhost`. emptyDir volumes are Docker volumes; each container's termination-message file is
//! a host file bind-mounted at `terminationMessagePath`. `command`/`args` replace the image's
//! ENTRYPOINT/CMD as Kubernetes defines, and the image's STOPSIGNAL is reported to the engine.
//!
//! Everything is labelled with its run (`io.podlife.run`) and the engine process that owns it
//! (`io.podlife.owner`); removing a pod removes its containers and volumes, dropping the runtime
//! removes the run's network, and a new runtime removes whatever runs with a dead owner left.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkCreateRequest,
    NetworkingConfig, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use nix::sys::signal::Signal;

use super::{
    ContainerId, ContainerRecord, ContainerRuntime, ContainerSpec, ContainerState,
    EXEC_OUTPUT_LIMIT, ExecError, ExecOutput, ExitStatus, Fetched, ImageConfig, Result,
    RuntimeError, Sandbox, SandboxSpec, ServiceAddress, VolumeSource, write_volume_files,
};
use crate::images;
use crate::probe::hosts::Hosts;

/// Label: the run that made an object.
const RUN_LABEL: &str = "io.podlife.run";
/// Label: `pid starttime` of the engine process that owns an object.
const OWNER_LABEL: &str = "io.podlife.owner";
/// Labels of a pod sandbox (its uid) and of a container (its sandbox, name and attempt), by
/// which a restarted engine finds them (`find_sandbox`, `list_containers`), as the kubelet
/// finds its containers by the CRI labels it sets.
const POD_UID_LABEL: &str = "io.podlife.pod-uid";
const SANDBOX_LABEL: &str = "io.podlife.sandbox";
const CONTAINER_LABEL: &str = "io.podlife.container";
const ATTEMPT_LABEL: &str = "io.podlife.attempt";

fn docker_error(what: &str, e: bollard::errors::Error) -> RuntimeError {
    RuntimeError(format!("{what}: {e}"))
}

/// The Docker runtime.
pub struct DockerRuntime {
    docker: Docker,
    run: String,
    owner: String,
    network: String,
    state_dir: PathBuf,
    options: DockerOptions,
    /// Services get addresses on the run's network (see `create_service_address`).
    services_in_network: bool,
    sandboxes: Mutex<HashMap<String, PodInfo>>,
    containers: Mutex<HashMap<ContainerId, ContainerInfo>>,
}

#[derive(Debug, Clone)]
struct PodInfo {
    pause: String,
    /// The pod's volumes by name.
    volumes: Vec<(String, PodVolume)>,
}

/// Where a pod volume lives on Docker.
#[derive(Debug, Clone)]
enum PodVolume {
    /// An emptyDir: a Docker volume removed with the pod.
    Scratch(String),
    /// A claim: a Docker volume of the run, kept for the next pod that mounts the claim.
    Claim(String),
    /// Files written for the pod (ConfigMap, Secret, downward API): a host directory,
    /// bind-mounted read-only and removed with the pod.
    Files(PathBuf),
}

#[derive(Debug, Clone)]
struct ContainerInfo {
    /// Host file bind-mounted at the termination-message path, and that path.
    termination: Option<(PathBuf, String)>,
}

/// What a harness may add to every pod.
#[derive(Debug, Clone, Default)]
pub struct DockerOptions {
    /// Host names every pod resolves (`/etc/hosts` entries), e.g. a test's `monitor.com`:
    /// the table as it is when each pod's sandbox is made (share it with the engine's).
    pub hosts: Hosts,
    /// Directories of this machine bind-mounted into every container at the same path, so that
    /// a test and its containers share a scratch directory on both runtimes.
    pub shared_dirs: Vec<PathBuf>,
}

impl DockerRuntime {
    /// Connects to the local Docker engine, reaps what dead runs left, and creates this run's
    /// network. Fails with a clear message when there is no Docker engine.
    pub async fn new() -> Result<Self> {
        Self::with_options(DockerOptions::default()).await
    }

    /// As [`DockerRuntime::new`], with [`DockerOptions`].
    pub async fn with_options(options: DockerOptions) -> Result<Self> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| RuntimeError(format!("no Docker engine here: {e}")))?;
        docker.ping().await.map_err(|e| {
            RuntimeError(format!(
                "no Docker engine answers ({e}); start it (e.g. `dockerd &`) or use --runtime process"
            ))
        })?;
        let pid = std::process::id();
        let owner = super::process::owner_token(pid).unwrap_or_else(|| pid.to_string());
        let run = format!("{pid}-{:08x}", fastrand::u32(..));
        reap_dead_owners(&docker).await;
        let network = format!("podlife-{run}");
        let labels = labels(&run, &owner);
        docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels),
                ..Default::default()
            })
            .await
            .map_err(|e| docker_error("cannot create the podlife network", e))?;
        let state_dir = super::process::state_root().join("docker").join(&run);
        std::fs::create_dir_all(&state_dir)?;
        Ok(Self {
            docker,
            run,
            owner,
            network,
            state_dir,
            options,
            services_in_network: nix::unistd::geteuid().is_root()
                && std::env::var_os("DOCKER_HOST")
                    .is_none_or(|h| h.to_string_lossy().starts_with("unix://")),
            sandboxes: Mutex::new(HashMap::new()),
            containers: Mutex::new(HashMap::new()),
        })
    }

    /// Starts a fixture container of this run (a test's monitor or backend): `image` running
    /// `command`, on the run's network under the alias `name`, with the shared directories
    /// mounted; returns its address there. It is removed with the run, and reaped like a pod.
    pub async fn start_fixture(
        &self,
        name: &str,
        image: &str,
        command: &[String],
    ) -> Result<IpAddr> {
        self.ensure_image(image).await?;
        let suffix = fastrand::u32(..);
        let container = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(&format!(
                            "podlife-fixture-{}-{}-{suffix:08x}",
                            name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
                            self.run
                        ))
                        .build(),
                ),
                ContainerCreateBody {
                    image: Some(image.to_owned()),
                    entrypoint: Some(command.to_vec()),
                    cmd: Some(Vec::new()),
                    labels: Some(self.labels()),
                    host_config: Some(HostConfig {
                        network_mode: Some(self.network.clone()),
                        mounts: Some(self.shared_mounts()),
                        ..Default::default()
                    }),
                    networking_config: Some(NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(
                            self.network.clone(),
                            EndpointSettings {
                                aliases: Some(vec![name.to_owned()]),
                                ..Default::default()
                            },
                        )])),
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| docker_error("cannot create the fixture container", e))?;
        self.start_on_network(&container.id, "the fixture container")
            .await
    }

    /// Starts a created container and returns its address on the run's network.
    async fn start_on_network(&self, id: &str, what: &str) -> Result<IpAddr> {
        Ok(self.start_and_inspect(id, what).await?.0)
    }

    /// Starts a created container: its address on the run's network and its process id.
    async fn start_and_inspect(&self, id: &str, what: &str) -> Result<(IpAddr, Option<i64>)> {
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| docker_error(&format!("cannot start {what}"), e))?;
        let inspect = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| docker_error(&format!("cannot inspect {what}"), e))?;
        let pid = inspect.state.and_then(|s| s.pid).filter(|pid| *pid > 0);
        let ip = inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(&self.network).cloned())
            .and_then(|e| e.ip_address)
            .and_then(|ip| ip.parse().ok())
            .ok_or_else(|| RuntimeError(format!("{what} got no address")))?;
        Ok((ip, pid))
    }

    /// The harness's shared directories, bind-mounted at the same paths.
    fn shared_mounts(&self) -> Vec<Mount> {
        self.options
            .shared_dirs
            .iter()
            .map(|dir| Mount {
                target: Some(dir.display().to_string()),
                source: Some(dir.display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(false),
                ..Default::default()
            })
            .collect()
    }

    /// The Docker API client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The name of this run's network (fixture containers can join it).
    pub fn network(&self) -> &str {
        &self.network
    }

    fn labels(&self) -> HashMap<String, String> {
        labels(&self.run, &self.owner)
    }

    /// This run's labels and `more`.
    fn labels_with<const N: usize>(&self, more: [(&str, String); N]) -> HashMap<String, String> {
        let mut labels = self.labels();
        labels.extend(more.map(|(k, v)| (k.to_owned(), v)));
        labels
    }

    /// This run's containers (running or not) that carry `label` (`key=value`).
    async fn list_labelled(&self, label: String) -> Result<Vec<bollard::models::ContainerSummary>> {
        containers_labelled(
            &self.docker,
            vec![label, format!("{RUN_LABEL}={}", self.run)],
        )
        .await
        .map_err(|e| docker_error("cannot list containers", e))
    }

    /// A Docker volume carrying this run's labels (removed with the run); an existing one
    /// with the name is reused.
    async fn create_volume(&self, name: &str) -> Result<()> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.to_owned()),
                labels: Some(self.labels()),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|e| docker_error("cannot create a volume", e))
    }

    async fn ensure_image(&self, image: &str) -> Result<()> {
        self.fetch_image(image, &|| {}).await.map(|_| ())
    }

    async fn fetch_image(&self, image: &str, fetching: &(dyn Fn() + Sync)) -> Result<Fetched> {
        images::ensure_telling(
            &self.docker,
            image,
            &|line| tracing::info!("{line}"),
            fetching,
        )
        .await
        .map_err(|e| RuntimeError(e.to_string()))
    }

    /// Removes everything of this run: containers, volumes, the network, the state directory.
    pub async fn cleanup(&self) {
        remove_labelled(&self.docker, &format!("{RUN_LABEL}={}", self.run)).await;
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

impl Drop for DockerRuntime {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let run = self.run.clone();
        let state_dir = self.state_dir.clone();
        // Drop cannot await: clean up on a thread with a runtime of its own, and wait for it.
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(remove_labelled(&docker, &format!("{RUN_LABEL}={run}")));
            }
            let _ = std::fs::remove_dir_all(state_dir);
        });
        let _ = cleanup.join();
    }
}

/// How an exited container ended, from its state.
fn exit_status(state: &bollard::models::ContainerState) -> ExitStatus {
    let code = state.exit_code.unwrap_or(128) as i32;
    let signal = (128..160)
        .contains(&code)
        .then_some(code - 128)
        .filter(|s| *s > 0);
    ExitStatus {
        code,
        signal,
        oom_killed: state.oom_killed.unwrap_or(false),
    }
}

fn labels(run: &str, owner: &str) -> HashMap<String, String> {
    HashMap::from([
        (RUN_LABEL.to_owned(), run.to_owned()),
        (OWNER_LABEL.to_owned(), owner.to_owned()),
    ])
}

/// Every container, running or not, that carries each of `labels` (`key=value`).
async fn containers_labelled(
    docker: &Docker,
    labels: Vec<String>,
) -> std::result::Result<Vec<bollard::models::ContainerSummary>, bollard::errors::Error> {
    let filters = HashMap::from([("label".to_owned(), labels)]);
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
}

/// Removes the containers, volumes and networks carrying `label` (`key=value`).
async fn remove_labelled(docker: &Docker, label: &str) {
    let filters = HashMap::from([("label".to_owned(), vec![label.to_owned()])]);
    let containers = containers_labelled(docker, vec![label.to_owned()])
        .await
        .unwrap_or_default();
    for c in containers {
        if let Some(id) = c.id {
            let _ = docker
                .remove_container(
                    &id,
                    Some(
                        RemoveContainerOptionsBuilder::default()
                            .force(true)
                            .v(true)
                            .build(),
                    ),
                )
                .await;
        }
    }
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .ok()
        .and_then(|v| v.volumes)
        .unwrap_or_default();
    for v in volumes {
        let _ = docker
            .remove_volume(
                &v.name,
                Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
            )
            .await;
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap_or_default();
    for n in networks {
        if let Some(id) = n.id {
            let _ = docker.remove_network(&id).await;
        }
    }
}

/// Removes what engines that are no longer running left behind (SIGKILL, crash).
async fn reap_dead_owners(docker: &Docker) {
    let filters = HashMap::from([("label".to_owned(), vec![OWNER_LABEL.to_owned()])]);
    let mut owners: Vec<String> = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.labels.and_then(|l| l.get(OWNER_LABEL).cloned()))
        .collect();
    owners.extend(
        docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| n.labels.and_then(|l| l.get(OWNER_LABEL).cloned())),
    );
    owners.extend(
        docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .ok()
            .and_then(|v| v.volumes)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.labels.get(OWNER_LABEL).cloned()),
    );
    owners.sort();
    owners.dedup();
    for owner in owners {
        let alive = owner
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .and_then(super::process::owner_token)
            .is_some_and(|token| token == owner);
        if !alive {
            remove_labelled(docker, &format!("{OWNER_LABEL}={owner}")).await;
        }
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn notices(&self) -> Vec<String> {
        if self.services_in_network {
            return Vec::new();
        }
        vec![
            "docker runtime: Services listen on this machine's loopback, which pods cannot reach \
             (giving them addresses on the pods' network needs root and a Docker engine on this \
             machine)"
                .to_owned(),
        ]
    }

    async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<Sandbox> {
        self.ensure_image(images::PAUSE_IMAGE).await?;
        let short_uid: String = spec.pod_uid.chars().take(8).collect();
        let base = format!("podlife-{}-{}-{short_uid}", spec.pod_name, self.run);
        let mut volumes = Vec::new();
        for volume in &spec.volumes {
            let placed = match &volume.source {
                VolumeSource::Empty => {
                    let name = format!("{base}-{}", volume.name);
                    self.create_volume(&name).await?;
                    PodVolume::Scratch(name)
                }
                VolumeSource::Claim(claim) => {
                    let name = format!("podlife-{}-claim-{claim}", self.run);
                    self.create_volume(&name).await?;
                    PodVolume::Claim(name)
                }
                VolumeSource::Files(files) => {
                    let dir = self.state_dir.join(format!("{base}-{}", volume.name));
                    write_volume_files(&dir, files)?;
                    PodVolume::Files(dir)
                }
            };
            volumes.push((volume.name.clone(), placed));
        }
        let extra_hosts: Vec<String> = self
            .options
            .hosts
            .entries()
            .iter()
            .map(|(name, ip)| format!("{name}:{ip}"))
            .collect();
        let pause = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(&format!("{base}-pause"))
                        .build(),
                ),
                ContainerCreateBody {
                    image: Some(images::PAUSE_IMAGE.to_owned()),
                    hostname: Some(spec.hostname.clone()),
                    labels: Some(self.labels_with([(POD_UID_LABEL, spec.pod_uid.clone())])),
                    host_config: Some(HostConfig {
                        network_mode: Some(self.network.clone()),
                        ipc_mode: Some("shareable".into()),
                        extra_hosts: (!extra_hosts.is_empty()).then_some(extra_hosts),
                        ..Default::default()
                    }),
                    networking_config: Some(NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(
                            self.network.clone(),
                            EndpointSettings {
                                aliases: Some(
                                    [spec.hostname.clone(), spec.pod_name.clone()]
                                        .into_iter()
                                        .chain(spec.domain_names.iter().cloned())
                                        .collect(),
                                ),
                                ..Default::default()
                            },
                        )])),
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| docker_error("cannot create the pod sandbox", e))?;
        let ip = self.start_on_network(&pause.id, "the pod sandbox").await?;
        self.sandboxes.lock().expect("runtime state").insert(
            pause.id.clone(),
            PodInfo {
                pause: pause.id.clone(),
                volumes,
            },
        );
        Ok(Sandbox { id: pause.id, ip })
    }

    async fn find_sandbox(&self, pod_uid: &str) -> Result<Option<Sandbox>> {
        let found = self
            .list_labelled(format!("{POD_UID_LABEL}={pod_uid}"))
            .await?;
        let Some(id) = found.into_iter().find_map(|c| c.id) else {
            return Ok(None);
        };
        // Its volumes are known to this runtime only: a sandbox another process made
        // cannot be taken over.
        if !self
            .sandboxes
            .lock()
            .expect("runtime state")
            .contains_key(&id)
        {
            return Ok(None);
        }
        let inspect = self
            .docker
            .inspect_container(&id, None)
            .await
            .map_err(|e| docker_error("cannot inspect the pod sandbox", e))?;
        let ip = inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(&self.network).cloned())
            .and_then(|e| e.ip_address)
            .and_then(|ip| ip.parse().ok());
        Ok(ip.map(|ip| Sandbox { id, ip }))
    }

    async fn list_containers(&self, sandbox: &Sandbox) -> Result<Vec<ContainerRecord>> {
        let found = self
            .list_labelled(format!("{SANDBOX_LABEL}={}", sandbox.id))
            .await?;
        let mut records = Vec::new();
        for summary in found {
            let (Some(id), Some(labels)) = (summary.id, summary.labels) else {
                continue;
            };
            let (Some(name), Some(attempt)) = (
                labels.get(CONTAINER_LABEL).cloned(),
                labels.get(ATTEMPT_LABEL).and_then(|a| a.parse().ok()),
            ) else {
                continue;
            };
            let inspect = self
                .docker
                .inspect_container(&id, None)
                .await
                .map_err(|e| docker_error("cannot inspect the container", e))?;
            let state = inspect.state.unwrap_or_default();
            let time = |t: Option<String>| {
                t.and_then(|t| t.parse::<Timestamp>().ok())
                    .filter(|t| t.as_second() > 0)
            };
            let started_at = time(state.started_at.clone());
            let state = match (state.running, started_at) {
                (Some(true), Some(started_at)) => ContainerState::Running { started_at },
                _ => ContainerState::of(
                    started_at,
                    time(state.finished_at.clone()).map(|at| (exit_status(&state), at)),
                ),
            };
            records.push(ContainerRecord {
                id: ContainerId(id),
                name,
                attempt,
                state,
            });
        }
        Ok(super::by_name_and_attempt(records))
    }

    async fn remove_sandbox(&self, sandbox: &Sandbox) -> Result<()> {
        let pod = self
            .sandboxes
            .lock()
            .expect("runtime state")
            .remove(&sandbox.id);
        if let Some(pod) = pod {
            let _ = self
                .docker
                .remove_container(
                    &pod.pause,
                    Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                )
                .await;
            for (_, volume) in pod.volumes {
                match volume {
                    PodVolume::Scratch(name) => {
                        let _ = self
                            .docker
                            .remove_volume(
                                &name,
                                Some(RemoveVolumeOptionsBuilder::default().force(true).build()),
                            )
                            .await;
                    }
                    PodVolume::Files(dir) => {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                    PodVolume::Claim(_) => {}
                }
            }
        }
        Ok(())
    }

    /// An exec through the Docker API (create, start, wait, inspect) took 40–60 ms on the
    /// 2-core project machine, more under load.
    fn exec_latency(&self) -> Duration {
        Duration::from_millis(100)
    }

    fn sandbox_image(&self) -> Option<&'static str> {
        Some(images::PAUSE_IMAGE)
    }

    async fn pull_image(&self, image: &str, fetching: &(dyn Fn() + Sync)) -> Result<Fetched> {
        self.fetch_image(image, fetching).await
    }

    async fn image_config(&self, image: &str) -> Result<ImageConfig> {
        self.ensure_image(image).await?;
        let inspect = self
            .docker
            .inspect_image(image)
            .await
            .map_err(|e| docker_error(&format!("cannot inspect image {image}"), e))?;
        let config = inspect.config.unwrap_or_default();
        Ok(ImageConfig {
            entrypoint: config.entrypoint.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            stop_signal: config.stop_signal.as_deref().and_then(super::parse_signal),
        })
    }

    async fn create_container(
        &self,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<ContainerId> {
        self.ensure_image(&spec.image).await?;
        let pod = self
            .sandboxes
            .lock()
            .expect("runtime state")
            .get(&sandbox.id)
            .cloned()
            .ok_or_else(|| RuntimeError(format!("no sandbox {}", sandbox.id)))?;
        let mut mounts = Vec::new();
        for m in &spec.mounts {
            let Some((_, volume)) = pod.volumes.iter().find(|(name, _)| *name == m.volume) else {
                return Err(RuntimeError(format!(
                    "volume {:?} is not a volume of the pod",
                    m.volume
                )));
            };
            let (source, typ, read_only) = match volume {
                PodVolume::Scratch(name) | PodVolume::Claim(name) => {
                    (name.clone(), MountType::VOLUME, m.read_only)
                }
                PodVolume::Files(dir) => (dir.display().to_string(), MountType::BIND, true),
            };
            mounts.push(Mount {
                target: Some(m.path.clone()),
                source: Some(source),
                typ: Some(typ),
                read_only: Some(read_only),
                ..Default::default()
            });
        }
        mounts.extend(self.shared_mounts());
        let termination = match &spec.termination_message_path {
            Some(path) => {
                let n = fastrand::u64(..);
                let file = self
                    .state_dir
                    .join(format!("{}-{}-{n:016x}", spec.name, spec.attempt));
                std::fs::write(&file, "")?;
                mounts.push(Mount {
                    target: Some(path.clone()),
                    source: Some(file.display().to_string()),
                    typ: Some(MountType::BIND),
                    read_only: Some(false),
                    ..Default::default()
                });
                Some((file, path.clone()))
            }
            None => None,
        };
        // Kubernetes: `command` replaces ENTRYPOINT, `args` replaces CMD.
        let (entrypoint, cmd) = match (spec.command.is_empty(), spec.args.is_empty()) {
            (false, _) => (Some(spec.command.clone()), Some(spec.args.clone())),
            (true, false) => (None, Some(spec.args.clone())),
            (true, true) => (None, None),
        };
        let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let short: String = sandbox.id.chars().take(12).collect();
        let name = format!("podlife-{short}-{}-{}", spec.name, spec.attempt);
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                ContainerCreateBody {
                    image: Some(spec.image.clone()),
                    entrypoint,
                    cmd,
                    env: Some(env),
                    working_dir: spec.working_dir.clone(),
                    labels: Some(self.labels_with([
                        (SANDBOX_LABEL, sandbox.id.clone()),
                        (CONTAINER_LABEL, spec.name.clone()),
                        (ATTEMPT_LABEL, spec.attempt.to_string()),
                    ])),
                    host_config: Some(HostConfig {
                        network_mode: Some(format!("container:{}", pod.pause)),
                        ipc_mode: Some(format!("container:{}", pod.pause)),
                        mounts: Some(mounts),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| docker_error(&format!("cannot create container {:?}", spec.name), e))?;
        let id = ContainerId(created.id);
        self.containers
            .lock()
            .expect("runtime state")
            .insert(id.clone(), ContainerInfo { termination });
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<()> {
        self.docker
            .start_container(&id.0, None)
            .await
            .map_err(|e| docker_error("cannot start the container", e))
    }

    async fn wait_container(&self, id: &ContainerId) -> Result<ExitStatus> {
        // A non-zero exit arrives as an error of the wait stream; the state says it all.
        let mut wait = self.docker.wait_container(&id.0, None);
        while wait.next().await.is_some() {}
        let inspect = self
            .docker
            .inspect_container(&id.0, None)
            .await
            .map_err(|e| docker_error("cannot inspect the container", e))?;
        Ok(exit_status(&inspect.state.unwrap_or_default()))
    }

    async fn signal_container(&self, id: &ContainerId, signal: Signal) -> Result<()> {
        match self
            .docker
            .kill_container(
                &id.0,
                Some(
                    KillContainerOptionsBuilder::default()
                        .signal(signal.as_str())
                        .build(),
                ),
            )
            .await
        {
            // Already stopped (409) or gone (404): nothing to signal.
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(()),
            Err(e) => Err(docker_error("cannot signal the container", e)),
        }
    }

    async fn exec(
        &self,
        id: &ContainerId,
        command: &[String],
        timeout: Option<Duration>,
    ) -> std::result::Result<ExecOutput, ExecError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .docker
            .create_exec(
                &id.0,
                CreateExecOptions {
                    cmd: Some(command.to_vec()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let run = async {
            let mut kept = Vec::new();
            match self.docker.start_exec(&exec.id, None).await {
                Ok(StartExecResults::Attached { mut output, .. }) => {
                    while let Some(Ok(chunk)) = output.next().await {
                        let bytes = chunk.into_bytes();
                        let room = EXEC_OUTPUT_LIMIT.saturating_sub(kept.len());
                        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    }
                    Ok(kept)
                }
                Ok(StartExecResults::Detached) => Ok(kept),
                Err(e) => Err(ExecError::Failed(e.to_string())),
            }
        };
        let output = match timeout {
            Some(limit) => match tokio::time::timeout(limit, run).await {
                Ok(output) => output?,
                Err(_) => {
                    // Docker cannot stop an exec: end its process from here (same machine).
                    if let Ok(inspect) = self.docker.inspect_exec(&exec.id).await
                        && let Some(pid) = inspect.pid.filter(|p| *p > 0)
                    {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid as i32),
                            Signal::SIGKILL,
                        );
                    }
                    return Err(ExecError::TimedOut);
                }
            },
            None => run.await?,
        };
        let inspect = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        let text = String::from_utf8_lossy(&output).into_owned();
        match inspect.exit_code {
            // The OCI runtime reports a missing program in the output, with exit code 126/127.
            Some(code) => Ok(ExecOutput {
                exit_code: code as i32,
                output: text,
            }),
            None => Err(ExecError::Failed(text)),
        }
    }

    async fn read_file(
        &self,
        id: &ContainerId,
        path: &str,
        limit: usize,
    ) -> Result<Option<Vec<u8>>> {
        let info = self
            .containers
            .lock()
            .expect("runtime state")
            .get(id)
            .cloned();
        if let Some((file, _)) = info
            .and_then(|i| i.termination)
            .filter(|(_, target)| target == path)
        {
            return match std::fs::read(file) {
                Ok(mut bytes) => {
                    bytes.truncate(limit);
                    Ok(Some(bytes))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        // Any other file: from the container's filesystem, as a tar archive.
        let mut archive = Vec::new();
        let mut stream = self.docker.download_from_container(
            &id.0,
            Some(
                bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
                    .path(path)
                    .build(),
            ),
        );
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => archive.extend_from_slice(&bytes),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {
                    return Ok(None);
                }
                Err(e) => return Err(docker_error("cannot read from the container", e)),
            }
        }
        let mut tar = tar::Archive::new(archive.as_slice());
        let Some(entry) = tar.entries()?.next() else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(entry?, limit as u64), &mut bytes)?;
        Ok(Some(bytes))
    }

    async fn logs_tail(&self, id: &ContainerId, lines: usize, bytes: usize) -> Result<String> {
        let mut stream = self.docker.logs(
            &id.0,
            Some(
                LogsOptionsBuilder::default()
                    .stdout(true)
                    .stderr(true)
                    .tail(&lines.to_string())
                    .build(),
            ),
        );
        let mut out = Vec::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.extend_from_slice(&chunk.into_bytes());
        }
        let start = out.len().saturating_sub(bytes);
        Ok(String::from_utf8_lossy(&out[start..]).trim_end().to_owned())
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<()> {
        let info = self.containers.lock().expect("runtime state").remove(id);
        let _ = self
            .docker
            .remove_container(
                &id.0,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await;
        if let Some((file, _)) = info.and_then(|i| i.termination) {
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    }

    /// A Service sandbox: a pause container on the run's network under the Service's names
    /// (Docker's resolver answers them in every pod), whose address is the Service's. The
    /// engine's proxy binds its listeners inside the sandbox's network namespace, so pods and
    /// this machine reach the Service at one address. Entering the namespace needs root and a
    /// Docker engine on this machine; without them the Service gets a loopback address, which
    /// only this machine reaches (said at start-up).
    async fn create_service_address(&self, names: &[String]) -> Result<ServiceAddress> {
        if !self.services_in_network {
            return Ok(super::loopback_service_address());
        }
        self.ensure_image(images::PAUSE_IMAGE).await?;
        let first = names.first().map_or("service", String::as_str);
        let sandbox = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(&format!(
                            "podlife-service-{first}-{}-{:08x}",
                            self.run,
                            fastrand::u32(..)
                        ))
                        .build(),
                ),
                ContainerCreateBody {
                    image: Some(images::PAUSE_IMAGE.to_owned()),
                    labels: Some(self.labels()),
                    host_config: Some(HostConfig {
                        network_mode: Some(self.network.clone()),
                        ..Default::default()
                    }),
                    networking_config: Some(NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(
                            self.network.clone(),
                            EndpointSettings {
                                aliases: Some(names.to_vec()),
                                ..Default::default()
                            },
                        )])),
                    }),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| docker_error("cannot create the service sandbox", e))?;
        let address = match self
            .start_and_inspect(&sandbox.id, "the service sandbox")
            .await
        {
            Ok((ip, Some(pid))) => {
                let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
                // Entering it works here (same PID namespace as the Docker engine's)?
                match super::netns::bind_tcp(Some(&netns), (ip, 0).into()) {
                    Ok(_) => Ok(ServiceAddress {
                        id: sandbox.id.clone(),
                        ip,
                        netns: Some(netns),
                    }),
                    Err(e) => Err(format!("cannot enter its network namespace: {e}")),
                }
            }
            Ok((_, None)) => Err("its process id is unknown".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        match address {
            Ok(address) => Ok(address),
            Err(why) => {
                let _ = self.remove_container(&ContainerId(sandbox.id)).await;
                tracing::warn!(
                    "service {first}: {why}; it listens on this machine's loopback, which pods cannot reach"
                );
                Ok(super::loopback_service_address())
            }
        }
    }

    async fn remove_service_address(&self, address: &ServiceAddress) -> Result<()> {
        if address.netns.is_some() {
            self.remove_container(&ContainerId(address.id.clone()))
                .await?;
        }
        Ok(())
    }
}
