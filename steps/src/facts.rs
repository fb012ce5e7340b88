//! The states steps judge, as the engine's records change them (see [`Fact`]): a step that
//! reads them from the log judges the instant they changed, not the instant it looked.

use std::time::Duration;

use podlife::engine::spec::ProbeKind;
use podlife::engine::{HookKind, Observation, Record};

use crate::timing::Fact;

/// What a record says of a state (`None`: nothing).
pub trait Says: Fn(&Record) -> Option<bool> {}
impl<F: Fn(&Record) -> Option<bool>> Says for F {}

/// Whether `record` is about container `name` of `pod`.
pub fn of_container(record: &Record, pod: &str, name: &str) -> bool {
    record.pod == pod && record.container.as_deref() == Some(name)
}

/// The pod is in `phase` (Pending until a record says otherwise: a pod starts Pending).
pub fn phase<'a>(pod: &'a str, phase: &'a str) -> Fact<impl Says + 'a> {
    Fact::new(phase == "Pending", move |r: &Record| {
        match r.observation() {
            Some(Observation::PhaseChanged { phase: p }) if r.pod == pod => {
                Some(p.as_str() == phase)
            }
            _ => None,
        }
    })
}

/// The pod's condition `kind` is True (not yet reported counts as not True).
pub fn condition<'a>(pod: &'a str, kind: &'a str) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| match r.observation() {
        Some(Observation::ConditionChanged { condition, status })
            if r.pod == pod && condition.as_str() == kind =>
        {
            Some(*status)
        }
        _ => None,
    })
}

/// The container runs: from each start to its exit.
pub fn running<'a>(pod: &'a str, name: &'a str) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| {
        if !of_container(r, pod, name) {
            return None;
        }
        match r.observation() {
            Some(Observation::ContainerStarted { .. }) => Some(true),
            Some(Observation::ContainerAdopted { running, .. }) => Some(*running),
            Some(Observation::ContainerExited { .. }) => Some(false),
            _ => None,
        }
    })
}

/// The container's `ready`.
pub fn ready<'a>(pod: &'a str, name: &'a str) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| match r.observation() {
        Some(Observation::ReadyChanged { ready }) if of_container(r, pod, name) => Some(*ready),
        _ => None,
    })
}

/// The container's `started`: its startup probe succeeded (at its start, without one), until
/// it exits.
pub fn started<'a>(pod: &'a str, name: &'a str, has_startup: bool) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| {
        if !of_container(r, pod, name) {
            return None;
        }
        match r.observation() {
            Some(Observation::ContainerStarted { .. }) => Some(!has_startup),
            Some(Observation::ProbeResult { probe, success }) if *probe == ProbeKind::Startup => {
                Some(*success)
            }
            Some(Observation::ContainerExited { .. }) => Some(false),
            _ => None,
        }
    })
}

/// The restart count of the container, where a record says it (at each start, and when a
/// restarted kubelet adopts it).
pub fn restart_count(record: &Record, pod: &str, name: &str) -> Option<i32> {
    match record.observation() {
        Some(
            Observation::ContainerStarted { restart_count }
            | Observation::ContainerAdopted { restart_count, .. },
        ) if of_container(record, pod, name) => Some(*restart_count),
        _ => None,
    }
}

/// The container's restart count by its last start, from the records (its status follows
/// them a moment later).
pub fn restarts_so_far(records: &[Record], pod: &str, name: &str) -> i32 {
    records
        .iter()
        .rev()
        .find_map(|r| restart_count(r, pod, name))
        .unwrap_or(0)
}

/// The container's restart count passes `test` (the count is 0 before its first start).
pub fn restarts<'a>(
    pod: &'a str,
    name: &'a str,
    test: impl Fn(i32) -> bool + 'a,
) -> Fact<impl Says + 'a> {
    Fact::new(test(0), move |r: &Record| {
        restart_count(r, pod, name).map(&test)
    })
}

/// The container has exited with `code` (and `reason`, unless empty) at least once.
pub fn exited_with<'a>(
    pod: &'a str,
    name: &'a str,
    code: i32,
    reason: &'a str,
) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| match r.observation() {
        Some(Observation::ContainerExited {
            exit_code,
            reason: why,
            ..
        }) if of_container(r, pod, name)
            && *exit_code == code
            && (reason.is_empty() || why == reason) =>
        {
            Some(true)
        }
        _ => None,
    })
}

/// Whether `record` is the event `reason` with `message` in its message.
pub fn is_event(record: &Record, reason: &str, message: &str) -> bool {
    record
        .event()
        .is_some_and(|e| e.reason == reason && e.message.contains(message))
}

/// There has been an event `reason` with `message` in its message.
pub fn event<'a>(reason: &'a str, message: &'a str) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| {
        is_event(r, reason, message).then_some(true)
    })
}

/// The pod is among the ready endpoints of `service`.
pub fn endpoint<'a>(pod: &'a str, service: &'a str) -> Fact<impl Says + 'a> {
    Fact::new(false, move |r: &Record| match r.observation() {
        Some(Observation::Endpoint {
            service: s, ready, ..
        }) if r.pod == pod && s == service => Some(*ready),
        _ => None,
    })
}

/// Nothing `matching` happened after `from`: for `never … during` steps, which judge only
/// what happens in their span.
pub fn nothing_after<'a>(
    from: Duration,
    matching: impl Fn(&Record) -> bool + 'a,
) -> Fact<impl Says + 'a> {
    Fact::new(true, move |r: &Record| {
        (r.manifest > from && matching(r)).then_some(false)
    })
}

/// `preStop` or `postStart`, as steps write it.
pub fn hook_kind(name: &str) -> HookKind {
    if name == "preStop" {
        HookKind::PreStop
    } else {
        HookKind::PostStart
    }
}
