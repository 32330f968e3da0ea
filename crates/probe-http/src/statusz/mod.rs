//! `/statusz`: every probe and check on one page, from what the engine last published (a
//! page view runs no check).
//!
//! Per check: its effective and raw status, its message (following the details policy, as
//! `?verbose` does: others read `reason withheld`), the age of its last result, its policy
//! (timeout, reuse windows, thresholds, `max_age`, `critical`, schedule) and a timeline of
//! its last runs, one cell per run. HTML by default: self-contained (no scripts, no
//! external assets, a `Content-Security-Policy` that allows nothing else), readable
//! without JavaScript, refreshing itself every 5 s. `?format=json` gives the same data.

mod html;

use std::time::{Duration, SystemTime};

use http::header::{HeaderValue, CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};
use http::{Method, StatusCode};
use probe_core::time::{human, rfc3339};
use probe_core::{Health, Probe, Schedule, Status};
use serde::Serialize;

use crate::health_json::WITHHELD;
use crate::response::{answer, method_not_allowed};
use crate::{Req, Response};

/// What `/statusz` shows, as data (`?format=json`).
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    /// When the page was made (RFC 3339).
    pub(crate) time: String,
    pub(crate) probes: Vec<ProbeRow>,
    pub(crate) checks: Vec<CheckRow>,
}

/// One probe: its published status and its checks.
#[derive(Debug, Serialize)]
pub(crate) struct ProbeRow {
    pub(crate) probe: &'static str,
    pub(crate) status: Status,
    pub(crate) checks: Vec<String>,
}

/// One check.
#[derive(Debug, Serialize)]
pub(crate) struct CheckRow {
    pub(crate) name: String,
    pub(crate) probes: Vec<&'static str>,
    /// The effective status, in the check's own view.
    pub(crate) status: Status,
    /// The last run's raw status; `None` before the first run.
    pub(crate) raw: Option<Status>,
    pub(crate) message: Option<String>,
    /// How old the last result is, in milliseconds; `None` before the first run.
    pub(crate) age_ms: Option<u64>,
    pub(crate) consecutive_failures: u32,
    pub(crate) policy: PolicyRow,
    /// The last runs, oldest first.
    pub(crate) runs: Vec<RunCell>,
}

/// A check's policy, durations in milliseconds.
#[derive(Debug, Serialize)]
pub(crate) struct PolicyRow {
    pub(crate) timeout_ms: u64,
    pub(crate) cache_pass_ms: u64,
    pub(crate) cache_fail_ms: u64,
    pub(crate) failure_threshold: u32,
    pub(crate) success_threshold: u32,
    pub(crate) max_age_ms: Option<u64>,
    pub(crate) critical: bool,
    /// `on demand` or `every <period>`.
    pub(crate) schedule: String,
}

/// One run in a check's timeline.
#[derive(Debug, Serialize)]
pub(crate) struct RunCell {
    pub(crate) status: Status,
    pub(crate) raw: Status,
    pub(crate) time: String,
    pub(crate) duration_ms: f64,
    pub(crate) message: Option<String>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The page for `health`; messages only when `show`.
pub(crate) fn page(health: &Health, show: bool) -> Page {
    let withhold = |m: Option<&str>| {
        m.map(|m| {
            if show {
                m.to_owned()
            } else {
                WITHHELD.to_owned()
            }
        })
    };
    let probes = Probe::ALL
        .into_iter()
        .map(|p| ProbeRow {
            probe: p.as_str(),
            status: health.status(p),
            checks: health.names(p).map(str::to_owned).collect(),
        })
        .collect();
    let now = SystemTime::now();
    let checks = health
        .check_names()
        .map(|name| {
            let last = health.latest(name);
            let policy = health.policy(name).cloned().unwrap_or_default();
            let runs = health.history(name).unwrap_or_default();
            CheckRow {
                name: name.to_owned(),
                probes: Probe::ALL
                    .into_iter()
                    .filter(|p| health.contains(*p, name))
                    .map(Probe::as_str)
                    .collect(),
                status: last
                    .as_ref()
                    .map(|r| r.status)
                    .or_else(|| health.check_status(name))
                    .unwrap_or(Status::Fail),
                raw: last.as_ref().map(|r| r.raw),
                message: last.as_ref().and_then(|r| withhold(r.message.as_deref())),
                age_ms: last
                    .as_ref()
                    .map(|r| ms(now.duration_since(r.observed_at).unwrap_or_default())),
                consecutive_failures: last.as_ref().map_or(0, |r| r.consecutive_failures),
                policy: PolicyRow {
                    timeout_ms: ms(policy.timeout),
                    cache_pass_ms: ms(policy.cache_pass),
                    cache_fail_ms: ms(policy.cache_fail),
                    failure_threshold: policy.failure_threshold,
                    success_threshold: policy.success_threshold,
                    max_age_ms: policy.effective_max_age().map(ms),
                    critical: policy.critical,
                    schedule: match policy.schedule {
                        Schedule::OnDemand => "on demand".to_owned(),
                        Schedule::Every(p) => format!("every {}", human(p)),
                    },
                },
                runs: runs
                    .into_iter()
                    .map(|h| RunCell {
                        status: h.status,
                        raw: h.raw,
                        time: rfc3339(h.observed_at),
                        duration_ms: (h.duration.as_secs_f64() * 1e6).round() / 1e3,
                        message: withhold(h.message.as_deref()),
                    })
                    .collect(),
            }
        })
        .collect();
    Page {
        time: rfc3339(now),
        probes,
        checks,
    }
}

/// `Content-Security-Policy` of the HTML page: nothing but its own inline styles.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Answers `/statusz` for `health`.
pub(crate) fn respond(req: &Req<'_>, health: &Health, show: bool) -> Response {
    let method = &req.parts.method;
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed();
    }
    let page = page(health, show);
    if req.query.get("format").as_deref() == Some("json") {
        let body = serde_json::to_vec(&page).unwrap_or_default();
        return answer(
            method,
            StatusCode::OK,
            HeaderValue::from_static("application/json"),
            body,
        );
    }
    let mut resp = answer(
        method,
        StatusCode::OK,
        HeaderValue::from_static("text/html; charset=utf-8"),
        html::render(&page),
    );
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}
