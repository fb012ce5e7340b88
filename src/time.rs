//! Manifest time ↔ wall time.
//!
//! Every duration that comes from a manifest (probe periods, grace periods, back-off, hook
//! sleeps) passes through one [`TimeScale`], so a scenario written with 120 s delays runs in
//! seconds, and reports can still speak in the manifest's seconds. Waiting itself is always a
//! tokio timer, so a paused tokio clock can drive the engine too.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

/// The current wall-clock time, for status timestamps (runtimes report container start and
/// exit times in it too). It follows the tokio clock from the first call on, so that under a
/// paused clock (the simulated runtime's tests) timestamps move with the timers.
pub fn now() -> Timestamp {
    static ORIGIN: std::sync::OnceLock<(Timestamp, tokio::time::Instant)> =
        std::sync::OnceLock::new();
    let (wall, tick) = *ORIGIN.get_or_init(|| (system_now(), tokio::time::Instant::now()));
    let since = tokio::time::Instant::now().saturating_duration_since(tick);
    wall.checked_add(since).unwrap_or(wall)
}

fn system_now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanosecond(since.as_nanos() as i128).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// How fast manifest time runs: `wall = manifest × factor` (`0.1` makes 120 s take 12 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl Default for TimeScale {
    fn default() -> Self {
        Self(1.0)
    }
}

impl TimeScale {
    /// A scale factor; it must be a finite number > 0.
    pub fn new(factor: f64) -> Result<Self, String> {
        if factor.is_finite() && factor > 0.0 {
            Ok(Self(factor))
        } else {
            Err(format!(
                "a time scale must be a number greater than 0, not {factor}"
            ))
        }
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    /// The wall-clock time a manifest duration takes.
    pub fn wall(self, manifest: Duration) -> Duration {
        manifest.mul_f64(self.0)
    }

    /// The wall-clock time of `seconds` manifest seconds.
    pub fn seconds(self, seconds: i64) -> Duration {
        self.wall(Duration::from_secs(seconds.max(0) as u64))
    }

    /// The manifest time a wall-clock duration stands for.
    pub fn manifest(self, wall: Duration) -> Duration {
        wall.div_f64(self.0)
    }
}

impl std::str::FromStr for TimeScale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let factor: f64 = s
            .parse()
            .map_err(|_| format!("`{s}` is not a number (try 0.1 for ten times faster)"))?;
        Self::new(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_both_ways() {
        let fast: TimeScale = "0.1".parse().unwrap();
        assert_eq!(fast.seconds(120), Duration::from_secs(12));
        assert_eq!(
            fast.manifest(Duration::from_secs(12)),
            Duration::from_secs(120)
        );
        assert!("0".parse::<TimeScale>().is_err());
        assert!("fast".parse::<TimeScale>().is_err());
    }
}
