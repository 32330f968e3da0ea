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
//!
//! [`Health::subscribe`] follows a probe's status as it changes, without polling and
//! without running a check; [`Health::history`] keeps each check's last runs; reports
//! serialize with `serde`. See the engine guide (`docs/engine.md`) for the semantics:
//! readiness and startup start failing, liveness passing, as the kubelet's probes do.
//!
//! # Cargo features
//!
//! An embedder pays only for what it uses. The default build is the model, the engine, the
//! pure [`evaluators`] (Kafka Connect state rules, the Kafka Streams state machine and its
//! error strategy, the cluster and migrations rules), the [`heartbeat`] files and the
//! `tcp`, `file-age` and `file-exists` [`checks`]: no HTTP stack, no database client.
//! Each I/O family is a feature of its own, which also builds its `proto` reader:
//!
//! - `http`: the HTTP/1.1 client (`http_client`) and `checks::HttpCheck`, on hyper.
//! - `tls`: `https://` for the HTTP client, on rustls; implies `http`.
//! - `redis`: `checks::RedisCheck` and the RESP reader.
//! - `postgres`: `checks::PostgresCheck`, pg_isready's semantics over the wire protocol.
//! - `postgres-query`: `checks::PostgresQueryCheck` and `checks::PostgresMigrationsCheck`,
//!   on tokio-postgres.
//! - `mysql`: `checks::MysqlCheck`, `mysqladmin ping`'s semantics.
//! - `amqp`: `checks::AmqpCheck`, the AMQP 0-9-1 handshake.
//! - `memcached`: `checks::MemcachedCheck`.
//! - `kafka`: `checks::KafkaCheck` (ApiVersions) and `drivers::cluster`, which runs it.
//! - `kafka-connect`: `checks::KafkaConnectCheck` and the Connect REST reader; implies `http`.
//! - `celery`: the [Celery](https://docs.celeryq.dev) ping over Redis (`celery`) and
//!   `checks::CeleryPingCheck`; implies `redis`.
//! - `full`: every feature above.
//! - `signal`: `drain_on_signal`, the graceful-shutdown future for any server (SIGTERM
//!   fails readiness at once, then drains).
//! - `testing`: the `testing` module, scripted checks and a paused clock for tests of your own.
//!
//! The URL and address parser (`endpoint`) comes with `http` and with any cache, database
//! or broker check; the text helpers ([`text`]) and the secret scrubber ([`secrets`]) are
//! in every build.

#![warn(missing_debug_implementations)]

mod attachment;
#[cfg(feature = "celery")]
pub mod celery;
mod check;
pub mod checks;
#[cfg(feature = "kafka")]
pub mod drivers;
#[cfg(any(
    feature = "http",
    feature = "redis",
    feature = "postgres",
    feature = "postgres-query",
    feature = "mysql",
    feature = "amqp",
    feature = "memcached"
))]
pub mod endpoint;
mod engine;
pub mod evaluators;
mod handles;
mod health;
pub mod heartbeat;
#[cfg(feature = "http")]
pub mod http_client;
mod observe;
mod policy;
pub mod proto;
mod publish;
mod report;
pub mod secrets;
mod shutdown_signal;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod time;
mod transitions;

pub use attachment::Attachment;
pub use check::{from_fn, BoxFuture, Check, FnCheck, Outcome};
pub use handles::{Readiness, Shutdown, Startup};
pub use health::{is_valid_name, BuildError, Builder, Health, Select, DEFAULT_HISTORY};
pub use observe::Observer;
pub use policy::{Policy, Schedule};
pub use report::{CheckReport, HistoryEntry, Report, ReportKind, Trend};
#[cfg(feature = "signal")]
pub use shutdown_signal::{drain_on_signal, TermSignals};
pub use shutdown_signal::{Drain, StopSignals};
pub use status::{ParseError, Probe, Scope, Status};
pub use transitions::log_transitions;
