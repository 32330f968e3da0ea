//! `postgres`: is a PostgreSQL server accepting connections, as `pg_isready` answers it.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::endpoint::{Endpoint, UrlError};
use crate::proto::pg::{
    read_startup_answer, startup_message, StartupAnswer, MAX_ERROR_LEN, TERMINATE,
};
use crate::text::io_reason;
use crate::{BoxFuture, Check, Outcome, Scope};

/// SQLSTATE `cannot_connect_now`: starting up, shutting down, or a standby not yet
/// consistent.
pub const CANNOT_CONNECT_NOW: &str = "57P03";

/// What `pg_isready` (libpq's `PQping`) reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingStatus {
    /// The server answered the startup with an authentication request or with any error
    /// other than `57P03`: it is up, whatever it thinks of the user or database.
    Accepting,
    /// The server answered `57P03 cannot_connect_now`.
    Rejecting,
    /// No answer: nothing listening, the connection dropped, or an answer that is not
    /// PostgreSQL's.
    NoResponse,
}

impl PingStatus {
    /// `accepting connections`, `rejecting connections` or `no response`, as `pg_isready`
    /// prints them.
    pub fn as_str(self) -> &'static str {
        match self {
            PingStatus::Accepting => "accepting connections",
            PingStatus::Rejecting => "rejecting connections",
            PingStatus::NoResponse => "no response",
        }
    }

    /// The exit code `pg_isready` gives for this status: 0, 1 or 2.
    pub fn exit_code(self) -> i32 {
        match self {
            PingStatus::Accepting => 0,
            PingStatus::Rejecting => 1,
            PingStatus::NoResponse => 2,
        }
    }

    /// libpq's rule for a first answer: any authentication request, or an error with a
    /// SQLSTATE other than `57P03`, means accepting; `57P03` means rejecting; an error
    /// without a SQLSTATE means no response. `None` for NegotiateProtocolVersion, which
    /// the real answer follows.
    ///
    /// ```
    /// use probe_core::checks::postgres::PingStatus;
    /// use probe_core::proto::pg::{ErrorReport, StartupAnswer};
    ///
    /// let error = |code: &str| StartupAnswer::Error(ErrorReport { code: Some(code.into()), ..Default::default() });
    /// assert_eq!(PingStatus::of(&StartupAnswer::Authentication(10)), Some(PingStatus::Accepting));
    /// assert_eq!(PingStatus::of(&error("28P01")), Some(PingStatus::Accepting));
    /// assert_eq!(PingStatus::of(&error("57P03")), Some(PingStatus::Rejecting));
    /// ```
    pub fn of(answer: &StartupAnswer) -> Option<PingStatus> {
        match answer {
            StartupAnswer::Authentication(_) => Some(PingStatus::Accepting),
            StartupAnswer::Error(e) => Some(match e.code.as_deref() {
                Some(CANNOT_CONNECT_NOW) => PingStatus::Rejecting,
                Some(code) if code.len() == 5 => PingStatus::Accepting,
                _ => PingStatus::NoResponse,
            }),
            StartupAnswer::NegotiateProtocolVersion => None,
        }
    }
}

/// Sends a StartupMessage over a plain (non-TLS) connection and judges the first answer
/// the way `pg_isready` does; no password is ever sent.
///
/// The URL is `postgres://[user@]host[:port][/database]`; the user defaults to
/// `postgres` and the password, if any, is ignored. The connection is never TLS, so a URL
/// with `sslmode=require`, `verify-ca` or `verify-full` is refused. Pass: `127.0.0.1:5432 - accepting
/// connections`; fail: `- rejecting connections` (starting up, shutting down, recovering)
/// or `- no response`. Details carry the server's SQLSTATE and message, or the reason there
/// was no response.
///
/// ```
/// use probe_core::checks::PostgresCheck;
/// let db = PostgresCheck::new("postgres://app@127.0.0.1:5432/app").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct PostgresCheck {
    endpoint: Endpoint,
    user: String,
    connect_timeout: Option<Duration>,
}

impl PostgresCheck {
    /// A check of the server at `url` (`postgres://` or `postgresql://`).
    pub fn new(url: &str) -> Result<Self, UrlError> {
        let endpoint = Endpoint::parse(url, &["postgres", "postgresql"], 5432)?;
        // The ping is plain TCP: a URL that demands TLS would pass over plaintext.
        if let Some(mode @ ("require" | "verify-ca" | "verify-full")) = endpoint.query("sslmode") {
            return Err(UrlError::new(
                url,
                format!("sslmode={mode} needs TLS, which the postgres check does not speak (use sslmode=disable or prefer)"),
            ));
        }
        let user = endpoint.user().unwrap_or("postgres").to_owned();
        Ok(PostgresCheck {
            endpoint,
            user,
            connect_timeout: None,
        })
    }

    /// The same check reporting `no response` when the server has not answered within
    /// `timeout` (`pg_isready -t`). Without it, only the engine's timeout applies.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Runs the ping once: the status, and details (SQLSTATE and message, or a reason).
    pub async fn ping(&self) -> (PingStatus, Value) {
        match self.connect_timeout {
            Some(t) => match tokio::time::timeout(t, self.exchange()).await {
                Ok(r) => r,
                Err(_) => (
                    PingStatus::NoResponse,
                    json!({ "reason": format!("no answer within {t:?}") }),
                ),
            },
            None => self.exchange().await,
        }
    }

    async fn exchange(&self) -> (PingStatus, Value) {
        let no_response = |reason: String| (PingStatus::NoResponse, json!({ "reason": reason }));
        let e = &self.endpoint;
        let mut stream = match TcpStream::connect((e.host(), e.port())).await {
            Ok(s) => s,
            Err(err) => return no_response(io_reason(&err)),
        };
        let mut params = vec![("user", self.user.as_str()), ("application_name", "probe")];
        if !e.path().is_empty() {
            params.push(("database", e.path()));
        }
        if let Err(err) = stream.write_all(&startup_message(&params)).await {
            return no_response(io_reason(&err));
        }
        let mut buf = Vec::with_capacity(256);
        loop {
            match read_startup_answer(&buf) {
                Ok(Some((answer, used))) => match PingStatus::of(&answer) {
                    Some(status) => {
                        if answer == StartupAnswer::Authentication(0) {
                            let _ = stream.write_all(&TERMINATE).await;
                        }
                        return (status, answer_details(&answer));
                    }
                    None => {
                        buf.drain(..used);
                        continue;
                    }
                },
                Ok(None) => {}
                Err(err) => return no_response(err.to_string()),
            }
            if buf.len() > MAX_ERROR_LEN + 1 {
                return no_response("the answer is too large".into());
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) if buf.is_empty() => {
                    return no_response("the server closed the connection without answering".into())
                }
                Ok(0) => return no_response("the server closed the connection mid-answer".into()),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(err) => return no_response(io_reason(&err)),
            }
        }
    }
}

fn answer_details(answer: &StartupAnswer) -> Value {
    match answer {
        StartupAnswer::Authentication(code) => json!({ "authentication_request": code }),
        StartupAnswer::Error(e) => json!({
            "sqlstate": e.code,
            "severity": e.severity,
            "server_message": e.message,
        }),
        StartupAnswer::NegotiateProtocolVersion => Value::Null,
    }
}

impl Check for PostgresCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let (status, details) = self.ping().await;
            let message = format!(
                "{}:{} - {}",
                self.endpoint.host(),
                self.endpoint.port(),
                status.as_str()
            );
            let outcome = match status {
                PingStatus::Accepting => Outcome::pass().with_message(message),
                _ => Outcome::fail(message),
            };
            outcome.with_details(details)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pg::ErrorReport;

    #[test]
    fn a_url_demanding_tls_is_refused_not_downgraded() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let err = PostgresCheck::new(&format!("postgres://u:pg-tls-pw@h/db?sslmode={mode}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("sslmode={mode} needs TLS")), "{err}");
            assert!(!err.contains("pg-tls-pw"), "{err}");
        }
        for mode in ["disable", "prefer", "allow"] {
            assert!(PostgresCheck::new(&format!("postgres://h/db?sslmode={mode}")).is_ok());
        }
    }

    fn error(code: Option<&str>) -> StartupAnswer {
        StartupAnswer::Error(ErrorReport {
            code: code.map(str::to_owned),
            ..ErrorReport::default()
        })
    }

    #[test]
    fn libpq_judges_any_sqlstate_but_57p03_as_up() {
        for code in ["28P01", "28000", "3D000", "53300", "XX000"] {
            assert_eq!(
                PingStatus::of(&error(Some(code))),
                Some(PingStatus::Accepting),
                "{code}"
            );
        }
        assert_eq!(
            PingStatus::of(&error(Some("57P03"))),
            Some(PingStatus::Rejecting)
        );
        assert_eq!(PingStatus::of(&error(None)), Some(PingStatus::NoResponse));
        assert_eq!(
            PingStatus::of(&error(Some("57P0"))),
            Some(PingStatus::NoResponse)
        );
        assert_eq!(
            PingStatus::of(&StartupAnswer::NegotiateProtocolVersion),
            None
        );
    }

    #[test]
    fn exit_codes_match_pg_isready() {
        let codes: Vec<_> = [
            PingStatus::Accepting,
            PingStatus::Rejecting,
            PingStatus::NoResponse,
        ]
        .iter()
        .map(|s| s.exit_code())
        .collect();
        assert_eq!(codes, [0, 1, 2]);
    }
}
