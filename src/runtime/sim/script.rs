//! A simulated container's script, in Rust or as the one-line text of a pod annotation
//! (`sim.podlife.dev/<container>`), for `podlife run --runtime sim`.

use std::time::Duration;

/// What a simulated container does. Durations are wall (tokio) time from the instance's start;
/// at time scale 1, manifest time.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// How long it runs before exiting by itself (`None`: until a signal ends it).
    pub runs_for: Option<Duration>,
    /// Its exit code when it exits by itself.
    pub exit_code: i32,
    /// What a catchable signal does to it.
    pub on_signal: OnSignal,
    /// How its checks answer: the first whose [`Check::matches`] fits is used; none fitting
    /// means success.
    pub checks: Vec<Check>,
    /// What it wrote to its termination-message file.
    pub termination_message: Option<String>,
    /// Its output, for `logs_tail`.
    pub log: String,
    /// Scripts of later instances (restarts), in order; the last one goes on being used.
    pub then: Vec<Script>,
}

/// What a catchable signal (not SIGKILL) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnSignal {
    /// Exits `after` the signal with 128 + the signal (a process without a handler).
    #[default]
    Dies,
    /// Exits `after` the signal with `code` (a handler that shuts down).
    Exits { after: Duration, code: i32 },
    /// Nothing: only SIGKILL ends it.
    Ignores,
}

/// How one kind of check answers over the instance's life.
#[derive(Debug, Clone)]
pub struct Check {
    pub matches: CheckMatch,
    /// Passing or failing from each time on (the first entry from 0), e.g.
    /// `[(0s, true), (30s, false)]`: healthy for 30 s, then failing.
    pub answers: Vec<(Duration, bool)>,
    /// How long one check takes (a longer one than its timeout times out).
    pub takes: Duration,
}

/// Which checks a [`Check`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckMatch {
    /// Exec commands whose words, joined by spaces, contain this text.
    Exec(String),
    /// httpGet, tcpSocket and gRPC checks on this port.
    Port(u16),
    /// Every check.
    Any,
}

impl Check {
    /// Passing until `at`, failing from then on.
    pub fn fails_from(matches: CheckMatch, at: Duration) -> Self {
        Self {
            matches,
            answers: vec![(Duration::ZERO, true), (at, false)],
            takes: Duration::ZERO,
        }
    }

    /// Failing until `at`, passing from then on.
    pub fn passes_from(matches: CheckMatch, at: Duration) -> Self {
        Self {
            matches,
            answers: vec![(Duration::ZERO, false), (at, true)],
            takes: Duration::ZERO,
        }
    }

    /// The answer `since` the instance started.
    pub(super) fn answer(&self, since: Duration) -> bool {
        self.answers
            .iter()
            .rev()
            .find(|(from, _)| *from <= since)
            .is_none_or(|(_, ok)| *ok)
    }
}

impl Script {
    /// Runs until a signal ends it.
    pub fn forever() -> Self {
        Self::default()
    }

    /// Exits by itself with `code` after `after`.
    pub fn exits(after: Duration, code: i32) -> Self {
        Self {
            runs_for: Some(after),
            exit_code: code,
            ..Self::default()
        }
    }

    pub fn on_signal(mut self, on_signal: OnSignal) -> Self {
        self.on_signal = on_signal;
        self
    }

    pub fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    /// The script of instance `attempt` (0 for the first).
    pub(super) fn for_attempt(&self, attempt: i32) -> &Script {
        match usize::try_from(attempt).ok().and_then(|n| n.checked_sub(1)) {
            Some(n) => self.then.get(n).or(self.then.last()).unwrap_or(self),
            None => self,
        }
    }

    pub(super) fn check_for(&self, wanted: &CheckMatch) -> Option<&Check> {
        self.checks.iter().find(|c| match (&c.matches, wanted) {
            (CheckMatch::Any, _) => true,
            (CheckMatch::Exec(part), CheckMatch::Exec(command)) => command.contains(part.as_str()),
            (a, b) => a == b,
        })
    }
}

/// The annotation that gives container `<name>` its script: `sim.podlife.dev/<name>`.
pub const ANNOTATION_PREFIX: &str = "sim.podlife.dev/";

/// What a script's text may say, for error messages.
const GRAMMAR: &str = "clauses separated by `;`, instances (restarts) by `|`: `runs`, \
    `exits <code> after <duration>`, `on-signal dies|ignores|exits <code> after <duration>`, \
    `<check> passes|fails [from <duration>]`, `<check> takes <duration>` (a <check> is \
    `port <n>`, `exec <word>` or `any`), `message <text>`, `log <text>`";

impl std::str::FromStr for Script {
    type Err = String;

    /// Reads a script's one-line text, e.g. `exits 1 after 5s | runs; port 8080 fails from 30s`
    /// (see [`GRAMMAR`]).
    fn from_str(text: &str) -> Result<Self, String> {
        let mut instances = text.split('|').map(instance);
        let mut first = instances.next().unwrap_or_else(|| Ok(Script::default()))?;
        first.then = instances.collect::<Result<_, _>>()?;
        Ok(first)
    }
}

/// One instance's script.
fn instance(text: &str) -> Result<Script, String> {
    let mut script = Script::default();
    for clause in text.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        let words: Vec<&str> = clause.split_whitespace().collect();
        let rest_after = |word: &str| clause[word.len()..].trim().to_owned();
        match words.as_slice() {
            ["runs"] => script.runs_for = None,
            ["exits", code, "after", after] => {
                script.exit_code = number(code)?;
                script.runs_for = Some(duration(after)?);
            }
            ["on-signal", "dies"] => script.on_signal = OnSignal::Dies,
            ["on-signal", "ignores"] => script.on_signal = OnSignal::Ignores,
            ["on-signal", "exits", code, "after", after] => {
                script.on_signal = OnSignal::Exits {
                    after: duration(after)?,
                    code: number(code)?,
                };
            }
            ["exits", ..] => {
                return Err(format!(
                    "`{clause}`: `exits` takes `<code> after <duration>`, e.g. `exits 1 after 5s`"
                ));
            }
            ["on-signal", ..] => {
                return Err(format!(
                    "`{clause}`: `on-signal` takes `dies`, `ignores` or `exits <code> after \
                     <duration>`"
                ));
            }
            ["message", ..] => script.termination_message = Some(rest_after("message")),
            ["log", ..] => script.log = rest_after("log"),
            _ => check(&mut script, &words)
                .map_err(|why| format!("`{clause}`: {why}; a script is {GRAMMAR}"))?,
        }
    }
    Ok(script)
}

/// A check clause (`port 8080 fails from 30s`), merged into the script's check of that kind.
fn check(script: &mut Script, words: &[&str]) -> Result<(), String> {
    let (matches, rest) = match words {
        ["port", port, rest @ ..] => (CheckMatch::Port(number(port)?), rest),
        ["exec", word, rest @ ..] => (CheckMatch::Exec((*word).to_owned()), rest),
        ["any", rest @ ..] => (CheckMatch::Any, rest),
        _ => return Err("not a clause".into()),
    };
    let index = match script.checks.iter().position(|c| c.matches == matches) {
        Some(index) => index,
        None => {
            script.checks.push(Check {
                matches,
                answers: vec![(Duration::ZERO, true)],
                takes: Duration::ZERO,
            });
            script.checks.len() - 1
        }
    };
    let check = &mut script.checks[index];
    match rest {
        [verdict @ ("passes" | "fails")] => {
            check.answers = vec![(Duration::ZERO, *verdict == "passes")]
        }
        [verdict @ ("passes" | "fails"), "from", at] => {
            let at = duration(at)?;
            let ok = *verdict == "passes";
            check.answers = vec![(Duration::ZERO, !ok), (at, ok)];
        }
        ["takes", took] => check.takes = duration(took)?,
        _ => return Err("a check passes, fails (from a time) or takes a time".into()),
    }
    Ok(())
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn reads_every_clause() {
        let script: Script =
            "exits 3 after 5s; on-signal exits 0 after 2s; port 8080 fails from 30s; \
             exec ready takes 2s; message bye | runs; on-signal ignores"
                .parse()
                .unwrap();
        assert_eq!((script.runs_for, script.exit_code), (Some(s(5)), 3));
        assert_eq!(
            script.on_signal,
            OnSignal::Exits {
                after: s(2),
                code: 0
            }
        );
        assert_eq!(script.checks[0].matches, CheckMatch::Port(8080));
        assert!(script.checks[0].answer(s(29)) && !script.checks[0].answer(s(30)));
        assert_eq!(script.checks[1].takes, s(2));
        assert_eq!(script.termination_message.as_deref(), Some("bye"));
        assert_eq!(script.then.len(), 1);
        assert_eq!(script.for_attempt(3).on_signal, OnSignal::Ignores);
        assert_eq!(script.for_attempt(0).exit_code, 3);
    }

    #[test]
    fn says_what_it_cannot_read() {
        let error = "exits soon".parse::<Script>().unwrap_err();
        assert!(error.contains("`exits soon`"), "{error}");
        assert!(error.contains("`<code> after <duration>`"), "{error}");
        let error = "sleeps 5s".parse::<Script>().unwrap_err();
        assert!(error.contains("a script is clauses"), "{error}");
        let error = "port 80 fails from later".parse::<Script>().unwrap_err();
        assert!(error.contains("not a duration"), "{error}");
    }
}
