//! `file-age`: a file exists and was modified recently (a worker's liveness file).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::file_exists::FileProblem;
use crate::time::human;
use crate::{BoxFuture, Check, Outcome, Scope};

/// Passes when the file at `path` exists and was modified within `max_age`.
///
/// This is the reading side of [`LivenessFile`](crate::heartbeat::LivenessFile): a worker
/// touches the file while its loop turns, and this check fails once the touching stops.
///
/// Ages are measured on the **wall clock** ([`SystemTime`]), not on tokio's clock like the
/// engine's timeouts and reuse windows. A modification time is a wall-clock timestamp
/// written by the kernel, possibly for another process or container that shares the
/// file; only the wall clock of this machine can be compared with it. The engine's
/// (pausable) clock is a monotonic clock private to this process and says nothing about
/// when a file was written, so tests of this check set modification times instead of
/// advancing a paused clock. A modification time in the future (clock skew between
/// containers) counts as age zero.
///
/// ```
/// use std::time::Duration;
/// use probe_core::checks::FileAgeCheck;
/// let live = FileAgeCheck::new("/app/tmp/celery_worker_event_loop.live", Duration::from_secs(70));
/// ```
#[derive(Clone, Debug)]
pub struct FileAgeCheck {
    path: PathBuf,
    max_age: Duration,
}

impl FileAgeCheck {
    /// A check of the file at `path`, failing when it was last modified more than
    /// `max_age` ago or is missing.
    pub fn new(path: impl Into<PathBuf>, max_age: Duration) -> Self {
        FileAgeCheck {
            path: path.into(),
            max_age,
        }
    }
}

impl FileAgeCheck {
    /// Looks at the file: how old it is against `max_age`, or why it cannot be used. The
    /// typed result behind [`check`](Check::check)'s outcome, for callers that decide on
    /// it (an exit status, their own wording).
    ///
    /// ```
    /// use std::time::Duration;
    /// use probe_core::checks::{FileAge, FileAgeCheck, FileProblem};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let live = FileAgeCheck::new("/nonexistent/worker.live", Duration::from_secs(70));
    /// assert_eq!(live.inspect().await, FileAge::Unusable(FileProblem::Missing));
    /// # });
    /// ```
    pub async fn inspect(&self) -> FileAge {
        let modified = super::file_exists::stat(self.path.clone(), |m| m.modified()).await;
        judge(modified, SystemTime::now(), self.max_age)
    }
}

impl Check for FileAgeCheck {
    fn scope(&self) -> Scope {
        Scope::Local
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { outcome(&self.path, &self.inspect().await) })
    }
}

/// What a [`FileAgeCheck`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileAge {
    /// Modified at most `max_age` ago (a modification time in the future counts as age
    /// zero).
    Fresh {
        /// How long ago it was modified.
        age: Duration,
        /// The limit.
        max_age: Duration,
    },
    /// Modified more than `max_age` ago.
    TooOld {
        /// How long ago it was modified.
        age: Duration,
        /// The limit.
        max_age: Duration,
    },
    /// The file could not be used: missing or unreadable.
    Unusable(FileProblem),
}

/// The rule, apart from the file system: what a modification time (or the error reading
/// it) means at `now`.
fn judge(modified: io::Result<SystemTime>, now: SystemTime, max_age: Duration) -> FileAge {
    let modified = match modified {
        Ok(t) => t,
        Err(e) => return FileAge::Unusable(FileProblem::from_io(&e)),
    };
    let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
    if age > max_age {
        FileAge::TooOld { age, max_age }
    } else {
        FileAge::Fresh { age, max_age }
    }
}

/// The check's outcome for what it saw at `path`.
fn outcome(path: &Path, seen: &FileAge) -> Outcome {
    let (age, max_age) = match seen {
        FileAge::Fresh { age, max_age } | FileAge::TooOld { age, max_age } => (*age, *max_age),
        FileAge::Unusable(problem) => return problem.outcome(path),
    };
    let shown = path.display();
    let details = json!({
        "path": path.to_string_lossy(),
        "age_seconds": age.as_secs_f64(),
        "max_age_seconds": max_age.as_secs_f64(),
    });
    let age_shown = human(shown_age(age));
    match seen {
        FileAge::TooOld { .. } => Outcome::fail(format!(
            "{shown} was last modified {age_shown} ago, more than the allowed {}",
            human(max_age)
        ))
        .with_details(details),
        _ => Outcome::pass()
            .with_message(format!("{shown} was modified {age_shown} ago"))
            .with_details(details),
    }
}

/// An age as people read it: milliseconds under 10 s, whole seconds (rounded up, so an
/// age over the limit never reads as equal to it) from there.
fn shown_age(age: Duration) -> Duration {
    if age < Duration::from_secs(10) {
        Duration::from_millis(age.as_millis() as u64)
    } else if age.subsec_nanos() > 0 {
        Duration::from_secs(age.as_secs().saturating_add(1))
    } else {
        Duration::from_secs(age.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    const MAX: Duration = Duration::from_secs(70);

    fn judged(
        path: &Path,
        modified: io::Result<SystemTime>,
        now: SystemTime,
        max: Duration,
    ) -> Outcome {
        outcome(path, &judge(modified, now, max))
    }

    fn at(now: SystemTime, secs_ago: u64) -> io::Result<SystemTime> {
        Ok(now - Duration::from_secs(secs_ago))
    }

    #[test]
    fn a_recent_file_passes_and_says_how_old_it_is() {
        let now = SystemTime::now();
        let o = judged(Path::new("/tmp/w.live"), at(now, 5), now, MAX);
        assert_eq!(o.status, Status::Pass);
        assert_eq!(
            o.message.as_deref(),
            Some("/tmp/w.live was modified 5s ago")
        );
        assert_eq!(o.details.unwrap()["max_age_seconds"], 70.0);
    }

    #[test]
    fn exactly_max_age_still_passes_one_more_millisecond_fails() {
        let now = SystemTime::now();
        assert_eq!(
            judged(Path::new("f"), at(now, 70), now, MAX).status,
            Status::Pass
        );
        let o = judged(
            Path::new("f"),
            Ok(now - MAX - Duration::from_millis(1)),
            now,
            MAX,
        );
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message.as_deref(),
            Some("f was last modified 71s ago, more than the allowed 70s")
        );
    }

    #[test]
    fn an_old_file_fails_naming_its_age_and_the_limit() {
        let now = SystemTime::now();
        let o = judged(Path::new("/app/tmp/x.live"), at(now, 600), now, MAX);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message.as_deref(),
            Some("/app/tmp/x.live was last modified 10m ago, more than the allowed 70s")
        );
    }

    #[test]
    fn a_missing_file_fails_plainly() {
        let err = io::Error::from(io::ErrorKind::NotFound);
        let o = judged(Path::new("/tmp/w.live"), Err(err), SystemTime::now(), MAX);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.message.as_deref(), Some("/tmp/w.live does not exist"));
    }

    #[test]
    fn an_unreadable_file_fails_with_the_reason() {
        let err = io::Error::from(io::ErrorKind::PermissionDenied);
        let o = judged(Path::new("/root/w.live"), Err(err), SystemTime::now(), MAX);
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message.as_deref(),
            Some("cannot read /root/w.live: permission denied")
        );
    }

    #[test]
    fn short_ages_keep_milliseconds() {
        let now = SystemTime::now();
        let o = judged(
            Path::new("f"),
            Ok(now - Duration::from_millis(1500)),
            now,
            MAX,
        );
        assert_eq!(o.message.as_deref(), Some("f was modified 1.5s ago"));
    }

    #[test]
    fn a_modification_time_in_the_future_counts_as_fresh() {
        let now = SystemTime::now();
        let o = judged(Path::new("f"), Ok(now + Duration::from_secs(30)), now, MAX);
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.message.as_deref(), Some("f was modified 0ms ago"));
    }

    #[test]
    fn what_the_check_saw_is_typed() {
        let now = SystemTime::now();
        let secs = Duration::from_secs;
        assert_eq!(
            judge(at(now, 5), now, MAX),
            FileAge::Fresh {
                age: secs(5),
                max_age: MAX
            }
        );
        assert_eq!(
            judge(at(now, 300), now, MAX),
            FileAge::TooOld {
                age: secs(300),
                max_age: MAX
            }
        );
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(
            judge(Err(missing), now, MAX),
            FileAge::Unusable(FileProblem::Missing)
        );
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(
            judge(Err(denied), now, MAX),
            FileAge::Unusable(FileProblem::Unreadable("permission denied".to_owned()))
        );
    }
}
