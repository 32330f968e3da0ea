//! What happens when Kafka Streams enters ERROR: `LOG_EXCEPTION` or `LOG_AND_EXIT`.
//!
//! Both log the error once, with its cause. `LOG_EXCEPTION` then keeps the process running,
//! unhealthy (liveness fails: ERROR is terminal) until it is restarted; `LOG_AND_EXIT` ends
//! the process with status 1. The exit goes through a hook, so tests can observe it.

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;

use super::streams::{StreamsError, StreamsState};
use crate::ParseError;

/// The reaction to Kafka Streams entering ERROR, as `STREAMS_ERROR_STRATEGY` names it.
///
/// ```
/// use probe_core::evaluators::error_strategy::ErrorStrategy;
/// use probe_core::evaluators::streams::StreamsState;
///
/// let strategy: ErrorStrategy = "log_and_exit".parse().unwrap();
/// assert_eq!(strategy, ErrorStrategy::LogAndExit);
/// assert!("LOG_AND_RETRY".parse::<ErrorStrategy>().is_err());
///
/// let streams = StreamsState::new();
/// // In a test, observe the exit instead of taking it:
/// strategy.attach_with_exit(&streams, |code| assert_eq!(code, 1));
/// streams.fail("the cluster went away").unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ErrorStrategy {
    /// Log the error; stay up and unhealthy until restarted. The default.
    #[default]
    LogException,
    /// Log the error, then exit with status 1.
    LogAndExit,
}

/// The exit status `LOG_AND_EXIT` ends the process with.
pub const EXIT_STATUS: i32 = 1;

impl ErrorStrategy {
    /// `LOG_EXCEPTION` or `LOG_AND_EXIT`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorStrategy::LogException => "LOG_EXCEPTION",
            ErrorStrategy::LogAndExit => "LOG_AND_EXIT",
        }
    }

    /// Attaches this strategy to `streams`; `LOG_AND_EXIT` ends the process with
    /// [`exit_process`].
    pub fn attach(self, streams: &StreamsState) {
        self.attach_with_exit(streams, exit_process);
    }

    /// Attaches this strategy to `streams`, with `exit` called instead of ending the process
    /// (a test hook, or an embedder's orderly shutdown). `exit` is called at most once, with
    /// [`EXIT_STATUS`], after the error is logged.
    pub fn attach_with_exit(
        self,
        streams: &StreamsState,
        exit: impl Fn(i32) + Send + Sync + 'static,
    ) {
        let exit = Arc::new(exit);
        streams.on_error(move |error| self.react(error, &*exit));
    }

    /// Logs `error` (at error level, with its cause) and, for `LOG_AND_EXIT`, calls `exit`
    /// with [`EXIT_STATUS`].
    pub fn react(self, error: &StreamsError, exit: &dyn Fn(i32)) {
        match self {
            ErrorStrategy::LogException => tracing::error!(
                strategy = self.as_str(),
                cause = %error.cause,
                "kafka streams entered ERROR: staying up, unhealthy until restarted"
            ),
            ErrorStrategy::LogAndExit => {
                tracing::error!(
                    strategy = self.as_str(),
                    cause = %error.cause,
                    "kafka streams entered ERROR: exiting with status {EXIT_STATUS}"
                );
                exit(EXIT_STATUS);
            }
        }
    }
}

/// The default exit hook: flushes standard output and error (where the usual `tracing`
/// subscribers write) and ends the process with `code`.
///
/// A subscriber that writes from a background thread (a non-blocking appender) must be
/// flushed by the embedder's own hook, passed to [`ErrorStrategy::attach_with_exit`].
pub fn exit_process(code: i32) {
    let _ = std::io::stderr().flush();
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

impl fmt::Display for ErrorStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorStrategy {
    type Err = ParseError;

    /// Parses `LOG_EXCEPTION` or `LOG_AND_EXIT`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ErrorStrategy::LogException, ErrorStrategy::LogAndExit]
            .into_iter()
            .find(|strategy| strategy.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ParseError::new("streams error strategy", s, "LOG_EXCEPTION, LOG_AND_EXIT")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

    #[test]
    fn names_parse_case_insensitively_and_unknown_ones_are_named() {
        assert_eq!("LOG_EXCEPTION".parse(), Ok(ErrorStrategy::LogException));
        assert_eq!("Log_And_Exit".parse(), Ok(ErrorStrategy::LogAndExit));
        assert_eq!(ErrorStrategy::default(), ErrorStrategy::LogException);
        let err = "LOG_AND_CONTINUE"
            .parse::<ErrorStrategy>()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown streams error strategy `LOG_AND_CONTINUE` (expected one of: LOG_EXCEPTION, LOG_AND_EXIT)"
        );
    }

    fn counting_exit() -> (Arc<AtomicUsize>, Arc<AtomicI32>, impl Fn(i32) + Send + Sync) {
        let (calls, code) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicI32::new(-1)));
        let (c, k) = (calls.clone(), code.clone());
        let hook = move |status| {
            c.fetch_add(1, Ordering::SeqCst);
            k.store(status, Ordering::SeqCst);
        };
        (calls, code, hook)
    }

    #[test]
    fn log_and_exit_calls_the_hook_with_1_exactly_once() {
        let streams = StreamsState::new();
        let (calls, code, hook) = counting_exit();
        ErrorStrategy::LogAndExit.attach_with_exit(&streams, hook);
        streams.fail("first").unwrap();
        streams.fail("second").unwrap();
        let _ = streams.transition(super::super::streams::State::Error);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(code.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn log_exception_never_exits() {
        let streams = StreamsState::new();
        let (calls, _, hook) = counting_exit();
        ErrorStrategy::LogException.attach_with_exit(&streams, hook);
        streams.fail("boom").unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(streams.state().is_error());
    }
}
