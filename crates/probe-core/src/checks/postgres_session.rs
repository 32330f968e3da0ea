//! The tokio-postgres session of the `postgres-query` and `postgres-migrations` checks,
//! over a socket whose reads follow the backend's message framing and refuse a message
//! longer than [`MESSAGE_LIMIT`].
//!
//! tokio-postgres makes room for a whole message as soon as its header announces the
//! length, and keeps reading until it is complete: a peer that is not PostgreSQL, or a
//! hostile one, could make one run buffer up to 2 GiB. The checks' queries read tiny rows,
//! so a run here never buffers much more than the limit, whatever the peer sends.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::config::{Host, TargetSessionAttrs};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

use super::postgres_query::describe;
use crate::text::io_reason;

/// The longest backend message a session accepts (its length field, which counts itself).
pub(crate) const MESSAGE_LIMIT: u32 = 1 << 20;

// === Session ===

/// An open session, and what stopped its reads if they hit the limit.
pub(crate) struct Session {
    pub(crate) client: Client,
    tripped: Arc<OnceLock<OversizedMessage>>,
}

impl Session {
    /// The limit's error if a read hit it: then it is the cause of any failure that
    /// follows (the client itself only sees a closed connection).
    pub(crate) fn oversized(&self) -> Option<OversizedMessage> {
        self.tripped.get().copied()
    }
}

/// A backend message announced more than [`MESSAGE_LIMIT`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("PostgreSQL sent a {len}-byte message (limit {} MiB)", MESSAGE_LIMIT >> 20)]
pub(crate) struct OversizedMessage {
    len: u32,
}

/// A session could not be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// No socket to any host of the configuration.
    #[error("error connecting to server: {0}")]
    Connect(String),
    /// The startup, the login or the session check failed.
    #[error("{0}")]
    Postgres(String),
    /// The server answered with a message over the limit.
    #[error(transparent)]
    Oversized(#[from] OversizedMessage),
    /// The server is not the kind `target_session_attrs` asks for.
    #[error("the server is not {0}, as target_session_attrs asks")]
    WrongKind(&'static str),
}

/// Opens a plain-TCP (or Unix socket) session as `config` describes; the connection task
/// ends when the client drops. Hosts are tried in the order given, each within
/// `connect_timeout` when set; the last failure is returned.
pub(crate) async fn open(config: &Config) -> Result<Session, SessionError> {
    let hosts = config.get_hosts();
    let hostaddrs = config.get_hostaddrs();
    let ports = config.get_ports();
    let mut last = SessionError::Connect("no host to connect to".into());
    for i in 0..hosts.len().max(hostaddrs.len()) {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let attempt = match (hostaddrs.get(i), hosts.get(i)) {
            (Some(ip), _) => over_tcp(&[SocketAddr::new(*ip, port)], config).await,
            (None, Some(Host::Tcp(name))) => {
                match tokio::net::lookup_host((name.as_str(), port)).await {
                    Ok(addrs) => over_tcp(&addrs.collect::<Vec<_>>(), config).await,
                    Err(e) => Err(SessionError::Connect(io_reason(&e))),
                }
            }
            #[cfg(unix)]
            (None, Some(Host::Unix(dir))) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                match within_connect_timeout(config, tokio::net::UnixStream::connect(path)).await {
                    Ok(stream) => handshake(stream, config).await,
                    Err(e) => Err(SessionError::Connect(io_reason(&e))),
                }
            }
            (None, None) => continue,
        };
        match attempt {
            Ok(session) => return Ok(session),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Tries each of `addrs` in turn.
async fn over_tcp(addrs: &[SocketAddr], config: &Config) -> Result<Session, SessionError> {
    let mut last = SessionError::Connect("could not resolve any addresses".into());
    for addr in addrs {
        match within_connect_timeout(config, TcpStream::connect(addr)).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                match handshake(stream, config).await {
                    Ok(session) => return Ok(session),
                    Err(e) => last = e,
                }
            }
            Err(e) => last = SessionError::Connect(io_reason(&e)),
        }
    }
    Err(last)
}

async fn within_connect_timeout<T>(
    config: &Config,
    connect: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match config.get_connect_timeout() {
        Some(limit) => tokio::time::timeout(*limit, connect)
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
        None => connect.await,
    }
}

/// Starts up and logs in over `stream`, then checks `target_session_attrs`.
async fn handshake<S>(stream: S, config: &Config) -> Result<Session, SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tripped = Arc::new(OnceLock::new());
    let stream = Bounded {
        inner: stream,
        frame: Frame::default(),
        tripped: tripped.clone(),
    };
    let failed =
        |e: tokio_postgres::Error, tripped: &OnceLock<OversizedMessage>| match tripped.get() {
            Some(over) => SessionError::Oversized(*over),
            None => SessionError::Postgres(describe(&e)),
        };
    let (client, connection) = config
        .connect_raw(stream, NoTls)
        .await
        .map_err(|e| failed(e, &tripped))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let wanted = match config.get_target_session_attrs() {
        TargetSessionAttrs::ReadWrite => Some(("read-write", "off")),
        TargetSessionAttrs::ReadOnly => Some(("read-only", "on")),
        _ => None,
    };
    if let Some((kind, read_only)) = wanted {
        let answer = client
            .simple_query("SHOW transaction_read_only")
            .await
            .map_err(|e| failed(e, &tripped))?;
        let found = answer.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0),
            _ => None,
        });
        if found != Some(read_only) {
            return Err(SessionError::WrongKind(kind));
        }
    }
    Ok(Session { client, tripped })
}

// === Bounded ===

/// A stream whose reads fail once a backend message announces more than the limit.
struct Bounded<S> {
    inner: S,
    frame: Frame,
    tripped: Arc<OnceLock<OversizedMessage>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(over) = this.tripped.get() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, *over)));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        match this.frame.follow(&buf.filled()[before..]) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(over) => {
                // The announced length never reaches tokio-postgres, which would make
                // room for it.
                buf.set_filled(before);
                let _ = this.tripped.set(over);
                Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, over)))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

// === Frame ===

/// Where a reader is in the backend's stream of messages: each is a type byte, a 4-byte
/// big-endian length that counts itself but not the type, then the body.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// In a header, `got` bytes of it seen.
    Header { head: [u8; 5], got: usize },
    /// In a body, `left` bytes of it to go.
    Body { left: u32 },
}

impl Default for Frame {
    fn default() -> Self {
        Frame::Header {
            head: [0; 5],
            got: 0,
        }
    }
}

impl Frame {
    /// Follows the framing over the next `bytes` of the stream; the error at the first
    /// header that announces more than the limit.
    fn follow(&mut self, mut bytes: &[u8]) -> Result<(), OversizedMessage> {
        while !bytes.is_empty() {
            match self {
                Frame::Body { left } => {
                    let take = bytes.len().min(*left as usize);
                    bytes = &bytes[take..];
                    *left -= take as u32;
                    if *left == 0 {
                        *self = Frame::default();
                    }
                }
                Frame::Header { head, got } => {
                    let take = bytes.len().min(5 - *got);
                    head[*got..*got + take].copy_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    *got += take;
                    if *got == 5 {
                        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
                        if len > MESSAGE_LIMIT {
                            return Err(OversizedMessage { len });
                        }
                        // A length under 4 is tokio-postgres' to refuse.
                        *self = match len.saturating_sub(4) {
                            0 => Frame::default(),
                            left => Frame::Body { left },
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn messages_within_the_limit_pass_in_any_split() {
        let mut stream = message(b'R', &[0, 0, 0, 0]);
        stream.extend(message(b'Z', b"I"));
        stream.extend(message(b'D', &vec![b'x'; MESSAGE_LIMIT as usize - 4]));
        stream.extend(message(b'C', b"SELECT 1\0"));
        for chunk in [1, 2, 5, 7, 4096, stream.len()] {
            let mut frame = Frame::default();
            for part in stream.chunks(chunk) {
                assert_eq!(frame.follow(part), Ok(()), "chunks of {chunk}");
            }
            assert_eq!(frame, Frame::default(), "ends between messages");
        }
    }

    #[test]
    fn a_header_over_the_limit_is_refused_as_soon_as_it_is_complete() {
        let mut frame = Frame::default();
        assert_eq!(frame.follow(&message(b'Z', b"I")), Ok(()));
        assert_eq!(frame.follow(b"E\x7f\xff"), Ok(()), "not complete yet");
        let err = frame.follow(b"\xff\xffaaaa").unwrap_err();
        assert_eq!(
            err.to_string(),
            "PostgreSQL sent a 2147483647-byte message (limit 1 MiB)"
        );
        let mut frame = Frame::default();
        let just_over = (MESSAGE_LIMIT + 1).to_be_bytes();
        assert!(frame.follow(b"D").is_ok());
        assert!(frame.follow(&just_over).is_err());
    }
}
