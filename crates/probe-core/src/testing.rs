//! Test support for embedders (cargo feature `testing`): scripted checks and a paused clock,
//! so a service tests its own checks and wiring without sockets or sleeps.
//!
//! A [`Scripted`] check answers from a list of [`Step`]s, one per run, the last one
//! repeating; a step can pass, warn, fail, hang, panic, or take a while first. [`Runs`]
//! counts how often the engine ran it. [`run_paused`] runs a future on a runtime whose
//! clock only moves when every task waits (or when [`advance`] moves it), so timeouts,
//! reuse windows and thresholds are tested in no time and always the same way.
//!
//! ```
//! use std::time::Duration;
//! use probe_core::testing::{run_paused, Scripted, Step};
//! use probe_core::{Health, Policy, Probe, Select, Status};
//!
//! run_paused(async {
//!     let db = Scripted::dependency([Step::pass(), Step::fail("connection refused")]);
//!     let runs = db.runs();
//!     let health = Health::builder()
//!         .check("db", db, [Probe::Readiness], Policy::default().thresholds(2, 1))
//!         .unwrap()
//!         .build()
//!         .unwrap();
//!     let readyz = || health.evaluate(Probe::Readiness, &Select::All);
//!     assert_eq!(readyz().await.status, Status::Pass);
//!     assert_eq!(readyz().await.status, Status::Pass, "one failure is inside the threshold");
//!     assert_eq!(readyz().await.status, Status::Fail);
//!     assert_eq!(runs.count(), 3);
//!
//!     let hung = Scripted::local([Step::hang()]);
//!     let health = Health::builder()
//!         .check("loop", hung, [Probe::Liveness], Policy::default().timeout(Duration::from_secs(2)))
//!         .unwrap()
//!         .build()
//!         .unwrap();
//!     let started = tokio::time::Instant::now();
//!     let report = health.evaluate(Probe::Liveness, &Select::All).await;
//!     assert_eq!(report.get("loop").unwrap().message.as_deref(), Some("timed out after 2s"));
//!     assert_eq!(started.elapsed(), Duration::from_secs(2), "the paused clock jumped");
//! });
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use tokio::time::advance;

use crate::{BoxFuture, Check, Outcome, Scope};

/// What one run of a [`Scripted`] check does.
#[derive(Clone, Debug)]
pub struct Step {
    action: Action,
    delay: Duration,
}

#[derive(Clone, Debug)]
enum Action {
    Answer(Outcome),
    Hang,
    Panic(String),
}

impl Step {
    /// Passes.
    pub fn pass() -> Self {
        Step::answer(Outcome::pass())
    }

    /// Warns with `message`.
    pub fn warn(message: impl Into<String>) -> Self {
        Step::answer(Outcome::warn(message))
    }

    /// Fails with `message`.
    pub fn fail(message: impl Into<String>) -> Self {
        Step::answer(Outcome::fail(message))
    }

    /// Answers `outcome` (with its details or attachment).
    pub fn answer(outcome: Outcome) -> Self {
        Step {
            action: Action::Answer(outcome),
            delay: Duration::ZERO,
        }
    }

    /// Never answers: the engine's timeout ends the run.
    pub fn hang() -> Self {
        Step {
            action: Action::Hang,
            delay: Duration::ZERO,
        }
    }

    /// Panics with `message`: the engine reports `check panicked: <message>`.
    pub fn panic(message: impl Into<String>) -> Self {
        Step {
            action: Action::Panic(message.into()),
            delay: Duration::ZERO,
        }
    }

    /// The same step, taken after `delay` (on the Tokio clock).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// How many times the engine ran a [`Scripted`] check; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Runs(Arc<AtomicUsize>);

impl Runs {
    /// Runs started so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A check that answers from a script of [`Step`]s: run *n* takes step *n*, and the last
/// step repeats for good.
#[derive(Debug)]
pub struct Scripted {
    scope: Scope,
    steps: Vec<Step>,
    runs: Runs,
}

impl Scripted {
    /// A check of `scope` following `steps` (an empty script passes every run).
    pub fn new(scope: Scope, steps: impl IntoIterator<Item = Step>) -> Self {
        let mut steps: Vec<Step> = steps.into_iter().collect();
        if steps.is_empty() {
            steps.push(Step::pass());
        }
        Scripted {
            scope,
            steps,
            runs: Runs::default(),
        }
    }

    /// A [`Scope::Local`] scripted check.
    pub fn local(steps: impl IntoIterator<Item = Step>) -> Self {
        Scripted::new(Scope::Local, steps)
    }

    /// A [`Scope::Dependency`] scripted check.
    pub fn dependency(steps: impl IntoIterator<Item = Step>) -> Self {
        Scripted::new(Scope::Dependency, steps)
    }

    /// The counter of this check's runs.
    pub fn runs(&self) -> Runs {
        self.runs.clone()
    }

    /// The same check, counting its runs in `runs` (made beforehand, or shared by several
    /// checks).
    pub fn counted_by(mut self, runs: &Runs) -> Self {
        self.runs = runs.clone();
        self
    }
}

impl Check for Scripted {
    fn scope(&self) -> Scope {
        self.scope
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        let n = self.runs.0.fetch_add(1, Ordering::SeqCst);
        let step = self.steps[n.min(self.steps.len() - 1)].clone();
        Box::pin(async move {
            if !step.delay.is_zero() {
                tokio::time::sleep(step.delay).await;
            }
            match step.action {
                Action::Answer(outcome) => outcome,
                Action::Hang => std::future::pending().await,
                Action::Panic(message) => panic!("{message}"),
            }
        })
    }
}

/// Runs `future` to completion on a fresh current-thread runtime whose clock starts
/// paused: it jumps ahead whenever every task waits on a timer, so a test of a 30 s
/// timeout takes no time and gives the same result every run.
///
/// # Panics
///
/// If called inside another runtime's thread (call it from a plain `#[test]`), or if the
/// runtime cannot be built.
pub fn run_paused<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
        .block_on(future)
}
