//! `application/health+json`, after the IETF draft "Health Check Response Format for HTTP APIs".

use probe_core::time::rfc3339;
use probe_core::{Report, Scope, Status};
use serde_json::{json, Map, Value};

/// The message shown to clients that may not see details.
pub(crate) const WITHHELD: &str = "reason withheld";

/// Renders `report` as a health+json document.
///
/// `status` is `pass`, `warn` or `fail`; `checks` maps each check name to a one-element
/// array with its `status`, `time`, `output` (why it failed, when `show_details`),
/// `observedValue`/`observedUnit` (the run's duration in ms) and `componentType`; the
/// engine's own fields (`rawStatus`, `cached`, `stale`, `consecutiveFailures`, `details`)
/// are extensions, as the draft allows. `output` at the top says which checks failed.
pub fn health_json(report: &Report, show_details: bool) -> Value {
    let mut checks = Map::new();
    for c in &report.checks {
        let mut o = Map::new();
        o.insert("status".into(), c.status.as_str().into());
        o.insert("time".into(), rfc3339(c.observed_at).into());
        o.insert(
            "componentType".into(),
            if c.scope == Scope::Local {
                "component"
            } else {
                "system"
            }
            .into(),
        );
        o.insert(
            "observedValue".into(),
            json!((c.duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0),
        );
        o.insert("observedUnit".into(), "ms".into());
        if let Some(m) = &c.message {
            let text = if show_details { &**m } else { WITHHELD };
            if show_details || c.status != Status::Pass {
                o.insert("output".into(), text.into());
            }
        }
        if c.raw != c.status {
            o.insert("rawStatus".into(), c.raw.as_str().into());
        }
        if c.cached {
            o.insert("cached".into(), true.into());
        }
        if c.stale {
            o.insert("stale".into(), true.into());
        }
        if c.consecutive_failures > 0 {
            o.insert("consecutiveFailures".into(), c.consecutive_failures.into());
        }
        if let (Some(d), true) = (&c.details, show_details) {
            o.insert("details".into(), (**d).clone());
        }
        checks.insert(c.name.to_string(), Value::Array(vec![Value::Object(o)]));
    }
    let mut doc = Map::new();
    doc.insert("status".into(), report.status.as_str().into());
    let failing: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| &*c.name)
        .collect();
    if !failing.is_empty() {
        doc.insert(
            "output".into(),
            format!("{} check failed: {}", report.probe, failing.join(", ")).into(),
        );
    }
    doc.insert("time".into(), rfc3339(report.time).into());
    doc.insert("checks".into(), Value::Object(checks));
    Value::Object(doc)
}
