//! Handles the application holds: a readiness toggle, a startup latch, a shutdown signal.
//!
//! All three are cheap to clone and share one state with the [`Health`](crate::Health)
//! they came from.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::publish::Hook;

// === impl Readiness ===

/// A switch the application flips to take itself out of rotation (and back).
///
/// Starts ready. While it is off, readiness fails with the condition `ready`.
#[derive(Clone, Debug)]
pub struct Readiness(Arc<AtomicBool>, Hook);

impl Readiness {
    pub(crate) fn new(hook: Hook) -> Self {
        Readiness(Arc::new(AtomicBool::new(true)), hook)
    }

    /// Marks the application ready (`true`) or not ready (`false`).
    pub fn set(&self, ready: bool) {
        if self.0.swap(ready, Ordering::AcqRel) != ready {
            self.1.fire();
        }
    }

    /// Whether the application says it is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

// === impl Startup ===

/// A one-way latch: once startup has passed, it stays passed.
///
/// Invariant: `passed` only ever goes from false to true. Readiness fails until it is set.
/// With automatic startup (the default) the latch closes the first time the startup probe
/// passes; with manual startup the application must also call [`Startup::done`].
#[derive(Clone, Debug)]
pub struct Startup(Arc<StartupState>, Hook);

#[derive(Debug)]
struct StartupState {
    passed: AtomicBool,
    app_done: AtomicBool,
}

impl Startup {
    pub(crate) fn new(manual: bool, hook: Hook) -> Self {
        Startup(
            Arc::new(StartupState {
                passed: AtomicBool::new(false),
                app_done: AtomicBool::new(!manual),
            }),
            hook,
        )
    }

    /// The application says it has finished starting.
    pub fn done(&self) {
        if !self.0.app_done.swap(true, Ordering::AcqRel) {
            self.1.fire();
        }
    }

    /// Whether startup has passed (the latch is closed).
    pub fn has_passed(&self) -> bool {
        self.0.passed.load(Ordering::Acquire)
    }

    pub(crate) fn app_done(&self) -> bool {
        self.0.app_done.load(Ordering::Acquire)
    }

    /// Closes the latch; true if it was open. The caller publishes.
    pub(crate) fn latch(&self) -> bool {
        !self.0.passed.swap(true, Ordering::AcqRel)
    }
}

// === impl Shutdown ===

/// The shutdown signal: once begun, readiness fails at once while liveness stays green,
/// so the orchestrator stops sending traffic before the process goes away.
#[derive(Clone, Debug)]
pub struct Shutdown(Arc<watch::Sender<bool>>, Hook);

impl Shutdown {
    pub(crate) fn new(hook: Hook) -> Self {
        Shutdown(Arc::new(watch::channel(false).0), hook)
    }

    /// Begins shutting down. Idempotent.
    pub fn begin(&self) {
        if !self.0.send_replace(true) {
            self.1.fire();
        }
    }

    /// Whether shutdown has begun.
    pub fn has_begun(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has begun (at once if it already has).
    pub async fn begun(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|begun| *begun).await;
    }
}
