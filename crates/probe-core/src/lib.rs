//! Health-probe primitives for Rust services.
//!
//! `probe-core` holds the model (statuses, probe kinds, checks), the engine that evaluates
//! checks (timeouts, parallelism, result reuse, single-flight, thresholds, staleness) and
//! the checks themselves. It has no HTTP server code: `probe-http` serves what this crate
//! evaluates.
//!
//! ```
//! use probe_core::{Health, Outcome, Policy, Probe, Scope, Select, Status, from_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let health = Health::builder()
//!     .check("queue", from_fn(Scope::Local, || async { Outcome::pass() }),
//!            [Probe::Liveness, Probe::Readiness], Policy::default())
//!     .unwrap()
//!     .build()
//!     .unwrap();
//! let report = health.evaluate(Probe::Readiness, &Select::All).await;
//! assert_eq!(report.status, Status::Pass);
//! # });
//! ```

mod attachment;
pub mod celery;
mod check;
pub mod checks;
mod engine;
pub mod evaluators;
mod handles;
mod health;
pub mod heartbeat;
pub mod http_client;
mod policy;
pub mod proto;
mod publish;
mod report;
mod shutdown_signal;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use attachment::Attachment;
pub use check::{from_fn, BoxFuture, Check, FnCheck, Outcome};
pub use handles::{Readiness, Shutdown, Startup};
pub use health::{is_valid_name, BuildError, Builder, Health, Select, DEFAULT_HISTORY};
pub use policy::{Policy, Schedule};
pub use report::{CheckReport, HistoryEntry, Report, ReportKind, Trend};
#[cfg(feature = "signal")]
pub use shutdown_signal::{drain_on_signal, TermSignals};
pub use shutdown_signal::{Drain, StopSignals};
pub use status::{ParseError, Probe, Scope, Status};
