//! Setup steps: how fast time runs, changes to the manifest, fixture servers.
//!
//! ```gherkin
//! Given time runs 20x faster
//! And the readiness probe's initial delay is 120s
//! And the grace period is 10s
//! And the restart policy is Never
//! And container "app" runs "trap '' TERM; sleep 300"
//! And the preStop hook of container "proxy" runs "sleep 5"
//! And a monitor "monitor.com" on port 8080
//! And a backend "backend" on port 80
//! ```

use cucumber::gherkin::Step;
use cucumber::given;
use k8s_openapi::api::core::v1::{Container, ExecAction, LifecycleHandler, Pod, PodSpec, Probe};

use crate::PodlifeWorld;
use crate::duration;

/// A change to every applied pod (its containers, or the one named).
#[derive(Debug, Clone)]
pub enum Override {
    Probe {
        probe: String,
        field: String,
        value: i32,
    },
    Grace(i64),
    RestartPolicy(String),
    Command {
        container: String,
        command: Vec<String>,
    },
    /// A container's `preStop` or `postStart` hook becomes an exec of `command`.
    Hook {
        container: String,
        hook: String,
        command: Vec<String>,
    },
}

impl Override {
    /// Applies the change; an error when it names nothing in the pod.
    pub fn apply(&self, pod: &mut Pod) -> Result<(), String> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let spec = pod.spec.get_or_insert_with(Default::default);
        match self {
            Override::Grace(seconds) => spec.termination_grace_period_seconds = Some(*seconds),
            Override::RestartPolicy(policy) => spec.restart_policy = Some(policy.clone()),
            Override::Command { container, command } => {
                let found = named(spec, &name, container)?;
                found.command = Some(command.clone());
                found.args = None;
            }
            Override::Hook {
                container,
                hook,
                command,
            } => {
                let lifecycle = named(spec, &name, container)?
                    .lifecycle
                    .get_or_insert_with(Default::default);
                let handler = LifecycleHandler {
                    exec: Some(ExecAction {
                        command: Some(command.clone()),
                    }),
                    ..Default::default()
                };
                if hook == "preStop" {
                    lifecycle.pre_stop = Some(handler);
                } else {
                    lifecycle.post_start = Some(handler);
                }
            }
            Override::Probe {
                probe,
                field,
                value,
            } => {
                let mut changed = 0;
                // Init and sidecar containers too: a probe is the same field on any of them.
                let all = spec
                    .init_containers
                    .iter_mut()
                    .flatten()
                    .chain(spec.containers.iter_mut());
                for container in all {
                    if let Some(p) = probe_of(container, probe) {
                        set_probe_field(p, field, *value)?;
                        changed += 1;
                    }
                }
                if changed == 0 {
                    return Err(format!("no container of pod {name} has a {probe} probe"));
                }
            }
        }
        Ok(())
    }
}

/// The container `container` of the pod (init, sidecar or regular).
fn named<'a>(
    spec: &'a mut PodSpec,
    pod: &str,
    container: &str,
) -> Result<&'a mut Container, String> {
    spec.init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
        .find(|c| c.name == container)
        .ok_or_else(|| format!("pod {pod} has no container {container:?}"))
}

fn probe_of<'a>(container: &'a mut Container, kind: &str) -> Option<&'a mut Probe> {
    match kind {
        "readiness" => container.readiness_probe.as_mut(),
        "liveness" => container.liveness_probe.as_mut(),
        "startup" => container.startup_probe.as_mut(),
        _ => None,
    }
}

fn set_probe_field(probe: &mut Probe, field: &str, value: i32) -> Result<(), String> {
    let slot = match field {
        "initial delay" | "delay" => &mut probe.initial_delay_seconds,
        "period" => &mut probe.period_seconds,
        "timeout" => &mut probe.timeout_seconds,
        "success threshold" => &mut probe.success_threshold,
        "failure threshold" => &mut probe.failure_threshold,
        other => return Err(format!("a probe has no {other:?}")),
    };
    *slot = Some(value);
    Ok(())
}

/// Whole manifest seconds from a step's duration (manifests count in seconds).
fn whole_seconds(text: &str) -> i64 {
    let d = duration::of(text);
    assert!(
        d.subsec_nanos() == 0,
        "{text:?}: manifests count whole seconds"
    );
    d.as_secs() as i64
}

#[given(regex = r"^time runs (\d+(?:\.\d+)?)x faster$")]
fn time_runs_faster(world: &mut PodlifeWorld, factor: f64) {
    assert!(
        world.run.is_none(),
        "say how fast time runs before the first pod or fixture starts"
    );
    assert!(factor >= 1.0, "time can only run faster (1x or more)");
    world.scale = 1.0 / factor;
}

#[given(
    regex = r"^(?:the )?(readiness|liveness|startup)(?: probe)?(?:'s)? (initial delay|delay|period|timeout|success threshold|failure threshold) (?:is )?(\S+)$"
)]
fn probe_override(world: &mut PodlifeWorld, probe: String, field: String, value: String) {
    let value = if field.ends_with("threshold") {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{field} takes a number, not {value:?}"))
    } else {
        whole_seconds(&value) as i32
    };
    world.overrides.push(Override::Probe {
        probe,
        field,
        value,
    });
}

#[given(regex = r"^(?:the )?grace period (?:is )?(\S+)$")]
fn grace_override(world: &mut PodlifeWorld, value: String) {
    world.overrides.push(Override::Grace(whole_seconds(&value)));
}

#[given(regex = r"^(?:the )?restart policy (?:is )?(Always|OnFailure|Never)$")]
fn restart_policy_override(world: &mut PodlifeWorld, policy: String) {
    world.overrides.push(Override::RestartPolicy(policy));
}

#[given(regex = r#"^container "([^"]+)" runs "(.*)"$"#)]
fn command_override(world: &mut PodlifeWorld, container: String, script: String) {
    world.overrides.push(Override::Command {
        container,
        command: vec!["sh".into(), "-c".into(), script],
    });
}

#[given(regex = r#"^container "([^"]+)" runs:$"#)]
fn command_override_block(world: &mut PodlifeWorld, container: String, step: &Step) {
    let script = step
        .docstring
        .clone()
        .expect("write the shell script as a doc string under this step");
    world.overrides.push(Override::Command {
        container,
        command: vec!["sh".into(), "-c".into(), script],
    });
}

/// Replaces the hook of any container (init and sidecar ones too) before the pod is applied.
#[given(regex = r#"^the (preStop|postStart) hook of container "([^"]+)" runs "(.*)"$"#)]
fn hook_override(world: &mut PodlifeWorld, hook: String, container: String, script: String) {
    world.overrides.push(Override::Hook {
        container,
        hook,
        command: vec!["sh".into(), "-c".into(), script],
    });
}

/// An HTTP server (testapp) reachable as `name`, healthy until a step makes it fail.
#[given(regex = r#"^a backend "([^"]+)"(?: on port (\d+))?$"#)]
async fn http_fixture(world: &mut PodlifeWorld, name: String, port: String) {
    let port = port.parse().unwrap_or(80);
    let run = world.run().await;
    run.start_fixture(&name, port, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A TCP service (testapp greets and closes each connection).
#[given(regex = r#"^a TCP service "([^"]+)" on port (\d+)$"#)]
async fn tcp_service(world: &mut PodlifeWorld, name: String, port: u16) {
    let run = world.run().await;
    let tcp = port.to_string();
    run.start_fixture(&name, 0, &["--tcp", &tcp])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
