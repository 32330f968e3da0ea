//! A custom endpoint in an axum application: `/status` answers the readiness `Report`
//! serialised as JSON (200 when ready, 503 when not), next to the probes merged in with
//! one line; stopped by SIGTERM through `drain_on_signal`.
//!
//! Run it with `cargo run -p probe-examples --example custom_endpoint`, then:
//!
//! ```text
//! curl -s localhost:3001/status   # {"probe":"readiness","status":"fail","time":...,"checks":[...]}
//! curl -s localhost:3001/readyz   # the probes, as usual
//! ```
//!
//! The report holds every check's message; like the probes, the endpoint shows them only
//! to loopback clients (`Details::Local`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use probe_core::checks::TcpCheck;
use probe_core::{drain_on_signal, Health, Policy, Probe, Select};
use probe_http::{Details, Kubernetes, ProbeService};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let health = Health::builder()
        .check(
            "postgres",
            TcpCheck::new("127.0.0.1:5432"),
            [Probe::Readiness, Probe::Startup],
            Policy::default().cache(Duration::from_secs(1)),
        )?
        .build()?;
    let listener = TcpListener::bind("127.0.0.1:3001").await?;
    let shutdown = drain_on_signal(&health, Duration::from_secs(2));
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, app(health), shutdown).await?;
    Ok(())
}

/// `/status`, and the probes.
pub fn app(health: Health) -> Router {
    let probes = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    Router::new()
        .route("/status", get(status))
        .merge(probe_http::axum::router(probes))
        .with_state(health)
}

/// The readiness report as JSON, its messages withheld from clients off loopback.
async fn status(
    State(health): State<Health>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> impl IntoResponse {
    let mut report = health.evaluate(Probe::Readiness, &Select::All).await;
    if !Details::Local.shows(Some(client)) {
        for check in &mut report.checks {
            check.message = None;
            check.details = None;
        }
    }
    let code = if report.status.is_passing() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_string(&report).expect("a report serializes");
    (code, [(header::CONTENT_TYPE, "application/json")], body)
}

/// Serves `app` with the clients' addresses until `shutdown` resolves.
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
