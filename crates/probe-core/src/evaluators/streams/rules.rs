//! How long a state must hold before the probes see it (debounce), when a rebalance or a
//! shutdown counts as stuck, and whether a client's readiness is required: pure data.

use std::time::Duration;

use super::State;

/// Rules a [`StreamsCheck`](super::StreamsCheck) applies to a client's states.
///
/// The defaults keep the plain mapping (no debounce, no grace, every client required) and
/// call a rebalance or a shutdown stuck after [`StreamsRules::DEFAULT_STUCK_AFTER`],
/// failing readiness only.
///
/// ```
/// use std::time::Duration;
/// use probe_core::evaluators::streams::{State, StreamsRules};
///
/// let rules = StreamsRules::default()
///     .debounce(State::Rebalancing, Duration::from_secs(30))
///     .stuck_after(Some(Duration::from_secs(300)))
///     .stuck_liveness(true);
/// assert_eq!(rules.debounce_of(State::Rebalancing), Duration::from_secs(30));
/// // ERROR and PENDING_ERROR always count at once.
/// let rules = rules.debounce(State::Error, Duration::from_secs(30));
/// assert_eq!(rules.debounce_of(State::Error), Duration::ZERO);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamsRules {
    debounce: [Duration; 7],
    /// A REBALANCING (or PENDING_SHUTDOWN) older than this is stuck; `None`: never.
    pub stuck_after: Option<Duration>,
    /// Whether a stuck client also fails liveness (a restart); readiness always fails.
    pub stuck_liveness: bool,
    /// A REBALANCING after RUNNING keeps readiness passing, as `warn`, this long.
    pub rebalance_grace: Duration,
    /// Whether this client's readiness counts for the probe: `false` turns its readiness
    /// and startup failures into warnings (the client is shown, the probes pass), since
    /// readiness waits for startup. Liveness is judged all the same.
    pub required_for_readiness: bool,
}

impl StreamsRules {
    /// 15 minutes. A rebalance normally takes seconds, but one that restores large state
    /// stores (tens of GB from a changelog topic) stays in REBALANCING for many minutes:
    /// readiness should not flap during that, and a restart would only start the
    /// restoration over. 15 minutes is well past a cooperative rebalance with
    /// `max.poll.interval.ms` at its 5-minute default, and soon enough to notice a wedged
    /// group the same quarter hour.
    pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(15 * 60);

    /// The defaults: no debounce, stuck after [`Self::DEFAULT_STUCK_AFTER`] (readiness
    /// only), no rebalance grace, readiness required.
    pub const DEFAULT: StreamsRules = StreamsRules {
        debounce: [Duration::ZERO; 7],
        stuck_after: Some(Self::DEFAULT_STUCK_AFTER),
        stuck_liveness: false,
        rebalance_grace: Duration::ZERO,
        required_for_readiness: true,
    };

    /// The same rules with `state` counted only once it has held for `hold`. Ignored for
    /// PENDING_ERROR and ERROR, which count at once.
    pub fn debounce(mut self, state: State, hold: Duration) -> Self {
        if !state.is_error() {
            self.debounce[index(state)] = hold;
        }
        self
    }

    /// How long `state` must hold before the probes see it.
    pub fn debounce_of(&self, state: State) -> Duration {
        self.debounce[index(state)]
    }

    /// The same rules with another stuck limit (`None`: a rebalance is never stuck).
    pub fn stuck_after(mut self, limit: Option<Duration>) -> Self {
        self.stuck_after = limit;
        self
    }

    /// The same rules failing liveness too once a client is stuck.
    pub fn stuck_liveness(mut self, on: bool) -> Self {
        self.stuck_liveness = on;
        self
    }

    /// The same rules with a rebalance grace for readiness.
    pub fn rebalance_grace(mut self, grace: Duration) -> Self {
        self.rebalance_grace = grace;
        self
    }

    /// The same rules with this client's readiness required or not.
    pub fn required_for_readiness(mut self, required: bool) -> Self {
        self.required_for_readiness = required;
        self
    }

    /// Whether `state`, entered `age` ago, counts now.
    pub fn holds(&self, state: State, age: Duration) -> bool {
        age >= self.debounce_of(state)
    }

    /// Whether `state`, entered `age` ago, is stuck.
    pub fn is_stuck(&self, state: State, age: Duration) -> bool {
        matches!(state, State::Rebalancing | State::PendingShutdown)
            && self.stuck_after.is_some_and(|limit| age >= limit)
    }
}

impl Default for StreamsRules {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn index(state: State) -> usize {
    State::ALL
        .iter()
        .position(|s| *s == state)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rebalancing_and_pending_shutdown_get_stuck() {
        let rules = StreamsRules::default().stuck_after(Some(Duration::from_secs(60)));
        for state in State::ALL {
            let expected = matches!(state, State::Rebalancing | State::PendingShutdown);
            assert_eq!(rules.is_stuck(state, Duration::from_secs(60)), expected);
            assert!(!rules.is_stuck(state, Duration::from_secs(59)));
        }
        let never = rules.stuck_after(None);
        assert!(!never.is_stuck(State::Rebalancing, Duration::MAX));
    }

    #[test]
    fn error_states_are_never_debounced() {
        let mut rules = StreamsRules::default();
        for state in State::ALL {
            rules = rules.debounce(state, Duration::from_secs(5));
        }
        for state in State::ALL {
            assert_eq!(
                rules.holds(state, Duration::ZERO),
                state.is_error(),
                "{state}"
            );
        }
    }
}
