//! `redis`: a Redis server answers `PING` with `PONG`, as `redis-cli ping` shows it.

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
}

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
        })
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
