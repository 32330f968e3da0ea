//! A fake Kafka Connect REST API on loopback, built from Connect's documented answers.
//!
//! It serves the calls a health check makes (`GET /connectors`, `?expand=status`,
//! `/connectors/{name}/status`, `/connectors/{name}`, `/health`) from a [`Scenario`],
//! and can misbehave the ways real workers and proxies do: an old worker that ignores
//! `expand`, a hang, an error object, a body that is not JSON, a connector deleted between
//! two calls, basic authentication, HTTPS with a test CA, a rebalance that answers 409 for
//! a while, a worker whose `GET /health` says it is starting, unhealthy, or hangs. It
//! serves Connect's restart endpoints and records every restart; a restarted task runs
//! again unless the scenario says it fails again. Statuses and the health answer can be
//! changed while it runs (a connector that appears late, a worker that finishes starting).
//! It counts the requests it receives.
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
    health: Option<Health>,
    prefix: String,
    tls: Option<TlsServer>,
    rebalance: usize,
    fails_again: bool,
    html_errors: usize,
    required_header: Option<(String, String)>,
}

/// What `GET /health` answers.
#[derive(Clone, Debug)]
enum Health {
    Answer(u16, String),
    Hang,
}

/// What changes while the fake runs: the statuses, the health answer, the restarts.
#[derive(Debug, Default)]
struct Live {
    connectors: Vec<(String, Value)>,
    health: Option<Health>,
    restarts: Vec<String>,
    rebalance_left: usize,
    html_left: usize,
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

    /// Serves HTTPS like [`Scenario::tls`], and requires a client certificate signed by
    /// `clients` (mutual TLS): see [`TestCa::client`](crate::tls::TestCa::client).
    pub fn tls_requiring_clients(mut self, clients: &crate::tls::TestCa) -> Self {
        self.tls = Some(
            crate::tls::TestCa::new()
                .server_requiring_clients(&["127.0.0.1", "localhost"], clients),
        );
        self
    }

    /// Answers `GET /health` (Kafka 3.9+) with this status and body; without it the fake
    /// answers 404 like older workers.
    pub fn health(mut self, status: u16, body: &str) -> Self {
        self.health = Some(Health::Answer(status, body.to_owned()));
        self
    }

    /// Never answers `GET /health`, as a worker whose herder is stuck (Connect itself waits
    /// 10 s before it answers 500; a client with a shorter timeout sees no answer).
    pub fn health_hang(mut self) -> Self {
        self.health = Some(Health::Hang);
        self
    }

    /// Answers the first `requests` requests under `/connectors` with 409 and Connect's
    /// rebalance message, as a worker does while the group rebalances.
    pub fn rebalancing(mut self, requests: usize) -> Self {
        self.rebalance = requests;
        self
    }

    /// Answers the first `requests` requests under `/connectors` with a 502 HTML page, as
    /// a reverse proxy does while the worker restarts.
    pub fn html_errors(mut self, requests: usize) -> Self {
        self.html_errors = requests;
        self
    }

    /// Requires the header `name: value` (a bearer token, a gateway's key) on every
    /// request, answering 401 otherwise.
    pub fn require_header(mut self, name: &str, value: &str) -> Self {
        self.required_header = Some((name.to_owned(), value.to_owned()));
        self
    }

    /// A restarted task or connector stays FAILED: the cause of the failure is still there.
    pub fn fails_again(mut self) -> Self {
        self.fails_again = true;
        self
    }
}

/// The status of a worker that is starting, as `GET /health` sends it with 503.
pub const HEALTH_STARTING: &str =
    r#"{"status":"starting","message":"Worker is still starting up."}"#;
/// The status of a healthy worker, as `GET /health` sends it with 200.
pub const HEALTH_HEALTHY: &str = r#"{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}"#;
/// The status of a worker whose herder is stuck, as `GET /health` sends it with 500.
pub const HEALTH_UNHEALTHY: &str = r#"{"status":"unhealthy","message":"Worker was unable to handle this request and may be unable to handle other requests."}"#;
/// Connect's message for a request refused during a rebalance (409).
pub const REBALANCE_MESSAGE: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

/// A running fake Kafka Connect on `127.0.0.1`; stops when dropped.
#[derive(Debug)]
pub struct FakeConnect {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    live: Arc<Mutex<Live>>,
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
        let live = Arc::new(Mutex::new(Live {
            connectors: scenario.connectors.clone(),
            health: scenario.health.clone(),
            restarts: Vec::new(),
            rebalance_left: scenario.rebalance,
            html_left: scenario.html_errors,
        }));
        let shared = Shared {
            scenario: Arc::new(scenario),
            log: log.clone(),
            live: live.clone(),
        };
        let task = tokio::spawn(accept_loop(listener, shared, open.clone()));
        Ok(FakeConnect {
            addr,
            log,
            live,
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

    /// Every restart received, as `POST path?query`, in arrival order.
    pub fn restarts(&self) -> Vec<String> {
        self.live
            .lock()
            .map(|l| l.restarts.clone())
            .unwrap_or_default()
    }

    /// Adds connector `name` with `status`, or replaces its status: a connector created
    /// while the fake runs, a task that fails.
    pub fn set_connector(&self, name: &str, status: Value) {
        if let Ok(mut live) = self.live.lock() {
            match live.connectors.iter_mut().find(|(n, _)| n == name) {
                Some(entry) => entry.1 = status,
                None => live.connectors.push((name.to_owned(), status)),
            }
        }
    }

    /// The status of connector `name` as the fake reports it now.
    pub fn connector_status(&self, name: &str) -> Option<Value> {
        let live = self.live.lock().ok()?;
        live.connectors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
    }

    /// Answers `GET /health` with this status and body from now on.
    pub fn set_health(&self, status: u16, body: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.health = Some(Health::Answer(status, body.to_owned()));
        }
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

/// What every connection of the fake shares.
#[derive(Clone)]
struct Shared {
    scenario: Arc<Scenario>,
    log: Arc<Mutex<Vec<String>>>,
    live: Arc<Mutex<Live>>,
}

async fn accept_loop(listener: TcpListener, shared: Shared, open: Arc<AtomicUsize>) {
    // Connections live in this set: aborting the loop drops them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let shared = shared.clone();
        let guard = OpenGuard::new(&open);
        connections.spawn(async move {
            let _guard = guard;
            let tls = shared.scenario.tls.clone();
            let handler = move |req| {
                let shared = shared.clone();
                async move { answer(&shared, req).await }
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

async fn answer(shared: &Shared, req: Request<()>) -> Response<Full<Bytes>> {
    let (scenario, log, live) = (&*shared.scenario, &*shared.log, &*shared.live);
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
    if let Some((name, value)) = &scenario.required_header {
        let sent = req
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if sent != Some(value.as_str()) {
            return text(401, "User cannot access the resource.");
        }
    }
    let Some(path) = path.strip_prefix(scenario.prefix.as_str()) else {
        return error(404, "HTTP 404 Not Found");
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.first() == Some(&"connectors") {
        if let Some(resp) = transient(live) {
            return resp;
        }
    }
    if req.method() == http::Method::POST {
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        return restart(scenario, live, &segments, &query, target);
    }
    if segments.as_slice() == ["health"] {
        let health = live.lock().ok().and_then(|l| l.health.clone());
        return match health {
            Some(Health::Answer(code, body)) => json(code, body),
            Some(Health::Hang) => std::future::pending().await,
            None => error(404, "HTTP 404 Not Found"),
        };
    }
    let Ok(live) = live.lock() else {
        return error(500, "poisoned");
    };
    let view = View {
        scenario,
        connectors: &live.connectors,
    };
    match segments.as_slice() {
        ["connectors"] => list(&view, &query),
        ["connectors", name, "status"] => status(&view, &percent_decode(name)),
        ["connectors", name] => details(&view, &percent_decode(name)),
        [""] => json(
            200,
            r#"{"version":"3.9.0","commit":"fake","kafka_cluster_id":"fake"}"#.into(),
        ),
        _ => error(404, "HTTP 404 Not Found"),
    }
}

/// The scenario with the statuses as they are now.
struct View<'a> {
    scenario: &'a Scenario,
    connectors: &'a [(String, Value)],
}

/// A 409 during the rebalance phase, or a proxy's HTML page, while either lasts.
fn transient(live: &Mutex<Live>) -> Option<Response<Full<Bytes>>> {
    let mut live = live.lock().ok()?;
    if live.rebalance_left > 0 {
        live.rebalance_left -= 1;
        return Some(error(409, REBALANCE_MESSAGE));
    }
    if live.html_left > 0 {
        live.html_left -= 1;
        return Some(respond(
            502,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n".into(),
        ));
    }
    None
}

/// Connect's restart endpoints: `POST /connectors/{c}/restart[?includeTasks=..&onlyFailed=..]`
/// (the query since Kafka 3.0: 202 with the status; without it, or on an old worker, 204
/// and the connector alone) and `POST /connectors/{c}/tasks/{t}/restart` (204).
fn restart(
    scenario: &Scenario,
    live: &Mutex<Live>,
    segments: &[&str],
    query: &str,
    target: &str,
) -> Response<Full<Bytes>> {
    let Ok(mut live) = live.lock() else {
        return error(500, "poisoned");
    };
    let flag = |name: &str| query.split('&').any(|kv| kv == format!("{name}=true"));
    let (name, task) = match segments {
        ["connectors", name, "restart"] => (percent_decode(name), None),
        ["connectors", name, "tasks", id, "restart"] => match id.parse::<i64>() {
            Ok(id) => (percent_decode(name), Some(id)),
            Err(_) => return error(404, "HTTP 404 Not Found"),
        },
        _ => return error(404, "HTTP 404 Not Found"),
    };
    let fails_again = scenario.fails_again;
    let Some(status) = live
        .connectors
        .iter_mut()
        .find(|(n, s)| *n == name && !s.is_string())
        .map(|(_, s)| s)
    else {
        return error(404, &format!("Connector {name} not found"));
    };
    let extended = !scenario.old_worker && (flag("includeTasks") || flag("onlyFailed"));
    match task {
        Some(id) => {
            let Some(t) = status["tasks"]
                .as_array_mut()
                .and_then(|ts| ts.iter_mut().find(|t| t["id"] == id))
            else {
                return error(404, &format!("Task {name}-{id} not found"));
            };
            if !fails_again {
                t["state"] = Value::from("RUNNING");
                if let Some(o) = t.as_object_mut() {
                    o.remove("trace");
                }
            }
        }
        None => {
            let only_failed = extended && flag("onlyFailed");
            let include_tasks = extended && flag("includeTasks");
            if !fails_again {
                let failed = status["connector"]["state"] == "FAILED";
                if !only_failed || failed {
                    status["connector"]["state"] = Value::from("RUNNING");
                }
                if include_tasks {
                    for t in status["tasks"].as_array_mut().into_iter().flatten() {
                        if !only_failed || t["state"] == "FAILED" {
                            t["state"] = Value::from("RUNNING");
                            if let Some(o) = t.as_object_mut() {
                                o.remove("trace");
                            }
                        }
                    }
                }
            }
        }
    }
    let body = status.to_string();
    live.restarts.push(format!("POST {target}"));
    if task.is_none() && extended {
        json(202, body)
    } else {
        respond(204, "application/json", String::new())
    }
}

fn list(scenario: &View<'_>, query: &str) -> Response<Full<Bytes>> {
    if let Some((code, body)) = &scenario.scenario.list_answer {
        return json(*code, body.clone());
    }
    let expand_status = query.split('&').any(|kv| kv == "expand=status");
    if expand_status && !scenario.scenario.old_worker {
        // Written by hand so the order is the listing order, as Connect sends it.
        let entries: Vec<String> = scenario
            .connectors
            .iter()
            .filter(|(name, _)| !scenario.scenario.deleted.contains(name))
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

fn status(scenario: &View<'_>, name: &str) -> Response<Full<Bytes>> {
    match find(scenario, name) {
        Some(status) => json(
            scenario.scenario.status_http.unwrap_or(200),
            status.to_string(),
        ),
        None => error(404, &format!("No status found for connector {name}")),
    }
}

fn details(scenario: &View<'_>, name: &str) -> Response<Full<Bytes>> {
    if find(scenario, name).is_none() {
        return error(404, &format!("Connector {name} not found"));
    }
    match scenario.scenario.details_http {
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

fn find<'a>(scenario: &View<'a>, name: &str) -> Option<&'a Value> {
    if scenario.scenario.deleted.iter().any(|d| d == name) {
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
