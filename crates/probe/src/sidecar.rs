//! The serving loop every sidecar command shares (`probe serve`, `probe kpow`,
//! `probe connect`): catch the stop signals → bind → announce → serve → at the first
//! SIGTERM/SIGINT fail readiness and drain → stop.
//!
//! The signals are caught before the port is bound, so whoever sees the port accept
//! connections can already stop the process with a signal and get the drain; an address
//! in use is still reported before anything claims to listen. Each command supplies its
//! own announcement and, if it speaks a peer's language, its own line at the signal.

use std::net::SocketAddr;
use std::time::Duration;

use probe_core::{Drain, Health};
use probe_http::{BindError, Http2Config, ProbeService, Server, ServerConfig};

use crate::config::ConfigError;

/// What a sidecar command serves, and what it says while doing so.
pub struct Sidecar {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The listener's limits.
    pub server: ServerConfig,
    /// What to answer.
    pub service: ProbeService,
    /// Whether gRPC health answers on the same port (HTTP/2 beside HTTP/1.1). Without it
    /// the plain HTTP/1.1 listener serves, untouched.
    pub grpc: bool,
    /// Whose shutdown begins at the first signal.
    pub health: Health,
    /// After the first signal: how long readiness fails while the server keeps answering
    /// (a second signal ends it at once).
    pub drain: Duration,
    /// Logs that the server listens, at the address actually bound.
    pub announce: Box<dyn FnOnce(SocketAddr) + Send>,
    /// The line logged at the first signal; `None`: the drain's own, which says that
    /// readiness fails and for how long the server drains.
    pub signal_line: Option<&'static str>,
}

/// Serves `sidecar` until the first SIGTERM/SIGINT and the drain after it, lets answers in
/// progress finish, and returns. Fails only when the address cannot be bound.
pub async fn run(sidecar: Sidecar) -> Result<(), BindError> {
    let Sidecar {
        listen,
        server,
        service,
        grpc,
        health,
        drain,
        announce,
        signal_line,
    } = sidecar;
    let mut stop = Drain::new(&health, drain);
    if let Some(line) = signal_line {
        stop = stop.notice(line);
    }
    let shutdown = stop.on_signal();
    let bound = Server::bind(listen, server)?;
    announce(bound.local_addr());
    if grpc {
        let health_grpc = probe_grpc::service(health);
        bound
            .serve_with_grpc(service, health_grpc, Http2Config::default(), shutdown)
            .await;
    } else {
        bound.serve(service, shutdown).await;
    }
    Ok(())
}

/// Why a sidecar command stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The engine or the service could not be built (exit 64).
    #[error(transparent)]
    Config(ConfigError),
    /// The address could not be bound (exit 1).
    #[error(transparent)]
    Bind(BindError),
}
