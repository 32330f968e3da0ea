//! The `kpow` dialect: Kpow's health surface, `/healthy` and `/up`.
//!
//! - `GET`/`HEAD` `/healthy` evaluates liveness (the Kafka Streams liveness check among
//!   the others): 200 with the body `ok` when it passes (warn included), 503 when it fails,
//!   with one line per failing check, `unhealthy: <name>: <reason>`. The reason follows
//!   the details policy: clients that may not see it read `reason withheld`.
//!   `application/health+json` when `Accept` names it or `application/json`, or
//!   `?format=json`, as in the `kubernetes` dialect.
//! - `GET`/`HEAD` `/up` answers 200 `ok` whenever the server answers: it evaluates nothing.
//! - Other methods: 405 with `Allow: GET, HEAD`.
//!
//! Kpow is often served under a path (`/kpow`); the service's
//! [`path_prefix`](crate::ServiceBuilder::path_prefix) strips it before the dialect sees
//! the path. The dialect issues no redirects.

use std::fmt::Write as _;

use http::header::HeaderValue;
use http::{Method, StatusCode};
use probe_core::{BoxFuture, Health, Probe, Report, Select, Shutdown, Status};

use crate::health_json::{health_json, WITHHELD};
use crate::kubernetes::{one_line, prefers_plain_json, wants_json};
use crate::response::{answer, method_not_allowed, TEXT};
use crate::{Details, Dialect, Req, Response};

/// The `kpow` dialect over a [`Health`]: `/healthy` and `/up`.
///
/// ```
/// use probe_core::evaluators::streams::StreamsState;
/// use probe_core::{Health, Policy, Probe};
/// use probe_http::{Kpow, ProbeService};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let streams = StreamsState::new();
/// let health = Health::builder()
///     .check("kafka-streams", streams.liveness(), [Probe::Liveness], Policy::default())
///     .unwrap()
///     .build()
///     .unwrap();
/// let service = ProbeService::builder()
///     .path_prefix("/kpow")
///     .dialect(Kpow::new(health))
///     .build();
/// let answer = service
///     .respond(http::Request::get("/kpow/healthy").body(()).unwrap())
///     .await;
/// assert_eq!(answer.status(), 200);
///
/// streams.fail("the global stream thread died").unwrap();
/// let answer = service
///     .respond(http::Request::get("/kpow/healthy").body(()).unwrap())
///     .await;
/// assert_eq!(answer.status(), 503);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Kpow {
    health: Health,
    details: Details,
}

impl Kpow {
    /// Serves `health` with the default details policy ([`Details::Local`]).
    pub fn new(health: Health) -> Self {
        Kpow {
            health,
            details: Details::default(),
        }
    }

    /// The same dialect with another details policy.
    pub fn details(mut self, details: Details) -> Self {
        self.details = details;
        self
    }
}

/// The two routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Healthy,
    Up,
}

impl Dialect for Kpow {
    fn name(&self) -> &'static str {
        "kpow"
    }

    fn routes(&self) -> &'static [&'static str] {
        &["/healthy", "/up"]
    }

    fn shutdown(&self) -> Option<&Shutdown> {
        Some(self.health.shutdown())
    }

    fn answer<'a>(&'a self, req: Req<'a>) -> Option<BoxFuture<'a, Response>> {
        let route = match req.path {
            "/healthy" => Route::Healthy,
            "/up" => Route::Up,
            _ => return None,
        };
        Some(Box::pin(async move {
            let method = &req.parts.method;
            if method != Method::GET && method != Method::HEAD {
                return method_not_allowed();
            }
            match route {
                Route::Up => answer(method, StatusCode::OK, TEXT, "ok"),
                Route::Healthy => {
                    let report = self.health.evaluate(Probe::Liveness, &Select::All).await;
                    render(&req, &report, self.details.shows(req.client))
                }
            }
        }))
    }
}

/// Renders the liveness `report` for `/healthy`: 200 `ok`, or 503 with the failing checks.
fn render(req: &Req<'_>, report: &Report, show: bool) -> Response {
    let method = &req.parts.method;
    let code = if report.status.is_passing() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if wants_json(req) {
        let ct = if prefers_plain_json(req) {
            "application/json"
        } else {
            "application/health+json"
        };
        let body = serde_json::to_vec(&health_json(report, show)).unwrap_or_default();
        return answer(method, code, HeaderValue::from_static(ct), body);
    }
    if report.status.is_passing() {
        return answer(method, code, TEXT, "ok");
    }
    answer(method, code, TEXT, unhealthy_text(report, show))
}

/// `unhealthy: <name>: <reason>`, one line per failing check.
fn unhealthy_text(report: &Report, show: bool) -> String {
    let mut out = String::with_capacity(96);
    for c in report.checks.iter().filter(|c| c.status == Status::Fail) {
        let reason = match (&c.message, show) {
            (Some(m), true) => one_line(m),
            _ => WITHHELD.to_owned(),
        };
        let _ = writeln!(out, "unhealthy: {}: {reason}", c.name);
    }
    if out.is_empty() {
        out.push_str("unhealthy\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProbeService;
    use http::header::{ALLOW, CONTENT_LENGTH};
    use http_body_util::BodyExt;
    use probe_core::evaluators::streams::StreamsState;
    use probe_core::{from_fn, Outcome, Policy, Scope};
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn service(streams: &StreamsState, details: Details) -> ProbeService {
        let health = Health::builder()
            .check(
                "kafka-streams",
                streams.liveness(),
                [Probe::Liveness],
                Policy::default(),
            )
            .unwrap()
            .build()
            .unwrap();
        ProbeService::builder()
            .dialect(Kpow::new(health).details(details))
            .build()
    }

    async fn call(svc: &ProbeService, method: Method, path: &str, client: &str) -> Response {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        let addr: SocketAddr = client.parse().unwrap();
        req.extensions_mut().insert(crate::ClientAddr(addr));
        svc.respond(req).await
    }

    async fn text(resp: Response) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn healthy_names_the_failing_check_to_loopback_only() {
        let streams = StreamsState::new();
        let svc = service(&streams, Details::Local);
        streams.fail("the global stream thread died").unwrap();
        let local = call(&svc, Method::GET, "/healthy", "127.0.0.1:9").await;
        assert_eq!(local.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = text(local).await;
        assert!(
            body.starts_with("unhealthy: kafka-streams: kafka streams ERROR for ")
                && body.ends_with(": the global stream thread died\n"),
            "{body}"
        );
        let remote = call(&svc, Method::GET, "/healthy", "10.1.2.3:9").await;
        assert_eq!(
            text(remote).await,
            "unhealthy: kafka-streams: reason withheld\n"
        );
    }

    #[tokio::test]
    async fn up_evaluates_nothing() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let health = Health::builder()
            .check(
                "counted",
                from_fn(Scope::Local, move || {
                    r.fetch_add(1, Ordering::SeqCst);
                    async { Outcome::fail("broken") }
                }),
                [Probe::Liveness, Probe::Readiness, Probe::Startup],
                Policy::default(),
            )
            .unwrap()
            .build()
            .unwrap();
        let svc = ProbeService::builder().dialect(Kpow::new(health)).build();
        let up = call(&svc, Method::GET, "/up", "127.0.0.1:9").await;
        assert_eq!(up.status(), StatusCode::OK);
        assert_eq!(text(up).await, "ok");
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        let healthy = call(&svc, Method::GET, "/healthy", "127.0.0.1:9").await;
        assert_eq!(healthy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn head_keeps_the_length_and_other_methods_are_refused() {
        let svc = service(&StreamsState::new(), Details::Local);
        let head = call(&svc, Method::HEAD, "/healthy", "127.0.0.1:9").await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()[CONTENT_LENGTH], "2");
        assert_eq!(text(head).await, "");
        let post = call(&svc, Method::POST, "/up", "127.0.0.1:9").await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        let other = call(&svc, Method::GET, "/healthy/", "127.0.0.1:9").await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
    }
}
