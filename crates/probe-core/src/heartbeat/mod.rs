//! Heartbeat files for workers that have no HTTP server of their own.
//!
//! A queue worker (a Celery-style consumer, a job runner) often has no port a kubelet
//! could probe. It proves its health through two files instead, which an exec probe
//! (`probe worker-check`, or the [`FileAgeCheck`](crate::checks::FileAgeCheck) and
//! [`FileExistsCheck`](crate::checks::FileExistsCheck) in a sidecar) reads:
//!
//! - a **liveness file** whose modification time moves forward while the worker's loop
//!   turns ([`LivenessFile`], driven by [`Heartbeat::beat`] or [`LivenessFile::touch`]);
//!   when the loop hangs, the file stops being touched, grows old, and the probe fails;
//! - a **readiness file** that exists while the worker takes work ([`ReadinessFile`]),
//!   created when it is ready and removed when it shuts down.
//!
//! All file I/O runs on tokio's blocking pool, so a slow disk never stalls the
//! application's event loop.
//!
//! ```no_run
//! use std::time::Duration;
//! use probe_core::heartbeat::{LivenessFile, ReadinessFile};
//!
//! # async fn next_job() -> Option<u32> { None }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let heartbeat = LivenessFile::new("/tmp/worker.live").spawn(Duration::from_secs(10));
//! let ready = ReadinessFile::new("/tmp/worker.ready");
//! ready.set(true).await?;
//! loop {
//!     heartbeat.beat(); // every turn, idle turns included
//!     match tokio::time::timeout(Duration::from_secs(1), next_job()).await {
//!         Ok(Some(_job)) => { /* work */ }
//!         Ok(None) => break,
//!         Err(_idle) => continue,
//!     }
//! }
//! ready.set(false).await?;
//! heartbeat.stop().await;
//! # Ok(()) }
//! ```

mod liveness;
mod readiness;

pub use self::liveness::{Heartbeat, LivenessFile, TouchError};
pub use self::readiness::{ReadinessFile, ReadinessFileError};

use std::io;

/// Runs a blocking file operation on tokio's blocking pool.
async fn blocking<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(io::Error::other("the file operation panicked")),
        Err(_) => Err(io::Error::other("the file operation was cancelled")),
    }
}

/// A plain reason for a file error, without "(os error N)".
fn reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => crate::text::io_reason(e),
    }
}
