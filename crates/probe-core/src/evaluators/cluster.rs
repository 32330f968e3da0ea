//! A Kafka cluster unreachable for too long puts Kafka Streams in ERROR.
//!
//! A Streams client whose cluster has been gone for longer than the consumer's session
//! timeout plus its heartbeat interval is dropped from its group and, in the setups this
//! models (Kpow's internal topology), ends in ERROR; the cluster coming back does not bring
//! it back: only a restart does. [`Unavailability`] is the pure rule over reachability
//! observations; [`ClusterWatch`] applies it to a [`StreamsState`]. Observations come from
//! the `kafka` check (run by `drivers::cluster::spawn_driver`, cargo feature `kafka`) or
//! from the embedding application's own client errors.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::streams::{State, StreamsState};
use crate::time::human;

/// The consumer settings that bound "unreachable for too long".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterTimeouts {
    /// `session.timeout.ms`: 45 s by default (Kafka 3.0+; 10 s before).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`: 3 s by default.
    pub heartbeat_interval: Duration,
}

impl Default for ClusterTimeouts {
    fn default() -> Self {
        ClusterTimeouts {
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
        }
    }
}

impl ClusterTimeouts {
    /// How long the cluster may stay unreachable: session timeout + heartbeat interval.
    pub fn limit(&self) -> Duration {
        self.session_timeout.saturating_add(self.heartbeat_interval)
    }

    /// How often to look at the cluster so ERROR comes close to [`limit`](Self::limit):
    /// the heartbeat interval, at most 1 s (and at least 10 ms).
    pub fn poll_interval(&self) -> Duration {
        self.heartbeat_interval
            .min(Duration::from_secs(1))
            .max(Duration::from_millis(10))
    }
}

/// What one observation means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The cluster answered.
    Reachable,
    /// Unreachable, continuously for `lasted`, still within the limit.
    Unreachable {
        /// Since the first failed observation after the last success.
        lasted: Duration,
    },
    /// Unreachable continuously for at least the limit.
    TooLong {
        /// Since the first failed observation after the last success.
        lasted: Duration,
    },
}

/// The pure rule: how long the cluster has been unreachable, from timed observations.
///
/// The outage starts at the first failed observation after a success (or after the
/// start), so an application reporting only its errors, now and then, is judged on the
/// time between them and not on its last success long ago.
///
/// ```
/// use std::time::Duration;
/// use probe_core::evaluators::cluster::{Unavailability, Verdict};
/// use tokio::time::Instant;
///
/// let mut rule = Unavailability::new(Duration::from_secs(48));
/// let t0 = Instant::now();
/// assert_eq!(rule.observe(t0, Err("connection refused".into())),
///            Verdict::Unreachable { lasted: Duration::ZERO });
/// let later = t0 + Duration::from_secs(48);
/// assert_eq!(rule.observe(later, Err("connection refused".into())),
///            Verdict::TooLong { lasted: Duration::from_secs(48) });
/// assert_eq!(rule.observe(later, Ok(())), Verdict::Reachable);
/// ```
#[derive(Clone, Debug)]
pub struct Unavailability {
    limit: Duration,
    unreachable_since: Option<Instant>,
    last_error: Option<String>,
}

impl Unavailability {
    /// A rule with `limit` (see [`ClusterTimeouts::limit`]).
    pub fn new(limit: Duration) -> Self {
        Unavailability {
            limit,
            unreachable_since: None,
            last_error: None,
        }
    }

    /// Takes an observation made at `at`: `Ok` reachable, `Err(reason)` unreachable.
    pub fn observe(&mut self, at: Instant, observation: Result<(), String>) -> Verdict {
        match observation {
            Ok(()) => {
                self.unreachable_since = None;
                self.last_error = None;
                Verdict::Reachable
            }
            Err(reason) => {
                let since = *self.unreachable_since.get_or_insert(at);
                self.last_error = Some(reason);
                let lasted = at.saturating_duration_since(since);
                if lasted >= self.limit {
                    Verdict::TooLong { lasted }
                } else {
                    Verdict::Unreachable { lasted }
                }
            }
        }
    }

    /// The reason given with the latest failed observation of the current outage.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

/// Applies [`Unavailability`] to a [`StreamsState`]: once the cluster has been unreachable
/// for [`ClusterTimeouts::limit`], the client goes to PENDING_ERROR, then ERROR (and its
/// error hooks, such as the error strategy, run). Cheap to clone.
///
/// ```
/// use probe_core::evaluators::cluster::{ClusterTimeouts, ClusterWatch};
/// use probe_core::evaluators::streams::StreamsState;
///
/// let streams = StreamsState::new();
/// let watch = ClusterWatch::new(streams.clone(), ClusterTimeouts::default());
/// // From the application's Kafka client callbacks:
/// watch.observe(true);
/// watch.observe_error("broker 1 transport failure");
/// ```
#[derive(Clone)]
pub struct ClusterWatch(Arc<WatchInner>);

struct WatchInner {
    streams: StreamsState,
    timeouts: ClusterTimeouts,
    rule: Mutex<Unavailability>,
}

impl ClusterWatch {
    /// A watch moving `streams` to ERROR after `timeouts.limit()` of unreachability.
    pub fn new(streams: StreamsState, timeouts: ClusterTimeouts) -> Self {
        ClusterWatch(Arc::new(WatchInner {
            rule: Mutex::new(Unavailability::new(timeouts.limit())),
            streams,
            timeouts,
        }))
    }

    /// The state this watch moves.
    pub fn streams(&self) -> &StreamsState {
        &self.0.streams
    }

    /// The timeouts this watch applies.
    pub fn timeouts(&self) -> ClusterTimeouts {
        self.0.timeouts
    }

    /// The cluster was (`true`) or was not reachable, now.
    pub fn observe(&self, reachable: bool) -> Verdict {
        let observation = match reachable {
            true => Ok(()),
            false => Err("unreachable (no reason given)".to_owned()),
        };
        self.observe_at(Instant::now(), observation)
    }

    /// The cluster was not reachable, now, because of `reason`.
    pub fn observe_error(&self, reason: impl fmt::Display) -> Verdict {
        self.observe_at(Instant::now(), Err(reason.to_string()))
    }

    /// An observation made at `at`: `Ok` reachable, `Err(reason)` unreachable. Moves the
    /// state to ERROR when the outage has lasted the limit; never out of it.
    pub fn observe_at(&self, at: Instant, observation: Result<(), String>) -> Verdict {
        let (verdict, last_error) = {
            let mut rule = self.0.rule.lock().unwrap_or_else(PoisonError::into_inner);
            let verdict = rule.observe(at, observation);
            (verdict, rule.last_error().map(str::to_owned))
        };
        if let Verdict::TooLong { lasted } = verdict {
            let state = self.0.streams.state();
            if !state.is_error() && !matches!(state, State::PendingShutdown | State::NotRunning) {
                let t = self.0.timeouts;
                let cause = format!(
                    "kafka cluster unreachable for {}, at least session timeout {} + heartbeat interval {}; last error: {}",
                    human(lasted),
                    human(t.session_timeout),
                    human(t.heartbeat_interval),
                    last_error.as_deref().unwrap_or("none given"),
                );
                // Refusal is logged by the state; nothing else to do with it here.
                let _ = self.0.streams.fail(cause);
            }
        }
        verdict
    }
}

impl fmt::Debug for ClusterWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterWatch")
            .field("streams", &self.0.streams)
            .field("timeouts", &self.0.timeouts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn defaults_are_kafkas() {
        let t = ClusterTimeouts::default();
        assert_eq!(t.limit(), 48 * S);
        assert_eq!(t.poll_interval(), S);
        let short = ClusterTimeouts {
            session_timeout: 2 * S,
            heartbeat_interval: Duration::from_millis(200),
        };
        assert_eq!(short.poll_interval(), Duration::from_millis(200));
    }

    #[test]
    fn a_success_in_between_restarts_the_outage() {
        let mut rule = Unavailability::new(10 * S);
        let t0 = Instant::now();
        rule.observe(t0, Err("down".into()));
        rule.observe(t0 + 9 * S, Ok(()));
        assert_eq!(
            rule.observe(t0 + 12 * S, Err("down".into())),
            Verdict::Unreachable {
                lasted: Duration::ZERO
            }
        );
        assert_eq!(
            rule.observe(t0 + 22 * S, Err("still".into())),
            Verdict::TooLong { lasted: 10 * S }
        );
        assert_eq!(rule.last_error(), Some("still"));
    }

    #[test]
    fn the_watch_moves_to_error_and_a_returning_cluster_does_not_heal_it() {
        let streams = StreamsState::new();
        streams.transition(State::Rebalancing).unwrap();
        streams.transition(State::Running).unwrap();
        let watch = ClusterWatch::new(streams.clone(), ClusterTimeouts::default());
        let t0 = Instant::now();
        watch.observe_at(t0, Err("connection refused".into()));
        watch.observe_at(t0 + 47 * S, Err("connection refused".into()));
        assert_eq!(streams.state(), State::Running);
        watch.observe_at(t0 + 48 * S, Err("connection refused".into()));
        assert_eq!(streams.state(), State::Error);
        let cause = streams.snapshot().cause.unwrap();
        assert_eq!(cause, "kafka cluster unreachable for 48s, at least session timeout 45s + heartbeat interval 3s; last error: connection refused");
        assert_eq!(watch.observe_at(t0 + 60 * S, Ok(())), Verdict::Reachable);
        assert_eq!(streams.state(), State::Error);
    }

    #[test]
    fn a_client_stopping_on_purpose_is_left_alone() {
        let streams = StreamsState::new();
        streams.transition(State::PendingShutdown).unwrap();
        let watch = ClusterWatch::new(streams.clone(), ClusterTimeouts::default());
        let t0 = Instant::now();
        watch.observe_at(t0, Err("down".into()));
        watch.observe_at(t0 + 60 * S, Err("down".into()));
        assert_eq!(streams.state(), State::PendingShutdown);
        assert_eq!(streams.snapshot().refused, None);
    }
}
