//! A storm of concurrent readiness probes never amplifies load on a dependency: the
//! upstream of an `http` check sees one request per reuse window.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use probe_core::checks::HttpCheck;
use probe_core::{Health, Policy, Probe};
use probe_http::{Kubernetes, ProbeService, Server, ServerConfig};
use probe_testkit::upstream::Upstream;
use tokio::sync::Semaphore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_probes_reach_the_upstream_once_per_window() {
    let upstream = Upstream::counting().await;
    let check = HttpCheck::new(&upstream.url("/health")).unwrap();
    let health = Health::builder()
        .check(
            "upstream",
            check,
            [Probe::Readiness],
            Policy::default().cache(Duration::from_secs(1)),
        )
        .unwrap()
        .build()
        .unwrap();
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(health))
        .build();
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(service, std::future::pending()));

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(100));
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let gate = gate.clone();
        requests.spawn(async move {
            let _slot = gate.acquire_owned().await.unwrap();
            support::get(addr, "/readyz").await.status
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let windows = started.elapsed().as_secs() + 1;
    assert!(
        upstream.hits() <= windows,
        "{} upstream hits for 1000 probes over {} reuse window(s)",
        upstream.hits(),
        windows
    );
    assert!(upstream.hits() >= 1);
    server.abort();
}
