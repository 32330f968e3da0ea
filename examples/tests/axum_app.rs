//! `examples/axum_app.rs`: its application on loopback, served by the example's own `serve`,
//! with the drain started from a channel where the example waits for SIGTERM.

mod support;

#[allow(dead_code)]
#[path = "../axum_app.rs"]
pub mod axum_app;

use std::time::Duration;

use probe_core::{Drain, Health, Probe, Status};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use support::{failing_db, get, request, within};

#[tokio::test]
async fn serves_its_route_and_the_probes_on_one_port() {
    let listener = within(5, TcpListener::bind("127.0.0.1:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum_app::app(failing_db());
    let server = tokio::spawn(axum_app::serve(listener, app, std::future::pending()));

    let root = get(addr, "/").await;
    assert_eq!(
        (root.status, root.body.as_str()),
        (200, "hello from the application\n")
    );
    let live = get(addr, "/livez").await;
    assert_eq!((live.status, live.body.as_str()), (200, "ok"));
    let ready = get(addr, "/readyz?verbose").await;
    assert_eq!(ready.status, 503);
    assert!(
        ready.body.contains("[-]db failed: connection refused"),
        "a loopback client sees the reason: {}",
        ready.body
    );
    let post = request(addr, "POST", "/readyz").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), "GET, HEAD");
    let unknown_check = get(addr, "/readyz/nosuch").await;
    assert_eq!(
        (unknown_check.status, unknown_check.body.as_str()),
        (404, "not found\n")
    );
    let unknown_path = get(addr, "/nosuch").await;
    assert_eq!(
        (unknown_path.status, unknown_path.body.as_str()),
        (404, ""),
        "axum's 404 for the application's paths"
    );
    server.abort();
}

#[tokio::test]
async fn a_stop_fails_readiness_at_once_then_the_server_stops_after_the_drain() {
    let health = Health::builder().build().unwrap();
    let listener = within(5, TcpListener::bind("127.0.0.1:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, signals) = mpsc::channel::<()>(1);
    let shutdown = Drain::new(&health, Duration::from_secs(1)).on(signals);
    let server = tokio::spawn(axum_app::serve(
        listener,
        axum_app::app(health.clone()),
        shutdown,
    ));
    assert_eq!(get(addr, "/readyz").await.status, 200);

    let mut readiness = health.subscribe(Probe::Readiness);
    within(5, stop.send(())).await.unwrap();
    within(5, readiness.wait_for(|s| *s == Status::Fail))
        .await
        .unwrap();
    // The drain: still answering, no longer ready, still alive.
    let ready = get(addr, "/readyz").await;
    assert_eq!(ready.status, 503);
    assert!(ready.body.contains("[-]shutdown failed"), "{}", ready.body);
    assert_eq!(get(addr, "/livez").await.status, 200);

    within(5, server).await.unwrap().unwrap();
    assert!(
        within(5, tokio::net::TcpStream::connect(addr))
            .await
            .is_err(),
        "the port is closed once the server has stopped"
    );
}
