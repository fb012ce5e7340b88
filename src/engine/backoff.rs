//! Crash-loop back-off, per container, as the kubelet computes it (`doBackOff`,
//! `flowcontrol.Backoff`): the first restart is immediate, then 10 s, doubling up to 300 s; a
//! container that ran for more than 10 minutes starts over. Durations in manifest time.

use std::time::Duration;

/// First back-off.
pub const INITIAL: Duration = Duration::from_secs(10);
/// Largest back-off.
pub const MAX: Duration = Duration::from_secs(300);
/// A container that ran longer than this before exiting is restarted at once.
pub const RESET_AFTER: Duration = Duration::from_secs(600);

/// The back-off state of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    /// The current back-off, once the container has exited at least twice.
    current: Option<Duration>,
    restarts: u32,
}

impl Backoff {
    /// How long to wait before restarting a container that ran for `ran` before exiting.
    pub fn next(&mut self, ran: Duration) -> Duration {
        if ran > RESET_AFTER {
            self.current = None;
            self.restarts = 0;
        }
        self.restarts += 1;
        if self.restarts == 1 {
            return Duration::ZERO;
        }
        let delay = match self.current {
            None => INITIAL,
            Some(d) => (d * 2).min(MAX),
        };
        self.current = Some(delay);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_ten_seconds_to_five_minutes() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..9)
            .map(|_| b.next(Duration::from_secs(1)).as_secs())
            .collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn resets_after_ten_minutes_of_running() {
        let mut b = Backoff::default();
        b.next(Duration::from_secs(1));
        b.next(Duration::from_secs(1));
        assert_eq!(b.next(Duration::from_secs(601)), Duration::ZERO);
        assert_eq!(b.next(Duration::from_secs(1)), INITIAL);
    }
}
