//! One line per event-log record, as `podlife run` prints its timeline and as the BDD
//! harness shows what happened when a step fails.

use super::events::{Observation, Record, What};
use crate::time::TimeScale;

/// `   12.000s  pod/container  Normal   Reason               message`; `None` for observations
/// only shown when `verbose` (probe attempts, container starts, conditions).
pub fn line(record: &Record, scale: TimeScale, width: usize, verbose: bool) -> Option<String> {
    let who = match &record.container {
        Some(c) => format!("{}/{c}", record.pod),
        None => record.pod.clone(),
    };
    let (kind, reason, message) = match &record.what {
        What::Event(e) => (
            format!("{:?}", e.type_),
            e.reason.clone(),
            e.message.clone(),
        ),
        What::Observation(o) => {
            let (reason, message) = describe(o, verbose)?;
            ("·".to_owned(), reason, message)
        }
    };
    Some(format!(
        "{}  {who:<width$} {kind:<8} {reason:<20} {}",
        stamp(record, scale),
        message.trim_end()
    ))
}

/// Every record, verbose, names padded to the longest.
pub fn render(records: &[Record], scale: TimeScale) -> String {
    let width = records
        .iter()
        .map(|r| r.pod.len() + r.container.as_ref().map_or(0, |c| c.len() + 1))
        .max()
        .unwrap_or(0);
    records
        .iter()
        .filter_map(|r| line(r, scale, width, true))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Manifest time, and the wall time too when time is scaled.
pub fn stamp(record: &Record, scale: TimeScale) -> String {
    if scale.factor() == 1.0 {
        format!("{:>8.3}s", record.manifest.as_secs_f64())
    } else {
        format!(
            "{:>8.3}s (wall {:.3}s)",
            record.manifest.as_secs_f64(),
            record.wall.as_secs_f64()
        )
    }
}

/// A one-line rendering of an observation.
fn describe(o: &Observation, verbose: bool) -> Option<(String, String)> {
    Some(match o {
        Observation::HookStarted { hook } => (format!("{hook:?}"), "started".into()),
        Observation::HookFinished { hook, error } => (
            format!("{hook:?}"),
            match error {
                None => "finished".into(),
                Some(e) => format!("failed: {e}"),
            },
        ),
        Observation::ProbeResult { probe, success } => (
            format!("{probe} probe"),
            if *success {
                "now succeeding".into()
            } else {
                "now failing".into()
            },
        ),
        Observation::SignalSent { signal } => ("Signal".into(), format!("{signal} sent")),
        Observation::ContainerExited {
            exit_code, reason, ..
        } => ("Exited".into(), format!("exit code {exit_code} ({reason})")),
        Observation::Terminating { grace_seconds } => (
            "Terminating".into(),
            format!("grace period {grace_seconds}s"),
        ),
        Observation::PhaseChanged { phase } => ("Phase".into(), phase.to_string()),
        Observation::ReadyChanged { ready } => (
            "Ready".into(),
            if *ready {
                "container ready".into()
            } else {
                "container not ready".into()
            },
        ),
        Observation::PodFinished => ("Finished".into(), "pod stopped and removed".into()),
        Observation::KubeletRestarted => (
            "Restarted".into(),
            "the kubelet restarted; taking the pod over from the runtime".into(),
        ),
        Observation::ContainerAdopted {
            restart_count,
            running,
        } => (
            "Adopted".into(),
            format!(
                "{} (restart count {restart_count})",
                if *running { "still running" } else { "exited" }
            ),
        ),
        Observation::Replicas {
            desired,
            ready,
            available,
        } => (
            "Replicas".into(),
            format!("{desired} desired, {ready} ready, {available} available"),
        ),
        Observation::Endpoint { change, .. } => ("Endpoints".into(), change.clone()),
        Observation::Request {
            method,
            path,
            user_agent,
        } => ("Request".into(), format!("{method} {path} ({user_agent})")),
        Observation::ContainerStarted { restart_count } if verbose => (
            "Running".into(),
            format!("container process started (restart {restart_count})"),
        ),
        Observation::ProbeAttempt {
            probe,
            outcome,
            output,
        } if verbose => (
            format!("{probe} attempt"),
            if output.is_empty() {
                outcome.to_string()
            } else {
                format!("{outcome}: {}", output.trim())
            },
        ),
        Observation::ConditionChanged { condition, status } if verbose => {
            ("Condition".into(), format!("{condition}={status}"))
        }
        Observation::ContainerStarted { .. }
        | Observation::ProbeAttempt { .. }
        | Observation::ConditionChanged { .. } => return None,
    })
}
