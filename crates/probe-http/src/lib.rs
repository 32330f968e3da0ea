//! Serves `probe-core`'s health on raw hyper 1.
//!
//! One service, [`ProbeService`] (a hyper [`Service`](hyper::service::Service) and a tower
//! [`Service`](tower_service::Service)), answers the routes of
//! one or more *dialects* (the Kubernetes `/livez` `/readyz` `/startupz` family, and the
//! surfaces of the tools `probe` replaces, such as kafka-connect-healthcheck's `Connect`).
//! It is usable three ways:
//!
//! - served on its own socket: [`Server::bind`] then [`Bound::serve`], stopped by
//!   [`probe_core::drain_on_signal`] (readiness fails at SIGTERM, the drain runs, the
//!   server stops);
//! - mounted inside another server: in axum with one `merge` of `probe_http::axum::router`
//!   (feature `axum`), or `nest_service` / `fallback_service`, as with any tower service;
//!   in plain hyper by calling [`ProbeService::respond`];
//! - called in tests with no socket at all, like any `Service`.
//!
//! Rules that hold for every dialect live on the [`ServiceBuilder`]: a path prefix, a
//! client allow-list ([`ClientAllowList`], 403 to others) and a Host allow-list
//! ([`AllowedHosts`], 400 to others).
//!
//! ```
//! use probe_core::Health;
//! use probe_http::{Kubernetes, ProbeService};
//!
//! let health = Health::builder().build().unwrap();
//! let service = ProbeService::builder().dialect(Kubernetes::new(health)).build();
//! ```
//!
//! # Cargo features
//!
//! By default this crate builds every dialect but `connect`, on `probe-core`'s default
//! build (the model, the engine, the pure evaluators, the tcp and file checks). It forwards
//! each of `probe-core`'s I/O families under the same name, so an embedder turns on the
//! checks it registers here: `http`, `tls`, `redis`, `postgres`, `postgres-query`,
//! `mysql`, `amqp`, `memcached`, `kafka`, `kafka-connect`, `celery`, and `full` for all of
//! them. `kafka-connect` also builds the `connect` dialect (`Connect`, answering like
//! kafka-connect-healthcheck).
//!
//! `metrics` (not in `full`) adds `probe_http::metrics`: the checks' and probes' statuses,
//! run counts and durations as Prometheus metrics (the `prometheus-client` crate), and a
//! `/metrics` route.
//!
//! `axum` (not in `full`) adds `probe_http::axum`, the probe routes as an axum 0.8
//! `Router`, and reads the client's address from axum's `ConnectInfo<SocketAddr>`.
//! `grpc-port` (not in `full`) adds `Bound::serve_with_grpc`: the same listener also speaks
//! HTTP/2 and hands gRPC requests to a second service, such as `probe-grpc`'s health, on
//! the same port.

#![warn(missing_debug_implementations)]

mod accept;
mod access;
mod allow;
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "kafka-connect")]
mod connect;
pub mod dialect;
pub mod forwarded;
#[cfg(feature = "grpc-port")]
mod grpc_port;
mod health_json;
mod kpow;
mod kubernetes;
#[cfg(feature = "metrics")]
pub mod metrics;
mod open_klant;
mod query;
pub mod response;
mod server;
mod service;
mod slots;
mod statusz;

pub use access::{ClientAddr, Details};
pub use allow::{AllowedHosts, Cidr, CidrError, ClientAllowList, HostPatternError};
#[cfg(feature = "kafka-connect")]
pub use connect::{Connect, UnknownCheck};
pub use dialect::{Dialect, Req};
#[cfg(feature = "grpc-port")]
pub use grpc_port::{is_grpc, Http2Config, Stopping};
pub use health_json::health_json;
pub use kpow::Kpow;
pub use kubernetes::Kubernetes;
pub use open_klant::{OpenKlant, Shown, StandsFor};
pub use query::Query;
pub use response::{Body, Response};
pub use server::{BindError, Bound, Server, ServerConfig};
pub use service::{ProbeService, ServiceBuilder};
