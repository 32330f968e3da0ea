//! The Kafka Streams client state machine (`KafkaStreams.State`) and the handle an
//! application updates from its state listener.
//!
//! | from | allowed to |
//! |---|---|
//! | CREATED | REBALANCING, PENDING_SHUTDOWN |
//! | REBALANCING | RUNNING, PENDING_SHUTDOWN, PENDING_ERROR |
//! | RUNNING | REBALANCING, RUNNING, PENDING_SHUTDOWN, PENDING_ERROR |
//! | PENDING_SHUTDOWN | NOT_RUNNING |
//! | PENDING_ERROR | ERROR |
//! | NOT_RUNNING, ERROR | terminal |
//!
//! ERROR is reached only through PENDING_ERROR and only a restart leaves it. Each probe
//! reads the state through a [`StreamsCheck`]: liveness fails in PENDING_ERROR and ERROR,
//! readiness passes in RUNNING, startup once RUNNING was reached; [`StreamsRules`] add a
//! debounce per state, a limit past which a rebalance is stuck, and whether a client's
//! readiness is required. [`StreamsClients`] holds several named clients of one process.
//! Each client keeps its last [`TRANSITION_LOG`] transitions, shown in the check details.

mod clients;
mod probes;
mod rules;
mod state;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::Instant;

pub use self::clients::{DuplicateClient, StreamsClients, PARTS};
pub use self::probes::StreamsCheck;
pub use self::rules::StreamsRules;
pub use self::state::{InvalidTransition, State};
use crate::Probe;

/// What the error hooks receive when the client enters ERROR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamsError {
    /// Why, as given to [`StreamsState::fail`]; a placeholder when ERROR was reported
    /// by the state listener alone.
    pub cause: String,
    /// When ERROR was entered.
    pub at: Instant,
}

/// How many transitions a client keeps: the oldest goes when a new one comes.
pub const TRANSITION_LOG: usize = 32;

/// One accepted change of state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// When, on the Tokio clock.
    pub at: Instant,
    /// When, on the wall clock (for messages and details).
    pub wall: SystemTime,
}

/// A copy of the handle's state at one instant, for the probe mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The current state.
    pub state: State,
    /// When the current state was entered (RUNNING → RUNNING does not reset it).
    pub since: Instant,
    /// The same instant on the wall clock.
    pub since_wall: SystemTime,
    /// When the client was created (in CREATED).
    pub created: Instant,
    /// The longest RUNNING so far, not counting the current one.
    pub longest_running: Duration,
    /// The last [`TRANSITION_LOG`] transitions, oldest first.
    pub log: Vec<Transition>,
    /// Whether RUNNING was ever reached: the startup latch.
    pub reached_running: bool,
    /// The cause given to [`StreamsState::fail`], if any.
    pub cause: Option<String>,
    /// The last refused transition, until the next accepted one.
    pub refused: Option<InvalidTransition>,
}

type ErrorHook = Arc<dyn Fn(&StreamsError) + Send + Sync>;

/// The shared state of a Kafka Streams client, updated from its state listener.
///
/// Cheap to clone; every clone sees the same state. A transition outside the state table
/// is refused: it is logged, returned as an [`InvalidTransition`], shown in the probe
/// messages, and leaves the state unchanged. Nothing here panics.
///
/// ```
/// use probe_core::evaluators::streams::{State, StreamsState};
///
/// let streams = StreamsState::new();
/// streams.transition(State::Rebalancing).unwrap();
/// streams.transition(State::Running).unwrap();
/// assert!(streams.transition(State::Created).is_err()); // refused, still RUNNING
/// assert_eq!(streams.state(), State::Running);
///
/// streams.on_error(|e| eprintln!("streams failed: {}", e.cause));
/// streams.fail("the global thread died").unwrap();   // PENDING_ERROR, then ERROR
/// assert_eq!(streams.state(), State::Error);
/// ```
#[derive(Clone)]
pub struct StreamsState(Arc<Shared>);

struct Shared {
    machine: Mutex<Machine>,
    tx: watch::Sender<State>,
}

struct Machine {
    state: State,
    since: Instant,
    since_wall: SystemTime,
    created: Instant,
    longest_running: Duration,
    log: VecDeque<Transition>,
    reached_running: bool,
    cause: Option<String>,
    refused: Option<InvalidTransition>,
    error: Option<StreamsError>,
    hooks: Vec<ErrorHook>,
}

impl StreamsState {
    /// A client in CREATED.
    pub fn new() -> Self {
        let now = Instant::now();
        StreamsState(Arc::new(Shared {
            machine: Mutex::new(Machine {
                state: State::Created,
                since: now,
                since_wall: SystemTime::now(),
                created: now,
                longest_running: Duration::ZERO,
                log: VecDeque::with_capacity(TRANSITION_LOG),
                reached_running: false,
                cause: None,
                refused: None,
                error: None,
                hooks: Vec::new(),
            }),
            tx: watch::channel(State::Created).0,
        }))
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.lock().state
    }

    /// A copy of everything the probes look at.
    pub fn snapshot(&self) -> Snapshot {
        let m = self.lock();
        Snapshot {
            state: m.state,
            since: m.since,
            since_wall: m.since_wall,
            created: m.created,
            longest_running: m.longest_running,
            log: m.log.iter().copied().collect(),
            reached_running: m.reached_running,
            cause: m.cause.clone(),
            refused: m.refused,
        }
    }

    /// Enters `next`, as a state listener reports it; returns the state left.
    ///
    /// A transition the table does not allow is refused (logged at warn level, kept for
    /// the probe messages) and the state stays as it was. Entering ERROR runs the error
    /// hooks, once, on the caller's thread.
    pub fn transition(&self, next: State) -> Result<State, InvalidTransition> {
        let mut m = self.lock();
        let from = m.state;
        let entered_error = self.apply(&mut m, next)?;
        drop(m);
        fire(entered_error);
        Ok(from)
    }

    /// Records `cause` and moves to ERROR through PENDING_ERROR (from CREATED through
    /// REBALANCING first, as a started client would), as Kafka Streams does when its
    /// uncaught-exception handler answers SHUTDOWN_CLIENT.
    ///
    /// Already in ERROR: nothing changes and the first cause stays. In PENDING_SHUTDOWN or
    /// NOT_RUNNING the client is stopping on purpose: refused like any invalid transition.
    pub fn fail(&self, cause: impl fmt::Display) -> Result<(), InvalidTransition> {
        let mut m = self.lock();
        let path: &[State] = match m.state {
            State::Error => return Ok(()),
            State::Created => &[State::Rebalancing, State::PendingError, State::Error],
            State::Rebalancing | State::Running => &[State::PendingError, State::Error],
            State::PendingError => &[State::Error],
            State::PendingShutdown | State::NotRunning => &[State::PendingError],
        };
        if m.state.can_become(path[0]) && m.cause.is_none() {
            m.cause = Some(cause.to_string());
        }
        let mut entered_error = None;
        for &next in path {
            entered_error = self.apply(&mut m, next)?;
        }
        drop(m);
        fire(entered_error);
        Ok(())
    }

    /// Registers `hook` to run once when the client enters ERROR (at once, on this thread,
    /// if it already has). Hooks run in registration order on the thread that made the
    /// transition. [`ErrorStrategy::attach`](super::error_strategy::ErrorStrategy::attach)
    /// registers the strategy's reaction this way.
    pub fn on_error(&self, hook: impl Fn(&StreamsError) + Send + Sync + 'static) {
        let hook: ErrorHook = Arc::new(hook);
        let mut m = self.lock();
        match m.error.clone() {
            Some(error) => {
                drop(m);
                hook(&error);
            }
            None => m.hooks.push(hook),
        }
    }

    /// A receiver that sees every state change (for waiting on a state in tests or
    /// shutdown logic).
    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.0.tx.subscribe()
    }

    /// The liveness check: fails in PENDING_ERROR and ERROR.
    pub fn liveness(&self) -> StreamsCheck {
        StreamsCheck::new(self.clone(), Probe::Liveness)
    }

    /// The transitions kept, oldest first (at most [`TRANSITION_LOG`]).
    pub fn transitions(&self) -> Vec<Transition> {
        self.lock().log.iter().copied().collect()
    }

    /// The readiness check: passes in RUNNING (see [`StreamsCheck::rebalance_grace`]).
    pub fn readiness(&self) -> StreamsCheck {
        StreamsCheck::new(self.clone(), Probe::Readiness)
    }

    /// The startup check: passes once RUNNING was reached.
    pub fn startup(&self) -> StreamsCheck {
        StreamsCheck::new(self.clone(), Probe::Startup)
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        self.0
            .machine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One step under the lock; `Some` when ERROR was entered, with the hooks to run.
    fn apply(
        &self,
        m: &mut Machine,
        next: State,
    ) -> Result<Option<(StreamsError, Vec<ErrorHook>)>, InvalidTransition> {
        let from = m.state;
        if !from.can_become(next) {
            let refused = InvalidTransition { from, to: next };
            m.refused = Some(refused);
            tracing::warn!(%from, to = %next, "kafka streams state change refused: not in the state table");
            return Err(refused);
        }
        m.refused = None;
        if from == next {
            return Ok(None);
        }
        let now = Instant::now();
        let wall = SystemTime::now();
        if from == State::Running {
            m.longest_running = m
                .longest_running
                .max(now.saturating_duration_since(m.since));
        }
        if m.log.len() == TRANSITION_LOG {
            m.log.pop_front();
        }
        m.log.push_back(Transition {
            from,
            to: next,
            at: now,
            wall,
        });
        m.state = next;
        m.since = now;
        m.since_wall = wall;
        m.reached_running |= next == State::Running;
        self.0.tx.send_replace(next);
        tracing::info!(%from, to = %next, "kafka streams state changed");
        if next != State::Error {
            return Ok(None);
        }
        let error = StreamsError {
            cause: m
                .cause
                .clone()
                .unwrap_or_else(|| "no cause given (reported by the state listener)".into()),
            at: now,
        };
        m.error = Some(error.clone());
        Ok(Some((error, std::mem::take(&mut m.hooks))))
    }
}

fn fire(entered_error: Option<(StreamsError, Vec<ErrorHook>)>) {
    if let Some((error, hooks)) = entered_error {
        for hook in hooks {
            hook(&error);
        }
    }
}

impl Default for StreamsState {
    fn default() -> Self {
        StreamsState::new()
    }
}

impl fmt::Debug for StreamsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StreamsState").field(&self.state()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_refused_transition_is_kept_until_the_next_accepted_one() {
        let s = StreamsState::new();
        let err = s.transition(State::Running).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kafka streams cannot go from CREATED to RUNNING"
        );
        assert_eq!(s.snapshot().refused, Some(err));
        assert_eq!(s.transition(State::Rebalancing), Ok(State::Created));
        assert_eq!(s.snapshot().refused, None);
    }

    #[test]
    fn error_hooks_run_once_even_when_registered_late() {
        let s = StreamsState::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        s.on_error(move |e| {
            assert_eq!(e.cause, "boom");
            c.fetch_add(1, Ordering::SeqCst);
        });
        s.fail("boom").unwrap();
        s.fail("again").unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let c = calls.clone();
        s.on_error(move |e| {
            assert_eq!(e.cause, "boom");
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn fail_is_refused_while_shutting_down() {
        let s = StreamsState::new();
        s.transition(State::PendingShutdown).unwrap();
        let err = s.fail("late").unwrap_err();
        assert_eq!(
            (err.from, err.to),
            (State::PendingShutdown, State::PendingError)
        );
        assert_eq!(s.state(), State::PendingShutdown);
        assert_eq!(s.snapshot().cause, None);
    }

    #[test]
    fn a_listener_reported_error_has_a_placeholder_cause() {
        let s = StreamsState::new();
        let seen = Arc::new(Mutex::new(String::new()));
        let t = seen.clone();
        s.on_error(move |e| *t.lock().unwrap() = e.cause.clone());
        for next in [State::Rebalancing, State::PendingError, State::Error] {
            s.transition(next).unwrap();
        }
        assert!(seen.lock().unwrap().contains("no cause given"));
    }
}
