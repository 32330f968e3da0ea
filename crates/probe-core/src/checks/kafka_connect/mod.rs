//! `kafka-connect`: a Kafka Connect worker is healthy when its connectors and tasks are,
//! under the rules of kafka-connect-healthcheck ([`ConnectRules`]).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use serde_json::{json, Value};
use tokio::time::timeout;

use crate::evaluators::connect::{ConnectRules, ConnectorStatus, RestartBook, Traces, Verdict};
use crate::http_client::{self, Target, TlsConfig};
use crate::proto::connect_rest::{self, ListAnswer, WorkerHealth};
use crate::text::redact;
use crate::{BoxFuture, Check, Outcome, Scope};

mod error;
mod expected;
mod grace;
mod logged;
mod restarter;
mod transient;
mod worker;

pub use self::error::{ConnectConfigError, ConnectError};
pub use self::expected::{Expected, ExpectedConnectorsCheck};
pub use self::grace::StateGrace;
pub use self::restarter::{restarts_details, ConnectApi, RestartPolicy, Restarted, Restarter};
pub use self::worker::{judge_worker, ConnectWorkerCheck, WorkerNeed, WorkerState, HERDER_PROBE};

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
    grace: Option<Arc<StateGrace>>,
    restarts: Option<Arc<Mutex<RestartBook>>>,
    worker_seen: Arc<AtomicU8>,
    logged: Arc<logged::Logged>,
}

/// What the status calls found: the statuses, and the connectors whose status could not be
/// read even after one retry (name, why), left out of the verdict.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    /// Every status read, in Connect's order.
    pub statuses: Vec<ConnectorStatus>,
    /// Connectors listed whose status stayed unreadable: `(name, reason)`.
    pub unknown: Vec<(String, String)>,
}

/// `worker_seen`: not yet known, seen in a status, or never seen after the first full poll
/// (and warned about).
const WORKER_UNKNOWN: u8 = 0;
const WORKER_SEEN: u8 = 1;
const WORKER_MISSING: u8 = 2;

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
            grace: None,
            restarts: None,
            worker_seen: Arc::new(AtomicU8::new(WORKER_UNKNOWN)),
            logged: Arc::default(),
        })
    }

    /// The same check sending `name: value` with every request (a bearer token, a
    /// gateway's key). The value is never logged or shown.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if name == http::header::AUTHORIZATION {
            self.authenticated = true;
        }
        self.target = self.target.with_header(name, value);
        self
    }

    /// The same check counting an unhealthy state only once it has lasted its grace
    /// period (see [`StateGrace`]).
    pub fn grace(mut self, grace: StateGrace) -> Self {
        self.grace = (!grace.is_empty()).then(|| Arc::new(grace));
        self
    }

    /// The same check showing, in its details, the restarts recorded in `book` (the book
    /// of a [`Restarter`]).
    pub fn restart_book(mut self, book: Arc<Mutex<RestartBook>>) -> Self {
        self.restarts = Some(book);
        self
    }

    /// Whether it asks the worker's own `GET /health`.
    pub fn asks_worker_health(&self) -> bool {
        self.worker_health
    }

    /// The time allowed for each request.
    pub fn timeout(&self) -> Duration {
        self.request_timeout
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
    /// Each line is printed when what it says changes, not on every evaluation (see the
    /// `logged` module).
    pub async fn evaluate(&self) -> Result<Verdict, ConnectError> {
        let result = self.evaluate_fetched().await;
        self.log_round(&result);
        result.map(|(verdict, _)| verdict)
    }

    /// Logs one evaluation's result, as far as it changed since the last one.
    fn log_round(&self, result: &Result<(Verdict, Fetched), ConnectError>) {
        let printed = match result {
            Ok((verdict, fetched)) => self.logged.observations(verdict, &fetched.unknown),
            Err(e) => self.logged.error(&e.to_string()),
        };
        logged::end_of_round(printed);
    }

    async fn evaluate_fetched(&self) -> Result<(Verdict, Fetched), ConnectError> {
        let fetched = if self.worker_health {
            let (health, statuses) = tokio::join!(self.ask_worker_health(), self.statuses());
            health?;
            statuses?
        } else {
            self.statuses().await?
        };
        let statuses = &fetched.statuses;
        self.note_worker_id(statuses);
        let broker_failed = match self.rules.broker_probe_target(statuses) {
            Some(name) => {
                let described = self.describe(name).await;
                let error = described.as_ref().err().map(ToString::to_string);
                self.logged.describe_error(name, error.as_deref());
                described.is_err()
            }
            None => false,
        };
        let verdict = match &self.grace {
            Some(grace) => {
                let now = tokio::time::Instant::now();
                grace.observe(statuses, now);
                self.rules
                    .evaluate_held(statuses, broker_failed, &|c, t, s| grace.held(c, t, s, now))
            }
            None => self.rules.evaluate(statuses, broker_failed),
        };
        Ok((verdict, fetched))
    }

    /// Warns once when the configured worker id has not appeared in any status of the
    /// first full poll that shows any worker id at all (a `null:-1` or IP mismatch).
    fn note_worker_id(&self, statuses: &[ConnectorStatus]) {
        let Some(ours) = &self.rules.worker_id else {
            return;
        };
        let ids = worker_ids(statuses);
        if ids.is_empty() {
            return;
        }
        if ids.iter().any(|id| id.eq_ignore_ascii_case(ours)) {
            self.worker_seen.store(WORKER_SEEN, Ordering::Relaxed);
            return;
        }
        if self
            .worker_seen
            .compare_exchange(
                WORKER_UNKNOWN,
                WORKER_MISSING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            tracing::warn!(
                "Worker id '{ours}' appears in no connector or task status; Connect reports {}: nothing is judged on this worker (check the advertised host name and port)",
                ids.join(", ")
            );
        }
    }

    /// Reads the statuses once and warns (once) if the configured worker id appears in
    /// none of them; what a sidecar does at startup. Returns [`worker_id_missing`](Self::worker_id_missing).
    pub async fn verify_worker_id(&self) -> Option<bool> {
        if let Ok(fetched) = self.statuses().await {
            self.note_worker_id(&fetched.statuses);
        }
        self.worker_id_missing()
    }

    /// Whether the configured worker id was missing from the statuses since the first full
    /// poll (`None` without a worker id, or before any poll showed a worker id).
    pub fn worker_id_missing(&self) -> Option<bool> {
        self.rules.worker_id.as_ref()?;
        match self.worker_seen.load(Ordering::Relaxed) {
            WORKER_SEEN => Some(false),
            WORKER_MISSING => Some(true),
            _ => None,
        }
    }

    /// Every connector's status, in Connect's order. A transient answer (409 during a
    /// rebalance, a proxy's HTML error page, a 404 for a connector just listed) is asked
    /// once more; a connector whose status stays unreadable is left out and reported in
    /// [`Fetched::unknown`].
    pub async fn statuses(&self) -> Result<Fetched, ConnectError> {
        let path = format!("{}/connectors?expand=status", self.base_path);
        let (mut url, mut status, mut body) = self.get(&path).await?;
        if transient::is_transient(status, &body) {
            tracing::debug!("GET {url} answered {status}; asking once more");
            (url, status, body) = self.get(&path).await?;
        }
        let names = match connect_rest::read_list(status, &body) {
            Ok(ListAnswer::Statuses(statuses)) => {
                return Ok(Fetched {
                    statuses,
                    unknown: Vec::new(),
                })
            }
            Ok(ListAnswer::Names(names)) => names,
            Err(source) => return Err(ConnectError::Answer { url, source }),
        };
        let mut fetched = Fetched {
            statuses: Vec::with_capacity(names.len()),
            unknown: Vec::new(),
        };
        for name in names {
            let path = format!("{}/connectors/{}/status", self.base_path, encode(&name));
            let mut last = None;
            for attempt in 0..2 {
                let (url, status, body) = self.get(&path).await?;
                match connect_rest::read_status(&name, status, &body) {
                    Ok(Some(found)) => {
                        fetched.statuses.push(found);
                        last = None;
                        break;
                    }
                    Ok(None) => last = Some(format!("GET {url} answered 404 twice")),
                    Err(_) if transient::is_transient(status, &body) => {
                        last = Some(format!("GET {url} answered {status} twice"));
                    }
                    Err(source) => return Err(ConnectError::Answer { url, source }),
                }
                if attempt == 0 {
                    tracing::debug!("GET {url} answered {status}; asking once more");
                }
            }
            if let Some(why) = last {
                if why.ends_with("404 twice") {
                    tracing::info!(
                        "Connector '{name}' was deleted while the check ran; it is skipped"
                    );
                } else {
                    tracing::info!(
                        "Connector '{name}' has no readable status ({why}); it is skipped"
                    );
                }
                fetched.unknown.push((name, why));
            }
        }
        Ok(fetched)
    }

    /// POSTs one of Connect's restart endpoints (`path` under the base path, with its
    /// query): the URL shown in messages, status, body.
    async fn post(&self, path: &str) -> Result<(String, u16, bytes::Bytes), ConnectError> {
        let path = format!("{}{path}", self.base_path);
        self.request(http::Method::POST, &path).await
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
        self.request(http::Method::GET, path).await
    }

    /// One request for `path` (under the base path) within the request timeout.
    async fn request(
        &self,
        method: http::Method,
        path: &str,
    ) -> Result<(String, u16, bytes::Bytes), ConnectError> {
        let url = format!("{}{}", self.shown, &path[self.base_path.len()..]);
        let target = self
            .target
            .with_path(path)
            .map_err(|source| ConnectError::Request {
                url: url.clone(),
                source,
            })?;
        let sent = async {
            if method == http::Method::POST {
                http_client::post(&target, self.max_body).await
            } else {
                http_client::get(&target, self.max_body).await
            }
        };
        match timeout(self.request_timeout, sent).await {
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
            let result = self.evaluate_fetched().await;
            self.log_round(&result);
            let outcome = match &result {
                Ok((verdict, fetched)) => {
                    let mut summary = verdict.summary();
                    if !fetched.unknown.is_empty() {
                        let names: Vec<&str> =
                            fetched.unknown.iter().map(|(n, _)| n.as_str()).collect();
                        summary.push_str(&format!("; unknown: {}", names.join(", ")));
                    }
                    let outcome = if verdict.healthy {
                        Outcome::pass().with_message(summary)
                    } else {
                        Outcome::fail(summary)
                    };
                    // Traces may hold configuration values: never in details.
                    match serde_json::from_str::<Value>(&verdict.to_document(Traces::Redact)) {
                        Ok(mut details) => {
                            self.extend_details(&mut details, fetched);
                            outcome.with_details(details)
                        }
                        Err(_) => outcome,
                    }
                }
                Err(e) => {
                    let mut outcome = Outcome::fail(e.to_string());
                    if let Some(restarts) = self.restarts_details() {
                        outcome = outcome.with_details(json!({ "restarts": restarts }));
                    }
                    outcome
                }
            };
            outcome.with_attachment(result.map(|(verdict, _)| verdict))
        })
    }
}

impl KafkaConnectCheck {
    /// Adds what the peer's document does not say: unknown connectors, a worker id that
    /// never appeared, the restarts.
    fn extend_details(&self, details: &mut Value, fetched: &Fetched) {
        let Some(map) = details.as_object_mut() else {
            return;
        };
        if !fetched.unknown.is_empty() {
            let unknown: Vec<Value> = fetched
                .unknown
                .iter()
                .map(|(name, why)| json!({ "connector": name, "reason": why }))
                .collect();
            map.insert("unknown".into(), Value::Array(unknown));
        }
        if self.worker_id_missing() == Some(true) {
            map.insert(
                "worker_id_missing".into(),
                Value::String(format!(
                    "worker id '{}' appears in no status",
                    self.rules.worker_id.as_deref().unwrap_or_default()
                )),
            );
        }
        if let Some(restarts) = self.restarts_details() {
            map.insert("restarts".into(), restarts);
        }
    }

    fn restarts_details(&self) -> Option<Value> {
        let book = self.restarts.as_ref()?.lock().ok()?;
        Some(restarts_details(&book))
    }
}

/// The distinct worker ids of the statuses, in order of appearance.
fn worker_ids(statuses: &[ConnectorStatus]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let all = statuses.iter().flat_map(|s| {
        std::iter::once(s.connector.worker_id.as_deref())
            .chain(s.tasks.iter().map(|t| t.worker_id.as_deref()))
    });
    for id in all.flatten() {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// Percent-encodes a connector name for a path segment.
fn encode(name: &str) -> String {
    crate::text::percent_encode(name)
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
