//! Workload controller steps: what the ReplicaSet, StatefulSet and Job controllers did, read
//! from their events on the timeline.
//!
//! ```gherkin
//! Then there are 3 events "SuccessfulCreate" within 20s
//! Then pod "db-1" was created after pod "db-0" became Ready
//! Then the failed pods were replaced 10s, 20s after they failed, give or take 2s
//! When the manifest is applied again as:
//! ```

use cucumber::gherkin::Step;
use cucumber::{then, when};
use podlife::engine::status::{ConditionKind, PodPhase};
use podlife::engine::{Observation, Record};

use crate::{PodlifeWorld, duration};

/// The events with `reason`, in order.
fn events(world: &PodlifeWorld, reason: &str) -> Vec<Record> {
    world
        .records()
        .into_iter()
        .filter(|r| r.event().is_some_and(|e| e.reason == reason))
        .collect()
}

#[then(regex = r#"^there (?:are|is) (\d+) events? "([A-Za-z]+)" within (\S+)$"#)]
async fn count_events(world: &mut PodlifeWorld, count: usize, reason: String, limit: String) {
    world
        .within(
            duration::of(&limit),
            &format!("{count} events {reason}"),
            |w, from| crate::timing::nth(&events(w, &reason), count, from),
        )
        .await;
    let found = events(world, &reason).len();
    if found != count {
        world.fail(&format!("{count} events {reason}, not {found}"));
    }
}

/// When pod `name` came to be: its first record (the `Scheduled` event).
fn created(world: &PodlifeWorld, name: &str) -> Option<Record> {
    world.records().into_iter().find(|r| r.pod == name)
}

#[then(regex = r#"^pod "([^"]+)" was created after pod "([^"]+)" became Ready$"#)]
fn created_after_ready(world: &mut PodlifeWorld, later: String, earlier: String) {
    let ready = world.records().into_iter().find(|r| {
        r.pod == earlier
            && matches!(
                r.observation(),
                Some(Observation::ConditionChanged {
                    condition: ConditionKind::Ready,
                    status: true
                })
            )
    });
    let Some(ready) = ready else {
        world.fail(&format!("{earlier} to have become Ready"));
    };
    match created(world, &later) {
        Some(c) if c.seq > ready.seq => {}
        Some(c) => world.fail(&format!(
            "{later} to be created after {earlier} became Ready (at {:?}); it was created at {:?}",
            ready.manifest, c.manifest
        )),
        None => world.fail(&format!("{later} to have been created")),
    }
}

#[then(regex = r#"^the failed pods were replaced (.+) after they failed, give or take (\S+)$"#)]
fn replaced_after_failure(world: &mut PodlifeWorld, gaps: String, tolerance: String) {
    let wanted: Vec<_> = gaps.split(',').map(|g| duration::of(g.trim())).collect();
    let tolerance = duration::of(&tolerance);
    let records = world.records();
    let failures: Vec<&Record> = records
        .iter()
        .filter(|r| {
            matches!(
                r.observation(),
                Some(Observation::PhaseChanged {
                    phase: PodPhase::Failed
                })
            )
        })
        .collect();
    // A Job's own creations (its pods fail and are replaced).
    let creations: Vec<&Record> = records
        .iter()
        .filter(|r| r.pod.starts_with("job/"))
        .filter(|r| r.event().is_some_and(|e| e.reason == "SuccessfulCreate"))
        .collect();
    // Each failure's replacement is the first creation after it.
    let found: Vec<_> = failures
        .iter()
        .filter_map(|f| {
            let replacement = creations.iter().find(|c| c.seq > f.seq)?;
            Some(replacement.manifest.saturating_sub(f.manifest))
        })
        .collect();
    let what = "failed pods replaced after they failed:";
    if let Err(why) = crate::timing::judge_gaps(what, &wanted, tolerance, &found) {
        world.fail(&why);
    }
}

/// `kubectl apply` of a changed manifest: workloads already running get the new plan (a new
/// replica count is followed, a Deployment rolls out a changed template by its strategy);
/// new objects start. The scenario's overrides apply to it as to the first manifest.
#[when("the manifest is applied again as:")]
async fn apply_again(world: &mut PodlifeWorld, step: &Step) {
    let text = step
        .docstring
        .clone()
        .expect("write the changed manifest as a doc string under this step");
    let text = text.strip_prefix('\n').unwrap_or(&text).to_owned();
    let plan = crate::actions::plan_of(world, "changed.yaml", &text);
    let errors = world.started().engine.apply_plan(&plan).await;
    assert!(errors.is_empty(), "{errors:?}");
    world.manifest = Some(("changed.yaml".to_owned(), text));
}
