//! The readiness file: present while the application takes work.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{blocking, reason};

/// Creating or removing the readiness file failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadinessFileError {
    /// The file could not be created.
    #[error("cannot create readiness file {path}: {reason}")]
    Create {
        /// The file.
        path: PathBuf,
        /// A plain reason.
        reason: String,
    },
    /// The file could not be removed.
    #[error("cannot remove readiness file {path}: {reason}")]
    Remove {
        /// The file.
        path: PathBuf,
        /// A plain reason.
        reason: String,
    },
}

/// A file that exists while the application is ready to take work.
///
/// [`set(true)`](ReadinessFile::set) creates it (empty), [`set(false)`](ReadinessFile::set)
/// removes it; both are idempotent. Call `set(false)` when shutdown begins, so the
/// orchestrator stops counting on this instance before it goes away. If the value is
/// dropped while the file it created still exists, the file is removed then (best
/// effort: one `unlink`, errors ignored), so an orderly exit never leaves a stale
/// "ready". A crash can still leave one behind; an application that reuses its
/// filesystem across restarts should call `set(false)` when it starts.
///
/// ```
/// use probe_core::heartbeat::ReadinessFile;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("probe-doc-ready-{}", std::process::id()));
/// let ready = ReadinessFile::new(&path);
/// ready.set(true).await.unwrap();
/// assert!(path.exists());
/// drop(ready);
/// assert!(!path.exists());
/// # });
/// ```
#[derive(Debug)]
pub struct ReadinessFile {
    path: PathBuf,
    /// This value created the file and has not removed it yet.
    created: AtomicBool,
}

impl ReadinessFile {
    /// A readiness file at `path`. Nothing is written until [`set`](ReadinessFile::set).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ReadinessFile {
            path: path.into(),
            created: AtomicBool::new(false),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file (`true`) or removes it (`false`). Creating an existing file keeps
    /// it; removing a missing one succeeds. The directory must exist.
    pub async fn set(&self, ready: bool) -> Result<(), ReadinessFileError> {
        let path = self.path.clone();
        if ready {
            blocking(move || {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map(drop)
            })
            .await
            .map_err(|e| ReadinessFileError::Create {
                path: self.path.clone(),
                reason: reason(&e),
            })?;
            self.created.store(true, Ordering::Release);
        } else {
            blocking(move || remove_if_present(&path))
                .await
                .map_err(|e| ReadinessFileError::Remove {
                    path: self.path.clone(),
                    reason: reason(&e),
                })?;
            self.created.store(false, Ordering::Release);
        }
        Ok(())
    }
}

impl Drop for ReadinessFile {
    fn drop(&mut self) {
        if self.created.load(Ordering::Acquire) {
            let _ = remove_if_present(&self.path);
        }
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
