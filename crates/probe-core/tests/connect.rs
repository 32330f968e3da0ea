//! The Kafka Connect check against the fake Connect: every scenario's verdict and its
//! byte-exact document, on new workers (one expanded call) and old ones (a call per
//! connector), what it asks Connect, and what it reports as a check.

#[path = "connect/common.rs"]
mod common;

use common::{check, document, rules, start, within, HEALTHY};
use probe_core::evaluators::connect::Traces;
use probe_core::{Check, Status};
use probe_testkit::connect::scenarios::{self, THIS_WORKER};
use probe_testkit::connect::Scenario;

const W0: Option<&str> = Some(THIS_WORKER);

const TASK_TRACE: &str = r#"org.apache.kafka.connect.errors.ConnectException: password=hunter2 rejected\n\tat org.example.Sink.put(Sink.java:42)\n"#;

struct Case {
    name: &'static str,
    scenario: fn() -> Scenario,
    states: &'static str,
    containers: &'static str,
    worker: Option<&'static str>,
    percentage: u32,
    document: String,
}

fn case(
    name: &'static str,
    scenario: fn() -> Scenario,
    worker: Option<&'static str>,
    document: &str,
) -> Case {
    Case {
        name,
        scenario,
        states: "FAILED",
        containers: "CONNECTOR,TASK",
        worker,
        percentage: 0,
        document: document.to_owned(),
    }
}

fn three_of_ten(threshold: &str, healthy: bool) -> String {
    format!(
        concat!(
            r#"{{"failures": [{{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": "connect-0:8083"}}, "#,
            r#"{{"type": "task", "connector": "orders-sink", "id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}}, "#,
            r#"{{"type": "task", "connector": "audit-source", "id": 5, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}}], "#,
            r#""failure_states": ["FAILED"], "failure_rate": 0.3, "failure_threshold": {}, "healthy": {}}}"#
        ),
        threshold, healthy
    )
}

fn cases() -> Vec<Case> {
    let failed_both = concat!(
        r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": "connect-0:8083"}, "#,
        r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
        r#""failure_states": ["FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
    );
    let failed_task = concat!(
        r#"{"failures": [{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
        r#""failure_states": ["FAILED"], "failure_rate": "#
    );
    vec![
        case("healthy", scenarios::healthy, None, HEALTHY),
        case(
            "failed connector",
            scenarios::failed_connector,
            None,
            failed_both,
        ),
        case(
            "failed task with a trace",
            scenarios::failed_task_with_trace,
            W0,
            &format!(
                r#"{{"failures": [{{"type": "task", "connector": "orders-sink", "id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": "{TASK_TRACE}"}}], "failure_states": ["FAILED"], "failure_rate": 0.3333333333333333, "failure_threshold": 0.0, "healthy": false}}"#
            ),
        ),
        case(
            "paused, not an unhealthy state",
            scenarios::paused,
            None,
            HEALTHY,
        ),
        Case {
            states: "paused,failed",
            ..case(
                "paused, an unhealthy state",
                scenarios::paused,
                None,
                concat!(
                    r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "PAUSED", "worker_id": "connect-0:8083"}, "#,
                    r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "PAUSED", "worker_id": "connect-0:8083", "trace": null}], "#,
                    r#""failure_states": ["PAUSED", "FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
                ),
            )
        },
        case(
            "worker id, all on this worker",
            scenarios::multiple_tasks,
            W0,
            HEALTHY,
        ),
        case("worker id, nothing here", scenarios::elsewhere, W0, HEALTHY),
        case(
            "worker id, other workers failing",
            scenarios::other_workers_failing,
            W0,
            HEALTHY,
        ),
        case(
            "worker id, task failing here",
            scenarios::task_failing_here,
            Some("CONNECT-0:8083"),
            &format!(r#"{failed_task}0.5, "failure_threshold": 0.0, "healthy": false}}"#),
        ),
        case(
            "multiple connectors",
            scenarios::multiple_connectors,
            W0,
            HEALTHY,
        ),
        case(
            "three of ten failed",
            scenarios::three_of_ten,
            W0,
            &three_of_ten("0.0", false),
        ),
        Case {
            percentage: 10,
            ..case(
                "under a 10 % threshold",
                scenarios::three_of_ten,
                W0,
                &three_of_ten("0.1", false),
            )
        },
        Case {
            percentage: 50,
            ..case(
                "under a 50 % threshold",
                scenarios::three_of_ten,
                W0,
                &three_of_ten("0.5", true),
            )
        },
        Case {
            percentage: 57,
            ..case(
                "under a 57 % threshold",
                scenarios::three_of_ten,
                W0,
                &three_of_ten("0.5700000000000001", true),
            )
        },
        case("no connectors", scenarios::empty, W0, HEALTHY),
        case(
            "unreachable broker",
            scenarios::unreachable_broker,
            Some("connect-9:8083"),
            r#"{"failures": [{"type": "broker", "connector": "orders-sink"}], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": false}"#,
        ),
        Case {
            containers: "CONNECTOR",
            ..case(
                "connectors only, a task failed",
                scenarios::task_failed_connector_running,
                None,
                HEALTHY,
            )
        },
        Case {
            containers: "TASK",
            ..case(
                "tasks only, the connector failed",
                scenarios::connector_failed_task_running,
                None,
                HEALTHY,
            )
        },
        Case {
            containers: "TASK",
            ..case(
                "tasks only, both failed",
                scenarios::failed_connector,
                None,
                &format!(r#"{failed_task}1.0, "failure_threshold": 0.0, "healthy": false}}"#),
            )
        },
        case(
            "null worker ids under a filter",
            scenarios::null_worker_ids,
            W0,
            HEALTHY,
        ),
        case(
            "null worker ids, no filter",
            scenarios::null_worker_ids,
            None,
            concat!(
                r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": null}, "#,
                r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": null, "trace": null}], "#,
                r#""failure_states": ["FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
            ),
        ),
        Case {
            states: "STOPPED,RESTARTING",
            ..case(
                "states newer than the peer",
                scenarios::newer_states,
                None,
                concat!(
                    r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "STOPPED", "worker_id": "connect-0:8083"}, "#,
                    r#"{"type": "connector", "connector": "audit-source", "state": "RESTARTING", "worker_id": "connect-0:8083"}, "#,
                    r#"{"type": "task", "connector": "audit-source", "id": 0, "state": "restarting", "worker_id": "connect-0:8083", "trace": null}], "#,
                    r#""failure_states": ["STOPPED", "RESTARTING"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
                ),
            )
        },
    ]
}

#[tokio::test]
async fn every_scenario_gives_the_peers_document_in_one_call_on_new_workers() {
    for case in cases() {
        let connect = start((case.scenario)()).await;
        let check = check(
            &connect,
            rules(case.states, case.containers, case.worker, case.percentage),
        );
        let got = document(&check)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(got, case.document, "{}", case.name);
        let requests = connect.requests();
        assert_eq!(requests[0], "/connectors?expand=status", "{}", case.name);
        assert!(
            requests[1..].iter().all(|r| !r.ends_with("/status")),
            "{}: statuses asked one by one: {requests:?}",
            case.name
        );
    }
}

#[tokio::test]
async fn every_scenario_gives_the_same_document_on_old_workers_whatever_the_status_code() {
    for case in cases() {
        // Before Kafka 2.3 `expand` is ignored; status objects served with 503 still count.
        let connect = start((case.scenario)().old_worker().status_http(503)).await;
        let check = check(
            &connect,
            rules(case.states, case.containers, case.worker, case.percentage),
        );
        let got = document(&check)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(got, case.document, "{}", case.name);
    }
}

#[tokio::test]
async fn old_workers_are_asked_per_connector_in_listing_order() {
    let connect = start(scenarios::three_of_ten().old_worker()).await;
    within(check(&connect, rules("FAILED", "CONNECTOR,TASK", W0, 0)).evaluate())
        .await
        .unwrap();
    assert_eq!(
        connect.requests(),
        [
            "/connectors?expand=status",
            "/connectors/orders-sink/status",
            "/connectors/audit-source/status"
        ]
    );
}

#[tokio::test]
async fn connect_is_asked_about_a_connector_only_when_none_was_judged() {
    let connect = start(scenarios::healthy()).await;
    within(check(&connect, rules("FAILED", "CONNECTOR,TASK", W0, 0)).evaluate())
        .await
        .unwrap();
    assert_eq!(connect.request_count(), 1);

    let connect = start(scenarios::elsewhere()).await;
    within(check(&connect, rules("FAILED", "CONNECTOR,TASK", W0, 0)).evaluate())
        .await
        .unwrap();
    assert_eq!(
        connect.requests(),
        ["/connectors?expand=status", "/connectors/orders-sink"]
    );
}

#[tokio::test]
async fn a_path_prefix_is_kept_on_every_call() {
    let connect = start(
        scenarios::elsewhere()
            .path_prefix("/kafka/connect")
            .old_worker(),
    )
    .await;
    let url = format!("{}/kafka/connect/", connect.url());
    let check =
        probe_core::checks::KafkaConnectCheck::new(&url, rules("FAILED", "CONNECTOR,TASK", W0, 0))
            .unwrap();
    assert_eq!(
        within(check.evaluate())
            .await
            .unwrap()
            .to_document(Traces::Keep),
        HEALTHY
    );
    assert_eq!(
        connect.requests(),
        [
            "/kafka/connect/connectors?expand=status",
            "/kafka/connect/connectors/orders-sink/status",
            "/kafka/connect/connectors/orders-sink"
        ]
    );
}

#[tokio::test]
async fn as_a_check_it_fails_with_a_summary_and_never_shows_traces() {
    let connect = start(scenarios::failed_task_with_trace()).await;
    let check = check(&connect, rules("FAILED", "CONNECTOR,TASK", None, 0));
    let outcome = within(check.check()).await;
    assert_eq!(outcome.status, Status::Fail);
    assert_eq!(
        outcome.message.as_deref(),
        Some("1 of 3 containers failed (rate 0.3333333333333333 > threshold 0.0)")
    );
    let details = outcome.details.expect("details");
    assert_eq!(details["failures"][0]["id"], 1);
    assert!(details["failures"][0]["trace"].is_null());
    assert!(!details.to_string().contains("hunter2"));

    let connect = start(scenarios::healthy()).await;
    let outcome =
        within(self::check(&connect, rules("FAILED", "CONNECTOR,TASK", None, 0)).check()).await;
    assert_eq!(outcome.status, Status::Pass);
    assert_eq!(
        outcome.message.as_deref(),
        Some("0 of 2 containers failed (rate 0.0 <= threshold 0.0)")
    );
}

#[tokio::test]
async fn as_a_check_it_attaches_the_whole_result_for_the_connect_dialect() {
    use probe_core::checks::ConnectError;
    use probe_core::evaluators::connect::Verdict;

    let connect = start(scenarios::failed_task_with_trace()).await;
    let outcome = within(check(&connect, rules("FAILED", "CONNECTOR,TASK", None, 0)).check()).await;
    let attached = outcome.attachment.expect("the result is attached");
    let verdict = attached
        .downcast_ref::<Result<Verdict, ConnectError>>()
        .expect("a Connect result")
        .as_ref()
        .expect("a verdict");
    // The trace stays in the attachment: whether a client sees it is the dialect's call.
    assert!(verdict
        .to_document(Traces::Keep)
        .contains("password=hunter2"));

    let connect = start(Scenario::new().list_answer(500, "not json")).await;
    let outcome = within(check(&connect, rules("FAILED", "CONNECTOR,TASK", None, 0)).check()).await;
    let attached = outcome.attachment.expect("errors are attached too");
    let error = attached
        .downcast_ref::<Result<Verdict, ConnectError>>()
        .expect("a Connect result")
        .as_ref()
        .expect_err("an error");
    assert_eq!(outcome.message.as_deref(), Some(error.to_string().as_str()));
}
