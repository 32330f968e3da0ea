//! The states and the table of allowed transitions, as pure data.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// A Kafka Streams client state, as `KafkaStreams.State` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Built, not started.
    Created,
    /// Partitions are being (re)assigned.
    Rebalancing,
    /// Processing.
    Running,
    /// `close()` was called; threads are stopping.
    PendingShutdown,
    /// Stopped after a clean shutdown. Terminal.
    NotRunning,
    /// A fatal error; threads are stopping.
    PendingError,
    /// Stopped after a fatal error. Terminal: only a restart leaves it.
    Error,
}

impl State {
    /// Every state, in the order Kafka declares them.
    pub const ALL: [State; 7] = [
        State::Created,
        State::Rebalancing,
        State::Running,
        State::PendingShutdown,
        State::NotRunning,
        State::PendingError,
        State::Error,
    ];

    /// The name Kafka uses: `CREATED`, `REBALANCING`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "CREATED",
            State::Rebalancing => "REBALANCING",
            State::Running => "RUNNING",
            State::PendingShutdown => "PENDING_SHUTDOWN",
            State::NotRunning => "NOT_RUNNING",
            State::PendingError => "PENDING_ERROR",
            State::Error => "ERROR",
        }
    }

    /// Whether the state table allows going from `self` to `next`.
    ///
    /// ```
    /// use probe_core::evaluators::streams::State;
    /// assert!(State::Running.can_become(State::PendingError));
    /// assert!(!State::Created.can_become(State::Error));
    /// assert!(!State::Error.can_become(State::Running));
    /// ```
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Created, Rebalancing | PendingShutdown)
                | (Rebalancing, Running | PendingShutdown | PendingError)
                | (
                    Running,
                    Rebalancing | Running | PendingShutdown | PendingError
                )
                | (PendingShutdown, NotRunning)
                | (PendingError, Error)
        )
    }

    /// NOT_RUNNING and ERROR: no transition leaves them.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::NotRunning | State::Error)
    }

    /// PENDING_ERROR and ERROR: the client is dead.
    pub fn is_error(self) -> bool {
        matches!(self, State::PendingError | State::Error)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = ParseError;

    /// Parses a state name case-insensitively (`running`, `PENDING_ERROR`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ParseError::new(
                    "kafka streams state",
                    s,
                    "CREATED, REBALANCING, RUNNING, PENDING_SHUTDOWN, NOT_RUNNING, PENDING_ERROR, ERROR",
                )
            })
    }
}

/// A transition the state table does not allow; the state is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("kafka streams cannot go from {from} to {to}")]
pub struct InvalidTransition {
    /// The state the client was in.
    pub from: State,
    /// The state it was asked to enter.
    pub to: State,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for state in State::ALL {
            assert_eq!(state.as_str().to_lowercase().parse::<State>(), Ok(state));
        }
        let err = "STARTING".parse::<State>().unwrap_err().to_string();
        assert!(
            err.contains("`STARTING`") && err.contains("PENDING_ERROR"),
            "{err}"
        );
    }

    #[test]
    fn only_not_running_and_error_are_terminal() {
        for state in State::ALL {
            let leaves = State::ALL.iter().any(|&n| state.can_become(n));
            assert_eq!(state.is_terminal(), !leaves, "{state}");
        }
    }
}
