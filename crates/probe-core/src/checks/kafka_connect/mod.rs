//! `kafka-connect`: a Kafka Connect worker is healthy when its connectors and tasks are,
//! under the rules of kafka-connect-healthcheck ([`ConnectRules`]).

use std::time::Duration;

use tokio::time::timeout;

use crate::evaluators::connect::{ConnectRules, ConnectorStatus, Traces, Verdict};
use crate::http_client::{self, Target, TlsConfig};
use crate::proto::connect_rest::{self, ListAnswer, WorkerHealth};
use crate::text::redact;
use crate::{BoxFuture, Check, Outcome, Scope};

mod error;

pub use self::error::{ConnectConfigError, ConnectError};

/// The default time allowed for each request to Connect: 5 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The default cap on one answer from Connect: 8 MiB (an expanded status list carries
/// a Java stack trace per failed task).
pub const DEFAULT_CONNECT_MAX_BODY: usize = 8 * 1024 * 1024;

/// Asks a Kafka Connect worker for the status of every connector and task and judges
/// them with [`ConnectRules`].
///
/// One `GET /connectors?expand=status` where the worker supports it (Kafka 2.3+);
/// otherwise `GET /connectors/{name}/status` per connector, skipping connectors deleted
/// in between. When no connector was judged, `GET /connectors/{first}` shows whether
/// Connect still reaches its Kafka cluster. Every request has its own timeout and a
/// bounded body, over a fresh connection; over `https://`, the TLS configuration is built
/// once and shared by all of them.
///
/// ```
/// use std::time::Duration;
/// use probe_core::checks::KafkaConnectCheck;
/// use probe_core::evaluators::connect::ConnectRules;
///
/// let rules = ConnectRules::parse("FAILED", "CONNECTOR,TASK", Some("connect-0:8083"), 0).unwrap();
/// let check = KafkaConnectCheck::new("http://localhost:8083", rules)
///     .unwrap()
///     .basic_auth("admin:pa:ss")
///     .unwrap()
///     .request_timeout(Duration::from_secs(2));
/// ```
#[derive(Clone, Debug)]
pub struct KafkaConnectCheck {
    target: Target,
    base_path: String,
    shown: String,
    rules: ConnectRules,
    authenticated: bool,
    request_timeout: Duration,
    worker_health: bool,
    max_body: usize,
}

// === impl KafkaConnectCheck ===

impl KafkaConnectCheck {
    /// A check of the worker at `url` (`http://host:port` or `https://host:port`, optionally
    /// with a path prefix; credentials in the URL become basic authentication and never
    /// appear in messages). An `https://` worker is verified against the system's
    /// certificate store until [`KafkaConnectCheck::tls`] says otherwise.
    pub fn new(url: &str, rules: ConnectRules) -> Result<Self, ConnectConfigError> {
        let target = Target::parse(url)?;
        let path = target.path();
        if path.contains('?') || url.contains('#') {
            return Err(ConnectConfigError::Query(redact(url)));
        }
        let base_path = path.trim_end_matches('/').to_owned();
        let shown = redact(url).trim_end_matches('/').to_owned();
        Ok(KafkaConnectCheck {
            authenticated: url.contains('@'),
            target,
            base_path,
            shown,
            rules,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            worker_health: false,
            max_body: DEFAULT_CONNECT_MAX_BODY,
        })
    }

    /// The same check with HTTP basic authentication from `user:password`, split at the
    /// first colon (the password may contain colons). An empty value means none.
    pub fn basic_auth(mut self, user_password: &str) -> Result<Self, ConnectConfigError> {
        if user_password.is_empty() {
            return Ok(self);
        }
        let (user, password) = user_password
            .split_once(':')
            .ok_or(ConnectConfigError::BasicAuth)?;
        self.target = self.target.with_basic_auth(user, password);
        self.authenticated = true;
        Ok(self)
    }

    /// The same check trusting what `tls` trusts for an `https://` worker, such as the
    /// system's store plus an internal CA ([`TlsConfig::new`]).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.target = self.target.with_tls(tls);
        self
    }

    /// The same check allowing `timeout` for each request to Connect.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The same check also asking the worker's own `GET /health` (Kafka 3.9+, KIP-1017),
    /// alongside the statuses; a worker that does not have it (404) is not held against.
    /// The worker may take up to 10 s to answer it when it is stuck, so a request timeout
    /// above 10 s lets its own message through.
    pub fn worker_health(mut self, enabled: bool) -> Self {
        self.worker_health = enabled;
        self
    }

    /// The same check reading at most `bytes` of each answer.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The rules it judges with.
    pub fn rules(&self) -> &ConnectRules {
        &self.rules
    }

    /// The worker's URL, without credentials.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Logs what the check will do, as kafka-connect-healthcheck logs it at startup.
    pub fn log_configuration(&self) {
        let states: Vec<&str> = self
            .rules
            .unhealthy_states
            .iter()
            .map(|s| s.as_str())
            .collect();
        tracing::info!(
            "Server will report unhealthy for states: '{}'",
            states.join(", ")
        );
        tracing::info!(
            "Server will healthcheck against Kafka Connect at: {}",
            self.shown
        );
        if self.authenticated {
            tracing::info!("Server will use basic authentication against Kafka Connect");
        }
        match &self.rules.worker_id {
            Some(id) => tracing::info!(
                "Server will healthcheck connectors and tasks for worker with id '{id}'"
            ),
            None => tracing::warn!(
                "No worker id supplied, server will healthcheck all connectors and tasks"
            ),
        }
    }

    /// Asks Connect and judges what it says. Logs each connector and task as the peer
    /// does (healthy at INFO, unhealthy at WARN, errors at ERROR).
    pub async fn evaluate(&self) -> Result<Verdict, ConnectError> {
        let result = self.evaluate_quietly().await;
        if let Err(e) = &result {
            tracing::error!(
                "Error while attempting to calculate health result. Assuming unhealthy. Error: {e}"
            );
        }
        tracing::info!("------------------------------------------------");
        result
    }

    async fn evaluate_quietly(&self) -> Result<Verdict, ConnectError> {
        let statuses = if self.worker_health {
            let (health, statuses) = tokio::join!(self.ask_worker_health(), self.statuses());
            health?;
            statuses?
        } else {
            self.statuses().await?
        };
        let broker_failed = match self.rules.broker_probe_target(&statuses) {
            Some(name) => match self.describe(name).await {
                Ok(()) => false,
                Err(e) => {
                    tracing::error!(
                        "Error while attempting to get details for {name}. Assuming unhealthy. Error: {e}"
                    );
                    true
                }
            },
            None => false,
        };
        let verdict = self.rules.evaluate(&statuses, broker_failed);
        log_observations(&verdict);
        Ok(verdict)
    }

    /// Every connector's status, in Connect's order.
    async fn statuses(&self) -> Result<Vec<ConnectorStatus>, ConnectError> {
        let path = format!("{}/connectors?expand=status", self.base_path);
        let (url, status, body) = self.get(&path).await?;
        let names = match connect_rest::read_list(status, &body) {
            Ok(ListAnswer::Statuses(statuses)) => return Ok(statuses),
            Ok(ListAnswer::Names(names)) => names,
            Err(source) => return Err(ConnectError::Answer { url, source }),
        };
        let mut statuses = Vec::with_capacity(names.len());
        for name in names {
            let path = format!("{}/connectors/{}/status", self.base_path, encode(&name));
            let (url, status, body) = self.get(&path).await?;
            match connect_rest::read_status(&name, status, &body) {
                Ok(Some(found)) => statuses.push(found),
                Ok(None) => tracing::info!(
                    "Connector '{name}' was deleted while the check ran; it is skipped"
                ),
                Err(source) => return Err(ConnectError::Answer { url, source }),
            }
        }
        Ok(statuses)
    }

    /// The broker probe: Connect describes a connector only while it reaches Kafka.
    async fn describe(&self, name: &str) -> Result<(), ConnectError> {
        let path = format!("{}/connectors/{}", self.base_path, encode(name));
        let (url, status, body) = self.get(&path).await?;
        connect_rest::read_info(status, &body)
            .map_err(|source| ConnectError::Answer { url, source })
    }

    async fn ask_worker_health(&self) -> Result<(), ConnectError> {
        let path = format!("{}/health", self.base_path);
        let (url, status, body) = self.get(&path).await?;
        match connect_rest::read_worker_health(status, &body) {
            Ok(WorkerHealth::Healthy) => Ok(()),
            Ok(WorkerHealth::Unsupported) => {
                tracing::debug!("{url} is not served by this worker (before Kafka 3.9); skipped");
                Ok(())
            }
            Ok(WorkerHealth::Unhealthy {
                status,
                state,
                message,
            }) => Err(ConnectError::WorkerUnhealthy {
                url,
                status,
                state,
                message,
            }),
            Err(source) => Err(ConnectError::Answer { url, source }),
        }
    }

    /// GETs `path` under the request timeout: the URL shown in messages, status, body.
    async fn get(&self, path: &str) -> Result<(String, u16, bytes::Bytes), ConnectError> {
        let url = format!("{}{}", self.shown, &path[self.base_path.len()..]);
        let target = self
            .target
            .with_path(path)
            .map_err(|source| ConnectError::Request {
                url: url.clone(),
                source,
            })?;
        match timeout(
            self.request_timeout,
            http_client::get(&target, self.max_body),
        )
        .await
        {
            Ok(Ok(resp)) => Ok((url, resp.status.as_u16(), resp.body)),
            Ok(Err(source)) => Err(ConnectError::Request { url, source }),
            Err(_) => Err(ConnectError::Timeout {
                url,
                after: self.request_timeout,
            }),
        }
    }
}

/// As a check: passes when the verdict is healthy, with the verdict's summary as message
/// and the health document (traces always `null`) as details. The full
/// `Result<Verdict, ConnectError>` is attached to the outcome (see
/// [`Attachment`](crate::Attachment)), so an endpoint serving the peer's documents reads it
/// from the engine's report and shares the engine's single-flight and reuse window.
impl Check for KafkaConnectCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let result = self.evaluate().await;
            let outcome = match &result {
                Ok(verdict) => {
                    let summary = verdict.summary();
                    let outcome = if verdict.healthy {
                        Outcome::pass().with_message(summary)
                    } else {
                        Outcome::fail(summary)
                    };
                    // Traces may hold configuration values: never in details.
                    match serde_json::from_str(&verdict.to_document(Traces::Redact)) {
                        Ok(details) => outcome.with_details(details),
                        Err(_) => outcome,
                    }
                }
                Err(e) => Outcome::fail(e.to_string()),
            };
            outcome.with_attachment(result)
        })
    }
}

fn log_observations(verdict: &Verdict) {
    for seen in &verdict.observations {
        let (name, state) = (&seen.connector, &seen.state);
        match (seen.task, seen.unhealthy) {
            (None, true) => {
                tracing::warn!("Connector '{name}' is unhealthy in failure state: {state}")
            }
            (None, false) => tracing::info!("Connector '{name}' is healthy in state: {state}"),
            (Some(id), true) => tracing::warn!(
                "Connector '{name}' task '{id}' is unhealthy in failure state: {state}"
            ),
            (Some(id), false) => {
                tracing::info!("Connector '{name}' task '{id}' is healthy in state: {state}")
            }
        }
    }
}

/// Percent-encodes a connector name for a path segment.
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluations_can_be_spawned_and_shared() {
        fn spawnable<T: Send + 'static>(_: T) {}
        let check = std::sync::Arc::new(
            KafkaConnectCheck::new("http://h:8083", ConnectRules::default()).unwrap(),
        );
        spawnable(async move { check.evaluate().await });
        fn shareable<T: Send + Sync>() {}
        shareable::<Result<Verdict, ConnectError>>();
    }

    #[test]
    fn names_are_encoded_for_the_path() {
        assert_eq!(encode("jdbc-sink_1.v2~"), "jdbc-sink_1.v2~");
        assert_eq!(encode("my connector/é?"), "my%20connector%2F%C3%A9%3F");
    }

    #[test]
    fn basic_auth_splits_at_the_first_colon_and_requires_one() {
        let check = KafkaConnectCheck::new("http://h:8083/", ConnectRules::default()).unwrap();
        assert!(matches!(
            check.clone().basic_auth("useronly"),
            Err(ConnectConfigError::BasicAuth)
        ));
        assert!(check.clone().basic_auth("user:pa:ss").is_ok());
        assert!(!check.clone().basic_auth("").unwrap().authenticated);
    }

    #[test]
    fn urls_keep_a_path_prefix_and_hide_passwords() {
        let check =
            KafkaConnectCheck::new("http://u:secret@h:8083/connect/", ConnectRules::default())
                .unwrap();
        assert_eq!(check.url(), "http://u:***@h:8083/connect");
        assert_eq!(check.base_path, "/connect");
        assert!(check.authenticated);
        assert!(matches!(
            KafkaConnectCheck::new("http://h:8083/?x=1", ConnectRules::default()),
            Err(ConnectConfigError::Query(_))
        ));
        let err = KafkaConnectCheck::new("ftp://h:8083", ConnectRules::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "kafka connect url: unsupported scheme `ftp` (only http and https)"
        );
        #[cfg(feature = "tls")]
        {
            let check =
                KafkaConnectCheck::new("https://u:secret@h/connect/", ConnectRules::default())
                    .unwrap();
            assert_eq!(check.url(), "https://u:***@h/connect");
            assert_eq!(check.base_path, "/connect");
        }
    }
}
