//! An axum application serving its own route and the probes on one port, stopped by
//! SIGTERM through `drain_on_signal`.
//!
//! Run it with `cargo run -p probe-examples --example axum_app`, then:
//!
//! ```text
//! curl -s  localhost:3000/                  # the application's own route
//! curl -s 'localhost:3000/readyz?verbose'   # the probes: loopback clients see why a check fails
//! curl -si -X POST localhost:3000/readyz    # 405 with `Allow: GET, HEAD`, from the probes
//! curl -si localhost:3000/nosuch            # axum's 404: the application's path
//! ```
//!
//! SIGTERM (or Ctrl-C) fails readiness at once; the server keeps answering for two seconds,
//! then stops.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use probe_core::checks::TcpCheck;
use probe_core::{drain_on_signal, Health, Policy, Probe};
use probe_http::{Kubernetes, ProbeService};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A dependency: readiness and startup only, reused for a second so probes never storm it.
    let health = Health::builder()
        .check(
            "postgres",
            TcpCheck::new("127.0.0.1:5432"),
            [Probe::Readiness, Probe::Startup],
            Policy::default().cache(Duration::from_secs(1)),
        )?
        .build()?;
    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    // Signals are caught from here on, before the port is announced.
    let shutdown = drain_on_signal(&health, Duration::from_secs(2));
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, app(health), shutdown).await?;
    Ok(())
}

/// The application: its own route, and the probes merged in with one line.
pub fn app(health: Health) -> Router {
    let probes = ProbeService::builder()
        .dialect(Kubernetes::new(health))
        .build();
    Router::new()
        .route("/", get(hello))
        .merge(probe_http::axum::router(probes))
}

/// Serves `app` with the clients' addresses (so loopback clients see the details) until
/// `shutdown` resolves, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn hello() -> &'static str {
    "hello from the application\n"
}
