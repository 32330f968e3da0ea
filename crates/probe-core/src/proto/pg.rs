//! The first exchange of the PostgreSQL frontend/backend protocol 3.0: the StartupMessage a
//! client sends, and the first answer a server gives to it.
//!
//! The reader applies libpq's own sanity limits: an authentication request is 8 to 2000
//! bytes long, an error report 8 to 30000; anything else is not a PostgreSQL answer.
//!
//! ```
//! use probe_core::proto::pg::{read_startup_answer, startup_message, StartupAnswer};
//!
//! let msg = startup_message(&[("user", "postgres")]);
//! assert_eq!(&msg[4..8], &[0, 3, 0, 0]); // protocol 3.0
//! let (answer, used) = read_startup_answer(b"R\0\0\0\x08\0\0\0\x05").unwrap().unwrap();
//! assert_eq!((answer, used), (StartupAnswer::Authentication(5), 9));
//! ```

/// Protocol version 3.0, as sent in the StartupMessage.
pub const PROTOCOL_3_0: u32 = 3 << 16;

/// The Terminate message: a polite goodbye once a session is open.
pub const TERMINATE: [u8; 5] = [b'X', 0, 0, 0, 4];

/// The longest authentication request libpq accepts.
pub const MAX_AUTH_LEN: usize = 2000;

/// The longest error report libpq accepts during startup.
pub const MAX_ERROR_LEN: usize = 30000;

/// Encodes a StartupMessage for protocol 3.0 with `params` (`user`, `database`,
/// `application_name`...). Names and values must not contain NUL bytes; any that do are
/// cut at the first NUL.
pub fn startup_message(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(&PROTOCOL_3_0.to_be_bytes());
    for (k, v) in params {
        for s in [k, v] {
            body.extend(s.bytes().take_while(|b| *b != 0));
            body.push(0);
        }
    }
    body.push(0);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// The first answer of a server to a StartupMessage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartupAnswer {
    /// `R`: an authentication request with its code (0 = ok, 3 = cleartext password,
    /// 5 = MD5, 10 = SASL...). Any request proves the server accepts connections.
    Authentication(u32),
    /// `E`: an error report.
    Error(ErrorReport),
    /// `v`: NegotiateProtocolVersion; the real answer follows it.
    NegotiateProtocolVersion,
}

/// The fields of an ErrorResponse that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorReport {
    /// `S`/`V`: FATAL, ERROR, PANIC...
    pub severity: Option<String>,
    /// `C`: the SQLSTATE code, e.g. `57P03`.
    pub code: Option<String>,
    /// `M`: the primary message.
    pub message: Option<String>,
}

/// Why bytes are not a first answer of a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    /// The first byte is not `R`, `E` or `v`.
    #[error("expected an authentication request from the server, but received byte 0x{0:02x}")]
    UnexpectedType(u8),
    /// The declared length is outside what libpq accepts for that message.
    #[error("invalid message length {len} for message type `{kind}`")]
    BadLength {
        /// The message type.
        kind: char,
        /// The declared length.
        len: u32,
    },
    /// The body does not match its type (a short authentication request, an unterminated
    /// error field).
    #[error("malformed `{0}` message")]
    Malformed(char),
}

/// Reads the first answer in `buf`: `Ok(Some((answer, bytes used)))`, `Ok(None)` when more
/// bytes are needed, or an error when the bytes are not a PostgreSQL startup answer.
pub fn read_startup_answer(buf: &[u8]) -> Result<Option<(StartupAnswer, usize)>, PgError> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let max = match kind {
        b'R' => MAX_AUTH_LEN,
        b'E' => MAX_ERROR_LEN,
        b'v' => MAX_AUTH_LEN,
        other => return Err(PgError::UnexpectedType(other)),
    };
    let Some(len) = buf.get(1..5) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    if len < 8 || len as usize > max {
        return Err(PgError::BadLength {
            kind: kind as char,
            len,
        });
    }
    let total = 1 + len as usize;
    let Some(body) = buf.get(5..total) else {
        return Ok(None);
    };
    let answer = match kind {
        b'R' => {
            let code = body.get(0..4).ok_or(PgError::Malformed('R'))?;
            StartupAnswer::Authentication(u32::from_be_bytes([code[0], code[1], code[2], code[3]]))
        }
        b'E' => StartupAnswer::Error(error_fields(body)?),
        _ => StartupAnswer::NegotiateProtocolVersion,
    };
    Ok(Some((answer, total)))
}

/// Parses the fields of an ErrorResponse or NoticeResponse body.
pub fn error_fields(body: &[u8]) -> Result<ErrorReport, PgError> {
    let mut report = ErrorReport::default();
    let mut rest = body;
    loop {
        let (&field, tail) = rest.split_first().ok_or(PgError::Malformed('E'))?;
        if field == 0 {
            return Ok(report);
        }
        let end = tail
            .iter()
            .position(|b| *b == 0)
            .ok_or(PgError::Malformed('E'))?;
        let value = String::from_utf8_lossy(&tail[..end]).into_owned();
        match field {
            b'S' if report.severity.is_none() => report.severity = Some(value),
            b'V' => report.severity = Some(value),
            b'C' => report.code = Some(value),
            b'M' => report.message = Some(value),
            _ => {}
        }
        rest = &tail[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn the_startup_message_is_length_prefixed_and_nul_terminated() {
        let m = startup_message(&[("user", "app"), ("database", "d\0rop")]);
        assert_eq!(
            u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize,
            m.len()
        );
        assert_eq!(&m[8..], b"user\0app\0database\0d\0\0");
    }

    #[test]
    fn error_reports_yield_their_sqlstate() {
        let m = message(
            b'E',
            b"SFATAL\0VFATAL\0C57P03\0Mthe database system is shutting down\0\0",
        );
        let (answer, used) = read_startup_answer(&m).unwrap().unwrap();
        assert_eq!(used, m.len());
        assert_eq!(
            answer,
            StartupAnswer::Error(ErrorReport {
                severity: Some("FATAL".into()),
                code: Some("57P03".into()),
                message: Some("the database system is shutting down".into()),
            })
        );
    }

    #[test]
    fn truncated_answers_ask_for_more() {
        let m = message(b'E', b"C28000\0\0");
        for cut in 0..m.len() {
            assert_eq!(read_startup_answer(&m[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn what_libpq_would_refuse_is_an_error() {
        assert_eq!(
            read_startup_answer(b"HTTP/1.1"),
            Err(PgError::UnexpectedType(b'H'))
        );
        assert!(matches!(
            read_startup_answer(&message(b'R', b"")),
            Err(PgError::BadLength { .. })
        ));
        assert!(matches!(
            read_startup_answer(b"R\0\0\x10\0"),
            Err(PgError::BadLength { .. })
        ));
        assert!(matches!(
            read_startup_answer(b"E\xff\xff\xff\xff"),
            Err(PgError::BadLength { .. })
        ));
        assert_eq!(
            read_startup_answer(&message(b'E', b"C2800")),
            Err(PgError::Malformed('E'))
        );
        assert_eq!(
            read_startup_answer(&message(b'E', b"C28000\0")),
            Err(PgError::Malformed('E'))
        );
        assert_eq!(
            read_startup_answer(&message(b'v', b"\0\0\0\0\0\0\0\0"))
                .unwrap()
                .unwrap()
                .0,
            StartupAnswer::NegotiateProtocolVersion
        );
    }
}
