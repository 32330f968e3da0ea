//! gRPC health (`grpc.health.v1`) over `probe-core`'s engine.
//!
//! [`service`] is the generated tonic service (tonic-health's types, tonic's codegen, no
//! tonic transport) answering from a [`Health`](probe_core::Health):
//!
//! | `service` name | answers for |
//! |---|---|
//! | `""` | the server's overall health: readiness |
//! | `liveness`, `readiness`, `startup` | that probe |
//! | a check's name | that check alone, in the first of readiness, liveness, startup that holds it |
//! | anything else | `Check`: status `NOT_FOUND`; `Watch`: `SERVICE_UNKNOWN`, the call kept open |
//!
//! `Check` evaluates like an HTTP probe: `SERVING` when it passes (a `warn` passes),
//! `NOT_SERVING` otherwise. `Watch` sends the current status at once and then one
//! message per change, never the same twice, from the engine's published statuses (no
//! check runs for a watcher). Once shutdown has begun every name but `liveness` answers
//! `NOT_SERVING`.
//!
//! Add it to a tonic server in one line, or serve it on the HTTP probes' own port with
//! [`Bound::serve_with_grpc`](probe_http::Bound::serve_with_grpc):
//!
//! ```no_run
//! use std::time::Duration;
//! use probe_core::{drain_on_signal, Health};
//! use probe_http::{Http2Config, Kubernetes, ProbeService, Server, ServerConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let health = Health::builder().build()?;
//! let http = ProbeService::builder().dialect(Kubernetes::new(health.clone())).build();
//! let grpc = probe_grpc::service(health.clone());
//! let bound = Server::bind("0.0.0.0:8080".parse()?, ServerConfig::default())?;
//! let shutdown = drain_on_signal(&health, Duration::from_secs(5));
//! bound.serve_with_grpc(http, grpc, Http2Config::default(), shutdown).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Cargo features
//!
//! - `client`: the `client` module, a health client over one plain HTTP/2 connection (hyper's
//!   client), on the generated `HealthClient`.

#![warn(missing_debug_implementations)]

#[cfg(feature = "client")]
pub mod client;
mod name;
mod service;
mod watch;

pub use name::Target;
pub use service::{service, GrpcHealth, WatchStream};

/// The generated `grpc.health.v1` types, client and server (tonic-health's).
pub use tonic_health::pb;
