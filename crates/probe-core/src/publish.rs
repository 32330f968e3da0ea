//! How a finished run or a flipped handle reaches the status stream.
//!
//! The entries and the handles are made before the [`Health`](crate::Health) that owns them,
//! so they share a [`Hook`] that the `Health` fills in once it exists. Firing the hook
//! recomputes each probe's status from the latest results (no check runs) and publishes
//! what changed.

use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use crate::{Observer, Probe, Status};

/// Recomputes and publishes the probes' statuses.
pub(crate) trait Publish: Send + Sync {
    /// Called after every finished run and every change of a handle.
    fn publish(&self);
}

/// A late-bound reference to the [`Publish`] of a `Health`, and its observers; cheap to
/// clone.
#[derive(Clone, Default)]
pub(crate) struct Hook {
    target: Arc<OnceLock<Weak<dyn Publish>>>,
    observers: Arc<RwLock<Vec<Arc<dyn Observer>>>>,
}

impl Hook {
    /// Binds the hook; later calls are ignored.
    pub(crate) fn bind(&self, target: Weak<dyn Publish>) {
        let _ = self.target.set(target);
    }

    /// Publishes, if the `Health` still exists.
    pub(crate) fn fire(&self) {
        if let Some(p) = self.target.get().and_then(Weak::upgrade) {
            p.publish();
        }
    }

    /// Adds an observer of runs and evaluations.
    pub(crate) fn observe(&self, observer: Arc<dyn Observer>) {
        self.observers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(observer);
    }

    /// Tells every observer that a run of `check` finished.
    pub(crate) fn ran(&self, check: &str, raw: Status, duration: Duration) {
        for o in self
            .observers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            o.on_run(check, raw, duration);
        }
    }

    /// Tells every observer that an evaluation of `probe` answered `status`.
    pub(crate) fn evaluated(&self, probe: Probe, status: Status) {
        for o in self
            .observers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            o.on_evaluation(probe, status);
        }
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}
