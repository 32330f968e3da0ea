//! `probe connect`, the real binary against the fake Kafka Connect: each defect of
//! kafka-connect-healthcheck it fixes, its log lines, its exit on SIGTERM, and the
//! kubernetes routes beside the peer's.

#[path = "connect/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{fake, get, request, Running, ERROR_MESSAGE, HEALTHY};
use probe_testkit::connect::scenarios::{self, THIS_WORKER};
use probe_testkit::connect::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_connect_blocks_neither_ping_nor_head_and_root_answers_within_its_budget() {
    let connect = fake(Scenario::new().hang()).await;
    let url = connect.url();
    let probe = Running::start(&["--connect-url", &url, "--request-timeout", "1s"], &[]).await;
    let addr = probe.addr;
    let root = tokio::spawn(async move {
        let t = Instant::now();
        (get(addr, "/").await, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let t = Instant::now();
    let ping = get(addr, "/ping").await;
    let head = request(addr, "HEAD", "/").await;
    let quick = t.elapsed();
    assert_eq!(
        (ping.status, ping.body.as_str()),
        (200, r#"{"status": "UP"}"#)
    );
    assert_eq!(head.status, 200);
    assert!(
        quick < Duration::from_millis(500),
        "/ping and HEAD took {quick:?}"
    );

    let (root, took) = root.await.unwrap();
    assert_eq!(root.status, 503);
    assert_eq!(
        root.body,
        format!(
            r#"{{"healthy": false, "message": "{ERROR_MESSAGE}", "error": "GET {url}/connectors?expand=status: no answer within 1s", "failure_states": ["FAILED"]}}"#
        )
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1800),
        "GET / took {took:?} with --request-timeout 1s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_object_from_connect_is_an_error_document_not_a_list_of_names() {
    let connect = fake(
        Scenario::new().list_answer(500, r#"{"error_code":500,"message":"Request timed out"}"#),
    )
    .await;
    let url = connect.url();
    let probe = Running::start(&["--connect-url", &url], &[]).await;
    let got = get(probe.addr, "/").await;
    assert_eq!(got.status, 503);
    assert_eq!(
        got.body,
        format!(
            r#"{{"healthy": false, "message": "{ERROR_MESSAGE}", "error": "GET {url}/connectors?expand=status answered 500: Request timed out", "failure_states": ["FAILED"]}}"#
        )
    );
    // `[]` with 500 is not "no connectors, healthy" either.
    let connect = fake(Scenario::new().list_answer(500, "[]")).await;
    let probe = Running::start(&["--connect-url", &connect.url()], &[]).await;
    assert_eq!(get(probe.addr, "/").await.status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_deleted_during_the_check_is_skipped() {
    let connect = fake(scenarios::healthy().deleted("gone-sink").old_worker()).await;
    let mut probe = Running::start(&["--connect-url", &connect.url()], &[]).await;
    let got = get(probe.addr, "/").await;
    assert_eq!((got.status, got.body.as_str()), (200, HEALTHY));
    assert!(probe
        .wait_for("Connector 'gone-sink' was deleted while the check ran; it is skipped")
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_worker_id_never_matches_the_filter() {
    let connect = fake(scenarios::null_worker_ids()).await;
    let probe = Running::start(
        &[
            "--connect-url",
            &connect.url(),
            "--connect-worker-id",
            THIS_WORKER,
        ],
        &[],
    )
    .await;
    let got = get(probe.addr, "/").await;
    assert_eq!((got.status, got.body.as_str()), (200, HEALTHY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_with_colons_authenticates_and_never_shows() {
    let connect = fake(scenarios::healthy().basic_auth("admin", "pa:ss:word")).await;
    let mut probe = Running::start(
        &["--connect-url", &connect.url()],
        &[("HEALTHCHECK_BASIC_AUTH", "admin:pa:ss:word")],
    )
    .await;
    let got = get(probe.addr, "/").await;
    assert_eq!((got.status, got.body.as_str()), (200, HEALTHY));
    assert!(probe
        .wait_for("Server will use basic authentication against Kafka Connect")
        .await
        .is_some());
    probe.terminate().await;
    assert!(!probe.log().join("\n").contains("pa:ss:word"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_logs_what_the_peer_logs_and_exits_on_sigterm() {
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let url = connect.url();
    let mut probe = Running::start(&["--connect-url", &url], &[]).await;
    assert_eq!(get(probe.addr, "/").await.status, 503);
    assert!(probe
        .wait_for("WARN Connector 'orders-sink' task '1' is unhealthy in failure state: FAILED")
        .await
        .is_some());
    let status = probe.terminate().await;
    assert!(status.success(), "exit status {status:?}");
    let messages: Vec<String> = probe.log().iter().map(|l| message(l)).collect();
    let port = probe.addr.port();
    assert_eq!(
        messages,
        [
            "INFO Initializing healthcheck server...".to_owned(),
            "INFO Server will report unhealthy for states: 'FAILED'".to_owned(),
            format!("INFO Server will healthcheck against Kafka Connect at: {url}"),
            "WARN No worker id supplied, server will healthcheck all connectors and tasks"
                .to_owned(),
            format!("INFO Healthcheck server started at: http://localhost:{port}"),
            "INFO ------------------------------------------------".to_owned(),
            "INFO Connector 'orders-sink' is healthy in state: RUNNING".to_owned(),
            "INFO Connector 'orders-sink' task '0' is healthy in state: RUNNING".to_owned(),
            "WARN Connector 'orders-sink' task '1' is unhealthy in failure state: FAILED"
                .to_owned(),
            "INFO ------------------------------------------------".to_owned(),
            "INFO SIGINT/SIGTERM; exiting...".to_owned(),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_as_soon_as_the_port_accepts_is_caught() {
    // The port accepts from the moment it is bound, just before the "started" line: a
    // SIGTERM sent then must already be caught, ending in the peer's exit line and
    // status 0 rather than in death by the signal.
    for _ in 0..5 {
        let mut probe = Running::start(&[], &[]).await;
        let status = probe.terminate().await;
        assert_eq!(status.code(), Some(0), "exit status {status:?}");
        assert!(
            probe.wait_for("SIGINT/SIGTERM; exiting...").await.is_some(),
            "{:?}",
            probe.log()
        );
    }
}

/// A log line without its timestamp: `LEVEL message`.
fn message(line: &str) -> String {
    let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
    let (level, text) = rest.split_once(' ').unwrap_or((rest, ""));
    format!("{level} {}", text.trim_start())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_are_logged_at_error() {
    let port = common::free_port();
    let mut probe = Running::start(
        &["--connect-url", &format!("http://127.0.0.1:{port}")],
        &[("HEALTHCHECK_LOG_LEVEL", "error")],
    )
    .await;
    let got = get(probe.addr, "/").await;
    assert_eq!(got.status, 503);
    let line = probe
        .wait_for("Error while attempting to calculate health result. Assuming unhealthy. Error: ")
        .await
        .expect("the error is logged");
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("connection refused"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_probes_are_served_beside_the_peers_routes() {
    let connect = fake(scenarios::failed_connector()).await;
    let probe = Running::start(&["--connect-url", &connect.url()], &[]).await;
    let livez = get(probe.addr, "/livez").await;
    assert_eq!((livez.status, livez.body.as_str()), (200, "ok"));
    assert_eq!(
        connect.requests(),
        ["/connectors/probe-worker-liveness"],
        "liveness asks the worker's herder, never the connectors"
    );
    let readyz = get(probe.addr, "/readyz").await;
    assert_eq!(readyz.status, 503);
    assert!(readyz
        .body
        .contains("[-]kafka-connect failed: 2 of 2 containers failed"));
    assert_eq!(get(probe.addr, "/").await.status, 503);
    assert_eq!(get(probe.addr, "/ping").await.status, 200);
    let other = get(probe.addr, "/startup").await;
    assert_eq!((other.status, other.body.as_str()), (404, ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reuse_window_is_opt_in() {
    let connect = fake(scenarios::healthy()).await;
    let probe = Running::start(&["--connect-url", &connect.url()], &[]).await;
    get(probe.addr, "/").await;
    get(probe.addr, "/").await;
    assert_eq!(
        connect.request_count(),
        2,
        "by default every GET / asks Connect"
    );

    let connect = fake(scenarios::healthy()).await;
    let probe = Running::start(
        &["--connect-url", &connect.url()],
        &[("HEALTHCHECK_CACHE", "1m")],
    )
    .await;
    for _ in 0..3 {
        assert_eq!(get(probe.addr, "/").await.body, HEALTHY);
    }
    assert_eq!(connect.request_count(), 1, "--cache 1m reuses the verdict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_own_health_is_asked_when_wanted() {
    let connect = fake(scenarios::healthy().health(
        503,
        r#"{"status":"starting","message":"Worker is still starting up"}"#,
    ))
    .await;
    let url = connect.url();
    let probe = Running::start(&["--connect-url", &url], &[]).await;
    assert_eq!(
        get(probe.addr, "/").await.status,
        200,
        "not asked by default"
    );
    assert_eq!(connect.hits("/health"), 0);

    let probe = Running::start(&["--connect-url", &url, "--worker-health"], &[]).await;
    let got = get(probe.addr, "/").await;
    assert_eq!(got.status, 503);
    assert!(
        got.body.contains(&format!(
            r#""error": "GET {url}/health: the worker reports itself starting (503): Worker is still starting up""#
        )),
        "{}",
        got.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_loopback_clients_even_when_redacted() {
    // Redaction for other clients is tested in probe-http; tests stay on loopback.
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let probe = Running::start(&["--connect-url", &connect.url(), "--redact-traces"], &[]).await;
    let got = get(probe.addr, "/").await;
    assert!(got.body.contains("password=hunter2"), "{}", got.body);
}
