//! `storage`: a directory takes a file, gives it back and lets it go, as
//! django-health-check's storage check does with Django's default storage.

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::{BoxFuture, Check, Outcome, Scope};

/// How a storage run failed; attached to the failed [`Outcome`] so an endpoint can word it
/// as its peer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFailure {
    /// The file system refused to create, write, read or delete the file.
    Refused,
    /// The file was gone right after it was written.
    Missing,
    /// The file read back differs from what was written.
    Mismatch,
    /// The file was still there after it was deleted.
    NotDeleted,
}

/// The most a run writes and reads: the file is one short line, and a file that grew
/// past this between the write and the read is a mismatch, not a reason to read on.
const MAX_BYTES: u64 = 256;

/// Writes a uniquely named file into a directory, reads it back, deletes it and makes
/// sure it is gone. Passes when all four steps do.
///
/// The file (`probe-storage-<pid>-<time>-<n>.txt`, under 100 bytes) is created new, so a
/// run never overwrites anything; a run that fails after writing still tries to delete
/// it. The directory must exist: the check never creates one. The work runs on tokio's
/// blocking pool; the engine's timeout bounds how long a run may take.
///
/// ```
/// use probe_core::checks::StorageCheck;
/// let media = StorageCheck::new("/app/media");
/// ```
#[derive(Clone, Debug)]
pub struct StorageCheck {
    dir: PathBuf,
}

impl StorageCheck {
    /// A check of the directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StorageCheck { dir: dir.into() }
    }

    /// One round trip: write, read back, delete, make sure it is gone.
    pub async fn round_trip(&self) -> Result<(), (StorageFailure, String)> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || round_trip(&dir))
            .await
            .unwrap_or_else(|e| Err((StorageFailure::Refused, format!("the run was lost: {e}"))))
    }
}

fn unique_name() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("probe-storage-{}-{nanos}-{n}.txt", std::process::id())
}

fn round_trip(dir: &Path) -> Result<(), (StorageFailure, String)> {
    let path = dir.join(unique_name());
    let content = format!(
        "# written by probe's storage check at {}\n",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    );
    let refused = |step: &str, e: io::Error| {
        (
            StorageFailure::Refused,
            format!("cannot {step} {}: {e}", path.display()),
        )
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(content.as_bytes()));
    if let Err(e) = written {
        // A partial file is still ours to remove; one that was never created is not there.
        let _ = std::fs::remove_file(&path);
        return Err(refused("write", e));
    }
    let result = check_written(&path, content.as_bytes()).and_then(|()| {
        std::fs::remove_file(&path).map_err(|e| refused("delete", e))?;
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            _ => Err((
                StorageFailure::NotDeleted,
                format!("{} is still there after it was deleted", path.display()),
            )),
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    result
}

fn check_written(path: &Path, content: &[u8]) -> Result<(), (StorageFailure, String)> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err((
                StorageFailure::Missing,
                format!("{} was gone right after it was written", path.display()),
            ))
        }
        Err(e) => {
            return Err((
                StorageFailure::Refused,
                format!("cannot read {}: {e}", path.display()),
            ))
        }
    };
    let mut back = Vec::with_capacity(content.len());
    file.take(MAX_BYTES).read_to_end(&mut back).map_err(|e| {
        (
            StorageFailure::Refused,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    if back != content {
        return Err((
            StorageFailure::Mismatch,
            format!("{} read back differs from what was written", path.display()),
        ));
    }
    Ok(())
}

impl Check for StorageCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match self.round_trip().await {
                Ok(()) => Outcome::pass()
                    .with_message(format!(
                        "{} took, returned and deleted a file",
                        self.dir.display()
                    ))
                    .with_details(json!({ "path": self.dir.to_string_lossy() })),
                Err((failure, message)) => Outcome::fail(message)
                    .with_details(json!({ "path": self.dir.to_string_lossy() }))
                    .with_attachment(failure),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("probe-storage-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_writable_directory_passes_and_is_left_empty() {
        let dir = scratch("ok");
        let outcome = StorageCheck::new(&dir).check().await;
        assert_eq!(outcome.status, Status::Pass, "{:?}", outcome.message);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_path_that_cannot_hold_files_fails_as_refused() {
        let dir = scratch("file");
        let file = dir.join("plain");
        std::fs::write(&file, "x").unwrap();
        for target in [file.join("sub"), dir.join("missing")] {
            let outcome = StorageCheck::new(&target).check().await;
            assert_eq!(outcome.status, Status::Fail);
            assert!(
                outcome
                    .message
                    .as_deref()
                    .unwrap()
                    .starts_with("cannot write "),
                "{:?}",
                outcome.message
            );
            let failure = outcome.attachment.unwrap();
            assert_eq!(
                failure.downcast_ref::<StorageFailure>(),
                Some(&StorageFailure::Refused)
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_are_unique_within_a_process() {
        assert_ne!(unique_name(), unique_name());
    }
}
