//! Embedding probe in a service: checks registered in code, the kubernetes dialect on its
//! own port, and the same health mounted inside the application's hyper server next to a
//! custom endpoint.
//!
//! Run it with `cargo run -p probe-examples --example embedded`, then:
//!
//! ```text
//! curl -s 'localhost:9090/readyz?verbose'      # the probe port
//! curl -s  localhost:8080/health/livez         # the same health, mounted in the app
//! curl -s  localhost:8080/status               # a custom endpoint built from a report
//! curl -s -X POST localhost:8080/maintenance   # flip the readiness toggle
//! ```
//!
//! Ctrl-C fails readiness at once, waits two seconds, then stops both servers.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use probe_core::checks::TcpCheck;
use probe_core::{drain_on_signal, from_fn, Health, Outcome, Policy, Probe, Scope, Select};
use probe_http::{ClientAddr, Kubernetes, ProbeService, Server, ServerConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A local check: the job loop's last tick. It stays out of dependencies, so it may sit in
    // liveness: if the loop stops, restarting the process is the right cure.
    let last_tick = Arc::new(AtomicU64::new(now_secs()));
    let tick = last_tick.clone();
    tokio::spawn(async move {
        loop {
            tick.store(now_secs(), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let job_loop = from_fn(Scope::Local, move || {
        let age = now_secs().saturating_sub(last_tick.load(Ordering::Relaxed));
        async move {
            if age > 10 {
                Outcome::fail(format!("job loop last ticked {age}s ago"))
            } else {
                Outcome::pass()
            }
        }
    });

    let health = Health::builder()
        .check(
            "job-loop",
            job_loop,
            [Probe::Liveness, Probe::Readiness],
            Policy::default(),
        )?
        // A dependency: readiness only, reused for a second so probes never storm it.
        .check(
            "postgres",
            TcpCheck::new("127.0.0.1:5432"),
            [Probe::Readiness, Probe::Startup],
            Policy::default().cache(Duration::from_secs(1)),
        )?
        .build()?;

    // 1. The probe port, as the kubelet sees it.
    let probes = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    let bound = Server::bind("127.0.0.1:9090".parse()?, ServerConfig::default())?;
    // Signals are caught from here on, before the port is announced: at Ctrl-C or SIGTERM
    // readiness fails at once and the probe port keeps answering for two seconds.
    let shutdown = drain_on_signal(&health, Duration::from_secs(2));
    println!("probes on http://{}", bound.local_addr());
    let probe_server = tokio::spawn(bound.serve(probes, shutdown));

    // 2. The application's own server, mounting the same health under /health.
    let mounted = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .path_prefix("/health")
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    println!("application on http://{}", listener.local_addr()?);
    let app = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let (health, mounted) = (health.clone(), mounted.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    let (health, mounted) = (health.clone(), mounted.clone());
                    req.extensions_mut().insert(ClientAddr(peer));
                    async move { Ok::<_, Infallible>(route(req, &health, &mounted).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });

    let _ = probe_server.await;
    app.abort();
    Ok(())
}

async fn route(
    req: http::Request<hyper::body::Incoming>,
    health: &Health,
    mounted: &ProbeService,
) -> http::Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (_, p) if p.starts_with("/health/") => mounted.respond(req).await,
        (&http::Method::GET, "/status") => {
            // 3. A custom endpoint: evaluate, then render however the service likes.
            let report = health.evaluate(Probe::Readiness, &Select::All).await;
            let checks: serde_json::Map<String, serde_json::Value> = report
                .checks
                .iter()
                .map(|c| (c.name.to_string(), c.status.as_str().into()))
                .collect();
            let body = serde_json::json!({ "ready": report.status.is_passing(), "checks": checks });
            http::Response::new(Full::new(Bytes::from(body.to_string())))
        }
        (&http::Method::POST, "/maintenance") => {
            let ready = !health.readiness().is_ready();
            health.readiness().set(ready);
            http::Response::new(Full::new(Bytes::from(format!("ready: {ready}\n"))))
        }
        _ => http::Response::new(Full::new(Bytes::from_static(
            b"hello from the application\n",
        ))),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
