//! Criterion benches of the engine and of rendering, with no socket.
//!
//! ```text
//! cargo bench -p probe-benches --bench engine
//! ```
//!
//! - `evaluate/cached/N`: `evaluate(Readiness)` over N checks whose results are all in
//!   their reuse window (an hour), the hot path of a readiness probe;
//! - `evaluate/fresh/N`: the same with no reuse window, so every evaluation runs every
//!   check (each run is a task of its own);
//! - `record/*/10`: `evaluate(Readiness)` over 10 checks with no reuse window, as
//!   `evaluate/fresh/10`, keeping no history (`none`), the default 16 runs of history
//!   (`history`), and history with the Prometheus metrics observing every run and
//!   evaluation (`history+metrics`): what recording a run costs;
//! - `metrics/render/100`: one `/metrics` scrape's body over 100 checks, in the
//!   Prometheus text format and in OpenMetrics;
//! - `respond/*`: a whole answer from `ProbeService::respond`: `/livez` with no checks
//!   (what the load benchmark's `/livez` costs above hyper), and `/readyz` over 10 cached
//!   checks as verbose text and as `application/health+json`; `respond/bare-ok` builds the
//!   same request and the bare server's answer, the floor the others compare with.
//!
//! All on a current-thread Tokio runtime: the figures are CPU cost, not parallelism.

use std::net::SocketAddr;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use http::header::ACCEPT;
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope, Select, Status};
use probe_http::metrics::{Format, Metrics};
use probe_http::{ClientAddr, Kubernetes, ProbeService};
use tokio::runtime::Runtime;

/// Long enough that no result expires while measuring.
const REUSE: Duration = Duration::from_secs(3_600);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

/// `n` passing local checks in readiness, each with `policy`, evaluated once already.
fn health(rt: &Runtime, n: usize, policy: &Policy) -> Health {
    health_keeping(rt, n, policy, probe_core::DEFAULT_HISTORY)
}

/// As [`health`], keeping the last `history` runs of each check.
fn health_keeping(rt: &Runtime, n: usize, policy: &Policy, history: usize) -> Health {
    let mut b = Health::builder().history(history);
    for i in 0..n {
        let check = from_fn(Scope::Local, || async { Outcome::pass() });
        b = b
            .check(
                format!("check-{i}"),
                check,
                [Probe::Readiness],
                policy.clone(),
            )
            .expect("valid check");
    }
    let health = b.build().expect("health builds");
    let first = rt.block_on(health.evaluate(Probe::Readiness, &Select::All));
    assert_eq!(first.status, Status::Pass);
    assert_eq!(first.checks.len(), n);
    health
}

fn evaluate(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(1));
    for (label, policy) in [
        ("cached", Policy::default().cache(REUSE)),
        ("fresh", Policy::default()),
    ] {
        for n in [1usize, 10, 100] {
            let health = health(&rt, n, &policy);
            group.bench_with_input(BenchmarkId::new(label, n), &n, |b, &n| {
                b.to_async(&rt).iter(|| async {
                    let report = health.evaluate(Probe::Readiness, &Select::All).await;
                    debug_assert_eq!(report.checks.len(), n);
                    report
                })
            });
        }
    }
    group.finish();
}

fn record(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    let none = health_keeping(&rt, 10, &Policy::default(), 0);
    let history = health(&rt, 10, &Policy::default());
    let observed = health(&rt, 10, &Policy::default());
    let _metrics = Metrics::new(&observed);
    for (label, health) in [
        ("none", &none),
        ("history", &history),
        ("history+metrics", &observed),
    ] {
        group.bench_function(BenchmarkId::new(label, 10), |b| {
            b.to_async(&rt)
                .iter(|| async { health.evaluate(Probe::Readiness, &Select::All).await })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(1));
    let hundred = health(&rt, 100, &Policy::default());
    let metrics = Metrics::new(&hundred);
    rt.block_on(hundred.evaluate(Probe::Readiness, &Select::All));
    for (label, format) in [
        ("prometheus", Format::Prometheus),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let body = metrics.render(format);
        assert!(body.contains("probe_check_status{check=\"check-99\",state=\"pass\"} 1"));
        group.bench_function(BenchmarkId::new(format!("render-{label}"), 100), |b| {
            b.iter(|| metrics.render(format))
        });
    }
    group.finish();
}

fn request(path: &str, json: bool) -> http::Request<()> {
    let mut b = http::Request::get(path);
    if json {
        b = b.header(ACCEPT, "application/health+json");
    }
    let mut req = b.body(()).expect("a valid request");
    let loopback: SocketAddr = ([127, 0, 0, 1], 40_000).into();
    req.extensions_mut().insert(ClientAddr(loopback));
    req
}

fn respond(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("respond");
    group.throughput(Throughput::Elements(1));
    let empty = ProbeService::builder()
        .dialect(Kubernetes::new(health(&rt, 0, &Policy::default())))
        .build();
    let ten = ProbeService::builder()
        .dialect(Kubernetes::new(health(
            &rt,
            10,
            &Policy::default().cache(REUSE),
        )))
        .build();
    let cases = [
        ("livez", &empty, "/livez", false),
        ("readyz-10-verbose-text", &ten, "/readyz?verbose", false),
        ("readyz-10-health-json", &ten, "/readyz", true),
    ];
    // What the bare server does per request, with the same request building: the floor.
    group.bench_function("bare-ok", |b| {
        b.iter(|| {
            let _req = request("/livez", false);
            http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")))
        })
    });
    for (label, service, path, json) in cases {
        let first = rt.block_on(service.respond(request(path, json)));
        assert_eq!(first.status(), http::StatusCode::OK, "{label}");
        group.bench_function(label, |b| {
            b.to_async(&rt)
                .iter(|| async { service.respond(request(path, json)).await })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the machine is shared; criterion still reports the spread.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn main() {
    let mut c = config().configure_from_args();
    evaluate(&mut c);
    record(&mut c);
    respond(&mut c);
    c.final_summary();
}
