//! How the engine runs one check: its time budget, reuse, thresholds and schedule.

use std::time::Duration;

/// When a check runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schedule {
    /// When a probe asks (and its reuse window has passed).
    #[default]
    OnDemand,
    /// In the background, every period; probes read the latest result.
    Every(Duration),
}

/// The engine's rules for one check.
///
/// The defaults fit inside the kubelet's default probe timeout of 1 s: each run is cut
/// off after 800 ms, results are not reused (concurrent probes still share one run), one
/// failure fails and one success recovers.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// How long one run may take before it counts as failed.
    pub timeout: Duration,
    /// How long a passing (or warning) result is reused before the check runs again.
    pub cache_pass: Duration,
    /// How long a failing result is reused before the check runs again.
    pub cache_fail: Duration,
    /// Consecutive failed runs before the effective status turns to fail.
    pub failure_threshold: u32,
    /// Consecutive passing runs before a failed effective status recovers.
    pub success_threshold: u32,
    /// A result older than this is stale, and a stale result fails.
    ///
    /// `None` means: no limit for on-demand checks; for background checks, two periods
    /// plus the timeout.
    pub max_age: Option<Duration>,
    /// When false, a failure is reported as `warn`: seen, but not failing the probe.
    pub critical: bool,
    /// On demand or in the background.
    pub schedule: Schedule,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_millis(800),
            cache_pass: Duration::ZERO,
            cache_fail: Duration::ZERO,
            failure_threshold: 1,
            success_threshold: 1,
            max_age: None,
            critical: true,
            schedule: Schedule::OnDemand,
        }
    }
}

impl Policy {
    /// The same policy with `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same policy reusing every result (pass or fail) for `window`.
    pub fn cache(mut self, window: Duration) -> Self {
        self.cache_pass = window;
        self.cache_fail = window;
        self
    }

    /// The same policy reusing failed results for `window` (passing ones keep theirs).
    pub fn cache_fail(mut self, window: Duration) -> Self {
        self.cache_fail = window;
        self
    }

    /// The same policy with failure and success thresholds (each at least 1).
    pub fn thresholds(mut self, failure: u32, success: u32) -> Self {
        self.failure_threshold = failure.max(1);
        self.success_threshold = success.max(1);
        self
    }

    /// The same policy with a staleness limit.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The same policy, non-critical: failures report `warn`.
    pub fn non_critical(mut self) -> Self {
        self.critical = false;
        self
    }

    /// The same policy, running in the background every `period`.
    pub fn every(mut self, period: Duration) -> Self {
        self.schedule = Schedule::Every(period);
        self
    }

    /// The staleness limit in force: the configured one, or for background checks two
    /// periods plus the timeout.
    pub fn effective_max_age(&self) -> Option<Duration> {
        match (self.max_age, self.schedule) {
            (Some(m), _) => Some(m),
            (None, Schedule::Every(p)) => Some(p * 2 + self.timeout),
            (None, Schedule::OnDemand) => None,
        }
    }
}
