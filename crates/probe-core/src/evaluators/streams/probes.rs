//! How a Kafka Streams state answers each probe.
//!
//! | state | liveness | readiness | startup |
//! |---|---|---|---|
//! | CREATED | pass | fail | fail |
//! | REBALANCING | pass | fail (warn within the grace, after RUNNING) | pass once RUNNING was reached |
//! | RUNNING | pass | pass | pass |
//! | PENDING_SHUTDOWN, NOT_RUNNING | pass (stopping is not an error) | fail | latched |
//! | PENDING_ERROR, ERROR | fail, for good | fail | latched |

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::{Snapshot, State, StreamsState};
use crate::time::human;
use crate::{BoxFuture, Check, Outcome, Probe, Scope};

impl Snapshot {
    /// The outcome of `probe` at `now`. A REBALANCING that follows RUNNING and has lasted
    /// at most `rebalance_grace` keeps readiness passing (as `warn`); a longer one fails it.
    /// A zero grace makes readiness pass in RUNNING only.
    ///
    /// ```
    /// use std::time::Duration;
    /// use probe_core::evaluators::streams::{State, StreamsState};
    /// use probe_core::{Probe, Status};
    ///
    /// let streams = StreamsState::new();
    /// let at = tokio::time::Instant::now();
    /// let snapshot = streams.snapshot();
    /// assert_eq!(snapshot.outcome(Probe::Liveness, at, Duration::ZERO).status, Status::Pass);
    /// assert_eq!(snapshot.outcome(Probe::Startup, at, Duration::ZERO).status, Status::Fail);
    /// ```
    pub fn outcome(&self, probe: Probe, now: Instant, rebalance_grace: Duration) -> Outcome {
        let age = now.saturating_duration_since(self.since);
        let current = format!("kafka streams {} for {}", self.state, human(age));
        let mut out = match probe {
            Probe::Liveness => match self.state {
                State::PendingError | State::Error => match &self.cause {
                    Some(cause) => Outcome::fail(format!("{current}: {cause}")),
                    None => Outcome::fail(current),
                },
                State::PendingShutdown | State::NotRunning => {
                    Outcome::pass().with_message(format!("{current} (stopping, not an error)"))
                }
                _ => Outcome::pass().with_message(current),
            },
            Probe::Readiness => match self.state {
                State::Running => Outcome::pass().with_message(current),
                State::Rebalancing if self.reached_running && !rebalance_grace.is_zero() => {
                    if age <= rebalance_grace {
                        Outcome::warn(format!(
                            "{current}, ready for up to {}",
                            human(rebalance_grace)
                        ))
                    } else {
                        Outcome::fail(format!(
                            "{current}, longer than the {} grace",
                            human(rebalance_grace)
                        ))
                    }
                }
                _ => Outcome::fail(format!("{current}, not RUNNING")),
            },
            Probe::Startup if self.reached_running => {
                Outcome::pass().with_message("kafka streams has reached RUNNING")
            }
            Probe::Startup => Outcome::fail(format!("{current}, has not reached RUNNING yet")),
        };
        if let Some(refused) = self.refused {
            let message = out.message.take().unwrap_or_default();
            out.message = Some(format!("{message}; refused a transition: {refused}"));
        }
        out.with_details(json!({
            "state": self.state.as_str(),
            "for_ms": age.as_millis() as u64,
            "reached_running": self.reached_running,
            "cause": self.cause,
            "refused": self.refused.map(|r| format!("{} -> {}", r.from, r.to)),
        }))
    }
}

/// One probe's view of a [`StreamsState`]: a [`Scope::Local`] check. Made by
/// [`StreamsState::liveness`], [`StreamsState::readiness`] and [`StreamsState::startup`].
///
/// ```
/// use std::time::Duration;
/// use probe_core::evaluators::streams::StreamsState;
/// use probe_core::{Health, Policy, Probe};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let streams = StreamsState::new();
/// let health = Health::builder()
///     .check("streams", streams.liveness(), [Probe::Liveness], Policy::default()).unwrap()
///     .check("streams-ready", streams.readiness().rebalance_grace(Duration::from_secs(10)),
///            [Probe::Readiness], Policy::default()).unwrap()
///     .check("streams-started", streams.startup(), [Probe::Startup], Policy::default()).unwrap()
///     .build().unwrap();
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct StreamsCheck {
    streams: StreamsState,
    probe: Probe,
    rebalance_grace: Duration,
}

impl StreamsCheck {
    /// `probe`'s view of `streams`, with no rebalance grace.
    pub fn new(streams: StreamsState, probe: Probe) -> Self {
        StreamsCheck {
            streams,
            probe,
            rebalance_grace: Duration::ZERO,
        }
    }

    /// The same check letting a rebalance after RUNNING stay ready (as `warn`) for up to
    /// `grace`; a longer rebalance fails readiness. Only readiness looks at it.
    pub fn rebalance_grace(mut self, grace: Duration) -> Self {
        self.rebalance_grace = grace;
        self
    }
}

impl Check for StreamsCheck {
    fn scope(&self) -> Scope {
        Scope::Local
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        let out = self
            .streams
            .snapshot()
            .outcome(self.probe, Instant::now(), self.rebalance_grace);
        Box::pin(std::future::ready(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    const NO_GRACE: Duration = Duration::ZERO;

    fn snapshot(state: State, reached_running: bool) -> Snapshot {
        Snapshot {
            state,
            since: Instant::now(),
            reached_running,
            cause: None,
            refused: None,
        }
    }

    #[test]
    fn liveness_fails_only_on_errors() {
        for state in State::ALL {
            let out = snapshot(state, false).outcome(Probe::Liveness, Instant::now(), NO_GRACE);
            let expected = if state.is_error() {
                Status::Fail
            } else {
                Status::Pass
            };
            assert_eq!(out.status, expected, "{state}: {:?}", out.message);
        }
    }

    #[test]
    fn readiness_passes_only_in_running_without_a_grace() {
        for state in State::ALL {
            let out = snapshot(state, true).outcome(Probe::Readiness, Instant::now(), NO_GRACE);
            assert_eq!(
                out.status == Status::Pass,
                state == State::Running,
                "{state}"
            );
        }
    }

    #[test]
    fn the_first_rebalance_is_not_ready_even_with_a_grace() {
        let out = snapshot(State::Rebalancing, false).outcome(
            Probe::Readiness,
            Instant::now(),
            Duration::from_secs(30),
        );
        assert_eq!(out.status, Status::Fail);
    }

    #[test]
    fn the_error_message_carries_the_cause_and_a_refused_transition() {
        let mut s = snapshot(State::Error, true);
        s.cause = Some("cluster unreachable".into());
        s.refused = Some(super::super::InvalidTransition {
            from: State::Error,
            to: State::Running,
        });
        let out = s.outcome(Probe::Liveness, s.since + Duration::from_secs(3), NO_GRACE);
        assert_eq!(
            out.message.as_deref(),
            Some("kafka streams ERROR for 3s: cluster unreachable; refused a transition: kafka streams cannot go from ERROR to RUNNING")
        );
        assert_eq!(out.details.unwrap()["refused"], "ERROR -> RUNNING");
    }
}
