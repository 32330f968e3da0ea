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
pub mod drivers;
pub mod endpoint;
mod engine;
pub mod evaluators;
mod handles;
mod health;
pub mod heartbeat;
pub mod http_client;
mod policy;
pub mod proto;
mod report;
mod status;
pub mod text;
pub mod time;

pub use attachment::Attachment;
pub use check::{from_fn, BoxFuture, Check, FnCheck, Outcome};
pub use handles::{Readiness, Shutdown, Startup};
pub use health::{BuildError, Builder, Health, Select};
pub use policy::{Policy, Schedule};
pub use report::{CheckReport, Report};
pub use status::{ParseError, Probe, Scope, Status};
