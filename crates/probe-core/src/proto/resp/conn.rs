//! A small RESP2 connection: connect, authenticate, select a database, send commands and
//! read replies, never buffering more than a cap.

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{encode_command, parse, Limits, RespError, Value};
use crate::text::io_reason;

/// The default cap on one reply: 512 KiB.
pub const DEFAULT_MAX_REPLY: usize = 512 * 1024;

/// Why a RESP exchange failed. Messages never contain what was sent (passwords included).
#[derive(Debug, thiserror::Error)]
pub enum RespConnectionError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// Connection refused, host not found, ...
        reason: String,
    },
    /// Reading or writing failed after connecting.
    #[error("connection to {addr} failed: {reason}")]
    Io {
        /// `host:port`.
        addr: String,
        /// Connection reset, ...
        reason: String,
    },
    /// The server closed the connection before a whole reply.
    #[error("{addr} closed the connection before replying")]
    Closed {
        /// `host:port`.
        addr: String,
    },
    /// The reply is not RESP2, or exceeds the limits.
    #[error("{addr} sent a bad reply: {source}")]
    Protocol {
        /// `host:port`.
        addr: String,
        /// What is wrong with it.
        source: RespError,
    },
    /// The reply grew past the cap.
    #[error("the reply from {addr} is larger than {limit} bytes")]
    TooLarge {
        /// `host:port`.
        addr: String,
        /// The cap.
        limit: usize,
    },
    /// The server answered a command of [`RespConnection`] (AUTH, SELECT) with an error.
    #[error("{addr} refused {command}: {reply}")]
    Refused {
        /// `host:port`.
        addr: String,
        /// The command name only, never its arguments.
        command: &'static str,
        /// The server's error line.
        reply: String,
    },
    /// The server answered a command of [`RespConnection`] with something unexpected.
    #[error("{addr} answered {command} with {reply}")]
    Unexpected {
        /// `host:port`.
        addr: String,
        /// The command name only.
        command: &'static str,
        /// A description of the reply.
        reply: String,
    },
}

/// One connection to a RESP2 server (Redis, Valkey, KeyDB...).
///
/// Every reply is read into a buffer capped at `max_reply` bytes and parsed with bounded
/// [`Limits`]. Callers bound the time with `tokio::time::timeout`.
///
/// ```no_run
/// use probe_core::proto::resp::{RespConnection, Value, DEFAULT_MAX_REPLY};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = RespConnection::connect("127.0.0.1", 6379, DEFAULT_MAX_REPLY).await?;
/// conn.auth(None, "s3cret").await?;
/// conn.select(1).await?;
/// assert_eq!(conn.command(&[b"PING"]).await?, Value::Simple("PONG".into()));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RespConnection {
    stream: TcpStream,
    addr: String,
    buf: BytesMut,
    max_reply: usize,
    limits: Limits,
}

impl RespConnection {
    /// Opens a connection to `host:port`; replies larger than `max_reply` bytes fail.
    pub async fn connect(
        host: &str,
        port: u16,
        max_reply: usize,
    ) -> Result<Self, RespConnectionError> {
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let stream =
            TcpStream::connect((host, port))
                .await
                .map_err(|e| RespConnectionError::Connect {
                    addr: addr.clone(),
                    reason: io_reason(&e),
                })?;
        let _ = stream.set_nodelay(true);
        Ok(RespConnection {
            stream,
            addr,
            buf: BytesMut::with_capacity(512),
            max_reply,
            limits: Limits {
                max_bulk: max_reply,
                max_line: max_reply.min(Limits::default().max_line),
                ..Limits::default()
            },
        })
    }

    /// The same connection parsing replies within `limits` instead of the defaults
    /// derived from `max_reply` (for tighter bounds on elements and nesting). The cap on
    /// one reply's total size stays `max_reply`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `AUTH [user] password`; an error reply (WRONGPASS, ...) is
    /// [`RespConnectionError::Refused`].
    pub async fn auth(
        &mut self,
        user: Option<&str>,
        password: &str,
    ) -> Result<(), RespConnectionError> {
        let reply = match user {
            Some(u) => {
                self.command(&[b"AUTH", u.as_bytes(), password.as_bytes()])
                    .await?
            }
            None => self.command(&[b"AUTH", password.as_bytes()]).await?,
        };
        self.expect_ok("AUTH", reply)
    }

    /// Sends `SELECT db`.
    pub async fn select(&mut self, db: u32) -> Result<(), RespConnectionError> {
        let reply = self
            .command(&[b"SELECT", db.to_string().as_bytes()])
            .await?;
        self.expect_ok("SELECT", reply)
    }

    /// Sends one command without waiting for its reply.
    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), RespConnectionError> {
        let bytes = encode_command(args);
        self.stream
            .write_all(&bytes)
            .await
            .map_err(|e| RespConnectionError::Io {
                addr: self.addr.clone(),
                reason: io_reason(&e),
            })
    }

    /// Reads the next reply (an error reply is `Ok(Value::Error(..))`).
    pub async fn read_reply(&mut self) -> Result<Value, RespConnectionError> {
        loop {
            match parse(&self.buf, &self.limits) {
                Ok(Some((value, used))) => {
                    self.buf.advance(used);
                    return Ok(value);
                }
                Ok(None) => {}
                Err(source) => {
                    return Err(RespConnectionError::Protocol {
                        addr: self.addr.clone(),
                        source,
                    })
                }
            }
            if self.buf.len() >= self.max_reply {
                return Err(RespConnectionError::TooLarge {
                    addr: self.addr.clone(),
                    limit: self.max_reply,
                });
            }
            let room = (self.max_reply - self.buf.len()).min(16 * 1024);
            self.buf.reserve(room);
            let mut chunk = (&mut self.buf).limit(room);
            let n =
                self.stream
                    .read_buf(&mut chunk)
                    .await
                    .map_err(|e| RespConnectionError::Io {
                        addr: self.addr.clone(),
                        reason: io_reason(&e),
                    })?;
            if n == 0 {
                return Err(RespConnectionError::Closed {
                    addr: self.addr.clone(),
                });
            }
        }
    }

    /// Sends one command and reads its reply.
    pub async fn command(&mut self, args: &[&[u8]]) -> Result<Value, RespConnectionError> {
        self.send(args).await?;
        self.read_reply().await
    }

    fn expect_ok(&self, command: &'static str, reply: Value) -> Result<(), RespConnectionError> {
        match reply {
            Value::Simple(s) if s == "OK" => Ok(()),
            Value::Error(e) => Err(RespConnectionError::Refused {
                addr: self.addr.clone(),
                command,
                reply: e,
            }),
            other => Err(RespConnectionError::Unexpected {
                addr: self.addr.clone(),
                command,
                reply: other.describe(),
            }),
        }
    }
}
