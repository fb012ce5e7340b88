//! How steps judge time: in manifest time, by the engine's clock.
//!
//! A step's bound is checked against *when the thing happened* (each record of the engine's
//! log carries its manifest time), never against how long the step waited: a runtime's latency
//! may make a step wait longer for a record to arrive, it never makes a late record pass.
//!
//! A state the records describe (a phase, a condition, a container running) is a [`Fact`]:
//! which records make it true or false. From the log alone a step then knows the first instant
//! it held ([`first_holding`]) or the first instant it stopped holding ([`first_break`]), so a
//! step that looks late still judges the right instant.

use std::time::Duration;

use podlife::engine::Record;

/// How much a stated bound is blurred, in manifest time: `within 10s` passes what came by
/// 10.5 s after the step began, `stays … for at least 10s` fails on a change before 9.5 s.
/// It covers the moment between the record a step follows on and the step's own start.
pub const TOLERANCE: Duration = Duration::from_millis(500);

/// What a record says of a state, behind a box (see [`Fact::boxed`]).
pub type BoxedSays<'a> = Box<dyn Fn(&Record) -> Option<bool> + Send + Sync + 'a>;

/// A state as the engine's records change it: what a record says of it (`None`: nothing),
/// and what holds before any record does.
pub struct Fact<F> {
    says: F,
    before: bool,
}

impl<F: Fn(&Record) -> Option<bool>> Fact<F> {
    pub fn new(before: bool, says: F) -> Self {
        Self { says, before }
    }

    /// The fact behind a box: for steps that pick one of several facts by a word.
    pub fn boxed<'a>(self) -> Fact<BoxedSays<'a>>
    where
        F: Send + Sync + 'a,
    {
        Fact {
            says: Box::new(self.says),
            before: self.before,
        }
    }

    /// The same fact, or its opposite when `holds` is false (`is not Ready`).
    pub fn when(self, holds: bool) -> Fact<impl Fn(&Record) -> Option<bool>> {
        let Self { says, before } = self;
        Fact {
            says: move |r: &Record| says(r).map(|v| v == holds),
            before: before == holds,
        }
    }
}

/// Whether every fact holds, at `from` and after each record (after `from`) that says
/// something of one of them: `(instant, all hold)`, in log order.
fn course<F: Fn(&Record) -> Option<bool>>(
    records: &[Record],
    facts: &[Fact<F>],
    from: Duration,
) -> Vec<(Duration, bool)> {
    let mut states: Vec<bool> = facts.iter().map(|f| f.before).collect();
    let update = |record: &Record, states: &mut Vec<bool>| {
        let mut said = false;
        for (state, fact) in states.iter_mut().zip(facts) {
            if let Some(value) = (fact.says)(record) {
                *state = value;
                said = true;
            }
        }
        said
    };
    let (past, later): (Vec<&Record>, Vec<&Record>) =
        records.iter().partition(|r| r.manifest <= from);
    for record in past {
        update(record, &mut states);
    }
    let mut course = vec![(from, states.iter().all(|s| *s))];
    for record in later {
        if update(record, &mut states) {
            course.push((record.manifest, states.iter().all(|s| *s)));
        }
    }
    course
}

/// The first instant from `from` on at which every fact holds: `from` when they hold then,
/// else the manifest time of the record that made them all hold.
pub fn first_holding<F: Fn(&Record) -> Option<bool>>(
    records: &[Record],
    facts: &[Fact<F>],
    from: Duration,
) -> Option<Duration> {
    course(records, facts, from)
        .into_iter()
        .find(|(_, holds)| *holds)
        .map(|(at, _)| at)
}

/// The first instant in `[from, to]` at which not every fact holds (`from` when one does not
/// hold then).
pub fn first_break<F: Fn(&Record) -> Option<bool>>(
    records: &[Record],
    facts: &[Fact<F>],
    from: Duration,
    to: Duration,
) -> Option<Duration> {
    course(records, facts, from)
        .into_iter()
        .take_while(|(at, _)| *at <= to)
        .find(|(_, holds)| !*holds)
        .map(|(at, _)| at)
}

/// When the `n`th of `records` happened (`from` for none): for counts judged on their last.
pub fn nth(records: &[Record], n: usize, from: Duration) -> Option<Duration> {
    match n {
        0 => Some(from),
        n => records.get(n - 1).map(|r| r.manifest),
    }
}

/// Judges a `within` bound: the expectation held `at` (manifest time), the step began at
/// `began`. `Err` says how late it came.
pub fn judge_within(limit: Duration, began: Duration, at: Duration) -> Result<(), String> {
    let took = at.saturating_sub(began);
    if took <= limit + TOLERANCE {
        Ok(())
    } else {
        Err(format!(
            "it came {} after the step began (manifest time; the bound allows {} more)",
            seconds(took),
            seconds(TOLERANCE)
        ))
    }
}

/// The end of the span a `stays … for at least <span>` step judges.
pub fn span_end(began: Duration, span: Duration) -> Duration {
    began + span.saturating_sub(TOLERANCE)
}

/// Whether `got` is `want` give or take `tolerance`; `Err` says what it was.
pub fn judge_gap(
    what: &str,
    want: Duration,
    tolerance: Duration,
    got: Duration,
) -> Result<(), String> {
    if got.abs_diff(want) <= tolerance {
        Ok(())
    } else {
        Err(format!(
            "{what} {} ± {}; it was {}",
            seconds(want),
            seconds(tolerance),
            seconds(got)
        ))
    }
}

/// Judges a list of gaps (`10s, 20s … give or take 2s`): `found` must be as many as
/// `wanted`, each within `tolerance` of its own.
pub fn judge_gaps(
    what: &str,
    wanted: &[Duration],
    tolerance: Duration,
    found: &[Duration],
) -> Result<(), String> {
    let close = found.len() == wanted.len()
        && found
            .iter()
            .zip(wanted)
            .all(|(f, w)| f.abs_diff(*w) <= tolerance);
    if close {
        Ok(())
    } else {
        Err(format!(
            "{what} {wanted:?} (± {tolerance:?}); they came {found:?}"
        ))
    }
}

/// `12.34s`: manifest durations in messages.
pub fn seconds(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use podlife::engine::{Observation, What};

    fn ready(at: f64, status: bool) -> Record {
        Record {
            seq: 0,
            wall: Duration::ZERO,
            manifest: Duration::from_secs_f64(at),
            pod: "p".into(),
            container: None,
            what: What::Observation(Observation::ConditionChanged {
                condition: podlife::engine::status::ConditionKind::Ready,
                status,
            }),
        }
    }

    fn is_ready(holds: bool) -> Fact<impl Fn(&Record) -> Option<bool>> {
        Fact::new(false, |r: &Record| match r.observation() {
            Some(Observation::ConditionChanged { status, .. }) => Some(*status),
            _ => None,
        })
        .when(holds)
    }

    const S: fn(f64) -> Duration = Duration::from_secs_f64;

    #[test]
    fn the_first_instant_a_fact_holds_is_read_from_the_records() {
        let log = [
            ready(1.0, false),
            ready(3.0, true),
            ready(5.0, false),
            ready(12.0, true),
        ];
        // Held at 3 s: a step that began at 2 s sees it 1 s later, however late it looks.
        assert_eq!(first_holding(&log, &[is_ready(true)], S(2.0)), Some(S(3.0)));
        // Not Ready from 5 s to 12 s.
        assert_eq!(
            first_holding(&log, &[is_ready(true)], S(6.0)),
            Some(S(12.0))
        );
        assert_eq!(
            first_holding(&log, &[is_ready(false)], S(0.0)),
            Some(S(0.0))
        );
        assert_eq!(first_holding(&log[..3], &[is_ready(true)], S(6.0)), None);
    }

    #[test]
    fn a_break_counts_only_inside_the_span() {
        let log = [ready(1.0, true), ready(5.0, false)];
        assert_eq!(first_break(&log, &[is_ready(true)], S(2.0), S(4.9)), None);
        assert_eq!(
            first_break(&log, &[is_ready(true)], S(2.0), S(5.0)),
            Some(S(5.0))
        );
        assert_eq!(
            first_break(&log, &[is_ready(true)], S(0.5), S(4.0)),
            Some(S(0.5))
        );
    }

    #[test]
    fn a_bound_is_judged_on_when_it_happened() {
        let began = S(100.0);
        assert!(judge_within(S(10.0), began, S(109.0)).is_ok());
        assert!(judge_within(S(10.0), began, S(110.5)).is_ok());
        let late = judge_within(S(10.0), began, S(112.0)).unwrap_err();
        assert!(late.contains("12.00s after the step began"), "{late}");
        assert!(
            judge_within(S(10.0), began, S(50.0)).is_ok(),
            "held before the step"
        );
        assert_eq!(span_end(began, S(10.0)), S(109.5));
    }
}
