//! Why a ping could not be carried out, and the small helpers that turn Redis replies
//! into those errors.

use super::message::truncated;
use crate::proto::resp::{RespConnectionError, RespError, Value};

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

/// The error for a failed connection to `addr`, any reason kept.
pub(super) fn connect_error(addr: &str, e: RespConnectionError) -> PingError {
    match e {
        RespConnectionError::Connect { reason, .. } => PingError::Connect {
            addr: addr.to_owned(),
            reason,
        },
        other => redis_error(addr, "connect", other),
    }
}

/// The integer `command` answered; an error reply is [`PingError::Refused`].
pub(super) fn expect_int(addr: &str, command: &'static str, v: Value) -> Result<i64, PingError> {
    match v {
        Value::Integer(n) => Ok(n),
        Value::Error(e) => Err(refused(addr, command, &e)),
        _ => Err(protocol(addr, command, "expected an integer")),
    }
}

/// The error for `command` failing on the connection to `addr`.
pub(super) fn redis_error(addr: &str, command: &'static str, e: RespConnectionError) -> PingError {
    match e {
        RespConnectionError::Connect { reason, .. } | RespConnectionError::Io { reason, .. } => {
            PingError::Io {
                addr: addr.to_owned(),
                command,
                reason,
            }
        }
        RespConnectionError::Closed { .. } => PingError::Io {
            addr: addr.to_owned(),
            command,
            reason: "connection closed".into(),
        },
        RespConnectionError::Protocol { source, .. } => {
            protocol(addr, command, &bad_reply(&source))
        }
        RespConnectionError::TooLarge { limit, .. } => {
            protocol(addr, command, &format!("reply larger than {limit} bytes"))
        }
        RespConnectionError::Refused { reply, .. } => refused(addr, command, &reply),
        RespConnectionError::Unexpected { .. } => protocol(addr, command, "expected OK"),
    }
}

/// What is wrong with a reply, in this ping's words.
fn bad_reply(e: &RespError) -> String {
    match e {
        RespError::UnknownType(byte) => format!("unexpected type byte {:?}", *byte as char),
        RespError::BadNumber(n) => format!("bad number {n:?}"),
        RespError::MissingCrlf => "bulk string not terminated by CRLF".into(),
        RespError::TooLarge { what, limit } => match *what {
            "elements" => format!("array of more than {limit} elements"),
            "levels of nesting" => "arrays nested too deep".into(),
            "bytes per bulk string" => format!("reply larger than {limit} bytes"),
            _ => e.to_string(),
        },
        RespError::NotUtf8 => e.to_string(),
    }
}

pub(super) fn refused(addr: &str, command: &'static str, reason: &str) -> PingError {
    PingError::Refused {
        addr: addr.to_owned(),
        command,
        // Scrubbed before it is cut: a server may quote the password it refused.
        reason: truncated(&crate::secrets::scrub(reason)),
    }
}

pub(super) fn protocol(addr: &str, command: &'static str, reason: &str) -> PingError {
    PingError::Protocol {
        addr: addr.to_owned(),
        command,
        reason: crate::secrets::scrub(reason).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::celery::session::LIMITS;
    use crate::proto::resp::parse;

    /// The reason given for `bytes`, as a reply to SELECT.
    fn reason(bytes: &[u8]) -> String {
        let source = parse(bytes, &LIMITS).unwrap_err();
        let addr = "h:1".to_owned();
        let e = RespConnectionError::Protocol {
            addr: addr.clone(),
            source,
        };
        let e = redis_error(&addr, "SELECT", e);
        let text = e.to_string();
        let prefix = "redis at h:1 sent an invalid reply to SELECT: ";
        text.strip_prefix(prefix).unwrap_or(&text).to_owned()
    }

    #[test]
    fn bad_replies_are_described_plainly() {
        assert_eq!(reason(b"HTTP/1.1 400\r\n"), "unexpected type byte 'H'");
        assert_eq!(reason(b":x\r\n"), "bad number \"x\"");
        assert_eq!(reason(b"$3\r\nabcXY"), "bulk string not terminated by CRLF");
        assert_eq!(reason(b"$999999999\r\n"), "reply larger than 262144 bytes");
        assert_eq!(reason(b"*99999\r\n"), "array of more than 1024 elements");
        assert_eq!(
            reason(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
            "arrays nested too deep"
        );
    }

    #[test]
    fn a_closed_connection_and_an_oversized_reply_name_the_command() {
        let addr = "h:1".to_owned();
        let closed = RespConnectionError::Closed { addr: addr.clone() };
        assert_eq!(
            redis_error(&addr, "BRPOP", closed).to_string(),
            "connection to redis at h:1 failed during BRPOP: connection closed"
        );
        let big = RespConnectionError::TooLarge {
            addr: addr.clone(),
            limit: 262144,
        };
        assert_eq!(
            redis_error(&addr, "BRPOP", big).to_string(),
            "redis at h:1 sent an invalid reply to BRPOP: reply larger than 262144 bytes"
        );
        let refused = RespConnectionError::Refused {
            addr: addr.clone(),
            command: "AUTH",
            reply: "WRONGPASS invalid username-password pair".into(),
        };
        assert_eq!(
            redis_error(&addr, "AUTH", refused).to_string(),
            "redis at h:1 refused AUTH: WRONGPASS invalid username-password pair"
        );
    }
}
