//! A fake Kafka Connect REST API on loopback, built from Connect's documented answers.
//!
//! It serves the calls a health check makes (`GET /connectors`, `?expand=status`,
//! `/connectors/{name}/status`, `/connectors/{name}`, `/health`) from a [`Scenario`],
//! and can misbehave the ways real workers and proxies do: an old worker that ignores
//! `expand`, a hang, an error object, a body that is not JSON, a connector deleted between
//! two calls, basic authentication, HTTPS with a test CA. It counts the requests it
//! receives.
//!
//! ```
//! use probe_testkit::connect::{scenarios, FakeConnect};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let connect = FakeConnect::start(scenarios::healthy()).await.unwrap();
//! assert!(connect.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(connect.request_count(), 0);
//! # });
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use self::encoding::{base64, percent_decode};
use crate::tls::TlsServer;

mod encoding;
pub mod scenarios;

/// What the fake Connect knows and how it behaves.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    connectors: Vec<(String, Value)>,
    old_worker: bool,
    hang: Option<Hang>,
    delay: Option<Duration>,
    list_answer: Option<(u16, String)>,
    status_http: Option<u16>,
    details_http: Option<u16>,
    deleted: Vec<String>,
    basic_auth: Option<(String, String)>,
    health: Option<(u16, String)>,
    prefix: String,
    tls: Option<TlsServer>,
}

/// Which requests a hanging fake Connect never answers.
#[derive(Clone, Debug)]
enum Hang {
    All,
    Path(String),
}

impl Scenario {
    /// A Connect with no connectors.
    pub fn new() -> Self {
        Scenario::default()
    }

    /// Adds a connector, listed in call order, with its status object (the body of
    /// `GET /connectors/{name}/status`).
    pub fn connector(mut self, name: &str, status: Value) -> Self {
        self.connectors.push((name.to_owned(), status));
        self
    }

    /// Behaves like Connect before 2.3: `?expand=status` is ignored and the list of names
    /// comes back.
    pub fn old_worker(mut self) -> Self {
        self.old_worker = true;
        self
    }

    /// Accepts every connection and reads the request, but never answers.
    pub fn hang(mut self) -> Self {
        self.hang = Some(Hang::All);
        self
    }

    /// Never answers requests for `path` (the path without its query); answers the rest.
    pub fn hang_on(mut self, path: &str) -> Self {
        self.hang = Some(Hang::Path(path.to_owned()));
        self
    }

    /// Waits `delay` before every answer, so concurrent callers overlap.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Answers the list call (`GET /connectors`, with or without `expand`) with this
    /// status and raw body: an error object, `[]` with 500, a body that is not JSON...
    pub fn list_answer(mut self, status: u16, body: &str) -> Self {
        self.list_answer = Some((status, body.to_owned()));
        self
    }

    /// Serves the status objects of `GET /connectors/{name}/status` with this HTTP status
    /// (the body is unchanged), as some proxies and test harnesses do.
    pub fn status_http(mut self, status: u16) -> Self {
        self.status_http = Some(status);
        self
    }

    /// Answers `GET /connectors/{name}` (connector info) with this status: 500 or 503
    /// is what Connect says when it lost its Kafka cluster.
    pub fn details_http(mut self, status: u16) -> Self {
        self.details_http = Some(status);
        self
    }

    /// Lists `name` but answers 404 for its status and info, as when it is deleted between
    /// the two calls. `expand=status` leaves it out, as Connect does.
    pub fn deleted(mut self, name: &str) -> Self {
        self.connectors
            .push((name.to_owned(), Value::String("deleted".into())));
        self.deleted.push(name.to_owned());
        self
    }

    /// Requires HTTP basic authentication, answering 401 with Connect's plain-text body
    /// `User cannot access the resource.` otherwise.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.basic_auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Serves the API under `prefix` (e.g. `/connect`), as behind a reverse proxy; other
    /// paths get 404.
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// Serves HTTPS with a certificate for `127.0.0.1`, `::1` and `localhost` from a fresh
    /// test CA ([`FakeConnect::ca_file`]).
    pub fn tls(mut self) -> Self {
        self.tls = Some(TlsServer::localhost());
        self
    }

    /// Answers `GET /health` (Kafka 3.9+) with this status and body; without it the fake
    /// answers 404 like older workers.
    pub fn health(mut self, status: u16, body: &str) -> Self {
        self.health = Some((status, body.to_owned()));
        self
    }
}

/// A running fake Kafka Connect on `127.0.0.1`; stops when dropped.
#[derive(Debug)]
pub struct FakeConnect {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    open: Arc<AtomicUsize>,
    tls: Option<TlsServer>,
    task: JoinHandle<()>,
}

impl FakeConnect {
    /// Binds `127.0.0.1:0` and serves `scenario`.
    pub async fn start(scenario: Scenario) -> io::Result<FakeConnect> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(AtomicUsize::new(0));
        let tls = scenario.tls.clone();
        let scenario = Arc::new(scenario);
        let task = tokio::spawn(accept_loop(listener, scenario, log.clone(), open.clone()));
        Ok(FakeConnect {
            addr,
            log,
            open,
            tls,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, or `https://…` for a [`Scenario::tls`].
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The PEM file of the CA that signed its certificate, for a [`Scenario::tls`].
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_file())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, as `path?query`, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many requests it received.
    pub fn request_count(&self) -> usize {
        self.log.lock().map(|l| l.len()).unwrap_or_default()
    }

    /// How many client connections are open now: a client that gives up on a hanging
    /// answer must close its connection, or it leaks.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// How many requests for exactly `path_and_query` it received.
    pub fn hits(&self, path_and_query: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| *r == path_and_query)
            .count()
    }
}

impl Drop for FakeConnect {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts a connection as open while it lives.
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        OpenGuard(open.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop(
    listener: TcpListener,
    scenario: Arc<Scenario>,
    log: Arc<Mutex<Vec<String>>>,
    open: Arc<AtomicUsize>,
) {
    // Connections live in this set: aborting the loop drops them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let (scenario, log) = (scenario.clone(), log.clone());
        let guard = OpenGuard::new(&open);
        connections.spawn(async move {
            let _guard = guard;
            let tls = scenario.tls.clone();
            let handler = move |req| {
                let (scenario, log) = (scenario.clone(), log.clone());
                async move { answer(&scenario, &log, req).await }
            };
            match tls {
                None => crate::http1::serve_connection(stream, handler).await,
                Some(server) => {
                    if let Ok(stream) = server.accept(stream).await {
                        crate::http1::serve_connection(stream, handler).await;
                    }
                }
            }
        });
    }
}

async fn answer(
    scenario: &Scenario,
    log: &Mutex<Vec<String>>,
    req: Request<()>,
) -> Response<Full<Bytes>> {
    let uri = req.uri();
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    if let Ok(mut log) = log.lock() {
        log.push(uri.path_and_query().map_or("/", |p| p.as_str()).to_owned());
    }
    match &scenario.hang {
        Some(Hang::All) => std::future::pending::<()>().await,
        Some(Hang::Path(p)) if *p == path => std::future::pending::<()>().await,
        _ => {}
    }
    if let Some(delay) = scenario.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((user, password)) = &scenario.basic_auth {
        let wanted = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        let sent = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if sent != Some(wanted.as_str()) {
            return text(401, "User cannot access the resource.");
        }
    }
    let Some(path) = path.strip_prefix(scenario.prefix.as_str()) else {
        return error(404, "HTTP 404 Not Found");
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["connectors"] => list(scenario, &query),
        ["connectors", name, "status"] => status(scenario, &percent_decode(name)),
        ["connectors", name] => details(scenario, &percent_decode(name)),
        ["health"] => match &scenario.health {
            Some((code, body)) => json(*code, body.clone()),
            None => error(404, "HTTP 404 Not Found"),
        },
        [""] => json(
            200,
            r#"{"version":"3.9.0","commit":"fake","kafka_cluster_id":"fake"}"#.into(),
        ),
        _ => error(404, "HTTP 404 Not Found"),
    }
}

fn list(scenario: &Scenario, query: &str) -> Response<Full<Bytes>> {
    if let Some((code, body)) = &scenario.list_answer {
        return json(*code, body.clone());
    }
    let expand_status = query.split('&').any(|kv| kv == "expand=status");
    if expand_status && !scenario.old_worker {
        // Written by hand so the order is the listing order, as Connect sends it.
        let entries: Vec<String> = scenario
            .connectors
            .iter()
            .filter(|(name, _)| !scenario.deleted.contains(name))
            .map(|(name, status)| format!("{}:{{\"status\":{status}}}", Value::from(name.as_str())))
            .collect();
        return json(200, format!("{{{}}}", entries.join(",")));
    }
    let names: Vec<Value> = scenario
        .connectors
        .iter()
        .map(|(name, _)| Value::from(name.as_str()))
        .collect();
    json(200, Value::Array(names).to_string())
}

fn status(scenario: &Scenario, name: &str) -> Response<Full<Bytes>> {
    match find(scenario, name) {
        Some(status) => json(scenario.status_http.unwrap_or(200), status.to_string()),
        None => error(404, &format!("No status found for connector {name}")),
    }
}

fn details(scenario: &Scenario, name: &str) -> Response<Full<Bytes>> {
    if find(scenario, name).is_none() {
        return error(404, &format!("Connector {name} not found"));
    }
    match scenario.details_http {
        Some(code) if code >= 400 => error(code, "Request timed out"),
        code => json(
            code.unwrap_or(200),
            format!(
                r#"{{"name":{},"config":{{}},"tasks":[],"type":"sink"}}"#,
                Value::from(name)
            ),
        ),
    }
}

fn find<'a>(scenario: &'a Scenario, name: &str) -> Option<&'a Value> {
    if scenario.deleted.iter().any(|d| d == name) {
        return None;
    }
    scenario
        .connectors
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, status)| status)
}

fn error(code: u16, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error_code": code, "message": message });
    json(code, body.to_string())
}

fn json(code: u16, body: String) -> Response<Full<Bytes>> {
    respond(code, "application/json", body)
}

fn text(code: u16, body: &str) -> Response<Full<Bytes>> {
    respond(code, "text/plain", body.to_owned())
}

fn respond(code: u16, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    resp
}
