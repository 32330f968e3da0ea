//! How an entry reads: its label, and the peer's words for its status.

use std::time::Duration;

use probe_core::{CheckReport, ReportKind, Status};

/// Which of django-health-check's checks a probe check stands for; it decides the words
/// a failure reads in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StandsFor {
    /// `health_check.Cache`, as a `redis` check writing and reading a key: any failure
    /// reads `Unexpected Result: Connection Error`, what the peer says for every error of
    /// Django's Redis cache backend.
    Cache,
    /// `health_check.Database` over PostgreSQL: `Unavailable: connection failed`, what
    /// the peer says when psycopg cannot connect.
    Database,
    /// `health_check.Storage` over a directory: `Unknown Error: unknown error`, what the
    /// peer says when the file system refuses.
    Storage,
    /// None of them: `Unavailable: <the check's message>`.
    #[default]
    Other,
}

/// How one check shows in the dialect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    label: Option<String>,
    stands_for: StandsFor,
    timeout: Option<Duration>,
}

impl Shown {
    /// Shown under its name, in its own words.
    pub fn new() -> Self {
        Shown::default()
    }

    /// Shown under `label` (`Cache(alias='default')`) instead of its name.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The same, under `label`.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The same, failing in the words of the check it stands for.
    pub fn standing_for(mut self, stands_for: StandsFor) -> Self {
        self.stands_for = stands_for;
        self
    }

    /// The same, its timeout known: a run cut off by it reads `Unavailable: Timed out
    /// after <seconds> seconds`, as the peer's do.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// What a client that may not see details reads instead of a message.
const WITHHELD: &str = "reason withheld";

/// The words of one entry: `OK`, `Warning: …`, or a failure in the peer's words.
pub(super) fn words(c: &CheckReport, shown: Option<&Shown>, show: bool) -> String {
    let message = || match (&c.message, show) {
        (Some(m), true) => m.to_string(),
        (None, true) => "failed".to_owned(),
        (_, false) => WITHHELD.to_owned(),
    };
    match c.status {
        Status::Pass => "OK".to_owned(),
        Status::Warn => format!("Warning: {}", message()),
        Status::Fail if c.kind == ReportKind::Condition => {
            format!("Unavailable: {}", c.message.as_deref().unwrap_or("failed"))
        }
        Status::Fail => {
            let timed_out = c
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("timed out after "));
            match (shown, timed_out) {
                (
                    Some(Shown {
                        timeout: Some(t), ..
                    }),
                    true,
                ) => {
                    format!("Unavailable: Timed out after {} seconds", t.as_secs_f64())
                }
                (Some(s), _) => match s.stands_for {
                    StandsFor::Cache => "Unexpected Result: Connection Error".to_owned(),
                    StandsFor::Database => "Unavailable: connection failed".to_owned(),
                    StandsFor::Storage => storage_words(c),
                    StandsFor::Other => format!("Unavailable: {}", message()),
                },
                (None, _) => format!("Unavailable: {}", message()),
            }
        }
    }
}

/// The peer's words for a storage failure: its own for a file that read back wrong or
/// would not go away, `Unknown Error: unknown error` for anything the file system
/// refused.
fn storage_words(c: &CheckReport) -> String {
    use probe_core::checks::StorageFailure;
    let failure = c
        .attachment
        .as_ref()
        .and_then(|a| a.downcast_ref::<StorageFailure>());
    match failure {
        Some(StorageFailure::Mismatch) => "Unavailable: File content does not match",
        Some(StorageFailure::NotDeleted) => "Unavailable: File was not deleted",
        Some(StorageFailure::Missing) => "Unavailable: File does not exist",
        Some(StorageFailure::Refused) | None => "Unknown Error: unknown error",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use probe_core::{Outcome, Scope};

    use super::*;

    fn report(status: Status, message: Option<&str>) -> CheckReport {
        CheckReport {
            name: Arc::from("c"),
            kind: ReportKind::Check,
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
            scope: Scope::Dependency,
            attachment: None,
        }
    }

    #[test]
    fn failures_read_in_the_peer_words_of_what_they_stand_for() {
        let fail = report(
            Status::Fail,
            Some("redis: connection refused by 127.0.0.1:1"),
        );
        let as_ = |s: StandsFor| Shown::new().standing_for(s);
        assert_eq!(
            words(&fail, Some(&as_(StandsFor::Cache)), true),
            "Unexpected Result: Connection Error"
        );
        assert_eq!(
            words(&fail, Some(&as_(StandsFor::Database)), false),
            "Unavailable: connection failed"
        );
        assert_eq!(
            words(&fail, Some(&as_(StandsFor::Storage)), true),
            "Unknown Error: unknown error"
        );
        assert_eq!(
            words(&fail, None, true),
            "Unavailable: redis: connection refused by 127.0.0.1:1"
        );
        assert_eq!(words(&fail, None, false), "Unavailable: reason withheld");
        let slow = report(Status::Fail, Some("timed out after 5s"));
        let timed = as_(StandsFor::Database).with_timeout(Duration::from_secs(5));
        assert_eq!(
            words(&slow, Some(&timed), true),
            "Unavailable: Timed out after 5 seconds"
        );
        let timed = Shown::new().with_timeout(Duration::from_millis(800));
        assert_eq!(
            words(&slow, Some(&timed), true),
            "Unavailable: Timed out after 0.8 seconds"
        );
    }

    #[test]
    fn passes_and_warnings() {
        assert_eq!(words(&report(Status::Pass, Some("fine")), None, true), "OK");
        let warn = report(Status::Warn, Some("disk 91% full"));
        assert_eq!(words(&warn, None, true), "Warning: disk 91% full");
        assert_eq!(words(&warn, None, false), "Warning: reason withheld");
        let mut storage = report(Status::Fail, Some("mismatch"));
        storage.attachment = Outcome::fail("x")
            .with_attachment(probe_core::checks::StorageFailure::Mismatch)
            .attachment;
        assert_eq!(
            words(
                &storage,
                Some(&Shown::new().standing_for(StandsFor::Storage)),
                true
            ),
            "Unavailable: File content does not match"
        );
    }
}
