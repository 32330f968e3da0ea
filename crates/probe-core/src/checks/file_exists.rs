//! `file-exists`: a file is present (a worker's readiness file).

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::{BoxFuture, Check, Outcome, Scope};

/// Passes when something exists at `path`; the reading side of
/// [`ReadinessFile`](crate::heartbeat::ReadinessFile).
///
/// ```
/// use probe_core::checks::FileExistsCheck;
/// let ready = FileExistsCheck::new("/app/tmp/celery_worker.ready");
/// ```
#[derive(Clone, Debug)]
pub struct FileExistsCheck {
    path: PathBuf,
}

impl FileExistsCheck {
    /// A check of `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileExistsCheck { path: path.into() }
    }
}

impl FileExistsCheck {
    /// Looks at the path: `Ok` when something exists there, else why not. The typed
    /// result behind [`check`](Check::check)'s outcome, for callers that decide on it.
    ///
    /// ```
    /// use probe_core::checks::{FileExistsCheck, FileProblem};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let ready = FileExistsCheck::new("/nonexistent/worker.ready");
    /// assert_eq!(ready.inspect().await, Err(FileProblem::Missing));
    /// # });
    /// ```
    pub async fn inspect(&self) -> Result<(), FileProblem> {
        stat(self.path.clone(), |_| Ok(()))
            .await
            .map_err(|e| FileProblem::from_io(&e))
    }
}

impl Check for FileExistsCheck {
    fn scope(&self) -> Scope {
        Scope::Local
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match self.inspect().await {
                Ok(()) => Outcome::pass()
                    .with_message(format!("{} exists", self.path.display()))
                    .with_details(json!({ "path": self.path.to_string_lossy() })),
                Err(problem) => problem.outcome(&self.path),
            }
        })
    }
}

/// Why a file check could not use the file at its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileProblem {
    /// Nothing exists at the path.
    Missing,
    /// Something may be there, but it could not be read: why, in a few words
    /// (`permission denied`).
    Unreadable(String),
}

impl FileProblem {
    /// The problem an error from reading the path's metadata means.
    pub fn from_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => FileProblem::Missing,
            io::ErrorKind::PermissionDenied => {
                FileProblem::Unreadable("permission denied".to_owned())
            }
            _ => FileProblem::Unreadable(crate::text::io_reason(e)),
        }
    }

    /// The check's message for it: `<path> does not exist`, `cannot read <path>: <why>`.
    pub fn message(&self, path: &Path) -> String {
        match self {
            FileProblem::Missing => format!("{} does not exist", path.display()),
            FileProblem::Unreadable(why) => format!("cannot read {}: {why}", path.display()),
        }
    }

    /// The failed outcome for it.
    pub(super) fn outcome(&self, path: &Path) -> Outcome {
        Outcome::fail(self.message(path)).with_details(json!({ "path": path.to_string_lossy() }))
    }
}

/// Reads `path`'s metadata on tokio's blocking pool (a stat on a hung network mount must
/// not stall the runtime) and picks what the caller needs from it.
pub(super) async fn stat<T, F>(path: PathBuf, pick: F) -> io::Result<T>
where
    F: FnOnce(&Metadata) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(move || pick(&std::fs::metadata(path)?)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::other("the file system call did not finish")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_the_check_says_them() {
        let path = Path::new("/app/tmp/w.ready");
        let missing = FileProblem::from_io(&io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(missing, FileProblem::Missing);
        assert_eq!(missing.message(path), "/app/tmp/w.ready does not exist");
        let denied = FileProblem::from_io(&io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(
            denied.message(path),
            "cannot read /app/tmp/w.ready: permission denied"
        );
        let o = denied.outcome(path);
        assert_eq!(o.status, crate::Status::Fail);
        assert_eq!(o.details.unwrap()["path"], "/app/tmp/w.ready");
    }

    #[tokio::test]
    async fn inspect_and_check_agree() {
        let present = FileExistsCheck::new(std::env::temp_dir());
        assert_eq!(present.inspect().await, Ok(()));
        assert_eq!(present.check().await.status, crate::Status::Pass);
        let gone = format!("probe-file-exists-{}-absent", std::process::id());
        let absent = FileExistsCheck::new(std::env::temp_dir().join(gone));
        assert_eq!(absent.inspect().await, Err(FileProblem::Missing));
        let o = absent.check().await;
        assert_eq!(o.status, crate::Status::Fail);
        assert!(o.message.unwrap().ends_with("-absent does not exist"));
    }
}
