//! The memcached text protocol, as far as `version`: the command and its one-line answer.
//!
//! ```
//! use probe_core::proto::memcached::{read_reply, Reply, VERSION_COMMAND};
//!
//! assert_eq!(VERSION_COMMAND, b"version\r\n");
//! let (reply, used) = read_reply(b"VERSION 1.6.18\r\n").unwrap().unwrap();
//! assert_eq!((reply, used), (Reply::Version("1.6.18".into()), 16));
//! ```

/// The command that asks for the server version.
pub const VERSION_COMMAND: &[u8] = b"version\r\n";

/// The longest answer line accepted, terminator included.
pub const MAX_LINE: usize = 1024;

/// One answer line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `VERSION x.y.z`.
    Version(String),
    /// `ERROR`, `CLIENT_ERROR ...` or `SERVER_ERROR ...`: the whole line.
    Error(String),
}

/// Why bytes are not a memcached answer line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemcachedError {
    /// No line end within [`MAX_LINE`] bytes.
    #[error("the answer line is longer than {MAX_LINE} bytes")]
    TooLong,
    /// The line is neither `VERSION` nor an error.
    #[error("unexpected answer `{0}`")]
    Unexpected(String),
}

/// Reads the first answer line from `buf`: `Ok(Some((reply, bytes used)))`, `Ok(None)`
/// when more bytes are needed, or an error.
pub fn read_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, MemcachedError> {
    let window = &buf[..buf.len().min(MAX_LINE)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= MAX_LINE {
            Err(MemcachedError::TooLong)
        } else {
            Ok(None)
        };
    };
    let line = String::from_utf8_lossy(&buf[..end]).into_owned();
    let reply = if let Some(v) = line.strip_prefix("VERSION ") {
        Reply::Version(v.trim().to_owned())
    } else if line == "ERROR"
        || line.starts_with("CLIENT_ERROR")
        || line.starts_with("SERVER_ERROR")
    {
        Reply::Error(line)
    } else {
        return Err(MemcachedError::Unexpected(line.chars().take(64).collect()));
    };
    Ok(Some((reply, end + 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_garbage() {
        assert_eq!(read_reply(b"VERSION 1.6"), Ok(None));
        assert_eq!(
            read_reply(b"SERVER_ERROR out of memory\r\n")
                .unwrap()
                .unwrap()
                .0,
            Reply::Error("SERVER_ERROR out of memory".into())
        );
        assert_eq!(
            read_reply(b"+PONG\r\n"),
            Err(MemcachedError::Unexpected("+PONG".into()))
        );
        assert_eq!(read_reply(&[b'x'; MAX_LINE]), Err(MemcachedError::TooLong));
        assert_eq!(read_reply(&[b'x'; MAX_LINE - 1]), Ok(None));
    }
}
