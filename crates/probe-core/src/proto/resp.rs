//! RESP2, the Redis serialization protocol: a bounded value reader and a command encoder.
//!
//! [`parse`] is a pure function over bytes: it returns the first complete value and how
//! many bytes it used, `Ok(None)` while the value is still incomplete, or an error for
//! anything that is not RESP2 or that exceeds the [`Limits`]. [`RespConnection`] puts it
//! on a TCP connection with a cap on the reply size.
//!
//! ```
//! use probe_core::proto::resp::{encode_command, parse, Limits, Value};
//!
//! assert_eq!(encode_command(&[b"PING"]), b"*1\r\n$4\r\nPING\r\n");
//! let (value, used) = parse(b"+PONG\r\nrest", &Limits::default()).unwrap().unwrap();
//! assert_eq!((value, used), (Value::Simple("PONG".into()), 7));
//! assert_eq!(parse(b"$5\r\nhel", &Limits::default()).unwrap(), None);
//! ```

mod conn;

pub use self::conn::{RespConnection, RespConnectionError, DEFAULT_MAX_REPLY};

/// One RESP2 value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `+OK`: a simple string.
    Simple(String),
    /// `-ERR ...`: an error reply, the whole line (`WRONGPASS invalid username-password ...`).
    Error(String),
    /// `:42`: an integer.
    Integer(i64),
    /// `$3\r\nabc`: a bulk string.
    Bulk(Vec<u8>),
    /// `*2\r\n...`: an array.
    Array(Vec<Value>),
    /// `$-1` or `*-1`: the null bulk string or array.
    Nil,
}

impl Value {
    /// A short description for messages: the text of simple strings and errors, the kind
    /// and size of the rest.
    pub fn describe(&self) -> String {
        match self {
            Value::Simple(s) => s.clone(),
            Value::Error(e) => format!("error: {e}"),
            Value::Integer(i) => format!("integer {i}"),
            Value::Bulk(b) => format!("a bulk string of {} bytes", b.len()),
            Value::Array(a) => format!("an array of {} elements", a.len()),
            Value::Nil => "nil".into(),
        }
    }
}

/// Bounds on what [`parse`] accepts, so a hostile or broken server cannot make a reader
/// allocate without limit or recurse deeply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string, in bytes.
    pub max_bulk: usize,
    /// The most elements in all arrays of one value together.
    pub max_elements: usize,
    /// The deepest nesting of arrays.
    pub max_depth: usize,
    /// The longest simple string, error or length line, in bytes.
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk: 512 * 1024,
            max_elements: 4096,
            max_depth: 8,
            max_line: 4096,
        }
    }
}

/// Why bytes are not a RESP2 value within the limits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RespError {
    /// The first byte of a value is not one of `+ - : $ *`.
    #[error("not a RESP reply (it starts with byte 0x{0:02x})")]
    UnknownType(u8),
    /// A length or integer line is not a number.
    #[error("malformed RESP number `{0}`")]
    BadNumber(String),
    /// A bulk string is not followed by CRLF.
    #[error("a RESP bulk string is not terminated by CRLF")]
    MissingCrlf,
    /// A simple string or error is not UTF-8.
    #[error("a RESP line is not UTF-8")]
    NotUtf8,
    /// Something exceeds [`Limits`].
    #[error("the RESP reply exceeds the limit of {limit} {what}")]
    TooLarge {
        /// What was too large: `bytes per bulk string`, `elements`, `levels of nesting`...
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads the first RESP2 value in `buf`: `Ok(Some((value, bytes used)))`, `Ok(None)` when
/// `buf` holds only part of a value, or an error when it is not RESP2 within `limits`.
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(Value, usize)>, RespError> {
    let mut elements = 0;
    let mut reader = Reader {
        buf,
        pos: 0,
        limits,
        elements: &mut elements,
    };
    match reader.value(0)? {
        Some(v) => Ok(Some((v, reader.pos))),
        None => Ok(None),
    }
}

struct Reader<'a, 'e> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    elements: &'e mut usize,
}

impl<'a> Reader<'a, '_> {
    fn value(&mut self, depth: usize) -> Result<Option<Value>, RespError> {
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
            return Err(RespError::UnknownType(kind));
        }
        self.pos += 1;
        let Some(line) = self.line()? else {
            return Ok(None);
        };
        match kind {
            b'+' => Ok(Some(Value::Simple(utf8(line)?))),
            b'-' => Ok(Some(Value::Error(utf8(line)?))),
            b':' => Ok(Some(Value::Integer(number(line)?))),
            b'$' => self.bulk(number(line)?),
            _ => self.array(number(line)?, depth),
        }
    }

    fn bulk(&mut self, len: i64) -> Result<Option<Value>, RespError> {
        if len == -1 {
            return Ok(Some(Value::Nil));
        }
        let len = usize::try_from(len).map_err(|_| RespError::BadNumber(len.to_string()))?;
        if len > self.limits.max_bulk {
            return Err(RespError::TooLarge {
                what: "bytes per bulk string",
                limit: self.limits.max_bulk,
            });
        }
        let end = self.pos + len;
        if self.buf.len() < end + 2 {
            return Ok(None);
        }
        if &self.buf[end..end + 2] != b"\r\n" {
            return Err(RespError::MissingCrlf);
        }
        let bytes = self.buf[self.pos..end].to_vec();
        self.pos = end + 2;
        Ok(Some(Value::Bulk(bytes)))
    }

    fn array(&mut self, len: i64, depth: usize) -> Result<Option<Value>, RespError> {
        if len == -1 {
            return Ok(Some(Value::Nil));
        }
        let len = usize::try_from(len).map_err(|_| RespError::BadNumber(len.to_string()))?;
        if depth >= self.limits.max_depth {
            return Err(RespError::TooLarge {
                what: "levels of nesting",
                limit: self.limits.max_depth,
            });
        }
        *self.elements = self.elements.saturating_add(len);
        if *self.elements > self.limits.max_elements {
            return Err(RespError::TooLarge {
                what: "elements",
                limit: self.limits.max_elements,
            });
        }
        let mut items = Vec::with_capacity(len.min(64));
        for _ in 0..len {
            match self.value(depth + 1)? {
                Some(v) => items.push(v),
                None => return Ok(None),
            }
        }
        Ok(Some(Value::Array(items)))
    }

    /// The bytes up to the next CRLF, consuming both.
    fn line(&mut self) -> Result<Option<&'a [u8]>, RespError> {
        let buf = self.buf;
        let rest = &buf[self.pos..];
        let window = &rest[..rest.len().min(self.limits.max_line + 2)];
        match window.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                let line = &buf[self.pos..self.pos + i];
                self.pos += i + 2;
                Ok(Some(line))
            }
            None if rest.len() > self.limits.max_line + 1 => Err(RespError::TooLarge {
                what: "bytes per line",
                limit: self.limits.max_line,
            }),
            None => Ok(None),
        }
    }
}

fn utf8(line: &[u8]) -> Result<String, RespError> {
    std::str::from_utf8(line)
        .map(str::to_owned)
        .map_err(|_| RespError::NotUtf8)
}

fn number(line: &[u8]) -> Result<i64, RespError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| {
            RespError::BadNumber(String::from_utf8_lossy(line).chars().take(32).collect())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> Result<Option<(Value, usize)>, RespError> {
        parse(bytes, &Limits::default())
    }

    #[test]
    fn every_kind_of_value_reads() {
        assert_eq!(
            one(b"-WRONGPASS invalid\r\n").unwrap().unwrap().0,
            Value::Error("WRONGPASS invalid".into())
        );
        assert_eq!(one(b":-12\r\n").unwrap().unwrap().0, Value::Integer(-12));
        assert_eq!(one(b"$0\r\n\r\n").unwrap().unwrap().0, Value::Bulk(vec![]));
        assert_eq!(one(b"$-1\r\n").unwrap().unwrap().0, Value::Nil);
        assert_eq!(one(b"*-1\r\n").unwrap().unwrap().0, Value::Nil);
        let (v, used) = one(b"*2\r\n$4\r\nkey1\r\n*1\r\n:1\r\n+extra")
            .unwrap()
            .unwrap();
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Bulk(b"key1".to_vec()),
                Value::Array(vec![Value::Integer(1)])
            ])
        );
        assert_eq!(used, 22);
    }

    #[test]
    fn partial_values_ask_for_more() {
        let full = b"*2\r\n$5\r\nhello\r\n:7\r\n";
        for cut in 0..full.len() {
            assert_eq!(one(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(one(full).unwrap().is_some());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(one(b"HTTP/1.1 400\r\n"), Err(RespError::UnknownType(b'H')));
        assert!(matches!(one(b"$abc\r\n"), Err(RespError::BadNumber(_))));
        assert!(matches!(one(b"$-2\r\n"), Err(RespError::BadNumber(_))));
        assert!(matches!(
            one(b":99999999999999999999\r\n"),
            Err(RespError::BadNumber(_))
        ));
        assert_eq!(one(b"$3\r\nabcXY"), Err(RespError::MissingCrlf));
        assert_eq!(one(b"+\xff\r\n"), Err(RespError::NotUtf8));
    }

    #[test]
    fn limits_hold_before_any_allocation() {
        let limits = Limits {
            max_bulk: 10,
            max_elements: 3,
            max_depth: 2,
            max_line: 8,
        };
        assert!(matches!(
            parse(b"$11\r\n", &limits),
            Err(RespError::TooLarge { .. })
        ));
        assert!(matches!(
            parse(b"*4\r\n", &limits),
            Err(RespError::TooLarge { .. })
        ));
        assert!(matches!(
            parse(b"*9223372036854775807\r\n", &Limits::default()),
            Err(RespError::TooLarge { .. })
        ));
        assert!(matches!(
            parse(b"*1\r\n*1\r\n*1\r\n:1\r\n", &limits),
            Err(RespError::TooLarge { .. })
        ));
        assert!(matches!(
            parse(b"+0123456789", &limits),
            Err(RespError::TooLarge { .. })
        ));
        assert_eq!(parse(b"+01234567", &limits), Ok(None));
    }

    #[test]
    fn commands_encode_as_bulk_arrays() {
        assert_eq!(
            encode_command(&[b"AUTH", b"user", b"p w"]),
            b"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$3\r\np w\r\n".to_vec()
        );
        let encoded = encode_command(&[b"SELECT", b"15"]);
        assert_eq!(
            one(&encoded).unwrap().unwrap().0,
            Value::Array(vec![
                Value::Bulk(b"SELECT".to_vec()),
                Value::Bulk(b"15".to_vec())
            ])
        );
    }
}
