//! Action steps: apply the manifest, delete pods, let time pass, inject faults.
//!
//! ```gherkin
//! When it is applied
//! When the pod is deleted
//! When pod "web" is deleted with grace period 0
//! When 30s pass
//! When deployment "web" is restarted
//! When the backend fails
//! When the backend recovers
//! When the health endpoint of container "app" starts failing
//! When the health endpoint of container "app" of pod "backend" recovers
//! When the process of container "app" is killed
//! When the kubelet restarts
//! When the kubelet stops
//! When the kubelet starts again
//! When the file "/tmp/healthy" is removed from container "app"
//! ```

use std::time::Duration;

use cucumber::when;
use podlife::manifest::expand::{NameRng, Plan, expand};
use podlife::manifest::load_reader;
use podlife::runtime::ContainerId;

use crate::{PodlifeWorld, duration};

/// The plan of manifest `name` (`text`), with the scenario's overrides made to its pods; a
/// manifest that is not valid fails the step, as `podlife run` starts nothing then.
pub(crate) fn plan_of(world: &PodlifeWorld, name: &str, text: &str) -> Plan {
    let report = load_reader(name, text.as_bytes());
    assert!(
        report.is_valid(),
        "the manifest {name} is invalid; nothing was started:\n{}",
        report
            .diagnostics
            .iter()
            .map(|d| format!("  {:?}: {}", d.severity, d.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut plan = expand(
        &report.manifests,
        &mut NameRng::with_seed(fastrand::u64(..)),
    )
    .with_inputs(&report.inputs);
    for planned in &mut plan.pods {
        for change in &world.overrides {
            change
                .apply(&mut planned.pod)
                .unwrap_or_else(|e| panic!("cannot apply the step's change: {e}"));
        }
    }
    plan
}

#[when(regex = r"^(?:it|the manifest) is applied$")]
async fn apply(world: &mut PodlifeWorld) {
    let (name, text) = world
        .manifest
        .clone()
        .expect("a `Given the manifest …` step comes first");
    let plan = plan_of(world, &name, &text);
    let run = world.run().await;
    // As `podlife run`: inputs and Services first, bare pods, then each workload's controller,
    // which creates its pods as its kind does (a StatefulSet one after another).
    let errors = run.engine.apply_plan(&plan).await;
    assert!(errors.is_empty(), "cannot apply the manifest: {errors:?}");
    for planned in plan.pods {
        let name = planned.name().to_owned();
        world.pods.push(name.clone());
        world.applied.insert(name, planned.pod);
    }
}

#[when(
    regex = r#"^(the pod|one of the pods|pod "[^"]+") is deleted(?: with (?:--grace-period[= ]|(?:a )?grace period (?:of )?)(\d+)s?)?$"#
)]
fn delete(world: &mut PodlifeWorld, subject: String, grace: String) {
    let pod = if subject == "one of the pods" {
        pick(world, "", &subject)
    } else {
        world.subject(&subject)
    };
    let grace = (!grace.is_empty()).then(|| grace.parse().expect("digits"));
    world.deleted_at = Some(world.now());
    world
        .started()
        .engine
        .delete(&pod, grace)
        .unwrap_or_else(|e| panic!("cannot delete {pod}: {e}"));
}

/// `kubectl rollout restart deployment/<name>`.
#[when(regex = r#"^deployment "([^"]+)" is restarted$"#)]
fn rollout_restart(world: &mut PodlifeWorld, deployment: String) {
    world
        .started()
        .engine
        .rollout_restart(&deployment)
        .unwrap_or_else(|e| panic!("cannot restart deployment {deployment}: {e}"));
}

#[when(regex = r"^(\S+) pass(?:es)?$")]
async fn time_passes(world: &mut PodlifeWorld, manifest: String) {
    tokio::time::sleep(world.wall(duration::of(&manifest))).await;
}

/// Makes a fixture's health endpoint fail or recover (testapp's `/health/*` toggles).
#[when(regex = r#"^the (?:backend|fixture)(?: "([^"]+)")? (fails|recovers)$"#)]
async fn fixture_health(world: &mut PodlifeWorld, name: String, change: String) {
    let run = world.started();
    let fixture = if name.is_empty() {
        match run.fixtures.as_slice() {
            [one] => one,
            _ => panic!("there are several fixtures: name one, as `the backend \"name\" fails`"),
        }
    } else {
        run.fixture(&name)
            .unwrap_or_else(|| panic!("no fixture {name:?}"))
    };
    let path = if change == "fails" {
        "/health/unhealthy"
    } else {
        "/health/healthy"
    };
    http_post(&format!("{}{path}", fixture.url())).await;
}

/// A container's (testapp's) health endpoint starts failing or recovers: `/health/unhealthy`
/// or `/health/healthy` on the port its probes use.
#[when(
    regex = r#"^the health endpoint of container "([^"]+)"(?: of pod "([^"]+)"|( in one of the pods))? (starts failing|recovers)$"#
)]
async fn container_health(
    world: &mut PodlifeWorld,
    container: String,
    pod: String,
    one_of: String,
    change: String,
) {
    let pod = pick(world, &pod, &one_of);
    let run = world.started();
    let status = run.engine.status(&pod).expect("the pod exists");
    let ip = status.pod_ip.clone().expect("the pod has an IP");
    let port = http_port(world, &pod, &container);
    let path = if change == "recovers" {
        "/health/healthy"
    } else {
        "/health/unhealthy"
    };
    http_post(&format!("http://{ip}:{port}{path}")).await;
}

/// The engine's kubelet part restarts: its pod workers stop at once and new ones take the
/// pods over from the runtime, whose containers keep running (`Engine::restart_kubelet`).
#[when(regex = r"^the (?:kubelet|engine) restarts$")]
async fn restart_kubelet(world: &mut PodlifeWorld) {
    world.started().engine.restart_kubelet().await;
}

/// The kubelet part stops: containers run on unwatched, nothing is probed or restarted, and
/// status stays as it was, until `the kubelet starts again`.
#[when(regex = r"^the (?:kubelet|engine) stops$")]
async fn stop_kubelet(world: &mut PodlifeWorld) {
    world.started().engine.stop_kubelet().await;
}

#[when(regex = r"^the (?:kubelet|engine) starts again$")]
fn start_kubelet(world: &mut PodlifeWorld) {
    world.started().engine.start_kubelet();
}

#[when(regex = r#"^the process of container "([^"]+)"(?: of pod "([^"]+)")? is killed$"#)]
async fn kill_process(world: &mut PodlifeWorld, container: String, pod: String) {
    let pod = world.pod((!pod.is_empty()).then_some(pod.as_str()));
    let id = container_id(world, &pod, &container).await;
    world
        .started()
        .engine
        .runtime()
        .signal_container(&id, nix::sys::signal::Signal::SIGKILL)
        .await
        .unwrap_or_else(|e| panic!("cannot kill {container}: {e}"));
}

#[when(
    regex = r#"^the file "([^"]+)" is removed from container "([^"]+)"(?: of pod "([^"]+)"|( in one of the pods))?$"#
)]
async fn remove_file(
    world: &mut PodlifeWorld,
    file: String,
    container: String,
    pod: String,
    one_of: String,
) {
    let pod = pick(world, &pod, &one_of);
    let out = exec(world, &pod, &container, &["rm", "-f", &file]).await;
    assert_eq!(out.0, 0, "rm -f {file} in {container} failed: {}", out.1);
}

/// The pod a fault step names: `of pod "x"`, `in one of the pods` (the first, remembered as
/// "that pod"), or the only one.
fn pick(world: &mut PodlifeWorld, pod: &str, one_of: &str) -> String {
    if one_of.is_empty() {
        world.pod((!pod.is_empty()).then_some(pod))
    } else {
        let first = world.pods.first().cloned().expect("pods were applied");
        world.chosen = Some(first.clone());
        first
    }
}

/// Runs `command` in the container's current instance: (exit code, output).
pub async fn exec(
    world: &PodlifeWorld,
    pod: &str,
    container: &str,
    command: &[&str],
) -> (i32, String) {
    let id = container_id(world, pod, container).await;
    try_exec(world, &id, command).await
}

/// Runs `command` in the container `id`: (exit code, output); -1 when it could not run.
pub async fn try_exec(world: &PodlifeWorld, id: &ContainerId, command: &[&str]) -> (i32, String) {
    let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    match world
        .started()
        .engine
        .runtime()
        .exec(id, &command, Some(Duration::from_secs(10)))
        .await
    {
        Ok(out) => (out.exit_code, out.output),
        Err(e) => (-1, format!("{e:?}")),
    }
}

/// The runtime's id of the container's current instance, waiting a moment for its status:
/// a step that saw the container start in the engine's records may run before the status
/// that names the container is published.
pub async fn container_id(world: &PodlifeWorld, pod: &str, container: &str) -> ContainerId {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(id) = created(world, pod, container) {
            return id;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("container {container} of {pod} has not been created");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The runtime's id of the container's current instance, once it has been created.
pub fn created(world: &PodlifeWorld, pod: &str, container: &str) -> Option<ContainerId> {
    let status = world.started().engine.status(pod)?;
    let id = crate::assertions::container(&status, container)?
        .container_id
        .clone()?;
    Some(ContainerId(
        id.split_once("://")
            .map_or(id.clone(), |(_, id)| id.to_owned()),
    ))
}

/// The port a container's httpGet probes use, or its first declared port (from the pod as it
/// was applied, overrides included).
fn http_port(world: &PodlifeWorld, pod: &str, container: &str) -> u16 {
    let spec = world
        .applied
        .get(pod)
        .and_then(|p| p.spec.as_ref())
        .unwrap_or_else(|| panic!("pod {pod} was not applied by this scenario"));
    let c = spec
        .containers
        .iter()
        .find(|c| c.name == container)
        .unwrap_or_else(|| panic!("no container {container} in {pod}"));
    let probe_port = [&c.readiness_probe, &c.liveness_probe, &c.startup_probe]
        .into_iter()
        .flatten()
        .find_map(|p| p.http_get.as_ref())
        .and_then(|h| match &h.port {
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => Some(*n),
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(name) => c
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.container_port),
        });
    probe_port
        .or_else(|| c.ports.iter().flatten().next().map(|p| p.container_port))
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| panic!("container {container} has no HTTP port to reach"))
}

/// A POST that must succeed (a fault injection that silently did nothing would make the
/// scenario meaningless). Connection errors are retried for a few seconds: a container counts
/// as Running before its server listens.
async fn http_post(url: &str) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match client
            .post(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
        {
            Ok(response) => {
                assert!(
                    response.status().is_success(),
                    "POST {url}: {}",
                    response.status()
                );
                return;
            }
            Err(e) if e.is_connect() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("POST {url}: {e}"),
        }
    }
}
