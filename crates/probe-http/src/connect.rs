//! The `connect` dialect: the HTTP surface of kafka-connect-healthcheck 0.3.0, byte for byte.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | 200 healthy / 503 unhealthy, the health document; 503 and the error document when no verdict could be reached |
//! | `GET /ping` | 200 `{"status": "UP"}`, never touching Connect |
//! | any other `GET` | 404, empty body, `Content-Type: application/json` |
//! | `HEAD` on any path | 200, empty body, checking nothing (liveness probes point here) |
//! | any other method | 405 with `Allow: GET, HEAD` |
//!
//! `GET /` reads the Kafka Connect check through the engine: the check is registered in a
//! [`Health`] and the dialect evaluates it alone, so concurrent `GET /` share one run, a
//! reuse window set in the check's [`Policy`](probe_core::Policy) applies, the engine's
//! timeout bounds the answer, and `/readyz` of the `kubernetes` dialect shares the same
//! runs. The verdict itself travels from the check to this dialect as the outcome's
//! [`Attachment`](probe_core::Attachment).
//!
//! **Who sees what.** Clients that the [`Details`] policy admits (by default those on
//! loopback) get the peer's documents byte for byte. Others get the same status and the same
//! shape with nothing internal in it: the error document's `error` reads `reason withheld`
//! (it would name the Connect URL, its `host:port` and Connect's own error text, which can
//! echo credentials), and every `worker_id` and `trace` of the health document is `null`.
//! [`Details::Always`] is the peer's behaviour.
//!
//! The dialect answers **every** path (it 404s the ones it does not know, as the peer
//! does), so it must be asked after any other dialect on the same port: add it with
//! [`ServiceBuilder::fallback`](crate::ServiceBuilder::fallback).

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use http::header::HeaderValue;
use http::{Method, StatusCode};
use probe_core::checks::{ConnectError, KafkaConnectCheck};
use probe_core::evaluators::connect::{
    render_answer, render_error, render_withheld, ConnectState, Traces, Verdict, PING_DOCUMENT,
    WITHHELD,
};
use probe_core::{Attachment, BoxFuture, CheckReport, Health, Probe, Select, Shutdown};

use crate::response::{answer, method_not_allowed};
use crate::{Details, Dialect, Req, Response};

/// `application/json`, as the peer labels every answer.
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The `connect` dialect over a Kafka Connect check registered in a [`Health`].
///
/// ```
/// use probe_core::checks::KafkaConnectCheck;
/// use probe_core::evaluators::connect::ConnectRules;
/// use probe_core::{Health, Policy, Probe};
/// use probe_http::{Connect, Kubernetes, ProbeService};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let check = KafkaConnectCheck::new("http://localhost:8083", ConnectRules::default()).unwrap();
/// let health = Health::builder()
///     .check("kafka-connect", check.clone(), [Probe::Readiness], Policy::default())
///     .unwrap()
///     .build()
///     .unwrap();
/// let service = ProbeService::builder()
///     .dialect(Kubernetes::new(health.clone()))
///     .fallback(Connect::new(health, "kafka-connect", &check).unwrap())
///     .build();
/// # });
/// ```
#[derive(Clone)]
pub struct Connect {
    health: Health,
    probe: Probe,
    select: Select,
    name: Arc<str>,
    url: Arc<str>,
    failure_states: Arc<[ConnectState]>,
    details: Details,
    traces: Details,
    rendered: Arc<Mutex<Option<Rendered>>>,
}

/// The documents rendered for the latest run, per view (traces kept, traces redacted,
/// details withheld): while a reuse window serves the same run, `GET /` costs no rendering.
/// Holding the run's attachment keeps its address from being reused by a later one.
struct Rendered {
    source: Attachment,
    bodies: [Option<(bool, Bytes)>; 3],
}

/// The result the Kafka Connect check attaches to its outcome.
type ConnectResult = Result<Verdict, ConnectError>;

impl std::fmt::Debug for Connect {
    /// The Connect URL is left out: it may carry credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("check", &self.name)
            .field("probe", &self.probe)
            .field("failure_states", &self.failure_states)
            .field("details", &self.details)
            .field("traces", &self.traces)
            .finish_non_exhaustive()
    }
}

/// The check named for the `connect` dialect is not registered in the [`Health`].
#[derive(Debug, thiserror::Error)]
#[error("the connect dialect serves check `{0}`, which is not registered in any probe")]
pub struct UnknownCheck(String);

impl Connect {
    /// Serves `check`, registered in `health` as `name` (in any probe; readiness is the
    /// usual one). Details (error texts, worker ids, traces) go to clients on loopback only
    /// ([`Details::Local`]) until [`Connect::details`] says otherwise.
    pub fn new(
        health: Health,
        name: &str,
        check: &KafkaConnectCheck,
    ) -> Result<Self, UnknownCheck> {
        let probe = [Probe::Readiness, Probe::Liveness, Probe::Startup]
            .into_iter()
            .find(|p| health.contains(*p, name))
            .ok_or_else(|| UnknownCheck(name.to_owned()))?;
        Ok(Connect {
            health,
            probe,
            select: Select::Only(name.to_owned()),
            name: Arc::from(name),
            url: Arc::from(check.url()),
            failure_states: check.rules().unhealthy_states.clone().into(),
            details: Details::Local,
            traces: Details::Local,
            rendered: Arc::default(),
        })
    }

    /// The same dialect showing details (the error text, worker ids, traces) to the clients
    /// `who` admits; others get the documents with them withheld. [`Details::Always`] is
    /// the peer's behaviour.
    pub fn details(mut self, who: Details) -> Self {
        self.details = who;
        self.traces = who;
        self
    }

    /// The same dialect showing task traces only to the clients `who` admits (among those
    /// that see details): with [`Details::Local`] a client not on loopback gets
    /// `"trace": null` (a trace is a full Java stack trace and may hold configuration
    /// values).
    pub fn traces(mut self, who: Details) -> Self {
        self.traces = who;
        self
    }

    /// `GET /`: the health document of the check's (possibly shared) run.
    async fn health_document(&self, req: &Req<'_>) -> Response {
        let report = self.health.evaluate(self.probe, &self.select).await;
        let traces = if self.traces.shows(req.client) {
            Traces::Keep
        } else {
            Traces::Redact
        };
        let entry = report.checks.iter().find(|c| *c.name == *self.name);
        let attachment = entry.and_then(|c| c.attachment.as_ref());
        let result = attachment.and_then(|a| a.downcast_ref::<ConnectResult>());
        let shows = self.details.shows(req.client);
        let (healthy, body): (bool, Bytes) = match (attachment, result) {
            (Some(attachment), Some(result)) => {
                let view = match (shows, traces) {
                    (false, _) => 2,
                    (true, Traces::Keep) => 0,
                    (true, Traces::Redact) => 1,
                };
                self.render(attachment, result, view)
            }
            _ if shows => (
                false,
                render_error(&self.no_verdict(entry), &self.failure_states).into(),
            ),
            _ => (false, render_error(WITHHELD, &self.failure_states).into()),
        };
        let code = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        answer(&Method::GET, code, JSON, body)
    }

    /// The document of `result` (attached as `attachment`) in `view`, rendered once per run.
    fn render(
        &self,
        attachment: &Attachment,
        result: &ConnectResult,
        view: usize,
    ) -> (bool, Bytes) {
        let same_run = |r: &Rendered| {
            r.source
                .downcast_ref::<ConnectResult>()
                .is_some_and(|cached| std::ptr::eq(cached, result))
        };
        if let Ok(cache) = self.rendered.lock() {
            if let Some(hit) = cache
                .as_ref()
                .filter(|r| same_run(r))
                .and_then(|r| r.bodies[view].clone())
            {
                return hit;
            }
        }
        let (healthy, body) = match view {
            0 => render_answer(result, &self.failure_states, Traces::Keep),
            1 => render_answer(result, &self.failure_states, Traces::Redact),
            _ => render_withheld(result, &self.failure_states),
        };
        let rendered = (healthy, Bytes::from(body));
        if let Ok(mut cache) = self.rendered.lock() {
            if !cache.as_ref().is_some_and(same_run) {
                *cache = Some(Rendered {
                    source: attachment.clone(),
                    bodies: [None, None, None],
                });
            }
            if let Some(r) = cache.as_mut() {
                r.bodies[view] = Some(rendered.clone());
            }
        }
        rendered
    }

    /// Why there is no verdict: the engine cut the run off, or it panicked.
    fn no_verdict(&self, entry: Option<&CheckReport>) -> String {
        let why = entry
            .and_then(|c| c.message.as_deref())
            .unwrap_or("the check gave no result");
        format!("no verdict from Kafka Connect at {}: {why}", self.url)
    }
}

impl Dialect for Connect {
    fn name(&self) -> &'static str {
        "connect"
    }

    /// `/` and `/ping`: among an application's routes, the other paths are the
    /// application's, not this dialect's JSON 404.
    fn routes(&self) -> &'static [&'static str] {
        &["/", "/ping"]
    }

    fn shutdown(&self) -> Option<&Shutdown> {
        Some(self.health.shutdown())
    }

    fn answer<'a>(&'a self, req: Req<'a>) -> Option<BoxFuture<'a, Response>> {
        let method = &req.parts.method;
        if method == Method::HEAD {
            // The peer answers HEAD on any path without looking at anything.
            return Some(ready(answer(&Method::HEAD, StatusCode::OK, JSON, "")));
        }
        if method != Method::GET {
            return Some(ready(method_not_allowed()));
        }
        Some(match req.path {
            "/" => Box::pin(async move { self.health_document(&req).await }),
            "/ping" => ready(answer(method, StatusCode::OK, JSON, PING_DOCUMENT)),
            _ => ready(answer(method, StatusCode::NOT_FOUND, JSON, "")),
        })
    }
}

fn ready<'a>(resp: Response) -> BoxFuture<'a, Response> {
    Box::pin(std::future::ready(resp))
}
