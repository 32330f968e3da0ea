//! What can go wrong building and running the Kafka Connect check.

use std::time::Duration;

use crate::http_client::HttpError;
use crate::proto::connect_rest::AnswerError;

/// Why a Kafka Connect check could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectConfigError {
    /// The URL does not parse or is neither `http://` nor `https://`.
    #[error("kafka connect url: {0}")]
    Url(#[from] HttpError),
    /// The URL has a query or a fragment; only a path prefix is allowed.
    #[error("kafka connect url `{0}`: only a path prefix may follow the host, not a query")]
    Query(String),
    /// The basic-auth value has no colon.
    #[error("basic auth must be `user:password` (no colon found)")]
    BasicAuth,
}

/// Why no verdict could be reached: Connect unreachable, slow, or its answer unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The request failed before an answer: connection refused, unknown host, closed.
    #[error("GET {url}: {source}")]
    Request {
        /// The URL asked, without credentials.
        url: String,
        /// What went wrong.
        source: HttpError,
    },
    /// No answer within the request timeout.
    #[error("GET {url}: no answer within {after:?}")]
    Timeout {
        /// The URL asked, without credentials.
        url: String,
        /// The request timeout.
        after: Duration,
    },
    /// The answer was an error or not what Connect sends.
    #[error("GET {url} {source}")]
    Answer {
        /// The URL asked, without credentials.
        url: String,
        /// What was wrong with the answer.
        source: AnswerError,
    },
    /// The worker's own health endpoint says it is not healthy.
    #[error("GET {url}: the worker reports itself {state} ({status}): {message}")]
    WorkerUnhealthy {
        /// The URL asked, without credentials.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Connect's status word, e.g. `starting`.
        state: String,
        /// Connect's message.
        message: String,
    },
}
