//! The `kpow` dialect over a real socket: `/healthy` follows the Kafka Streams state, `/up`
//! answers whatever happens, under a path prefix too, next to the `kubernetes` dialect.

mod support;

use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH};
use http::{Method, StatusCode};
use probe_core::evaluators::streams::{State, StreamsState};
use probe_core::{Health, Policy, Probe};
use probe_http::{Details, Kpow, Kubernetes, ProbeService};
use support::{ask, get, send, serve};

/// The three Streams checks, as `probe kpow` registers them.
fn health(streams: &StreamsState) -> Health {
    Health::builder()
        .check(
            "kafka-streams",
            streams.liveness(),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .check(
            "kafka-streams:ready",
            streams.readiness(),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .check(
            "kafka-streams:started",
            streams.startup(),
            [Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap()
}

fn service(health: Health, prefix: &str, details: Details) -> ProbeService {
    ProbeService::builder()
        .path_prefix(prefix)
        .dialect(Kpow::new(health.clone()).details(details))
        .dialect(Kubernetes::new(health))
        .build()
}

fn running() -> StreamsState {
    let streams = StreamsState::new();
    streams.transition(State::Rebalancing).unwrap();
    streams.transition(State::Running).unwrap();
    streams
}

#[tokio::test]
async fn healthy_is_200_until_streams_fails_then_503_for_good() {
    let streams = running();
    let served = serve(service(health(&streams), "", Details::Local));

    let ok = get(served.addr, "/healthy").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, "ok");
    assert_eq!(ok.headers[CACHE_CONTROL], "no-store");

    streams.fail("kafka cluster unreachable (test)").unwrap();
    let failed = get(served.addr, "/healthy").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        failed
            .body
            .starts_with("unhealthy: kafka-streams: kafka streams ERROR for "),
        "{}",
        failed.body
    );
    assert!(
        failed.body.contains("kafka cluster unreachable (test)"),
        "a loopback client sees the cause: {}",
        failed.body
    );

    // ERROR is terminal: a listener reporting RUNNING again is refused.
    assert!(streams.transition(State::Running).is_err());
    assert_eq!(
        get(served.addr, "/healthy").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn up_is_200_in_every_state() {
    let streams = StreamsState::new();
    let served = serve(service(health(&streams), "", Details::Local));
    for step in [None, Some(State::Rebalancing), Some(State::Running)] {
        if let Some(next) = step {
            streams.transition(next).unwrap();
        }
        let up = get(served.addr, "/up").await;
        assert_eq!((up.status, up.body.as_str()), (StatusCode::OK, "ok"));
    }
    streams.fail("boom").unwrap();
    let up = get(served.addr, "/up").await;
    assert_eq!((up.status, up.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(
        get(served.addr, "/livez").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn the_kubernetes_routes_answer_alongside() {
    let streams = StreamsState::new();
    let served = serve(service(health(&streams), "", Details::Local));
    // CREATED: alive, not started, not ready.
    assert_eq!(get(served.addr, "/livez").await.status, StatusCode::OK);
    assert_eq!(
        get(served.addr, "/startupz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get(served.addr, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    streams.transition(State::Rebalancing).unwrap();
    streams.transition(State::Running).unwrap();
    for path in ["/livez", "/readyz", "/startupz", "/healthy", "/up"] {
        assert_eq!(
            get(served.addr, path).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
}

#[tokio::test]
async fn under_the_kpow_prefix_only_prefixed_paths_answer() {
    let streams = running();
    let served = serve(service(health(&streams), "/kpow", Details::Local));
    for path in ["/kpow/healthy", "/kpow/up", "/kpow/livez"] {
        let a = get(served.addr, path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
    }
    for path in ["/healthy", "/up", "/kpowhealthy", "/kpow", "/kpow/"] {
        assert_eq!(
            get(served.addr, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    streams.fail("boom").unwrap();
    assert_eq!(
        get(served.addr, "/kpow/healthy").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(served.addr, "/kpow/up").await.status, StatusCode::OK);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let streams = running();
    // Reasons withheld: the 503 body does not carry the (changing) age of the state.
    let served = serve(service(health(&streams), "", Details::Never));
    let head = ask(served.addr, Method::HEAD, "/healthy").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[CONTENT_LENGTH], "2");
    assert_eq!(head.body, "");
    streams.fail("boom").unwrap();
    let get_503 = get(served.addr, "/healthy").await;
    let head_503 = ask(served.addr, Method::HEAD, "/healthy").await;
    assert_eq!(head_503.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(get_503.body, "unhealthy: kafka-streams: reason withheld\n");
    assert_eq!(
        head_503.headers[CONTENT_LENGTH],
        get_503.body.len().to_string().as_str()
    );
    assert_eq!(head_503.body, "");
    let up = ask(served.addr, Method::HEAD, "/up").await;
    assert_eq!((up.status, up.body.as_str()), (StatusCode::OK, ""));
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let served = serve(service(health(&running()), "", Details::Local));
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        for path in ["/healthy", "/up"] {
            let a = ask(served.addr, method.clone(), path).await;
            assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(a.headers[ALLOW], "GET, HEAD", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn reasons_follow_the_details_policy() {
    let streams = running();
    streams.fail("secret cause").unwrap();
    let never = serve(service(health(&streams), "", Details::Never));
    let a = get(never.addr, "/healthy").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.body, "unhealthy: kafka-streams: reason withheld\n");
}

#[tokio::test]
async fn health_json_is_served_when_asked_for() {
    let streams = running();
    let served = serve(service(health(&streams), "", Details::Local));
    let a = get(served.addr, "/healthy?format=json").await;
    assert_eq!(a.status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(doc["status"], "pass");
    assert_eq!(doc["checks"]["kafka-streams"][0]["status"], "pass");
    streams.fail("boom").unwrap();
    let a = get(served.addr, "/healthy?format=json").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let doc: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["output"], "liveness check failed: kafka-streams");
}

#[tokio::test]
async fn a_json_type_refused_with_q_zero_gets_text() {
    let streams = running();
    let served = serve(service(health(&streams), "", Details::Local));
    let a = send(
        served.addr,
        Method::GET,
        "/healthy",
        &[("accept", "application/json;q=0")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(a.body, "ok");
    let a = send(
        served.addr,
        Method::GET,
        "/healthy",
        &[("accept", "application/json;q=0.5")],
    )
    .await;
    assert_eq!(a.headers["content-type"], "application/json");
}
