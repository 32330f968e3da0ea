//! Why a ping could not be carried out, and the small helpers that turn Redis replies
//! into those errors.

use super::message::truncated;
use super::redis_io::{IoError, Value};

/// The ping could not be carried out: the broker, or the worker's reply, failed.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    /// No connection to Redis.
    #[error("cannot connect to redis at {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// Connection refused, host not found, timed out, ...
        reason: String,
    },
    /// Redis answered a command with an error (authentication, a wrong database, ...).
    #[error("redis at {addr} refused {command}: {reason}")]
    Refused {
        /// `host:port`.
        addr: String,
        /// The command.
        command: &'static str,
        /// Redis's error text.
        reason: String,
    },
    /// The connection broke during a command.
    #[error("connection to redis at {addr} failed during {command}: {reason}")]
    Io {
        /// `host:port`.
        addr: String,
        /// The command.
        command: &'static str,
        /// A plain reason.
        reason: String,
    },
    /// Redis sent something that is not a valid reply.
    #[error("redis at {addr} sent an invalid reply to {command}: {reason}")]
    Protocol {
        /// `host:port`.
        addr: String,
        /// The command.
        command: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Redis did not answer a command before the ping's timeout.
    #[error("redis at {addr} did not answer {command} within {timeout}")]
    Timeout {
        /// `host:port`.
        addr: String,
        /// The command.
        command: &'static str,
        /// The ping's timeout, for people.
        timeout: String,
    },
    /// The worker answered, but not with a valid `ping` reply.
    #[error("celery worker {worker} sent an invalid reply: {reason}")]
    Reply {
        /// The worker name.
        worker: String,
        /// What was wrong.
        reason: String,
    },
}

pub(super) fn connect_error(addr: &str, e: &std::io::Error) -> PingError {
    PingError::Connect {
        addr: addr.to_owned(),
        reason: crate::http_client::io_reason(e),
    }
}

pub(super) fn expect_ok(addr: &str, command: &'static str, v: Value) -> Result<(), PingError> {
    match v {
        Value::Simple(_) => Ok(()),
        Value::Error(e) => Err(refused(addr, command, &e)),
        _ => Err(protocol(addr, command, "expected OK")),
    }
}

pub(super) fn expect_int(addr: &str, command: &'static str, v: Value) -> Result<i64, PingError> {
    match v {
        Value::Int(n) => Ok(n),
        _ => Err(protocol(addr, command, "expected an integer")),
    }
}

pub(super) fn io_error(addr: &str, command: &'static str, e: IoError) -> PingError {
    match e {
        IoError::Io(e) => PingError::Io {
            addr: addr.to_owned(),
            command,
            reason: crate::http_client::io_reason(&e),
        },
        IoError::Protocol(reason) => protocol(addr, command, &reason),
    }
}

pub(super) fn refused(addr: &str, command: &'static str, reason: &str) -> PingError {
    PingError::Refused {
        addr: addr.to_owned(),
        command,
        reason: truncated(reason),
    }
}

pub(super) fn protocol(addr: &str, command: &'static str, reason: &str) -> PingError {
    PingError::Protocol {
        addr: addr.to_owned(),
        command,
        reason: reason.to_owned(),
    }
}
