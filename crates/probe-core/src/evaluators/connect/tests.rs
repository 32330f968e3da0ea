//! The rules and documents against hand-written Connect statuses.

use super::*;

fn status(
    name: &str,
    state: &str,
    worker: Option<&str>,
    tasks: &[(i64, &str, Option<&str>)],
) -> ConnectorStatus {
    ConnectorStatus {
        name: name.into(),
        connector: ConnectorInstance {
            state: state.into(),
            worker_id: worker.map(Into::into),
            trace: None,
        },
        tasks: tasks
            .iter()
            .map(|&(id, state, worker)| TaskStatus {
                id,
                state: state.into(),
                worker_id: worker.map(Into::into),
                trace: None,
            })
            .collect(),
        kind: Some("sink".into()),
    }
}

const W0: Option<&str> = Some("connect-0:8083");
const W1: Option<&str> = Some("connect-1:8083");

fn rules(worker: Option<&str>) -> ConnectRules {
    ConnectRules {
        worker_id: worker.map(Into::into),
        ..ConnectRules::default()
    }
}

/// Ten containers over two connectors on one worker, three of them failed.
fn three_of_ten() -> Vec<ConnectorStatus> {
    vec![
        status(
            "audit-source",
            "FAILED",
            W0,
            &[
                (0, "RUNNING", W0),
                (1, "FAILED", W0),
                (2, "RUNNING", W0),
                (3, "RUNNING", W0),
            ],
        ),
        status(
            "orders-sink",
            "RUNNING",
            W0,
            &[
                (0, "RUNNING", W0),
                (1, "RUNNING", W0),
                (2, "RUNNING", W0),
                (5, "FAILED", W0),
            ],
        ),
    ]
}

const THREE_OF_TEN_FAILURES: &str = concat!(
    r#"{"failures": [{"type": "connector", "connector": "audit-source", "state": "FAILED", "worker_id": "connect-0:8083"}, "#,
    r#"{"type": "task", "connector": "audit-source", "id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}, "#,
    r#"{"type": "task", "connector": "orders-sink", "id": 5, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
    r#""failure_states": ["FAILED"], "failure_rate": 0.3, "#,
);

const HEALTHY: &str = r#"{"failures": [], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": true}"#;

#[test]
fn all_running_is_healthy_with_the_peers_exact_document() {
    let statuses = [status("orders-sink", "RUNNING", W0, &[(0, "RUNNING", W0)])];
    let verdict = rules(None).evaluate(&statuses, false);
    assert!(verdict.healthy);
    assert_eq!(verdict.to_document(Traces::Keep), HEALTHY);
    assert_eq!((verdict.failure_count, verdict.container_count), (0, 2));
    assert_eq!(rules(None).broker_probe_target(&statuses), None);
}

#[test]
fn a_failed_connector_and_its_failed_task_are_listed_in_connects_order() {
    let statuses = [status("orders-sink", "failed", W0, &[(0, "FAILED", W0)])];
    let verdict = rules(None).evaluate(&statuses, false);
    assert_eq!(
        verdict.to_document(Traces::Keep),
        concat!(
            r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": "connect-0:8083"}, "#,
            r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
            r#""failure_states": ["FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
        )
    );
    assert_eq!(
        verdict.summary(),
        "2 of 2 containers failed (rate 1.0 > threshold 0.0)"
    );
}

#[test]
fn a_task_trace_is_shown_as_sent_or_redacted() {
    let mut statuses = vec![status(
        "orders-sink",
        "RUNNING",
        W0,
        &[(0, "RUNNING", W0), (4, "failed", W0)],
    )];
    statuses[0].tasks[1].trace = Some(
        "org.apache.kafka.connect.errors.ConnectException: écrit\n\tat Task.put(Task.java:42)"
            .into(),
    );
    let verdict = rules(W0).evaluate(&statuses, false);
    let task = r#"{"failures": [{"type": "task", "connector": "orders-sink", "id": 4, "state": "failed", "worker_id": "connect-0:8083", "trace": "#;
    let tail = r#"}], "failure_states": ["FAILED"], "failure_rate": 0.3333333333333333, "failure_threshold": 0.0, "healthy": false}"#;
    assert_eq!(
        verdict.to_document(Traces::Keep),
        format!(
            r#"{task}"org.apache.kafka.connect.errors.ConnectException: \u00e9crit\n\tat Task.put(Task.java:42)"{tail}"#
        )
    );
    assert_eq!(
        verdict.to_document(Traces::Redact),
        format!("{task}null{tail}")
    );
}

#[test]
fn a_worker_filter_judges_tasks_on_this_worker_but_counts_every_container() {
    // The connector runs elsewhere; its task here failed: 1 failure of 2 containers.
    let statuses = [status("orders-sink", "RUNNING", W1, &[(0, "FAILED", W0)])];
    let verdict = rules(Some("CONNECT-0:8083")).evaluate(&statuses, false);
    assert_eq!(
        verdict.to_document(Traces::Keep),
        concat!(
            r#"{"failures": [{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
            r#""failure_states": ["FAILED"], "failure_rate": 0.5, "failure_threshold": 0.0, "healthy": false}"#
        )
    );
    // And it asks Connect about the connector, since none was judged here.
    assert_eq!(
        rules(W0).broker_probe_target(&statuses),
        Some("orders-sink")
    );
}

#[test]
fn failures_on_other_workers_do_not_count() {
    let statuses = [status("orders-sink", "FAILED", W1, &[(0, "FAILED", W1)])];
    let verdict = rules(W0).evaluate(&statuses, false);
    assert_eq!(verdict.to_document(Traces::Keep), HEALTHY);
    assert_eq!(
        verdict.summary(),
        "0 of 2 containers failed (rate 0.0 <= threshold 0.0)"
    );
}

#[test]
fn a_null_worker_id_never_matches_a_filter() {
    let statuses = [status(
        "orders-sink",
        "FAILED",
        None,
        &[(0, "FAILED", None)],
    )];
    assert_eq!(
        rules(W0)
            .evaluate(&statuses, false)
            .to_document(Traces::Keep),
        HEALTHY
    );
    // Without a filter it is judged, and shown as null.
    let verdict = rules(None).evaluate(&statuses, false);
    assert_eq!(
        verdict.to_document(Traces::Keep),
        concat!(
            r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": null}, "#,
            r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": null, "trace": null}], "#,
            r#""failure_states": ["FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
        )
    );
}

#[test]
fn the_threshold_decides_between_healthy_and_not() {
    let statuses = three_of_ten();
    for (percentage, threshold, healthy) in [
        (0, "0.0", false),
        (10, "0.1", false),
        (30, "0.3", true),
        (50, "0.5", true),
        (57, "0.5700000000000001", true),
    ] {
        let rules = ConnectRules {
            failure_threshold_percentage: percentage,
            ..rules(W0)
        };
        let verdict = rules.evaluate(&statuses, false);
        assert_eq!(verdict.healthy, healthy, "{percentage}%");
        assert_eq!(
            verdict.to_document(Traces::Keep),
            format!(
                r#"{THREE_OF_TEN_FAILURES}"failure_threshold": {threshold}, "healthy": {healthy}}}"#
            )
        );
    }
}

#[test]
fn no_connectors_is_healthy_and_needs_no_broker_probe() {
    let verdict = rules(W0).evaluate(&[], true);
    assert_eq!(verdict.to_document(Traces::Keep), HEALTHY);
    assert_eq!(rules(W0).broker_probe_target(&[]), None);
}

#[test]
fn a_broker_failure_makes_it_unhealthy_whatever_the_rate() {
    let statuses = [status(
        "orders-sink",
        "RUNNING",
        W1,
        &[(0, "RUNNING", Some("connect-2:8083"))],
    )];
    let rules = ConnectRules {
        failure_threshold_percentage: 100,
        ..rules(Some("connect-9:8083"))
    };
    assert_eq!(rules.broker_probe_target(&statuses), Some("orders-sink"));
    let verdict = rules.evaluate(&statuses, true);
    assert!(verdict.broker_failed());
    assert_eq!(
        verdict.to_document(Traces::Keep),
        r#"{"failures": [{"type": "broker", "connector": "orders-sink"}], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 1.0, "healthy": false}"#
    );
    assert!(
        verdict.summary().ends_with("(broker check)"),
        "{}",
        verdict.summary()
    );
}

#[test]
fn considered_containers_choose_what_is_judged_and_counted() {
    let statuses = [status("orders-sink", "RUNNING", W0, &[(0, "FAILED", W0)])];
    let connectors_only = ConnectRules::parse("FAILED", "CONNECTOR", None, 0).unwrap();
    assert_eq!(
        connectors_only
            .evaluate(&statuses, false)
            .to_document(Traces::Keep),
        HEALTHY
    );

    let statuses = [status("orders-sink", "FAILED", W0, &[(0, "RUNNING", W0)])];
    let tasks_only = ConnectRules::parse("FAILED", " task ", None, 0).unwrap();
    assert_eq!(
        tasks_only
            .evaluate(&statuses, false)
            .to_document(Traces::Keep),
        HEALTHY
    );
    // With connectors not considered, Connect is asked about the first one.
    assert_eq!(
        tasks_only.broker_probe_target(&statuses),
        Some("orders-sink")
    );

    let statuses = [status("orders-sink", "FAILED", W0, &[(0, "FAILED", W0)])];
    let verdict = tasks_only.evaluate(&statuses, false);
    assert_eq!((verdict.failure_count, verdict.container_count), (1, 1));
    assert_eq!(verdict.failure_rate, 1.0);
}

#[test]
fn several_unhealthy_states_keep_their_order_in_the_document() {
    let rules = ConnectRules::parse(" paused ,Failed", "CONNECTOR,TASK", None, 0).unwrap();
    let statuses = [status(
        "orders-sink",
        "PAUSED",
        W0,
        &[(0, "RESTARTING", W0)],
    )];
    let verdict = rules.evaluate(&statuses, false);
    assert_eq!(
        verdict.to_document(Traces::Keep),
        concat!(
            r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "PAUSED", "worker_id": "connect-0:8083"}], "#,
            r#""failure_states": ["PAUSED", "FAILED"], "failure_rate": 0.5, "failure_threshold": 0.0, "healthy": false}"#
        )
    );
    assert_eq!(
        verdict.observations,
        vec![
            Observation {
                connector: "orders-sink".into(),
                task: None,
                state: "PAUSED".into(),
                unhealthy: true
            },
            Observation {
                connector: "orders-sink".into(),
                task: Some(0),
                state: "RESTARTING".into(),
                unhealthy: false
            },
        ]
    );
}

#[test]
fn unknown_names_in_the_options_are_errors() {
    assert_eq!(
        ConnectRules::parse("FAILED,BOGUS", "CONNECTOR", None, 0),
        Err(RulesError::State(UnknownState("BOGUS".into())))
    );
    assert_eq!(
        ConnectRules::parse("FAILED", "connectors", None, 0),
        Err(RulesError::Container(UnknownContainer("connectors".into())))
    );
    assert_eq!(
        parse_states(" "),
        Err(RulesError::Empty("unhealthy states"))
    );
    assert!(parse_states("FAILED,").is_err());
    assert_eq!(
        ConnectRules::parse("FAILED,BOGUS", "TASK", None, 0).unwrap_err().to_string(),
        "unhealthy states: unknown Kafka Connect state `BOGUS` (expected UNASSIGNED, RUNNING, PAUSED, FAILED, RESTARTING or STOPPED)"
    );
    assert_eq!(
        ConnectRules::parse("FAILED", "TASK", Some("  "), 0)
            .unwrap()
            .worker_id,
        None
    );
}

#[test]
fn the_error_document_escapes_like_python() {
    assert_eq!(
        render_error(
            "naïve \"quote\" \\ tab\t nl\n esc\u{1b} del\u{7f} 😀 ~",
            &[ConnectState::Failed, ConnectState::Paused]
        ),
        concat!(
            r#"{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "#,
            r#""error": "na\u00efve \"quote\" \\ tab\t nl\n esc\u001b del\u007f \ud83d\ude00 ~", "failure_states": ["FAILED", "PAUSED"]}"#
        )
    );
    assert_eq!(PING_DOCUMENT, r#"{"status": "UP"}"#);
}

#[test]
fn floats_read_like_python_repr() {
    // Pairs printed by CPython 3: repr(x).
    for (x, python) in [
        (0.0, "0.0"),
        (1.0, "1.0"),
        (0.3, "0.3"),
        (1.0 / 3.0, "0.3333333333333333"),
        (57.0 * 0.01, "0.5700000000000001"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (1.0 / 20000.0, "5e-05"),
        (1e-7, "1e-07"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (9999999999999998.0, "9999999999999998.0"),
        (1e100, "1e+100"),
        (4294967295.0 * 0.01, "42949672.95"),
        (123.0, "123.0"),
        (-0.0, "-0.0"),
        (9007199254740992.0, "9007199254740992.0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
    ] {
        assert_eq!(python_float(x), python, "{x:e}");
    }
}

#[test]
fn every_possible_rate_reads_back_and_looks_like_a_float() {
    for n in 1..=300u32 {
        for k in 0..=n {
            let x = f64::from(k) / f64::from(n);
            let text = python_float(x);
            assert_eq!(text.parse::<f64>(), Ok(x), "{text}");
            assert!(text.contains('.') || text.contains('e'), "{text}");
        }
    }
}
