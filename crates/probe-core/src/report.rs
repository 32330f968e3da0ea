//! What an evaluation returns: one entry per check, and the worst status.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::{Attachment, Probe, Scope, Status};

/// The answer to one probe: every selected check's result and the overall status.
#[derive(Clone, Debug)]
pub struct Report {
    /// Which probe this answers.
    pub probe: Probe,
    /// The worst effective status of the checks (pass when there are none).
    pub status: Status,
    /// One entry per evaluated check, in registration order; conditions the application
    /// set (not started, shutting down, marked not ready) come first, as failing entries.
    pub checks: Vec<CheckReport>,
    /// When the evaluation finished (wall clock).
    pub time: SystemTime,
}

impl Report {
    /// The entry for the check called `name`.
    pub fn get(&self, name: &str) -> Option<&CheckReport> {
        self.checks.iter().find(|c| &*c.name == name)
    }
}

/// One check's part of a [`Report`].
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The name it was registered under.
    pub name: Arc<str>,
    /// The status that counts: after thresholds, staleness and `critical`.
    pub status: Status,
    /// What the last run itself returned.
    pub raw: Status,
    /// Why it failed, or what it saw.
    pub message: Option<Arc<str>>,
    /// Structured details, if the check gave any.
    pub details: Option<Arc<Value>>,
    /// How long the run took.
    pub duration: Duration,
    /// When the run finished (wall clock).
    pub observed_at: SystemTime,
    /// The result was reused from an earlier run (reuse window or background schedule).
    pub cached: bool,
    /// The result was older than `max_age`, so it fails.
    pub stale: bool,
    /// Failed runs in a row, up to and including this one.
    pub consecutive_failures: u32,
    /// Local or dependency.
    pub scope: Scope,
    /// What the run attached to its outcome, if anything; see [`Attachment`].
    pub attachment: Option<Attachment>,
}

impl CheckReport {
    /// An entry the engine itself produced (a condition set by the application, a
    /// deadline), not a check run.
    pub(crate) fn condition(name: &str, status: Status, message: &str) -> Self {
        CheckReport {
            name: Arc::from(name),
            status,
            raw: status,
            message: Some(Arc::from(message)),
            details: None,
            duration: Duration::ZERO,
            observed_at: SystemTime::now(),
            cached: false,
            stale: false,
            consecutive_failures: u32::from(status == Status::Fail),
            scope: Scope::Local,
            attachment: None,
        }
    }
}
