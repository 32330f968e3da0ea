//! The liveness file: touched at an interval while the application's loop turns.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{blocking, reason};

/// Touching the liveness file failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot touch liveness file {path}: {reason}")]
pub struct TouchError {
    /// The file.
    pub path: PathBuf,
    /// A plain reason: permission denied, no such file or directory, ...
    pub reason: String,
}

// === impl LivenessFile ===

/// A file whose modification time says "my loop was turning at this time".
///
/// Two ways to drive it, depending on what should count as alive:
///
/// - [`spawn`](LivenessFile::spawn) starts a writer task and returns a [`Heartbeat`].
///   The application calls [`Heartbeat::beat`] from every turn of its loop (a cheap
///   atomic store); the writer touches the file every `interval`, **but only if a beat
///   came since its last touch**. A loop that hangs (a deadlock, a blocking call, an
///   `await` that never returns) stops beating, so the file stops moving even though the
///   writer task itself is healthy. This is the mode to use: it catches a hung loop on a
///   multi-threaded runtime, where a free-running timer task would keep touching.
/// - [`touch`](LivenessFile::touch) touches it once, now. An application whose loop
///   already has a tick (a `select!` over work and an interval) can call it from that
///   tick; the file then moves exactly as long as the loop does.
///
/// Either way the loop must turn when idle too: wait for work with a timeout shorter
/// than the interval, or an idle worker looks hung. The probe's `max_age` should be the
/// interval plus the longest expected turn (for example interval 60 s, `max_age` 70 s).
///
/// ```
/// use std::time::Duration;
/// use probe_core::heartbeat::LivenessFile;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("probe-doc-live-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = LivenessFile::new(dir.join("worker.live"));
/// file.touch().await.unwrap(); // created, modified now
/// assert!(file.path().exists());
///
/// let heartbeat = file.spawn(Duration::from_secs(10));
/// heartbeat.beat(); // from the application's loop
/// heartbeat.stop().await;
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct LivenessFile {
    path: PathBuf,
}

impl LivenessFile {
    /// A liveness file at `path`. Nothing is written until it is touched.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LivenessFile { path: path.into() }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file if it is missing and sets its modification time to now.
    /// The directory must exist.
    pub async fn touch(&self) -> Result<(), TouchError> {
        let path = self.path.clone();
        blocking(move || {
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.set_modified(SystemTime::now())
        })
        .await
        .map_err(|e| TouchError {
            path: self.path.clone(),
            reason: reason(&e),
        })
    }

    /// Starts a writer task on the current tokio runtime that touches the file every
    /// `interval` while [`Heartbeat::beat`] is being called, and returns the handle to
    /// beat with. The first beat is written at once. The writer stops with
    /// [`Heartbeat::stop`], or when the last handle is dropped; the file is left in place
    /// to age.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(self, interval: Duration) -> Heartbeat {
        let shared = Arc::new(Shared {
            beaten: AtomicBool::new(false),
            first: AtomicBool::new(true),
            stopped: AtomicBool::new(false),
            wake: Notify::new(),
        });
        let task = tokio::spawn(write_while_beating(self, shared.clone(), interval));
        Heartbeat(Arc::new(Owner {
            shared,
            task: Mutex::new(Some(task)),
        }))
    }
}

// === impl Heartbeat ===

/// The handle an application beats from its loop; see [`LivenessFile::spawn`].
///
/// Cheap to clone; the writer stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Heartbeat(Arc<Owner>);

#[derive(Debug)]
struct Owner {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    /// A beat came since the last touch.
    beaten: AtomicBool,
    /// No beat has come yet: the first one wakes the writer at once.
    first: AtomicBool,
    stopped: AtomicBool,
    wake: Notify,
}

impl Heartbeat {
    /// Says "the loop turned". Cheap: one atomic store (and a wake-up the first time).
    pub fn beat(&self) {
        let shared = &self.0.shared;
        shared.beaten.store(true, Ordering::Release);
        if shared.first.swap(false, Ordering::AcqRel) {
            shared.wake.notify_one();
        }
    }

    /// Stops the writer and waits for it to finish. The file stays where it is, and ages.
    pub async fn stop(&self) {
        self.0.shared.stop();
        let task = self.0.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            // The writer never panics; a cancelled runtime is no reason to fail here.
            let _ = task.await;
        }
    }
}

impl Shared {
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// The writer: touch when a beat came since the last touch, then wait an interval.
async fn write_while_beating(file: LivenessFile, shared: Arc<Shared>, interval: Duration) {
    let mut failing = false;
    loop {
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        if shared.beaten.swap(false, Ordering::AcqRel) {
            match file.touch().await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!(path = %file.path.display(), "liveness file touched again");
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "liveness file not touched");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = stopped(&shared) => return,
            }
        } else {
            // Nothing to write: wait for the next interval, the first beat, or stop.
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = shared.wake.notified() => {}
            }
        }
    }
}

/// Resolves once `stop` was called; other wake-ups are ignored.
async fn stopped(shared: &Shared) {
    while !shared.stopped.load(Ordering::Acquire) {
        shared.wake.notified().await;
    }
}
