//! The Kafka Connect check where kafka-connect-healthcheck goes wrong: a hanging Connect,
//! error answers, a connector deleted mid-check, colons in passwords, bad state names,
//! oversized answers; and the worker's own `/health`.

#[path = "connect/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{check, document, rules, start, within, HEALTHY};
use probe_core::checks::{ConnectConfigError, KafkaConnectCheck};
use probe_core::evaluators::connect::{render_error, ConnectRules, ConnectState, Traces};
use probe_testkit::connect::scenarios::{self, THIS_WORKER};

const W0: Option<&str> = Some(THIS_WORKER);

fn error_document(error: &str) -> String {
    render_error(error, &[ConnectState::Failed])
}

#[tokio::test]
async fn a_hanging_connect_fails_the_check_within_its_request_timeout() {
    let connect = start(scenarios::healthy().hang()).await;
    let check =
        check(&connect, ConnectRules::default()).request_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let error = document(&check).await.unwrap_err().to_string();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert_eq!(
        error_document(&error),
        format!(
            r#"{{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "GET {}/connectors?expand=status: no answer within 300ms", "failure_states": ["FAILED"]}}"#,
            connect.url()
        )
    );
}

#[tokio::test]
async fn a_hang_on_one_connectors_status_is_a_timeout_naming_it() {
    let connect = start(
        scenarios::three_of_ten()
            .old_worker()
            .hang_on("/connectors/audit-source/status"),
    )
    .await;
    let check =
        check(&connect, ConnectRules::default()).request_timeout(Duration::from_millis(200));
    let error = document(&check).await.unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "GET {}/connectors/audit-source/status: no answer within 200ms",
            connect.url()
        )
    );
}

#[tokio::test]
async fn a_hang_on_the_broker_probe_is_a_broker_failure() {
    let connect = start(scenarios::elsewhere().hang_on("/connectors/orders-sink")).await;
    let check = check(&connect, rules("FAILED", "CONNECTOR,TASK", W0, 0))
        .request_timeout(Duration::from_millis(200));
    assert_eq!(
        document(&check).await.unwrap(),
        r#"{"failures": [{"type": "broker", "connector": "orders-sink"}], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": false}"#
    );
}

#[tokio::test]
async fn an_error_object_is_an_error_naming_the_status_and_connects_message() {
    let body = r#"{"error_code":500,"message":"Request timed out"}"#;
    for status in [500, 200] {
        let connect = start(scenarios::healthy().list_answer(status, body)).await;
        let error = document(&check(&connect, ConnectRules::default()))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!(
                "GET {}/connectors?expand=status answered {status}: Request timed out",
                connect.url()
            )
        );
    }
}

#[tokio::test]
async fn the_list_call_must_succeed_and_be_json() {
    for (status, body, says) in [
        (500, "[]", "answered 500"),
        (503, "", "answered 503"),
        (
            200,
            "<html>maintenance</html>",
            "answered 200 with a body that is not JSON",
        ),
        (200, "\"orders-sink\"", "answered 200 with unexpected JSON"),
    ] {
        let connect = start(scenarios::healthy().list_answer(status, body)).await;
        let error = document(&check(&connect, ConnectRules::default()))
            .await
            .unwrap_err()
            .to_string();
        let prefix = format!("GET {}/connectors?expand=status {says}", connect.url());
        assert!(error.starts_with(&prefix), "{error}");
    }
}

#[tokio::test]
async fn a_connector_deleted_during_the_check_is_skipped() {
    for old in [true, false] {
        let mut scenario = scenarios::healthy().deleted("gone-sink");
        if old {
            scenario = scenario.old_worker();
        }
        let connect = start(scenario).await;
        assert_eq!(
            document(&check(&connect, ConnectRules::default()))
                .await
                .unwrap(),
            HEALTHY
        );
        if old {
            // Asked once more (a 404 right after the list may be a transient answer).
            assert_eq!(connect.hits("/connectors/gone-sink/status"), 2);
        }
    }
}

#[tokio::test]
async fn a_password_with_colons_is_split_at_the_first_one() {
    let connect = start(scenarios::healthy().basic_auth("admin", "pa:ss:word")).await;
    let good = check(&connect, ConnectRules::default())
        .basic_auth("admin:pa:ss:word")
        .unwrap();
    assert_eq!(document(&good).await.unwrap(), HEALTHY);

    // The same credentials in the URL work too, and never show.
    let url = connect
        .url()
        .replace("http://", "http://admin:pa%3Ass%3Aword@");
    let in_url = KafkaConnectCheck::new(&url, ConnectRules::default()).unwrap();
    assert_eq!(document(&in_url).await.unwrap(), HEALTHY);

    let url = connect.url().replace("http://", "http://admin:wrong@");
    let wrong = KafkaConnectCheck::new(&url, ConnectRules::default()).unwrap();
    let error = document(&wrong).await.unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "GET {}/connectors?expand=status answered 401: User cannot access the resource.",
            connect.url().replace("http://", "http://admin:***@")
        )
    );

    let missing = check(&connect, ConnectRules::default());
    let error = document(&missing).await.unwrap_err().to_string();
    assert!(
        error.ends_with("answered 401: User cannot access the resource."),
        "{error}"
    );
}

#[tokio::test]
async fn a_basic_auth_value_without_a_colon_is_refused_at_construction() {
    let err = KafkaConnectCheck::new("http://127.0.0.1:8083", ConnectRules::default())
        .unwrap()
        .basic_auth("admin")
        .unwrap_err();
    assert!(matches!(err, ConnectConfigError::BasicAuth));
    assert_eq!(
        err.to_string(),
        "basic auth must be `user:password` (no colon found)"
    );
}

#[test]
fn an_unknown_state_name_is_a_configuration_error() {
    let err = ConnectRules::parse("FAILED,BOGUS", "CONNECTOR,TASK", None, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unhealthy states: unknown Kafka Connect state `BOGUS` (expected UNASSIGNED, RUNNING, PAUSED, FAILED, RESTARTING or STOPPED)"
    );
    assert!(ConnectRules::parse("failed, Restarting ,stopped", "task", None, 0).is_ok());
}

#[tokio::test]
async fn an_unreachable_connect_is_an_error_naming_the_url() {
    let listener = within(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}");
    let error = document(&KafkaConnectCheck::new(&url, ConnectRules::default()).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!("GET {url}/connectors?expand=status: cannot connect to {addr}: connection refused")
    );
}

#[tokio::test]
async fn an_oversized_answer_is_an_error_not_an_allocation() {
    let connect = start(scenarios::multiple_connectors()).await;
    let check = check(&connect, ConnectRules::default()).max_body(512);
    let error = document(&check).await.unwrap_err().to_string();
    assert!(error.ends_with("is larger than 512 bytes"), "{error}");
}

#[tokio::test]
async fn the_workers_own_health_is_consulted_when_asked() {
    let healthy = r#"{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}"#;
    let connect = start(scenarios::healthy().health(200, healthy)).await;
    let asking = check(&connect, ConnectRules::default()).worker_health(true);
    assert_eq!(document(&asking).await.unwrap(), HEALTHY);
    assert_eq!(connect.hits("/health"), 1);

    // A worker before Kafka 3.9 answers 404: not held against it.
    let connect = start(scenarios::healthy()).await;
    let asking = check(&connect, ConnectRules::default()).worker_health(true);
    assert_eq!(document(&asking).await.unwrap(), HEALTHY);

    let starting = r#"{"status":"starting","message":"Worker is still starting up."}"#;
    let connect = start(scenarios::healthy().health(503, starting)).await;
    let asking = check(&connect, ConnectRules::default()).worker_health(true);
    assert_eq!(
        document(&asking).await.unwrap_err().to_string(),
        format!(
            "GET {}/health: the worker reports itself starting (503): Worker is still starting up.",
            connect.url()
        )
    );
    // Not asked unless enabled.
    let plain = check(&connect, ConnectRules::default());
    assert_eq!(document(&plain).await.unwrap(), HEALTHY);
    assert_eq!(connect.hits("/health"), 1);
}

#[tokio::test]
async fn a_stuck_health_endpoint_is_a_timeout() {
    let connect = start(scenarios::healthy().hang_on("/health")).await;
    let asking = check(&connect, ConnectRules::default())
        .worker_health(true)
        .request_timeout(Duration::from_millis(200));
    let error = document(&asking).await.unwrap_err().to_string();
    assert_eq!(
        error,
        format!("GET {}/health: no answer within 200ms", connect.url())
    );
}

#[tokio::test]
async fn redacted_traces_are_null() {
    let connect = start(scenarios::failed_task_with_trace()).await;
    let verdict = within(check(&connect, ConnectRules::default()).evaluate())
        .await
        .unwrap();
    assert!(verdict.to_document(Traces::Keep).contains("hunter2"));
    let redacted = verdict.to_document(Traces::Redact);
    assert!(!redacted.contains("hunter2"));
    assert!(redacted
        .contains(r#""id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}"#));
}

#[tokio::test]
async fn a_timed_out_request_closes_its_connection() {
    let connect = start(scenarios::healthy().hang()).await;
    let check =
        check(&connect, ConnectRules::default()).request_timeout(Duration::from_millis(100));
    for _ in 0..3 {
        assert!(document(&check).await.is_err());
    }
    // The fake sees each connection end once the client gave up on it.
    within(async {
        while connect.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(connect.request_count(), 3);
}
