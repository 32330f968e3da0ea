//! `redis`: a Redis server answers `PING` with `PONG`, as `redis-cli ping` shows it; or,
//! in the write mode, takes a key, gives it back and deletes it, as Django's cache check
//! does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::endpoint::{Endpoint, UrlError};
use crate::proto::resp::{RespConnection, RespConnectionError, Value, DEFAULT_MAX_REPLY};
use crate::{BoxFuture, Check, Outcome, Scope};

/// Connects, authenticates and selects a database when the URL says so, then sends `PING`;
/// passes on `PONG`.
///
/// The URL is `redis://[user:password@]host[:port][/db]`: with a user name, `AUTH user
/// password` (an ACL user, Redis 6+); with only a password, `AUTH password`; with a
/// database number, `SELECT db`. An error reply at any step (`NOAUTH`, `WRONGPASS`,
/// `LOADING`, `MASTERDOWN`...) fails the check with what Redis said; the password never
/// appears in messages. A fresh connection is used for every run.
///
/// ```
/// use probe_core::checks::RedisCheck;
/// let cache = RedisCheck::new("redis://:s3cret@127.0.0.1:6379/1").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct RedisCheck {
    endpoint: Endpoint,
    db: Option<u32>,
    max_reply: usize,
    write: Option<Duration>,
}

/// The prefix of the keys the write mode sets.
pub const WRITE_KEY_PREFIX: &str = "probe:health:";

impl RedisCheck {
    /// A check of the Redis server at `url` (`redis://`; TLS `rediss://` is not spoken).
    pub fn new(url: &str) -> Result<Self, UrlError> {
        let endpoint = Endpoint::parse(url, &["redis"], 6379)?;
        let db =
            match endpoint.path() {
                "" => None,
                p => Some(p.parse::<u32>().map_err(|_| {
                    UrlError::new(url, format!("the database `{p}` is not a number"))
                })?),
            };
        Ok(RedisCheck {
            endpoint,
            db,
            max_reply: DEFAULT_MAX_REPLY,
            write: None,
        })
    }

    /// The same check doing a write round trip instead of `PING`: `SET` a key of its own
    /// (`probe:health:<pid>:<time>:<n>`, new for every run) with an expiry of `expiry`,
    /// `GET` it back, `DEL` it. A server that answers `PING` but refuses writes (its
    /// `maxmemory` reached under `noeviction`, a read-only replica) fails it. The key
    /// expires on its own should the run be cut off before the `DEL`.
    pub fn write_round_trip(mut self, expiry: Duration) -> Self {
        self.write = Some(expiry.max(Duration::from_millis(1)));
        self
    }

    /// The same check accepting replies of at most `bytes`.
    pub fn max_reply(mut self, bytes: usize) -> Self {
        self.max_reply = bytes;
        self
    }

    async fn run(&self) -> Result<String, RespConnectionError> {
        let e = &self.endpoint;
        let mut conn = RespConnection::connect(e.host(), e.port(), self.max_reply).await?;
        if let Some(password) = e.password() {
            conn.auth(e.user(), password).await?;
        }
        if let Some(db) = self.db {
            conn.select(db).await?;
        }
        if let Some(expiry) = self.write {
            return round_trip(&mut conn, expiry).await;
        }
        match conn.command(&[b"PING"]).await? {
            Value::Simple(s) if s == "PONG" => Ok(format!("{} answered PONG", conn.addr())),
            Value::Error(reply) => Err(RespConnectionError::Refused {
                addr: conn.addr().to_owned(),
                command: "PING",
                reply,
            }),
            other => Err(RespConnectionError::Unexpected {
                addr: conn.addr().to_owned(),
                command: "PING",
                reply: other.describe(),
            }),
        }
    }
}

fn unique_key() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{WRITE_KEY_PREFIX}{}:{nanos}:{n}", std::process::id())
}

/// `SET key value PX ms`, `GET key`, `DEL key`.
async fn round_trip(
    conn: &mut RespConnection,
    expiry: Duration,
) -> Result<String, RespConnectionError> {
    let key = unique_key();
    let value = format!("written {}", key.len());
    let ms = expiry.as_millis().to_string();
    let addr = conn.addr().to_owned();
    let refused = |command: &'static str, reply: String| RespConnectionError::Refused {
        addr: addr.clone(),
        command,
        reply,
    };
    let unexpected = |command: &'static str, v: &Value| RespConnectionError::Unexpected {
        addr: addr.clone(),
        command,
        reply: v.describe(),
    };
    match conn
        .command(&[
            b"SET",
            key.as_bytes(),
            value.as_bytes(),
            b"PX",
            ms.as_bytes(),
        ])
        .await?
    {
        Value::Simple(s) if s == "OK" => {}
        Value::Error(e) => return Err(refused("SET", e)),
        other => return Err(unexpected("SET", &other)),
    }
    let got = conn.command(&[b"GET", key.as_bytes()]).await?;
    let deleted = conn.command(&[b"DEL", key.as_bytes()]).await?;
    match got {
        Value::Bulk(b) if b == value.as_bytes() => {}
        Value::Error(e) => return Err(refused("GET", e)),
        other => return Err(unexpected("GET", &other)),
    }
    match deleted {
        Value::Integer(1) => Ok(format!("{addr} took, returned and deleted a key")),
        Value::Error(e) => Err(refused("DEL", e)),
        other => Err(unexpected("DEL", &other)),
    }
}

impl Check for RedisCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match self.run().await {
                Ok(message) => Outcome::pass().with_message(message),
                Err(e) => Outcome::fail(format!("redis: {}", self.endpoint.scrub(&e.to_string()))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_must_be_a_number_and_the_password_stays_hidden() {
        let err = RedisCheck::new("redis://:pw-77@h/cache")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid URL `redis://:***@h/cache`: the database `cache` is not a number"
        );
        assert!(RedisCheck::new("rediss://h").is_err());
        assert_eq!(RedisCheck::new("redis://h:7000/3").unwrap().db, Some(3));
        assert!(!format!("{:?}", RedisCheck::new("redis://:pw-77@h").unwrap()).contains("pw-77"));
    }
}
