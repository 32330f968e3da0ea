//! `memcached`: a memcached server answers `version`.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::endpoint::{Endpoint, UrlError};
use crate::proto::memcached::{read_reply, Reply, VERSION_COMMAND};
use crate::text::io_reason;
use crate::{BoxFuture, Check, Outcome, Scope};

/// Sends `version` and passes on `VERSION x.y.z`; an error line, a closed connection or
/// anything else fails.
///
/// The URL is `memcached://host[:port]` (default port 11211).
///
/// ```
/// use probe_core::checks::MemcachedCheck;
/// let cache = MemcachedCheck::new("memcached://127.0.0.1:11211").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct MemcachedCheck {
    endpoint: Endpoint,
}

impl MemcachedCheck {
    /// A check of the server at `url`.
    pub fn new(url: &str) -> Result<Self, UrlError> {
        Ok(MemcachedCheck {
            endpoint: Endpoint::parse(url, &["memcached"], 11211)?,
        })
    }

    async fn run(&self) -> Outcome {
        let e = &self.endpoint;
        let addr = e.addr();
        let mut stream = match e.connect().await {
            Ok(s) => s,
            Err(message) => return Outcome::fail(message),
        };
        if let Err(err) = stream.write_all(VERSION_COMMAND).await {
            return Outcome::fail(format!(
                "cannot send `version` to {addr}: {}",
                io_reason(&err)
            ));
        }
        let mut buf = Vec::with_capacity(64);
        loop {
            match read_reply(&buf) {
                Ok(Some((Reply::Version(v), _))) => {
                    return Outcome::pass()
                        .with_message(format!("{addr} - memcached {v}"))
                        .with_details(json!({ "version": v }))
                }
                Ok(Some((Reply::Error(line), _))) => {
                    return Outcome::fail(format!("{addr} answered `version` with {line}"))
                }
                Ok(None) => {}
                Err(err) => {
                    return Outcome::fail(format!("{addr} answered, but not as memcached: {err}"))
                }
            }
            let mut chunk = [0u8; 512];
            match stream.read(&mut chunk).await {
                Ok(0) => {
                    return Outcome::fail(format!("{addr} closed the connection without answering"))
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(err) => {
                    return Outcome::fail(format!("no answer from {addr}: {}", io_reason(&err)))
                }
            }
        }
    }
}

impl Check for MemcachedCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}
