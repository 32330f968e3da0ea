//! Kpow's health surface inside your own service: `/healthy` and `/up` served next to the
//! application's routes on its own hyper server, with the Kafka Streams state moved by the
//! client's state listener (simulated here) and an error strategy deciding what ERROR does.
//!
//! Run it, with either strategy (an argument or `STREAMS_ERROR_STRATEGY`):
//!
//! ```text
//! cargo run -p probe-examples --example kpow_embedded                  # LOG_EXCEPTION
//! cargo run -p probe-examples --example kpow_embedded -- LOG_AND_EXIT
//! PORT=3001 STREAMS_ERROR_STRATEGY=log_and_exit cargo run -p probe-examples --example kpow_embedded
//! ```
//!
//! and watch it from another terminal:
//!
//! ```text
//! while sleep 1; do curl -s -w ' %{http_code}\n' localhost:3000/healthy; done
//! ```
//!
//! The simulated client goes CREATED → REBALANCING (after 1 s) → RUNNING (after 3 s), and
//! its stream thread dies after 10 s (the uncaught-exception handler answers
//! SHUTDOWN_CLIENT: PENDING_ERROR → ERROR). With `LOG_EXCEPTION` the service keeps running
//! and `/healthy` answers 503 until it is restarted; `/up` stays 200. With `LOG_AND_EXIT`
//! the error is logged and the process exits with status 1 (`echo $?`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use probe_core::evaluators::error_strategy::ErrorStrategy;
use probe_core::evaluators::streams::{State, StreamsState};
use probe_core::{Health, Policy, Probe};
use probe_http::{ClientAddr, Kpow, Kubernetes, ProbeService};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_target(false).init();

    let choice = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("STREAMS_ERROR_STRATEGY").ok())
        .unwrap_or_default();
    let strategy = if choice.is_empty() {
        ErrorStrategy::default()
    } else {
        choice.parse().unwrap_or_else(|e| {
            eprintln!("kpow_embedded: {e}");
            std::process::exit(64);
        })
    };
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);

    // The state the Streams client's listener updates, and what ERROR does.
    let streams = StreamsState::new();
    strategy.attach(&streams);

    // Liveness includes the Streams state: `/healthy` (and `/livez`) fail once it is ERROR.
    let health = Health::builder()
        .check(
            "kafka-streams",
            streams.liveness(),
            [Probe::Liveness],
            Policy::default(),
        )
        .and_then(|b| {
            b.check(
                "kafka-streams:ready",
                streams.readiness(),
                [Probe::Readiness],
                Policy::default(),
            )
        })
        .and_then(|b| b.build())
        .expect("valid checks");
    let probes = ProbeService::builder()
        .dialect(Kpow::new(health.clone()))
        .dialect(Kubernetes::new(health))
        .build();

    tokio::spawn(simulated_client(streams));

    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("kpow_embedded: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    println!("serving http://{addr}/healthy and /up with {strategy}");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => continue,
        };
        let probes = probes.clone();
        let service = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
            let probes = probes.clone();
            async move {
                // The application's own routes first; everything else goes to the probes,
                // which answer 404 for what they do not know.
                if req.uri().path() == "/" {
                    return Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(
                        "hello from the application\n",
                    ))));
                }
                // Loopback clients see why a probe fails.
                req.extensions_mut().insert(ClientAddr(peer));
                Ok(probes.respond(req).await)
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Stands in for a Kafka Streams client: reports its state changes as its state listener
/// would, then dies of an uncaught exception.
async fn simulated_client(streams: StreamsState) {
    let steps = [
        (Duration::from_secs(1), State::Rebalancing),
        (Duration::from_secs(2), State::Running),
    ];
    for (after, next) in steps {
        tokio::time::sleep(after).await;
        if let Err(refused) = streams.transition(next) {
            eprintln!("kpow_embedded: {refused}");
        }
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    // What the uncaught-exception handler answering SHUTDOWN_CLIENT amounts to.
    let _ = streams.fail("simulated: stream thread died with an uncaught exception");
}
