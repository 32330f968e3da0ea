//! The `kubernetes` dialect: `/livez`, `/readyz`, `/startupz`, as kube-apiserver serves them.
//!
//! - `GET`/`HEAD` `/<kind>` evaluates the probe; `/<kind>/<check>` evaluates that check alone
//!   (an unknown name is 404); `?exclude=<check>` (repeatable) leaves checks out.
//! - 200 when passing (warn included), 503 when failing.
//! - Text: `ok` when passing; with `?verbose` (or on failure) one line per check,
//!   `[+]<name> ok` or `[-]<name> failed: <reason>`, then `<kind> check passed|failed`.
//! - `application/health+json` when `Accept` names it or `application/json`, or `?format=json`.
//! - `GET`/`HEAD` `/statusz`: every probe and check on one HTML page (`?format=json`: the
//!   same data), from the published statuses; messages follow the details policy.

use std::fmt::Write as _;

use http::header::HeaderValue;
use http::{Method, StatusCode};
use probe_core::{BoxFuture, Health, Probe, Report, Select, Shutdown, Status, Trend};

use crate::accept;
use crate::health_json::{health_json, WITHHELD};
use crate::response::{answer, method_not_allowed, not_found, TEXT};
use crate::{Details, Dialect, Req, Response};

/// The `kubernetes` dialect over a [`Health`].
#[derive(Clone, Debug)]
pub struct Kubernetes {
    health: Health,
    details: Details,
}

impl Kubernetes {
    /// Serves `health` with the default details policy ([`Details::Local`]).
    pub fn new(health: Health) -> Self {
        Kubernetes {
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

/// The route name of a probe kind: `livez`, `readyz`, `startupz`.
pub(crate) fn kind_name(probe: Probe) -> &'static str {
    match probe {
        Probe::Liveness => "livez",
        Probe::Readiness => "readyz",
        Probe::Startup => "startupz",
    }
}

impl Dialect for Kubernetes {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn routes(&self) -> &'static [&'static str] {
        &[
            "/livez",
            "/livez/{*check}",
            "/readyz",
            "/readyz/{*check}",
            "/startupz",
            "/startupz/{*check}",
            "/statusz",
        ]
    }

    fn shutdown(&self) -> Option<&Shutdown> {
        Some(self.health.shutdown())
    }

    fn answer<'a>(&'a self, req: Req<'a>) -> Option<BoxFuture<'a, Response>> {
        if req.path == "/statusz" {
            let show = self.details.shows(req.client);
            return Some(Box::pin(std::future::ready(crate::statusz::respond(
                &req,
                &self.health,
                show,
            ))));
        }
        let rest = req.path.strip_prefix('/')?;
        let (kind, check) = match rest.split_once('/') {
            Some((k, c)) => (k, Some(c)),
            None => (rest, None),
        };
        let probe = match kind {
            "livez" => Probe::Liveness,
            "readyz" => Probe::Readiness,
            "startupz" => Probe::Startup,
            _ => return None,
        };
        // The hot path: a plain liveness probe with no liveness checks always passes (no
        // condition applies to liveness), so it is answered without an evaluation.
        if probe == Probe::Liveness
            && check.is_none()
            && req.query.0.is_empty()
            && (req.parts.method == Method::GET || req.parts.method == Method::HEAD)
            && self.health.is_empty(Probe::Liveness)
            && !wants_json(&req)
        {
            return Some(Box::pin(std::future::ready(answer(
                &req.parts.method,
                StatusCode::OK,
                TEXT,
                "ok",
            ))));
        }
        Some(Box::pin(async move {
            let method = &req.parts.method;
            if method != Method::GET && method != Method::HEAD {
                return method_not_allowed();
            }
            let select = match check {
                Some(name) if self.health.contains(probe, name) => Select::Only(name.to_owned()),
                Some(_) => return not_found(method),
                None => {
                    // Only registered names are kept: an unknown name is not a check, and
                    // nothing a request sends is echoed back as one.
                    let excluded: Vec<String> = req
                        .query
                        .all("exclude")
                        .filter(|n| self.health.contains(probe, n))
                        .map(|s| s.into_owned())
                        .collect();
                    if excluded.is_empty() {
                        Select::All
                    } else {
                        Select::Exclude(excluded)
                    }
                }
            };
            let report = self.health.evaluate(probe, &select).await;
            render(&req, &report, &select, self.details.shows(req.client))
        }))
    }
}

/// Renders `report` for `req`: text or health+json, 200 or 503.
pub(crate) fn render(req: &Req<'_>, report: &Report, select: &Select, show: bool) -> Response {
    let code = if report.status.is_passing() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let method = &req.parts.method;
    if wants_json(req) {
        let ct = if prefers_plain_json(req) {
            "application/json"
        } else {
            "application/health+json"
        };
        let body = serde_json::to_vec(&health_json(report, show)).unwrap_or_default();
        return answer(method, code, HeaderValue::from_static(ct), body);
    }
    if report.status.is_passing() && !req.query.has("verbose") {
        return answer(method, code, TEXT, "ok");
    }
    answer(method, code, TEXT, verbose_text(report, select, show))
}

fn verbose_text(report: &Report, select: &Select, show: bool) -> String {
    let mut out = String::with_capacity(64 * (report.checks.len() + 1));
    for c in &report.checks {
        let reason = |m: &Option<std::sync::Arc<str>>| match (show, m) {
            (true, Some(m)) => one_line(m),
            _ => WITHHELD.to_owned(),
        };
        // Names are checked when they are registered: nothing here came from the request.
        let name = &c.name;
        if c.trend == Trend::Failing {
            // Passing for now, but its last runs failed: say so, and how close it is.
            let _ = writeln!(
                out,
                "[+]{name} ok for now: failing, {} of {} failures before it fails: {}",
                c.consecutive_failures,
                c.failure_threshold,
                reason(&c.message)
            );
            continue;
        }
        if c.trend == Trend::Recovering {
            let _ = writeln!(
                out,
                "[-]{name} failed: recovering, {} of {} successes before it passes",
                c.consecutive_successes, c.success_threshold
            );
            continue;
        }
        match c.status {
            // What a passing check saw is shown only to clients that may see details.
            Status::Pass => match (&c.message, show) {
                (Some(m), true) => {
                    let _ = writeln!(out, "[+]{name} ok: {}", one_line(m));
                }
                _ => {
                    let _ = writeln!(out, "[+]{name} ok");
                }
            },
            Status::Warn => {
                let _ = writeln!(out, "[+]{name} ok (warn: {})", reason(&c.message));
            }
            Status::Fail => {
                let _ = writeln!(out, "[-]{name} failed: {}", reason(&c.message));
            }
        }
    }
    if let Select::Exclude(names) = select {
        for n in names {
            let _ = writeln!(out, "[+]{n} excluded: ok");
        }
    }
    let verdict = if report.status.is_passing() {
        "passed"
    } else {
        "failed"
    };
    let _ = writeln!(out, "{} check {verdict}", kind_name(report.probe));
    out
}

/// Messages are one line in the text format.
pub(crate) fn one_line(m: &str) -> String {
    m.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// JSON when `?format=json`, or when `Accept` accepts `application/health+json` or
/// `application/json` (a range with `q=0` refuses it, as HTTP says).
pub(crate) fn wants_json(req: &Req<'_>) -> bool {
    if let Some(f) = req.query.get("format") {
        return f.eq_ignore_ascii_case("json");
    }
    accept::ranges(&req.parts.headers)
        .iter()
        .any(|r| (r.is("application/health+json") || r.is("application/json")) && r.acceptable())
}

/// The JSON answer is labelled `application/json` unless the client asked for
/// `application/health+json` by name (and did not refuse it).
pub(crate) fn prefers_plain_json(req: &Req<'_>) -> bool {
    req.query.get("format").is_none()
        && !accept::ranges(&req.parts.headers)
            .iter()
            .any(|r| r.is("application/health+json") && r.acceptable())
}
