//! gRPC health against tonic's own generated client, over the one-port listener: what
//! `Check` and `Watch` answer for each name, through a change and through shutdown.

mod support;

use std::time::{Duration, Instant};

use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Policy, Probe};
use probe_grpc::pb::health_check_response::ServingStatus::{NotServing, ServiceUnknown, Serving};
use support::{check, client, end, next, silent_for, watch, Running};
use tonic::Code;

/// `loop` (liveness, passes), `db` (readiness, scripted), `warm` (startup, passes).
fn health(db: Scripted) -> Health {
    Health::builder()
        .check(
            "loop",
            Scripted::local([]),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .check("db", db, [Probe::Readiness], Policy::default())
        .unwrap()
        .check(
            "warm",
            Scripted::local([]),
            [Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn check_answers_for_every_name() {
    let health = health(Scripted::dependency([Step::fail("connection refused")]));
    let server = Running::start(&health).await;
    let mut c = client(server.addr).await;
    assert_eq!(check(&mut c, "").await, Ok(NotServing), "\"\" is readiness");
    assert_eq!(check(&mut c, "readiness").await, Ok(NotServing));
    assert_eq!(check(&mut c, "liveness").await, Ok(Serving));
    assert_eq!(check(&mut c, "startup").await, Ok(Serving));
    assert_eq!(check(&mut c, "db").await, Ok(NotServing));
    assert_eq!(check(&mut c, "loop").await, Ok(Serving));
    assert_eq!(check(&mut c, "warm").await, Ok(Serving));
    assert_eq!(check(&mut c, "nosuch").await, Err(Code::NotFound));
    assert_eq!(check(&mut c, "Liveness").await, Err(Code::NotFound));
    server.stop().await;
}

#[tokio::test]
async fn a_warning_is_serving_and_recovery_shows() {
    let db = Scripted::dependency([
        Step::warn("replica lag 12s"),
        Step::fail("down"),
        Step::pass(),
    ]);
    let server = Running::start(&health(db)).await;
    let mut c = client(server.addr).await;
    assert_eq!(check(&mut c, "db").await, Ok(Serving), "warn passes");
    assert_eq!(check(&mut c, "").await, Ok(NotServing));
    assert_eq!(check(&mut c, "readiness").await, Ok(Serving));
    server.stop().await;
}

#[tokio::test]
async fn watch_sends_the_status_at_once_then_each_change_once() {
    let health = health(Scripted::dependency([]));
    let server = Running::start(&health).await;
    let mut c = client(server.addr).await;
    let mut ready = watch(&mut c, "").await;
    assert_eq!(next(&mut ready).await, NotServing, "nothing has run yet");
    assert_eq!(check(&mut c, "").await, Ok(Serving));
    assert_eq!(
        next(&mut ready).await,
        Serving,
        "the evaluation was published"
    );
    health.readiness().set(false);
    assert_eq!(next(&mut ready).await, NotServing);
    health.readiness().set(false);
    health.readiness().set(true);
    assert_eq!(next(&mut ready).await, Serving);
    health.readiness().set(true);
    assert_eq!(check(&mut c, "readiness").await, Ok(Serving));
    silent_for(&mut ready, Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test]
async fn watch_of_a_check_follows_its_runs() {
    let db = Scripted::dependency([Step::pass(), Step::warn("slow"), Step::fail("down")]);
    let server = Running::start(&health(db)).await;
    let mut c = client(server.addr).await;
    let mut db = watch(&mut c, "db").await;
    assert_eq!(next(&mut db).await, NotServing, "not run yet");
    assert_eq!(check(&mut c, "db").await, Ok(Serving));
    assert_eq!(next(&mut db).await, Serving);
    assert_eq!(check(&mut c, "db").await, Ok(Serving), "warn");
    assert_eq!(check(&mut c, "db").await, Ok(NotServing));
    assert_eq!(
        next(&mut db).await,
        NotServing,
        "pass to warn is no change in gRPC: the next message is the failure"
    );
    server.stop().await;
}

#[tokio::test]
async fn at_shutdown_every_name_but_liveness_stops_serving_and_the_stop_ends_watches() {
    let health = health(Scripted::dependency([]));
    let server = Running::start(&health).await;
    let mut c = client(server.addr).await;
    assert_eq!(check(&mut c, "").await, Ok(Serving));
    assert_eq!(check(&mut c, "liveness").await, Ok(Serving), "runs `loop`");
    let mut streams = Vec::new();
    for name in ["", "readiness", "startup", "db", "loop", "liveness"] {
        let mut s = watch(&mut c, name).await;
        assert_eq!(next(&mut s).await, Serving, "{name:?} before shutdown");
        streams.push((name, s));
    }
    health.shutdown().begin();
    for (name, s) in &mut streams {
        if *name == "liveness" {
            silent_for(s, Duration::from_millis(200)).await;
        } else {
            assert_eq!(next(s).await, NotServing, "{name:?} at shutdown");
        }
    }
    assert_eq!(check(&mut c, "liveness").await, Ok(Serving));
    assert_eq!(check(&mut c, "loop").await, Ok(NotServing));
    assert_eq!(check(&mut c, "").await, Ok(NotServing));
    let started = Instant::now();
    server.stop().await;
    for (name, s) in &mut streams {
        assert_eq!(end(s).await, Err(Code::Unavailable), "{name:?} at the stop");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "open watches must not hold the stop: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unknown_name_is_not_found_on_check_and_service_unknown_on_an_open_watch() {
    let server = Running::start(&health(Scripted::dependency([]))).await;
    let mut c = client(server.addr).await;
    assert_eq!(check(&mut c, "nosuch").await, Err(Code::NotFound));
    let mut s = watch(&mut c, "nosuch").await;
    assert_eq!(next(&mut s).await, ServiceUnknown);
    silent_for(&mut s, Duration::from_millis(300)).await;
    assert_eq!(
        check(&mut c, "liveness").await,
        Ok(Serving),
        "the connection still serves other calls"
    );
    server.stop().await;
    assert_eq!(end(&mut s).await, Err(Code::Unavailable));
}

#[tokio::test]
async fn a_kubelet_like_check_connects_and_answers_within_one_second() {
    let server = Running::start(&health(Scripted::dependency([]))).await;
    let addr = server.addr.to_string();
    let started = Instant::now();
    let status = probe_grpc::client::check(&addr, "liveness", Duration::from_secs(1)).await;
    assert_eq!(status.unwrap(), Serving);
    assert!(started.elapsed() < Duration::from_secs(1));
    server.stop().await;
}
