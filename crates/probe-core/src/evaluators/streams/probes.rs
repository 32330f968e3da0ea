//! How a Kafka Streams state answers each probe.
//!
//! | state | liveness | readiness | startup |
//! |---|---|---|---|
//! | CREATED | pass | fail | fail |
//! | REBALANCING | pass (fail once stuck, with `stuck_liveness`) | fail (warn within the grace, after RUNNING; fail at once when stuck) | pass once RUNNING was reached |
//! | RUNNING | pass | pass | pass |
//! | PENDING_SHUTDOWN | pass (fail once stuck, with `stuck_liveness`) | fail | latched |
//! | NOT_RUNNING | pass (stopping is not an error) | fail | latched |
//! | PENDING_ERROR, ERROR | fail, for good | fail | latched |
//!
//! The state read is the *counted* one: the newest state that has held for its debounce
//! ([`StreamsRules::debounce`]); a younger state is shown in the message but does not count
//! yet. PENDING_ERROR and ERROR count at once. Stuck looks at the current state itself, so
//! no debounce delays it.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::{Snapshot, State, StreamsRules, StreamsState, TRANSITION_LOG};
use crate::time::{human, rfc3339};
use crate::{BoxFuture, Check, Outcome, Probe, Scope, Status};

impl Snapshot {
    /// The state that counts at `now` under `rules`, and since when: the current state if
    /// it has held for its debounce, else the newest earlier one that held for its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use probe_core::evaluators::streams::{State, StreamsRules, StreamsState};
    ///
    /// let rules = StreamsRules::default().debounce(State::Rebalancing, Duration::from_secs(30));
    /// let streams = StreamsState::new();
    /// streams.transition(State::Rebalancing).unwrap();
    /// let now = tokio::time::Instant::now();
    /// assert_eq!(streams.snapshot().counted(now, &rules).0, State::Created);
    /// assert_eq!(streams.snapshot().counted(now + Duration::from_secs(30), &rules).0,
    ///            State::Rebalancing);
    /// ```
    pub fn counted(&self, now: Instant, rules: &StreamsRules) -> (State, Instant) {
        if rules.holds(self.state, now.saturating_duration_since(self.since)) {
            return (self.state, self.since);
        }
        let mut end = self.since;
        for (i, t) in self.log.iter().enumerate().rev() {
            let start = match i {
                0 if self.log.len() >= TRANSITION_LOG => return (t.from, t.at),
                0 => self.created,
                _ => self.log[i - 1].at,
            };
            if rules.holds(t.from, end.saturating_duration_since(start)) {
                return (t.from, start);
            }
            end = start;
        }
        (self.state, self.since)
    }

    /// Whether a RUNNING that counted was ever reached: the startup latch under `rules`.
    pub fn counted_running(&self, now: Instant, rules: &StreamsRules) -> bool {
        let hold = rules.debounce_of(State::Running);
        let current = match self.state {
            State::Running => now.saturating_duration_since(self.since),
            _ => Duration::ZERO,
        };
        self.reached_running && (self.longest_running.max(current) >= hold)
    }

    /// The outcome of `probe` at `now` under `rules`.
    ///
    /// A REBALANCING that follows RUNNING and has lasted at most `rules.rebalance_grace`
    /// keeps readiness passing (as `warn`); a longer one fails it. A zero grace makes
    /// readiness pass in RUNNING only.
    ///
    /// ```
    /// use probe_core::evaluators::streams::{StreamsRules, StreamsState};
    /// use probe_core::{Probe, Status};
    ///
    /// let streams = StreamsState::new();
    /// let at = tokio::time::Instant::now();
    /// let snapshot = streams.snapshot();
    /// let rules = StreamsRules::default();
    /// assert_eq!(snapshot.outcome(Probe::Liveness, at, &rules).status, Status::Pass);
    /// assert_eq!(snapshot.outcome(Probe::Startup, at, &rules).status, Status::Fail);
    /// ```
    pub fn outcome(&self, probe: Probe, now: Instant, rules: &StreamsRules) -> Outcome {
        let age = now.saturating_duration_since(self.since);
        let (counted, counted_since) = self.counted(now, rules);
        let counted_age = now.saturating_duration_since(counted_since);
        let mut current = format!("kafka streams {counted} for {}", human(counted_age));
        if counted != self.state {
            current.push_str(&format!(
                " ({} for {}, counts after {})",
                self.state,
                human(age),
                human(rules.debounce_of(self.state))
            ));
        }
        let stuck = rules.is_stuck(self.state, age).then(|| {
            format!(
                "kafka streams stuck in {} since {} ({}, limit {})",
                self.state,
                rfc3339(self.since_wall),
                human(age),
                human(rules.stuck_after.unwrap_or_default())
            )
        });
        let mut out = match probe {
            Probe::Liveness => match (counted, &stuck) {
                (_, Some(stuck)) if rules.stuck_liveness && !counted.is_error() => {
                    Outcome::fail(stuck.clone())
                }
                (State::PendingError | State::Error, _) => match &self.cause {
                    Some(cause) => Outcome::fail(format!("{current}: {cause}")),
                    None => Outcome::fail(current),
                },
                (_, Some(stuck)) => Outcome::pass().with_message(format!(
                    "{stuck}; liveness ignores it (stuck_liveness is off)"
                )),
                (State::PendingShutdown | State::NotRunning, _) => {
                    Outcome::pass().with_message(format!("{current} (stopping, not an error)"))
                }
                _ => Outcome::pass().with_message(current),
            },
            Probe::Readiness => {
                let grace = rules.rebalance_grace;
                match (counted, stuck) {
                    (_, Some(stuck)) => Outcome::fail(stuck),
                    (State::Running, None) => Outcome::pass().with_message(current),
                    (State::Rebalancing, None)
                        if self.reached_running && !grace.is_zero() && counted_age <= grace =>
                    {
                        Outcome::warn(format!("{current}, ready for up to {}", human(grace)))
                    }
                    (State::Rebalancing, None) if self.reached_running && !grace.is_zero() => {
                        Outcome::fail(format!("{current}, longer than the {} grace", human(grace)))
                    }
                    _ => Outcome::fail(format!("{current}, not RUNNING")),
                }
            }
            Probe::Startup if self.counted_running(now, rules) => {
                Outcome::pass().with_message("kafka streams has reached RUNNING")
            }
            Probe::Startup => Outcome::fail(format!("{current}, has not reached RUNNING yet")),
        };
        // Readiness waits for startup, so a client not required for readiness does not
        // hold up either.
        if out.status == Status::Fail && probe != Probe::Liveness && !rules.required_for_readiness {
            let message = out.message.take().unwrap_or_default();
            out = Outcome::warn(format!("{message} (not required for readiness)"));
        }
        if let Some(refused) = self.refused {
            let message = out.message.take().unwrap_or_default();
            out.message = Some(format!("{message}; refused a transition: {refused}"));
        }
        out.with_details(json!({
            "state": self.state.as_str(),
            "for_ms": age.as_millis() as u64,
            "counted": counted.as_str(),
            "stuck": rules.is_stuck(self.state, age),
            "reached_running": self.reached_running,
            "cause": self.cause,
            "refused": self.refused.map(|r| format!("{} -> {}", r.from, r.to)),
            "transitions": self.transition_details(now),
        }))
    }

    /// The transition log as JSON, oldest first: `from`, `to`, `at` (RFC 3339) and `ago_ms`.
    fn transition_details(&self, now: Instant) -> Value {
        self.log
            .iter()
            .map(|t| {
                json!({
                    "from": t.from.as_str(),
                    "to": t.to.as_str(),
                    "at": rfc3339(t.wall),
                    "ago_ms": now.saturating_duration_since(t.at).as_millis() as u64,
                })
            })
            .collect()
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
    rules: StreamsRules,
}

impl StreamsCheck {
    /// `probe`'s view of `streams`, under the default [`StreamsRules`].
    pub fn new(streams: StreamsState, probe: Probe) -> Self {
        StreamsCheck {
            streams,
            probe,
            rules: StreamsRules::default(),
        }
    }

    /// The same check letting a rebalance after RUNNING stay ready (as `warn`) for up to
    /// `grace`; a longer rebalance fails readiness. Only readiness looks at it.
    pub fn rebalance_grace(mut self, grace: Duration) -> Self {
        self.rules.rebalance_grace = grace;
        self
    }

    /// The same check under `rules` (debounce, stuck limit, grace, required).
    pub fn rules(mut self, rules: StreamsRules) -> Self {
        self.rules = rules;
        self
    }
}

impl Check for StreamsCheck {
    fn scope(&self) -> Scope {
        Scope::Local
    }

    /// The liveness view attaches the client's current [`State`] to its outcome, so an
    /// endpoint (the metrics of `probe-http`) can show it per client.
    fn check(&self) -> BoxFuture<'_, Outcome> {
        let snapshot = self.streams.snapshot();
        let out = snapshot.outcome(self.probe, Instant::now(), &self.rules);
        let out = match self.probe {
            Probe::Liveness => out.with_attachment(snapshot.state),
            _ => out,
        };
        Box::pin(std::future::ready(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    const NO_GRACE: &StreamsRules = &StreamsRules::DEFAULT;

    fn snapshot(state: State, reached_running: bool) -> Snapshot {
        let now = Instant::now();
        Snapshot {
            state,
            since: now,
            since_wall: std::time::SystemTime::now(),
            created: now,
            longest_running: Duration::ZERO,
            log: Vec::new(),
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
            &StreamsRules::default().rebalance_grace(Duration::from_secs(30)),
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
