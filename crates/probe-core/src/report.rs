//! What an evaluation returns: one entry per check, and the worst status.
//!
//! Both [`Report`] and [`CheckReport`] serialize (with `serde`) to JSON objects whose field
//! names are documented on each field; durations are milliseconds (`duration_ms`, a float),
//! times are RFC 3339 strings in UTC, statuses and kinds are lower-case words.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;

use crate::time::rfc3339;
use crate::{Attachment, Probe, Scope, Status};

/// The answer to one probe: every selected check's result and the overall status.
///
/// Serialized as `{"probe", "status", "time", "checks"}`.
#[derive(Clone, Debug)]
pub struct Report {
    /// Which probe this answers (`probe`: `liveness`, `readiness` or `startup`).
    pub probe: Probe,
    /// The worst effective status of the checks, pass when there are none (`status`).
    pub status: Status,
    /// One entry per evaluated check, in registration order; conditions the application
    /// set (not started, shutting down, marked not ready) come first, as failing entries
    /// (`checks`, an array).
    pub checks: Vec<CheckReport>,
    /// When the evaluation finished, wall clock (`time`).
    pub time: SystemTime,
}

impl Report {
    /// The entry for the check called `name`.
    pub fn get(&self, name: &str) -> Option<&CheckReport> {
        self.checks.iter().find(|c| &*c.name == name)
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Report", 4)?;
        st.serialize_field("probe", &self.probe)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("time", &rfc3339(self.time))?;
        st.serialize_field("checks", &self.checks)?;
        st.end()
    }
}

/// Whether a [`CheckReport`] is a registered check or a condition the engine adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// A registered check (`check`).
    Check,
    /// A condition of the application or the engine, not a check run (`condition`): the
    /// startup gate (`startup`), shutting down (`shutdown`), the readiness toggle (`ready`).
    Condition,
}

/// One check's part of a [`Report`].
///
/// Serialized as an object with the field names given below; the attachment is not
/// serialized.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The name it was registered under (`name`).
    pub name: Arc<str>,
    /// A check, or a condition (`kind`: `check` or `condition`).
    pub kind: ReportKind,
    /// The status that counts: after thresholds, staleness and `critical` (`status`).
    pub status: Status,
    /// What the last run itself returned (`raw`).
    pub raw: Status,
    /// Why it failed, or what it saw (`message`, a string or null).
    pub message: Option<Arc<str>>,
    /// Structured details, if the check gave any (`details`, any JSON or null).
    pub details: Option<Arc<Value>>,
    /// How long the run took (`duration_ms`, milliseconds as a float).
    pub duration: Duration,
    /// When the run finished, wall clock (`observed_at`).
    pub observed_at: SystemTime,
    /// The result was reused from an earlier run: reuse window or background schedule
    /// (`cached`).
    pub cached: bool,
    /// The result was older than `max_age`, so it fails (`stale`).
    pub stale: bool,
    /// Failed runs in a row, up to and including this one (`consecutive_failures`).
    pub consecutive_failures: u32,
    /// Passing runs in a row, up to and including this one (`consecutive_successes`).
    pub consecutive_successes: u32,
    /// Failed runs in a row it takes to fall from passing (`failure_threshold`).
    pub failure_threshold: u32,
    /// Passing runs in a row it takes to rise from failing (`success_threshold`).
    pub success_threshold: u32,
    /// Whether the last runs disagree with the effective status, inside a threshold
    /// (`trend`: `steady`, `failing` or `recovering`).
    pub trend: Trend,
    /// Local or dependency (`scope`).
    pub scope: Scope,
    /// What the run attached to its outcome, if anything; see [`Attachment`].
    pub attachment: Option<Attachment>,
}

impl CheckReport {
    /// An entry the engine itself produced (a condition set by the application), not a
    /// check run.
    pub(crate) fn condition(name: &str, status: Status, message: &str) -> Self {
        CheckReport {
            name: Arc::from(name),
            kind: ReportKind::Condition,
            status,
            raw: status,
            message: Some(Arc::from(message)),
            details: None,
            duration: Duration::ZERO,
            observed_at: SystemTime::now(),
            cached: false,
            stale: false,
            consecutive_failures: u32::from(status == Status::Fail),
            consecutive_successes: u32::from(status != Status::Fail),
            failure_threshold: 1,
            success_threshold: 1,
            trend: Trend::Steady,
            scope: Scope::Local,
            attachment: None,
        }
    }
}

/// Where a check is heading while a threshold holds its effective status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    /// The last run agrees with the effective status (`steady`).
    #[default]
    Steady,
    /// The last run failed, but the check still passes: fewer failures in a row than its
    /// `failure_threshold` (`failing`).
    Failing,
    /// The last run passed, but the check still fails: fewer successes in a row than its
    /// `success_threshold` (`recovering`).
    Recovering,
}

impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckReport", 16)?;
        st.serialize_field("name", &*self.name)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("message", &self.message.as_deref())?;
        st.serialize_field("details", &self.details.as_deref())?;
        st.serialize_field("duration_ms", &(self.duration.as_secs_f64() * 1000.0))?;
        st.serialize_field("observed_at", &rfc3339(self.observed_at))?;
        st.serialize_field("cached", &self.cached)?;
        st.serialize_field("stale", &self.stale)?;
        st.serialize_field("consecutive_failures", &self.consecutive_failures)?;
        st.serialize_field("consecutive_successes", &self.consecutive_successes)?;
        st.serialize_field("failure_threshold", &self.failure_threshold)?;
        st.serialize_field("success_threshold", &self.success_threshold)?;
        st.serialize_field("trend", &self.trend)?;
        st.serialize_field("scope", &self.scope)?;
        st.end()
    }
}

/// One past run of a check, as [`Health::history`](crate::Health::history) keeps it.
///
/// Serialized as `{"status", "raw", "observed_at", "duration_ms", "message"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// The check's effective status after this run (`status`).
    pub status: Status,
    /// What the run itself returned (`raw`).
    pub raw: Status,
    /// When the run finished, wall clock (`observed_at`).
    pub observed_at: SystemTime,
    /// How long the run took (`duration_ms`).
    pub duration: Duration,
    /// The run's message (`message`, a string or null).
    pub message: Option<Arc<str>>,
}

impl Serialize for HistoryEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("HistoryEntry", 5)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("observed_at", &rfc3339(self.observed_at))?;
        st.serialize_field("duration_ms", &(self.duration.as_secs_f64() * 1000.0))?;
        st.serialize_field("message", &self.message.as_deref())?;
        st.end()
    }
}
