//! `postgres-query`: an authenticated PostgreSQL session runs a query (`SELECT 1`).

use std::error::Error as _;
use std::str::FromStr;

use futures_util::StreamExt;
use serde_json::json;
use tokio_postgres::SimpleQueryMessage;

use super::postgres_session::{self, Session};
use crate::endpoint::{Endpoint, UrlError};
use crate::text::io_reason;
use crate::{BoxFuture, Check, Outcome, Scope};

/// The most rows a configured query may return before the check stops reading.
const MAX_ROWS: u64 = 1000;

/// A `postgres-query` or `postgres-migrations` check that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum PostgresConfigError {
    /// The URL is not a `postgres://` URL.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// tokio-postgres refuses the URL's options.
    #[error("invalid PostgreSQL URL `{url}`: {reason}")]
    Options {
        /// The URL, password replaced by `***`.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The migrations table or expected version is not usable.
    #[error(transparent)]
    Migrations(#[from] crate::evaluators::migrations::MigrationConfigError),
}

/// Where and how to open a session: the parsed URL and tokio-postgres' configuration.
#[derive(Clone, Debug)]
pub(crate) struct PostgresTarget {
    pub(crate) endpoint: Endpoint,
    config: tokio_postgres::Config,
}

impl PostgresTarget {
    pub(crate) fn parse(url: &str) -> Result<Self, PostgresConfigError> {
        let endpoint = Endpoint::parse(url, &["postgres", "postgresql"], 5432)?;
        let config = tokio_postgres::Config::from_str(url.trim()).map_err(|e| {
            PostgresConfigError::Options {
                url: endpoint.shown().to_owned(),
                reason: endpoint.scrub(&describe(&e)),
            }
        })?;
        // Sessions here are plain TCP: a URL that demands TLS is refused, not downgraded.
        if let Some(mode @ ("require" | "verify-ca" | "verify-full")) = endpoint.query("sslmode") {
            return Err(PostgresConfigError::Options {
                url: endpoint.shown().to_owned(),
                reason: format!("sslmode={mode} needs TLS, which this check does not speak (use sslmode=disable or prefer)"),
            });
        }
        Ok(PostgresTarget { endpoint, config })
    }

    /// `host:port/database`, for messages.
    pub(crate) fn shown(&self) -> String {
        match self.endpoint.path() {
            "" => self.endpoint.addr(),
            db => format!("{}/{db}", self.endpoint.addr()),
        }
    }

    /// Opens a fresh plain-TCP session, its reads bounded (see `postgres_session`); the
    /// connection task ends when the client drops. The error says why, password removed.
    pub(crate) async fn connect(&self) -> Result<Session, String> {
        postgres_session::open(&self.config)
            .await
            .map_err(|e| self.endpoint.scrub(&e.to_string()))
    }

    /// Why a query on `session` failed: the message over the limit if there was one (the
    /// client only sees its connection closed), else the error; password removed.
    pub(crate) fn failure(&self, session: &Session, e: &tokio_postgres::Error) -> String {
        match session.oversized() {
            Some(over) => over.to_string(),
            None => self.endpoint.scrub(&describe(e)),
        }
    }
}

/// A plain account of a tokio-postgres error: the server's report (severity, message,
/// SQLSTATE) or the client's, with its cause.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
    }
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = match c.downcast_ref::<std::io::Error>() {
            Some(io) => io_reason(io),
            None => c.to_string(),
        };
        text.push_str(": ");
        text.push_str(&part);
        cause = c.source();
    }
    text
}

/// Opens an authenticated session (plain TCP, no TLS) and runs a query, `SELECT 1` by
/// default; passes when the query succeeds. A fresh connection is used for every run, so a
/// full application pool neither hides an outage nor causes a false failure.
///
/// The URL is `postgres://user:password@host[:port]/database[?options]`, with the options
/// tokio-postgres accepts (`connect_timeout`, `options`, ...; `sslmode=require` cannot be
/// met without TLS). A refused login, an unknown database or a failing query fails with the
/// server's message; the password never appears.
///
/// ```
/// use probe_core::checks::PostgresQueryCheck;
/// let db = PostgresQueryCheck::new("postgres://app:s3cret@127.0.0.1:5432/app")
///     .unwrap()
///     .query("SELECT 1 FROM pg_tables LIMIT 1");
/// ```
#[derive(Clone, Debug)]
pub struct PostgresQueryCheck {
    target: PostgresTarget,
    query: String,
}

impl PostgresQueryCheck {
    /// A check running `SELECT 1` on the database at `url`.
    pub fn new(url: &str) -> Result<Self, PostgresConfigError> {
        Ok(PostgresQueryCheck {
            target: PostgresTarget::parse(url)?,
            query: "SELECT 1".into(),
        })
    }

    /// The same check running `sql` instead (simple query protocol; keep it cheap).
    pub fn query(mut self, sql: impl Into<String>) -> Self {
        self.query = sql.into();
        self
    }

    async fn run(&self) -> Outcome {
        let shown = self.target.shown();
        let query: String = self.query.chars().take(60).collect();
        let session = match self.target.connect().await {
            Ok(s) => s,
            Err(reason) => {
                return Outcome::fail(format!("cannot open a session on {shown}: {reason}"))
            }
        };
        let stream = match session.client.simple_query_raw(&self.query).await {
            Ok(s) => s,
            Err(e) => return self.query_failed(&shown, &query, &session, &e),
        };
        let mut rows = 0u64;
        tokio::pin!(stream);
        loop {
            match stream.next().await {
                Some(Ok(SimpleQueryMessage::Row(_))) => {
                    rows += 1;
                    if rows >= MAX_ROWS {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return self.query_failed(&shown, &query, &session, &e),
                None => break,
            }
        }
        Outcome::pass()
            .with_message(format!("`{query}` succeeded on {shown}"))
            .with_details(json!({ "rows": rows }))
    }

    fn query_failed(
        &self,
        shown: &str,
        query: &str,
        session: &Session,
        e: &tokio_postgres::Error,
    ) -> Outcome {
        Outcome::fail(format!(
            "`{query}` failed on {shown}: {}",
            self.target.failure(session, e)
        ))
    }
}

impl Check for PostgresQueryCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_refused_without_the_password() {
        let err = PostgresQueryCheck::new("postgres://app:pw-88@h/db?sslmode=sometimes")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid PostgreSQL URL `postgres://app:***@h/db?sslmode=sometimes`"),
            "{err}"
        );
        assert!(!err.contains("pw-88"), "{err}");
        assert!(PostgresQueryCheck::new("mysql://h/db").is_err());
        let check = PostgresQueryCheck::new("postgresql://app:pw-88@h:6543/db").unwrap();
        assert_eq!(check.target.shown(), "h:6543/db");
        assert!(!format!("{check:?}").contains("pw-88"), "{check:?}");
    }

    #[test]
    fn sslmode_require_is_refused_and_a_password_parameter_never_shown() {
        let err = PostgresQueryCheck::new("postgres://h/db?sslmode=require&password=pw-89")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode=require needs TLS"), "{err}");
        assert!(!err.contains("pw-89"), "{err}");
        let err = PostgresQueryCheck::new("postgres://h/db?password=pw-90&bogus=1")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw-90"), "{err}");
    }
}
