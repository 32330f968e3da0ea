//! Just enough Redis for the Celery ping: RESP2 requests and bounded replies over one
//! TCP connection.
//!
//! Kept private and small on purpose; a shared RESP module can replace it.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest reply read from Redis. A ping reply is well under 1 KiB.
pub(super) const MAX_REPLY: usize = 256 * 1024;
/// The most elements in one array reply.
const MAX_ELEMENTS: usize = 1024;
/// The deepest nesting of arrays.
const MAX_DEPTH: usize = 4;

/// One RESP2 value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

/// Why a request got no usable reply.
#[derive(Debug, thiserror::Error)]
pub(super) enum IoError {
    #[error("{}", crate::http_client::io_reason(.0))]
    Io(#[from] io::Error),
    #[error("{0}")]
    Protocol(String),
}

/// A connection to one Redis server.
pub(super) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub(super) async fn connect(host: &str, port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends one command and reads its reply.
    pub(super) async fn call(&mut self, args: &[&[u8]]) -> Result<Value, IoError> {
        self.stream.write_all(&encode(args)).await?;
        self.read().await
    }

    async fn read(&mut self) -> Result<Value, IoError> {
        loop {
            match parse(&self.buf).map_err(IoError::Protocol)? {
                Some((value, used)) => {
                    self.buf.drain(..used);
                    return Ok(value);
                }
                None if self.buf.len() >= MAX_REPLY => {
                    return Err(IoError::Protocol(format!(
                        "reply larger than {MAX_REPLY} bytes"
                    )))
                }
                None => {}
            }
            let mut chunk = [0u8; 4096];
            let room = (MAX_REPLY - self.buf.len()).min(chunk.len());
            let n = self.stream.read(&mut chunk[..room]).await?;
            if n == 0 {
                return Err(IoError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A command as a RESP array of bulk strings.
pub(super) fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Parses one value from the front of `buf`: `Ok(None)` when more bytes are needed,
/// otherwise the value and how many bytes it used.
pub(super) fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    parse_at(buf, 0, 0)
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<Option<(Value, usize)>, String> {
    let Some(end) = find_crlf(buf, at) else {
        return Ok(None);
    };
    let line = &buf[at + 1..end];
    let text = || String::from_utf8_lossy(line).into_owned();
    let next = end + 2;
    match buf[at] {
        b'+' => Ok(Some((Value::Simple(text()), next))),
        b'-' => Ok(Some((Value::Error(text()), next))),
        b':' => Ok(Some((Value::Int(number(line)?), next))),
        b'$' => {
            let len = number(line)?;
            if len < 0 {
                return Ok(Some((Value::Bulk(None), next)));
            }
            let len = usize::try_from(len).map_err(|_| "bad bulk length".to_owned())?;
            if len > MAX_REPLY {
                return Err(format!("reply larger than {MAX_REPLY} bytes"));
            }
            if buf.len() < next + len + 2 {
                return Ok(None);
            }
            if &buf[next + len..next + len + 2] != b"\r\n" {
                return Err("bulk string not terminated by CRLF".into());
            }
            Ok(Some((
                Value::Bulk(Some(buf[next..next + len].to_vec())),
                next + len + 2,
            )))
        }
        b'*' => {
            let len = number(line)?;
            if len < 0 {
                return Ok(Some((Value::Array(None), next)));
            }
            let len = usize::try_from(len).map_err(|_| "bad array length".to_owned())?;
            if len > MAX_ELEMENTS {
                return Err(format!("array of more than {MAX_ELEMENTS} elements"));
            }
            if depth >= MAX_DEPTH {
                return Err("arrays nested too deep".into());
            }
            let mut items = Vec::with_capacity(len);
            let mut pos = next;
            for _ in 0..len {
                match parse_at(buf, pos, depth + 1)? {
                    Some((v, p)) => {
                        items.push(v);
                        pos = p;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Value::Array(Some(items)), pos)))
        }
        other => Err(format!("unexpected type byte {:?}", other as char)),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    if buf.len() <= from {
        return None;
    }
    buf[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

fn number(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode(&[b"LPUSH", b"k", b""]),
            b"*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn every_reply_type_parses_and_reports_its_length() {
        assert_eq!(parse(b"+OK\r\n"), Ok(Some((Value::Simple("OK".into()), 5))));
        assert_eq!(
            parse(b"-ERR no\r\nrest"),
            Ok(Some((Value::Error("ERR no".into()), 9)))
        );
        assert_eq!(parse(b":-3\r\n"), Ok(Some((Value::Int(-3), 5))));
        assert_eq!(parse(b"$-1\r\n"), Ok(Some((Value::Bulk(None), 5))));
        assert_eq!(parse(b"*-1\r\n"), Ok(Some((Value::Array(None), 5))));
        assert_eq!(
            parse(b"*2\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n"),
            Ok(Some((
                Value::Array(Some(vec![
                    Value::Bulk(Some(b"k".to_vec())),
                    Value::Bulk(Some(b"v\r\n".to_vec()))
                ])),
                20
            )))
        );
    }

    #[test]
    fn a_truncated_reply_asks_for_more_at_every_cut() {
        let full = b"*2\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse(full).unwrap().is_some());
    }

    #[test]
    fn malformed_or_oversized_replies_are_errors_not_panics() {
        assert!(parse(b"?\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
        assert!(parse(b"$3\r\nabcXY").is_err());
        assert!(parse(b"$999999999\r\n").is_err());
        assert!(parse(b"*99999\r\n").is_err());
        assert!(parse(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n").is_err());
        assert!(parse(b"$-7\r\n").is_ok());
    }
}
