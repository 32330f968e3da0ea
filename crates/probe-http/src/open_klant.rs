//! The `open-klant` dialect: the three endpoints of django-health-check as Open Klant and
//! other maykin-common applications serve them.
//!
//! | path | evaluates |
//! |---|---|
//! | `/_healthz/livez/` | liveness: local checks only, the cheapest |
//! | `/_healthz/readyz/` | readiness (with the shutdown, ready and startup conditions) |
//! | `/_healthz/` | everything: the startup probe's checks |
//!
//! - `GET`/`HEAD`; 200 when every entry passes (warn included), 500 otherwise.
//! - JSON `{"<name>": "OK" | "<message>"}` or text, one `<name>: OK` (or
//!   `<name>: <message>`) line per entry, chosen as django-health-check does: `?format=json`
//!   or `?format=text` first, then `Accept` by weight (`text/plain`, `text/*` and `*/*`
//!   give text, `application/json` and `application/*` JSON), 406 listing the supported
//!   types when nothing fits. These answers carry `Vary: Accept` and Django's
//!   `never_cache` headers; the redirects and the 405 only `Cache-Control: no-store`.
//! - The paths without their trailing slash answer 301 to the slashed path (query kept),
//!   like Django's `APPEND_SLASH`; the location is absolute, see [`crate::forwarded`].
//! - Clients that may not see details (see [`Details`]) read `unavailable` instead of a
//!   failure's message and `warning` instead of a warning's.
//!
//! After the startup latch has closed, `/_healthz/` still runs every startup check on each
//! request (each on its own, as `/startupz/<name>` would), so it keeps reporting the truth
//! about every dependency the way django-health-check's endpoint does.

use std::fmt::Write as _;

use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL, EXPIRES, LOCATION, VARY};
use http::{Method, StatusCode};
use probe_core::{BoxFuture, CheckReport, Health, Probe, Select, Shutdown, Status};
use serde_json::{Map, Value};

use crate::response::{answer, method_not_allowed, TEXT};
use crate::{Details, Dialect, Req, Response};

/// What a client that may not see details reads for a failed entry.
const UNAVAILABLE: &str = "unavailable";
/// What a client that may not see details reads for a warning.
const WARNING: &str = "warning";
/// The body of the 406 answer.
const NOT_ACCEPTABLE: &str =
    "Not Acceptable: Supported content types: text/plain, application/json";

/// The `open-klant` dialect over a [`Health`].
#[derive(Clone, Debug)]
pub struct OpenKlant {
    health: Health,
    details: Details,
    trust_forwarded: bool,
}

impl OpenKlant {
    /// Serves `health` with the default details policy ([`Details::Local`]), not trusting
    /// forwarding headers.
    pub fn new(health: Health) -> Self {
        OpenKlant {
            health,
            details: Details::default(),
            trust_forwarded: false,
        }
    }

    /// The same dialect with another details policy.
    pub fn details(mut self, details: Details) -> Self {
        self.details = details;
        self
    }

    /// The same dialect believing (or not) `Forwarded` / `X-Forwarded-*` headers when it
    /// builds redirect locations. Only turn this on behind a proxy that sets them.
    pub fn trust_forwarded(mut self, trust: bool) -> Self {
        self.trust_forwarded = trust;
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
            let method = &req.parts.method;
            if method != Method::GET && method != Method::HEAD {
                return method_not_allowed();
            }
            let probe = match route {
                Route::AppendSlash => return self.append_slash(&req),
                Route::Probe(p) => p,
            };
            let Some(format) = negotiate(&req) else {
                return never_cache(answer(
                    method,
                    StatusCode::NOT_ACCEPTABLE,
                    TEXT,
                    NOT_ACCEPTABLE,
                ));
            };
            let checks = match probe {
                Probe::Startup => self.everything().await,
                p => self.health.evaluate(p, &Select::All).await.checks,
            };
            render(&req, &checks, format, self.details.shows(req.client))
        }))
    }
}

impl OpenKlant {
    /// 301 to the same path with a trailing slash, the query kept.
    fn append_slash(&self, req: &Req<'_>) -> Response {
        let uri = &req.parts.uri;
        let target = match uri.query() {
            Some(q) => format!("{}/?{q}", uri.path()),
            None => format!("{}/", uri.path()),
        };
        let location = crate::forwarded::location(req.parts, self.trust_forwarded, &target);
        let location = HeaderValue::try_from(location)
            .or_else(|_| HeaderValue::try_from(target))
            .unwrap_or_else(|_| HeaderValue::from_static("/"));
        let mut resp = answer(&req.parts.method, StatusCode::MOVED_PERMANENTLY, TEXT, "");
        resp.headers_mut().insert(LOCATION, location);
        resp
    }
}

/// The two bodies this dialect renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Text,
}

/// django-health-check's choice: `?format=` first, then `Accept` ranges by weight
/// (ties keep their order), the first one served wins; `None` means 406.
fn negotiate(req: &Req<'_>) -> Option<Format> {
    match req.query.get("format").as_deref() {
        Some(f) if f.eq_ignore_ascii_case("json") => return Some(Format::Json),
        Some(f) if f.eq_ignore_ascii_case("text") => return Some(Format::Text),
        _ => {}
    }
    let mut accept = String::new();
    for v in req.parts.headers.get_all(ACCEPT) {
        if let Ok(v) = v.to_str() {
            accept.push_str(v);
            accept.push(',');
        }
    }
    choose(&accept)
}

/// Picks a format for an `Accept` value; an empty one accepts anything.
fn choose(accept: &str) -> Option<Format> {
    if accept.split(',').all(|t| t.trim().is_empty()) {
        return Some(Format::Text);
    }
    let mut ranges: Vec<(&str, f32)> = accept.split(',').filter_map(media_range).collect();
    ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranges.into_iter().find_map(|(media, _)| {
        let is = |m: &str| media.eq_ignore_ascii_case(m);
        if is("text/plain") || is("text/*") || is("*/*") {
            Some(Format::Text)
        } else if is("application/json") || is("application/*") {
            Some(Format::Json)
        } else {
            None
        }
    })
}

/// One `type/subtype; q=0.5; ...` range, or `None` when it is malformed or refused (q=0).
fn media_range(token: &str) -> Option<(&str, f32)> {
    let mut parts = token.split(';');
    let media = parts.next()?.trim();
    let (ty, sub) = media.split_once('/')?;
    if ty.is_empty() || sub.is_empty() {
        return None;
    }
    let mut q = 1.0;
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            if k.trim().eq_ignore_ascii_case("q") {
                q = v
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
    }
    (q > 0.0).then_some((media, q))
}

/// The answer for `checks`: 200 or 500, JSON or text.
fn render(req: &Req<'_>, checks: &[CheckReport], format: Format, show: bool) -> Response {
    let passing = checks.iter().all(|c| c.status.is_passing());
    let code = if passing {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let method = &req.parts.method;
    let resp = match format {
        Format::Json => {
            let mut doc = Map::new();
            for c in checks {
                doc.insert(c.name.to_string(), Value::String(entry(c, show)));
            }
            let body = serde_json::to_vec(&doc).unwrap_or_else(|_| b"{}".to_vec());
            answer(
                method,
                code,
                HeaderValue::from_static("application/json"),
                body,
            )
        }
        Format::Text => {
            let mut out = String::with_capacity(48 * checks.len());
            for c in checks {
                let _ = writeln!(out, "{}: {}", c.name, one_line(&entry(c, show)));
            }
            answer(method, code, TEXT, out)
        }
    };
    never_cache(resp)
}

/// `OK`, a failure's message, or `warning: <message>`; withheld for clients that may not
/// see details.
fn entry(c: &CheckReport, show: bool) -> String {
    let message = c.message.as_deref().filter(|_| show);
    match (c.status, message) {
        (Status::Pass, _) => "OK".to_owned(),
        (Status::Warn, Some(m)) => format!("{WARNING}: {m}"),
        (Status::Warn, None) => WARNING.to_owned(),
        (Status::Fail, Some(m)) => m.to_owned(),
        (Status::Fail, None) => UNAVAILABLE.to_owned(),
    }
}

/// Messages are one line in the text format.
fn one_line(m: &str) -> String {
    m.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Django's `never_cache` headers, and `Vary: Accept` (the body depends on it).
fn never_cache(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, no-store, must-revalidate, private"),
    );
    h.insert(
        EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
    h.insert(VARY, HeaderValue::from_static("Accept"));
    resp
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use probe_core::Scope;

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

    #[test]
    fn accept_is_read_by_weight_like_django_health_check() {
        assert_eq!(choose(""), Some(Format::Text));
        assert_eq!(choose("*/*"), Some(Format::Text));
        assert_eq!(choose("text/plain"), Some(Format::Text));
        assert_eq!(choose("text/*"), Some(Format::Text));
        assert_eq!(choose("application/json"), Some(Format::Json));
        assert_eq!(choose("application/*"), Some(Format::Json));
        assert_eq!(
            choose("application/json; q=0.8, text/plain; q=0.5"),
            Some(Format::Json)
        );
        assert_eq!(
            choose("text/plain; q=0.1, application/json"),
            Some(Format::Json)
        );
        // A browser: no HTML here, so */* decides.
        assert_eq!(
            choose("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Some(Format::Text)
        );
        // Unsupported first, a fallback later.
        assert_eq!(
            choose("application/octet-stream, application/json; q=0.9"),
            Some(Format::Json)
        );
        // Equal weights keep their order.
        assert_eq!(choose("application/json, text/plain"), Some(Format::Json));
        assert_eq!(choose("image/png"), None);
        assert_eq!(choose("text/html"), None);
        // q=0 refuses; malformed ranges are skipped.
        assert_eq!(choose("application/json; q=0"), None);
        assert_eq!(
            choose("garbage, application/json;q=2, text/plain"),
            Some(Format::Text)
        );
    }

    fn report(name: &str, status: Status, message: Option<&str>) -> CheckReport {
        CheckReport {
            name: Arc::from(name),
            kind: probe_core::ReportKind::Check,
            status,
            raw: status,
            message: message.map(Arc::from),
            details: None,
            duration: Duration::ZERO,
            observed_at: SystemTime::now(),
            cached: false,
            stale: false,
            consecutive_failures: 0,
            consecutive_successes: 0,
            failure_threshold: 1,
            success_threshold: 1,
            trend: probe_core::Trend::Steady,
            scope: Scope::Local,
            attachment: None,
        }
    }

    #[test]
    fn entries_read_ok_or_the_message_unless_withheld() {
        let pass = report("db", Status::Pass, Some("connected in 2ms"));
        let warn = report("disk", Status::Warn, Some("90% full"));
        let fail = report("cache", Status::Fail, Some("connection refused"));
        assert_eq!(entry(&pass, true), "OK");
        assert_eq!(entry(&warn, true), "warning: 90% full");
        assert_eq!(entry(&fail, true), "connection refused");
        assert_eq!(entry(&pass, false), "OK");
        assert_eq!(entry(&warn, false), "warning");
        assert_eq!(entry(&fail, false), "unavailable");
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
