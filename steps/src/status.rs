//! Steps about a pod's and its containers' status: a container's state (from the engine's
//! records, judged when it changed), its restarts, its termination message, a condition's
//! reason and message, the pod's status reason.
//!
//! ```gherkin
//! Then container "app" is running within 10s
//! Then container "app" is not ready within 10s
//! Then container "app" stays started for at least 30s
//! Then container "app" has restarted at most 1 time
//! Then the restart count of container "app" stays 1 for at least 20s
//! Then the termination message of container "app" is "bye"
//! Then the pod's condition "Ready" has reason "ContainersNotReady"
//! Then the pod's condition "Initialized" has message "containers with incomplete status"
//! Then the pod's status reason is "DeadlineExceeded"
//! ```

use std::time::Duration;

use cucumber::then;

use crate::assertions::{container, pod_arg, restarts};
use crate::facts;
use crate::timing::{BoxedSays, Fact};
use crate::{PodlifeWorld, duration};

/// A state a step names, as a fact of the records.
type StateFact<'a> = Fact<BoxedSays<'a>>;

/// Whether the container (init, sidecar or regular) has a startup probe, as applied.
fn has_startup(world: &PodlifeWorld, pod: &str, name: &str) -> bool {
    world
        .applied
        .get(pod)
        .and_then(|p| p.spec.as_ref())
        .into_iter()
        .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
        .any(|c| c.name == name && c.startup_probe.is_some())
}

/// `running`, `ready` or `started`, held or not (`holds`).
fn container_state<'a>(
    world: &PodlifeWorld,
    pod: &'a str,
    name: &'a str,
    state: &str,
    holds: bool,
) -> StateFact<'a> {
    match state {
        "running" => facts::running(pod, name).when(holds).boxed(),
        "ready" => facts::ready(pod, name).when(holds).boxed(),
        _ => facts::started(pod, name, has_startup(world, pod, name))
            .when(holds)
            .boxed(),
    }
}

#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? is (not )?(running|ready|started) within (\S+)$"#
)]
async fn state_within(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    not: String,
    state: String,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    let fact = container_state(world, &pod, &name, &state, not.is_empty());
    world
        .within_facts(
            duration::of(&limit),
            &format!("container {name} to be {not}{state}"),
            &[fact],
        )
        .await;
}

#[then(
    regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? stays (not )?(running|ready|started) for at least (\S+)$"#
)]
async fn state_stays(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    not: String,
    state: String,
    span: String,
) {
    let pod = world.pod(pod_arg(&pod));
    let fact = container_state(world, &pod, &name, &state, not.is_empty());
    world
        .stays_facts(
            duration::of(&span),
            &format!("container {name} to stay {not}{state}"),
            &[fact],
        )
        .await;
}

/// So far.
#[then(regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? has restarted at most (\d+) times?$"#)]
fn restarted_at_most(world: &mut PodlifeWorld, name: String, pod: String, times: i32) {
    let pod = world.pod(pod_arg(&pod));
    let now = restarts(world, &pod, &name);
    if now > times {
        world.fail(&format!(
            "container {name} to have restarted at most {times} time(s); it restarted {now} times"
        ));
    }
}

#[then(
    regex = r#"^the restart count of container "([^"]+)"(?: of pod "([^"]+)")? stays (\d+) for at least (\S+)$"#
)]
async fn restart_count_stays(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    times: i32,
    span: String,
) {
    let pod = world.pod(pod_arg(&pod));
    world
        .stays_facts(
            duration::of(&span),
            &format!("the restart count of container {name} to stay {times}"),
            &[facts::restarts(&pod, &name, |n| n == times)],
        )
        .await;
}

/// Waits (the runtime's slack) until `found` finds what the status shows, then fails unless
/// it is what the step expects: a status follows the records the previous step saw.
async fn status_shows(
    world: &PodlifeWorld,
    expected: &str,
    found: impl Fn(&PodlifeWorld) -> Option<String>,
    matches: impl Fn(&str) -> bool,
) {
    let seen = |w: &PodlifeWorld| found(w).is_some_and(|f| matches(&f));
    if tokio::time::timeout(crate::assertions::slack(world), async {
        while !seen(world) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .is_err()
    {
        world.fail(&format!(
            "expected {expected}; it is {:?}",
            found(world).unwrap_or_else(|| "(none)".into())
        ));
    }
}

/// The message of the container's last termination (its state, or its last state).
#[then(
    regex = r#"^the termination message of container "([^"]+)"(?: of pod "([^"]+)")? is "(.*)"$"#
)]
async fn termination_message(world: &mut PodlifeWorld, name: String, pod: String, text: String) {
    let pod = world.pod(pod_arg(&pod));
    status_shows(
        world,
        &format!("the termination message of container {name} to be {text:?}"),
        |w| {
            let status = w.status(&pod);
            let c = container(&status, &name)?;
            [c.state.as_ref(), c.last_state.as_ref()]
                .into_iter()
                .flatten()
                .find_map(|s| s.terminated.as_ref())
                .and_then(|t| t.message.clone())
        },
        |m| m.trim_end() == text,
    )
    .await;
}

/// The reason (exactly) or the message (a part of it) of one of the pod's conditions.
#[then(
    regex = r#"^(?:the pod's|pod "([^"]+)"'s) condition "([A-Za-z]+)" has (reason|message) "(.*)"$"#
)]
async fn condition_detail(
    world: &mut PodlifeWorld,
    pod: String,
    kind: String,
    field: String,
    text: String,
) {
    let pod = world.pod(pod_arg(&pod));
    status_shows(
        world,
        &format!("the {field} of condition {kind} of {pod} to be {text:?}"),
        |w| {
            let status = w.status(&pod);
            let c = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == kind)?;
            if field == "reason" {
                c.reason.clone()
            } else {
                c.message.clone()
            }
        },
        |found| {
            if field == "reason" {
                found == text
            } else {
                found.contains(&text)
            }
        },
    )
    .await;
}

#[then(regex = r#"^(?:the pod's|pod "([^"]+)"'s) status reason is "([A-Za-z]+)"$"#)]
async fn status_reason(world: &mut PodlifeWorld, pod: String, reason: String) {
    let pod = world.pod(pod_arg(&pod));
    status_shows(
        world,
        &format!("the status reason of {pod} to be {reason:?}"),
        |w| w.status(&pod).reason,
        |found| found == reason,
    )
    .await;
}
