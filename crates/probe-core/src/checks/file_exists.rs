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

impl Check for FileExistsCheck {
    fn scope(&self) -> Scope {
        Scope::Local
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let path = self.path.clone();
            match stat(path, |_| Ok(())).await {
                Ok(()) => Outcome::pass()
                    .with_message(format!("{} exists", self.path.display()))
                    .with_details(json!({ "path": self.path.to_string_lossy() })),
                Err(e) => missing_or_unreadable(&self.path, &e),
            }
        })
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

/// The failed outcome for a file that could not be read: missing, or why not.
pub(super) fn missing_or_unreadable(path: &Path, e: &io::Error) -> Outcome {
    let details = json!({ "path": path.to_string_lossy() });
    match e.kind() {
        io::ErrorKind::NotFound => {
            Outcome::fail(format!("{} does not exist", path.display())).with_details(details)
        }
        io::ErrorKind::PermissionDenied => {
            Outcome::fail(format!("cannot read {}: permission denied", path.display()))
                .with_details(details)
        }
        _ => Outcome::fail(format!(
            "cannot read {}: {}",
            path.display(),
            crate::text::io_reason(e)
        ))
        .with_details(details),
    }
}
