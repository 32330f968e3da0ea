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
//! Ctrl-C or SIGTERM fails readiness at once; both ports keep answering for two seconds,
//! then both servers stop.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use probe_core::checks::TcpCheck;
use probe_core::{drain_on_signal, from_fn, Health, Outcome, Policy, Probe, Scope, Select};
use probe_http::{Bound, ClientAddr, Kubernetes, ProbeService, Server, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let health = checks()?;
    // 1. The probe port, as the kubelet sees it, bound before anything claims to be up.
    let admin = Server::bind("127.0.0.1:9090".parse()?, ServerConfig::default())?;
    // 2. The application's own port.
    let app = TcpListener::bind("127.0.0.1:8080").await?;
    // Signals are caught from here on, before the ports are announced: at Ctrl-C or SIGTERM
    // readiness fails at once and both ports keep answering for two seconds.
    let shutdown = drain_on_signal(&health, Duration::from_secs(2));
    println!("probes on http://{}", admin.local_addr());
    println!("application on http://{}", app.local_addr()?);
    run(health, admin, app, shutdown).await;
    Ok(())
}

/// The checks: a local job loop (liveness and readiness) and a dependency (readiness and
/// startup).
fn checks() -> Result<Health, probe_core::BuildError> {
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
    Health::builder()
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
        .build()
}

/// Serves the probes on `admin` and the application on `app` until `shutdown` resolves;
/// then both stop accepting, finish the requests in flight, and `run` returns.
pub async fn run(
    health: Health,
    admin: Bound,
    app: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    // One drain for both servers: its end stops them together.
    let (stop, stopped) = watch::channel(());
    let until_stopped = |mut stopped: watch::Receiver<()>| async move {
        // Resolves once the sender is gone.
        let _ = stopped.changed().await;
    };
    let probes = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    tokio::join!(
        async move {
            shutdown.await;
            drop(stop);
        },
        admin.serve(probes, until_stopped(stopped.clone())),
        serve_app(app, health, until_stopped(stopped)),
    );
}

/// The application's hand-written hyper server, mounting the same health under `/health`.
async fn serve_app(listener: TcpListener, health: Health, shutdown: impl Future<Output = ()>) {
    let mounted = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .path_prefix("/health")
        .build();
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            () = &mut shutdown => break,
        };
        let (health, mounted) = (health.clone(), mounted.clone());
        let svc = service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
            let (health, mounted) = (health.clone(), mounted.clone());
            // Loopback clients see why a probe fails.
            req.extensions_mut().insert(ClientAddr(peer));
            async move { Ok::<_, Infallible>(route(req, &health, &mounted).await) }
        });
        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
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
