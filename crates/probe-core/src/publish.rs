//! How a finished run or a flipped handle reaches the status stream.
//!
//! The entries and the handles are made before the [`Health`](crate::Health) that owns them,
//! so they share a [`Hook`] that the `Health` fills in once it exists. Firing the hook
//! recomputes each probe's status from the latest results (no check runs) and publishes
//! what changed.

use std::sync::{Arc, OnceLock, Weak};

/// Recomputes and publishes the probes' statuses.
pub(crate) trait Publish: Send + Sync {
    /// Called after every finished run and every change of a handle.
    fn publish(&self);
}

/// A late-bound reference to the [`Publish`] of a `Health`; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Hook(Arc<OnceLock<Weak<dyn Publish>>>);

impl Hook {
    /// Binds the hook; later calls are ignored.
    pub(crate) fn bind(&self, target: Weak<dyn Publish>) {
        let _ = self.0.set(target);
    }

    /// Publishes, if the `Health` still exists.
    pub(crate) fn fire(&self) {
        if let Some(p) = self.0.get().and_then(Weak::upgrade) {
            p.publish();
        }
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}
