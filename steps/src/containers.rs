//! Steps about what is inside a container (its files, its log) and its status.
//!
//! ```gherkin
//! When container "app" has created the file "/tmp/armed"
//! When container "app" has logged "trap set"
//! Then the file "/app/sample.war" exists in container "war" within 10s
//! Then the file "/tmp/ready" in container "app" contains "yes"
//! Then the log of container "app" contains "hello"
//! ```
//!
//! A container's own set-up (a shell installing its `trap`) runs in wall time after the
//! container starts: the `has created` / `has logged` steps wait for the sign the container
//! gives when it is ready for the test, instead of a guessed pause.

use std::time::Duration;

use cucumber::{then, when};
use podlife::runtime::ContainerId;

use crate::actions::{created, exec, try_exec};
use crate::assertions::{pod_arg, slack};
use crate::timing::TOLERANCE;
use crate::{PodlifeWorld, duration};

/// How long a container may take to set itself up (wall time: its own commands do not follow
/// the time scale).
const SET_UP_PATIENCE: Duration = Duration::from_secs(30);

/// What a step looks for in a container.
enum Sign<'a> {
    File(&'a str),
    Log(&'a str),
}

impl Sign<'_> {
    fn describe(&self) -> String {
        match self {
            Sign::File(path) => format!("the file {path}"),
            Sign::Log(text) => format!("{text:?} in its log"),
        }
    }
}

/// The last MiB of the container's output.
async fn log_of(world: &PodlifeWorld, id: &ContainerId) -> String {
    world
        .started()
        .engine
        .runtime()
        .logs_tail(id, usize::MAX, 1 << 20)
        .await
        .unwrap_or_default()
}

/// Whether the container's current instance shows `sign` now.
async fn shows(world: &PodlifeWorld, id: &ContainerId, sign: &Sign<'_>) -> bool {
    match sign {
        Sign::File(path) => try_exec(world, id, &["test", "-e", path]).await.0 == 0,
        Sign::Log(text) => log_of(world, id).await.contains(text),
    }
}

/// Looks for `sign` every 100 ms until it shows or `patience` (wall time) has passed: the
/// manifest time at which the look that saw it began.
async fn watch_for(
    world: &PodlifeWorld,
    pod: &str,
    container: &str,
    sign: &Sign<'_>,
    patience: Duration,
) -> Option<Duration> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let began = world.now();
        if let Some(id) = created(world, pod, container)
            && shows(world, &id, sign).await
        {
            return Some(began);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the container's sign that it is set up.
async fn set_up(world: &PodlifeWorld, pod: &str, container: &str, sign: Sign<'_>) {
    if watch_for(world, pod, container, &sign, SET_UP_PATIENCE)
        .await
        .is_none()
    {
        world.fail(&format!(
            "container {container} to show {} within {SET_UP_PATIENCE:?} of wall time",
            sign.describe()
        ));
    }
}

#[when(regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? has created the file "([^"]+)"$"#)]
async fn has_created(world: &mut PodlifeWorld, name: String, pod: String, path: String) {
    let pod = world.pod(pod_arg(&pod));
    set_up(world, &pod, &name, Sign::File(&path)).await;
}

#[when(regex = r#"^container "([^"]+)"(?: of pod "([^"]+)")? has logged "(.*)"$"#)]
async fn has_logged(world: &mut PodlifeWorld, name: String, pod: String, text: String) {
    let pod = world.pod(pod_arg(&pod));
    set_up(world, &pod, &name, Sign::Log(&text)).await;
}

/// Judged on when the look that saw the file began (a file leaves no record).
#[then(
    regex = r#"^the file "([^"]+)" exists in container "([^"]+)"(?: of pod "([^"]+)")? within (\S+)$"#
)]
async fn file_exists(
    world: &mut PodlifeWorld,
    file: String,
    name: String,
    pod: String,
    limit: String,
) {
    let pod = world.pod(pod_arg(&pod));
    let limit = duration::of(&limit);
    let began = world.now();
    let patience = world.wall(limit + TOLERANCE) + slack(world);
    let at = watch_for(world, &pod, &name, &Sign::File(&file), patience).await;
    world.judge(
        limit,
        began,
        at,
        &format!("the file {file} to exist in container {name}"),
    );
}

#[then(
    regex = r#"^the file "([^"]+)" in container "([^"]+)"(?: of pod "([^"]+)")? contains "(.*)"$"#
)]
async fn file_contains(
    world: &mut PodlifeWorld,
    file: String,
    name: String,
    pod: String,
    text: String,
) {
    let pod = world.pod(pod_arg(&pod));
    let (code, out) = exec(world, &pod, &name, &["cat", &file]).await;
    if code != 0 || !out.contains(&text) {
        world.fail(&format!(
            "the file {file} in container {name} to contain {text:?}; `cat` said ({code}): {out:?}"
        ));
    }
}

/// The log of the container's current instance, now.
#[then(regex = r#"^the log of container "([^"]+)"(?: of pod "([^"]+)")? contains "(.*)"$"#)]
async fn log_contains(world: &mut PodlifeWorld, name: String, pod: String, text: String) {
    let pod = world.pod(pod_arg(&pod));
    let id = crate::actions::container_id(world, &pod, &name).await;
    let log = log_of(world, &id).await;
    if !log.contains(&text) {
        world.fail(&format!(
            "the log of container {name} to contain {text:?}; it is:\n{log}"
        ));
    }
}
