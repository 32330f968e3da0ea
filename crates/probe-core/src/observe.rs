//! Observers: told of every finished run and every evaluation, as it happens.
//!
//! The status stream ([`Health::subscribe`](crate::Health::subscribe)) only wakes on a
//! change; counting runs and timing them needs every one. An [`Observer`] registered with
//! [`Health::observe`](crate::Health::observe) is called once per finished run and once per
//! evaluation, on the task that finished it, so it must be quick (bump a counter, record a
//! duration) and must not block.

use std::time::Duration;

use crate::{Probe, Status};

/// Told of each finished run of a check and of each evaluation of a probe.
///
/// Both methods do nothing by default. Neither is called for a result reused from the
/// reuse window: an evaluation that reused results is still one evaluation, but no run.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use probe_core::{from_fn, Health, Observer, Outcome, Policy, Probe, Scope, Select, Status};
///
/// #[derive(Default)]
/// struct Runs(AtomicU64);
///
/// impl Observer for Runs {
///     fn on_run(&self, _check: &str, _raw: Status, _duration: Duration) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let health = Health::builder()
///     .check("db", from_fn(Scope::Dependency, || async { Outcome::pass() }),
///            [Probe::Readiness], Policy::default())
///     .unwrap()
///     .build()
///     .unwrap();
/// let runs = Arc::new(Runs::default());
/// health.observe(runs.clone());
/// health.evaluate(Probe::Readiness, &Select::All).await;
/// assert_eq!(runs.0.load(Ordering::Relaxed), 1);
/// # });
/// ```
pub trait Observer: Send + Sync + 'static {
    /// A run of the check `check` finished with the raw status `raw` (before thresholds
    /// and `critical`) after `duration`. A timeout or a panic is a failed run.
    fn on_run(&self, check: &str, raw: Status, duration: Duration) {
        let _ = (check, raw, duration);
    }

    /// An evaluation of `probe` (any selection of its checks) answered `status`.
    fn on_evaluation(&self, probe: Probe, status: Status) {
        let _ = (probe, status);
    }
}

impl<O: Observer + ?Sized> Observer for std::sync::Arc<O> {
    fn on_run(&self, check: &str, raw: Status, duration: Duration) {
        (**self).on_run(check, raw, duration);
    }

    fn on_evaluation(&self, probe: Probe, status: Status) {
        (**self).on_evaluation(probe, status);
    }
}
