//! The `open-klant` dialect: the three endpoints of django-health-check as Open Klant and
//! other maykin-common applications serve them.
//!
//! | path | evaluates |
//! |---|---|
//! | `/_healthz/livez/` | liveness: local checks only, the cheapest |
//! | `/_healthz/readyz/` | readiness (with the shutdown and ready conditions) |
//! | `/_healthz/` | everything: the startup probe's checks |
//!
//! - `GET`/`HEAD`: 200 when every entry passes, 500 when one fails or warns (as
//!   django-health-check 4 does); `OPTIONS`: 200 with `Allow: GET, HEAD, OPTIONS`; other
//!   methods 405 with the same `Allow`.
//! - Formats and their choice as the peer's (see [`negotiate`]): an HTML page, JSON,
//!   text, OpenMetrics, Atom and RSS.
//! - Each entry is shown under its label (see [`Shown`]), with the peer's words for a
//!   failure where the peer has them.
//! - These answers carry `Vary: Accept` and `Cache-Control: no-store`.
//! - The paths without their trailing slash answer 301 to the slashed path (query kept),
//!   with a relative `Location`, like Django's `APPEND_SLASH`.
//!
//! After the startup latch has closed, `/_healthz/` still runs every startup check on each
//! request (each on its own, as `/startupz/<name>` would), so it keeps reporting the truth
//! about every dependency the way django-health-check's endpoint does.

mod negotiate;
mod render;
mod words;

use std::collections::HashMap;
use std::sync::Arc;

use http::header::{HeaderValue, ALLOW, CONTENT_LENGTH, LOCATION, VARY};
use http::{Method, StatusCode};
use probe_core::{BoxFuture, CheckReport, Health, Probe, ReportKind, Select, Shutdown};

use crate::response::answer;
use crate::{Details, Dialect, Req, Response};

pub use self::words::{Shown, StandsFor};

/// The methods the endpoints answer.
const ALLOWED: &str = "GET, HEAD, OPTIONS";
/// `text/html; charset=utf-8`, Django's default content type.
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// The `open-klant` dialect over a [`Health`].
#[derive(Clone, Debug)]
pub struct OpenKlant {
    health: Health,
    details: Details,
    shown: Arc<HashMap<String, Shown>>,
}

impl OpenKlant {
    /// Serves `health` with the default details policy ([`Details::Local`]), every check
    /// shown under its name.
    pub fn new(health: Health) -> Self {
        OpenKlant {
            health,
            details: Details::default(),
            shown: Arc::default(),
        }
    }

    /// The same dialect with another details policy.
    pub fn details(mut self, details: Details) -> Self {
        self.details = details;
        self
    }

    /// Kept for configurations written for earlier versions: the trailing-slash redirect
    /// is relative, as Django's, so forwarding headers no longer matter to this dialect.
    pub fn trust_forwarded(self, _trust: bool) -> Self {
        self
    }

    /// Shows the check called `name` as `shown` says: under a label, and in the peer's
    /// words for the django-health-check check it stands for.
    pub fn show(mut self, name: impl Into<String>, shown: Shown) -> Self {
        Arc::make_mut(&mut self.shown).insert(name.into(), shown);
        self
    }

    /// Every entry of the `/_healthz/` answer.
    async fn everything(&self) -> Vec<CheckReport> {
        if !self.health.startup().has_passed() {
            return self
                .health
                .evaluate(Probe::Startup, &Select::All)
                .await
                .checks;
        }
        // The latch answers "passed" without running anything; run each check instead.
        let runs: Vec<_> = self
            .health
            .names(Probe::Startup)
            .map(|name| {
                let (health, name) = (self.health.clone(), name.to_owned());
                tokio::spawn(async move {
                    health
                        .evaluate(Probe::Startup, &Select::Only(name))
                        .await
                        .checks
                })
            })
            .collect();
        let mut checks = Vec::with_capacity(runs.len());
        for run in runs {
            // A run never panics (the engine catches a panicking check); were the task
            // lost anyway, its entry is simply missing and the rest is still reported.
            if let Ok(entries) = run.await {
                checks.extend(entries);
            }
        }
        checks
    }

    /// One entry as the peer would show it.
    fn entry(&self, c: &CheckReport, show: bool) -> render::Entry {
        let shown = self.shown.get(&*c.name);
        render::Entry {
            label: shown
                .and_then(Shown::label)
                .map_or_else(|| c.name.to_string(), str::to_owned),
            words: words::words(c, shown, show),
            passing: c.status == probe_core::Status::Pass,
            seconds: c.duration.as_secs_f64(),
            observed_at: c.observed_at,
        }
    }
}

/// Which endpoint a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Probe(Probe),
    AppendSlash,
}

fn route(path: &str) -> Option<Route> {
    Some(match path {
        "/_healthz/livez/" => Route::Probe(Probe::Liveness),
        "/_healthz/readyz/" => Route::Probe(Probe::Readiness),
        "/_healthz/" => Route::Probe(Probe::Startup),
        "/_healthz/livez" | "/_healthz/readyz" | "/_healthz" => Route::AppendSlash,
        _ => return None,
    })
}

impl Dialect for OpenKlant {
    fn name(&self) -> &'static str {
        "open-klant"
    }

    fn routes(&self) -> &'static [&'static str] {
        // The slashed paths answer; the unslashed ones redirect to them.
        &[
            "/_healthz/",
            "/_healthz/livez/",
            "/_healthz/readyz/",
            "/_healthz",
            "/_healthz/livez",
            "/_healthz/readyz",
        ]
    }

    fn shutdown(&self) -> Option<&Shutdown> {
        Some(self.health.shutdown())
    }

    fn answer<'a>(&'a self, req: Req<'a>) -> Option<BoxFuture<'a, Response>> {
        let route = route(req.path)?;
        Some(Box::pin(async move {
            let probe = match route {
                // Django's CommonMiddleware redirects before any view sees the method.
                Route::AppendSlash => return append_slash(&req),
                Route::Probe(p) => p,
            };
            let method = &req.parts.method;
            if method == Method::OPTIONS {
                return vary(allow(answer(method, StatusCode::OK, HTML, ""), true));
            }
            if method != Method::GET && method != Method::HEAD {
                return vary(allow(
                    answer(method, StatusCode::METHOD_NOT_ALLOWED, HTML, ""),
                    false,
                ));
            }
            let Some(format) = negotiate::negotiate(&req) else {
                return vary(negotiate::not_acceptable(method));
            };
            let checks = match probe {
                Probe::Startup => self.everything().await,
                p => self.health.evaluate(p, &Select::All).await.checks,
            };
            let show = self.details.shows(req.client);
            let entries: Vec<render::Entry> = checks
                .iter()
                .filter(|c| !is_startup_gate(c))
                .map(|c| self.entry(c, show))
                .collect();
            vary(render::render(&req, &entries, format))
        }))
    }
}

/// The entry the engine adds while startup has not latched. django-health-check has no
/// latch: its endpoints answer from their own checks, so the dialect leaves it out.
fn is_startup_gate(c: &CheckReport) -> bool {
    c.kind == ReportKind::Condition && &*c.name == "startup"
}

/// 301 to the same path with a trailing slash, the query kept, the location relative.
fn append_slash(req: &Req<'_>) -> Response {
    let uri = &req.parts.uri;
    let target = match uri.query() {
        Some(q) => format!("{}/?{q}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    let location = HeaderValue::try_from(target).unwrap_or_else(|_| HeaderValue::from_static("/"));
    let mut resp = answer(&req.parts.method, StatusCode::MOVED_PERMANENTLY, HTML, "");
    resp.headers_mut().insert(LOCATION, location);
    resp
}

/// `Allow: GET, HEAD, OPTIONS`, and for `OPTIONS` an explicit empty length, as Django's.
fn allow(mut resp: Response, options: bool) -> Response {
    let h = resp.headers_mut();
    h.insert(ALLOW, HeaderValue::from_static(ALLOWED));
    if options {
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    resp
}

/// `Vary: Accept`: the body depends on it.
fn vary(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_the_three_slashed_paths_and_their_unslashed_forms() {
        assert_eq!(
            route("/_healthz/livez/"),
            Some(Route::Probe(Probe::Liveness))
        );
        assert_eq!(
            route("/_healthz/readyz/"),
            Some(Route::Probe(Probe::Readiness))
        );
        assert_eq!(route("/_healthz/"), Some(Route::Probe(Probe::Startup)));
        for p in ["/_healthz/livez", "/_healthz/readyz", "/_healthz"] {
            assert_eq!(route(p), Some(Route::AppendSlash), "{p}");
        }
        assert_eq!(route("/_healthz/other/"), None);
        assert_eq!(route("/livez"), None);
    }
}
