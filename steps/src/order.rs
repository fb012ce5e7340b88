//! Steps about the order and spacing of what happened, and about what never happened: read
//! from the engine's records, in log order and manifest time.
//!
//! ```gherkin
//! Then the containers started in the order "init-a", "init-b", "app"
//! Then the containers exited in the order "web", "proxy"
//! Then container "setup" exited before container "app" started
//! Then containers "app" and "sidecar" ran at the same time
//! Then the preStop hooks of containers "a" and "b" started within 1s of each other
//! Then the preStop hook of container "app" ran for 5s, give or take 1s
//! Then container "app" became ready at least 10s after it started
//! Then container "app" was restarted 10s, 20s after it exited, give or take 2s
//! Then container "app" was started 1 time
//! Then the postStart hook of container "app" ran 1 time
//! Then no liveness probe ran after the preStop hook of container "app" started
//! Then the pod was never Ready
//! Then the pod is never Running during 20s
//! Then container "app" was never started
//! Then container "app" is never started during 20s
//! ```

use std::time::Duration;

use cucumber::then;
use podlife::engine::status::ConditionKind;
use podlife::engine::{Observation, Record};

use crate::assertions::{never_during, never_so_far, pod_arg};
use crate::facts::{self, hook_kind, of_container};
use crate::timing::{self, TOLERANCE, seconds};
use crate::{PodlifeWorld, duration};

fn is_start(r: &Record) -> bool {
    matches!(r.observation(), Some(Observation::ContainerStarted { .. }))
}

fn is_exit(r: &Record) -> bool {
    matches!(r.observation(), Some(Observation::ContainerExited { .. }))
}

/// The records of container `name` that `matching` picks, in log order.
fn picked(
    world: &PodlifeWorld,
    pod: &str,
    name: &str,
    matching: impl Fn(&Record) -> bool,
) -> Vec<Record> {
    world
        .records()
        .into_iter()
        .filter(|r| of_container(r, pod, name) && matching(r))
        .collect()
}

/// The first record of container `name` that `matching` picks, or a failure saying `what`.
fn first_of(
    world: &PodlifeWorld,
    pod: &str,
    name: &str,
    what: &str,
    matching: impl Fn(&Record) -> bool,
) -> Record {
    picked(world, pod, name, matching)
        .into_iter()
        .next()
        .unwrap_or_else(|| world.fail(&format!("container {name} to have {what}")))
}

/// `"a", "b", "c"` as a list of names.
fn names(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .collect()
}

#[then(regex = r#"^the containers (started|exited) in the order (.+)$"#)]
fn order(world: &mut PodlifeWorld, event: String, list: String) {
    let expected = names(&list);
    let pod = world.pod(None);
    let matching = if event == "started" {
        is_start
    } else {
        is_exit
    };
    let mut seen: Vec<String> = Vec::new();
    for r in world.records() {
        if r.pod == pod
            && matching(&r)
            && let Some(c) = &r.container
            && !seen.contains(c)
        {
            seen.push(c.clone());
        }
    }
    if seen != expected {
        world.fail(&format!(
            "containers to have {event} in the order {expected:?}; they {event} as {seen:?}"
        ));
    }
}

#[then(regex = r#"^container "([^"]+)" exited before container "([^"]+)" started$"#)]
fn exited_before_started(world: &mut PodlifeWorld, first: String, second: String) {
    let pod = world.pod(None);
    let exit = first_of(world, &pod, &first, "exited", is_exit);
    let start = first_of(world, &pod, &second, "started", is_start);
    if exit.seq > start.seq {
        world.fail(&format!(
            "container {first} to exit before {second} started; it exited {} after",
            seconds(exit.manifest.saturating_sub(start.manifest))
        ));
    }
}

#[then(regex = r#"^containers "([^"]+)" and "([^"]+)" ran at the same time$"#)]
fn ran_together(world: &mut PodlifeWorld, a: String, b: String) {
    let pod = world.pod(None);
    let both = [facts::running(&pod, &a), facts::running(&pod, &b)];
    if timing::first_holding(&world.records(), &both, Duration::ZERO).is_none() {
        world.fail(&format!(
            "containers {a} and {b} to run at the same time; they never did"
        ));
    }
}

/// When container `name`'s first `hook` started and finished (manifest time).
fn hook_span(
    world: &PodlifeWorld,
    pod: &str,
    name: &str,
    hook: &str,
) -> (Duration, Option<Duration>) {
    let kind = hook_kind(hook);
    let started = first_of(
        world,
        pod,
        name,
        &format!("run its {hook} hook"),
        |r| matches!(r.observation(), Some(Observation::HookStarted { hook }) if *hook == kind),
    );
    let finished = picked(world, pod, name, |r| {
        r.seq > started.seq
            && matches!(r.observation(), Some(Observation::HookFinished { hook, .. }) if *hook == kind)
    })
    .first()
    .map(|r| r.manifest);
    (started.manifest, finished)
}

#[then(
    regex = r#"^the (preStop|postStart) hooks of containers "([^"]+)" and "([^"]+)" started within (\S+) of each other$"#
)]
fn hooks_together(world: &mut PodlifeWorld, hook: String, a: String, b: String, limit: String) {
    let pod = world.pod(None);
    let (at_a, _) = hook_span(world, &pod, &a, &hook);
    let (at_b, _) = hook_span(world, &pod, &b, &hook);
    if let Err(why) = timing::judge_within(duration::of(&limit), at_a.min(at_b), at_a.max(at_b)) {
        world.fail(&format!(
            "the {hook} hooks of {a} and {b} to start within {limit} of each other; {why}"
        ));
    }
}

#[then(
    regex = r#"^the (preStop|postStart) hook of container "([^"]+)" ran for (\S+), give or take (\S+)$"#
)]
async fn hook_ran_for(
    world: &mut PodlifeWorld,
    hook: String,
    name: String,
    want: String,
    tolerance: String,
) {
    let pod = world.pod(None);
    let (want, tolerance) = (duration::of(&want), duration::of(&tolerance));
    world
        .wait_for(
            want + tolerance,
            &format!("the {hook} hook of {name} to finish"),
            |w| hook_span(w, &pod, &name, &hook).1.is_some(),
        )
        .await;
    let (started, finished) = hook_span(world, &pod, &name, &hook);
    let took = finished.expect("waited for it").saturating_sub(started);
    if let Err(why) = timing::judge_gap(
        &format!("the {hook} hook of {name} to run"),
        want,
        tolerance,
        took,
    ) {
        world.fail(&why);
    }
}

/// Counts starts of instances (a container a restarted kubelet adopted was not started
/// again), so far.
#[then(regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? was started (\d+) times?$"#)]
fn started_times(world: &mut PodlifeWorld, name: String, pod: String, times: usize) {
    let pod = world.pod(pod_arg(&pod));
    let found = picked(world, &pod, &name, is_start).len();
    if found != times {
        world.fail(&format!(
            "container {name} to have been started {times} time(s); it was started {found} time(s)"
        ));
    }
}

/// Counts runs of a hook, so far.
#[then(regex = r#"^the (preStop|postStart) hook of container "([^"]+)" ran (\d+) times?$"#)]
fn hook_runs(world: &mut PodlifeWorld, hook: String, name: String, times: usize) {
    let pod = world.pod(None);
    let kind = hook_kind(&hook);
    let found = picked(
        world,
        &pod,
        &name,
        |r| matches!(r.observation(), Some(Observation::HookStarted { hook }) if *hook == kind),
    )
    .len();
    if found != times {
        world.fail(&format!(
            "the {hook} hook of container {name} to have run {times} time(s); it ran {found} time(s)"
        ));
    }
}

/// From the first time the container became ready back to the start of that instance.
#[then(regex = r#"^container "([^"]+)" became ready at least (\S+) after it started$"#)]
fn ready_after_start(world: &mut PodlifeWorld, name: String, least: String) {
    let pod = world.pod(None);
    let least = duration::of(&least);
    let ready = first_of(world, &pod, &name, "become ready", |r| {
        matches!(
            r.observation(),
            Some(Observation::ReadyChanged { ready: true })
        )
    });
    let start = picked(world, &pod, &name, |r| is_start(r) && r.seq < ready.seq)
        .pop()
        .expect("a container starts before it is ready");
    let took = ready.manifest.saturating_sub(start.manifest);
    if took + TOLERANCE < least {
        world.fail(&format!(
            "container {name} to become ready at least {} after it started; it took {}",
            seconds(least),
            seconds(took)
        ));
    }
}

/// The first gaps between each exit and the next start (as many as the step lists).
#[then(regex = r#"^container "([^"]+)" was restarted (.+) after it exited, give or take (\S+)$"#)]
fn restart_gaps(world: &mut PodlifeWorld, name: String, gaps: String, tolerance: String) {
    let pod = world.pod(None);
    let wanted: Vec<Duration> = gaps.split(',').map(|g| duration::of(g.trim())).collect();
    let tolerance = duration::of(&tolerance);
    let records = picked(world, &pod, &name, |r| is_start(r) || is_exit(r));
    let found: Vec<Duration> = records
        .windows(2)
        .filter(|w| is_exit(&w[0]) && is_start(&w[1]))
        .map(|w| w[1].manifest.saturating_sub(w[0].manifest))
        .take(wanted.len())
        .collect();
    let what = format!("container {name} restarted after its exits:");
    if let Err(why) = timing::judge_gaps(&what, &wanted, tolerance, &found) {
        world.fail(&why);
    }
}

#[then(
    regex = r#"^no (readiness|liveness|startup) probe ran after the (preStop|postStart) hook of container "([^"]+)" started$"#
)]
fn no_probe_after_hook(world: &mut PodlifeWorld, probe: String, hook: String, name: String) {
    let pod = world.pod(None);
    let kind = hook_kind(&hook);
    let started = first_of(
        world,
        &pod,
        &name,
        &format!("run its {hook} hook"),
        |r| matches!(r.observation(), Some(Observation::HookStarted { hook }) if *hook == kind),
    );
    never_so_far(
        world,
        &format!("no {probe} probe of {name} after its {hook} hook started"),
        |r| {
            r.seq > started.seq
                && of_container(r, &pod, &name)
                && matches!(r.observation(), Some(Observation::ProbeAttempt { probe: p, .. }) if p.to_string() == probe)
        },
    );
}

/// Whether `record` makes the pod Ready or Running.
fn became(record: &Record, pod: &str, state: &str) -> bool {
    record.pod == pod
        && match record.observation() {
            Some(Observation::ConditionChanged {
                condition,
                status: true,
            }) => state == "Ready" && *condition == ConditionKind::Ready,
            Some(Observation::PhaseChanged { phase }) => phase.as_str() == state,
            _ => false,
        }
}

#[then(regex = r#"^(the pod|that pod|pod "[^"]+") was never (Ready|Running)$"#)]
fn pod_never_so_far(world: &mut PodlifeWorld, pod: String, state: String) {
    let pod = world.subject(&pod);
    never_so_far(world, &format!("{pod} never {state}"), |r| {
        became(r, &pod, &state)
    });
}

#[then(regex = r#"^(the pod|that pod|pod "[^"]+") is never (Ready|Running) during (\S+)$"#)]
async fn pod_never_during(world: &mut PodlifeWorld, pod: String, state: String, span: String) {
    let pod = world.subject(&pod);
    never_during(
        world,
        duration::of(&span),
        &format!("{pod} never {state}"),
        |r| became(r, &pod, &state),
    )
    .await;
}

#[then(regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? was never started$"#)]
fn container_never_started(world: &mut PodlifeWorld, name: String, pod: String) {
    let pod = world.pod(pod_arg(&pod));
    never_so_far(world, &format!("container {name} never started"), |r| {
        of_container(r, &pod, &name) && is_start(r)
    });
}

#[then(regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? is never started during (\S+)$"#)]
async fn container_never_started_during(
    world: &mut PodlifeWorld,
    name: String,
    pod: String,
    span: String,
) {
    let pod = world.pod(pod_arg(&pod));
    never_during(
        world,
        duration::of(&span),
        &format!("container {name} never started"),
        |r| of_container(r, &pod, &name) && is_start(r),
    )
    .await;
}
