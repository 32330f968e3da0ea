//! Against the fake Connect: the worker's own liveness and startup apart from its
//! connectors (`GET /health` answering 200, 503 starting, 500, or hanging; the herder call
//! on older workers), transient answers retried once, expected connectors, and the restart
//! endpoints the restarter calls.

#[path = "connect/common.rs"]
mod common;

use std::time::Duration;

use common::{check, start, within, HEALTHY};
use probe_core::checks::kafka_connect::{
    ConnectApi, ConnectWorkerCheck, Expected, ExpectedConnectorsCheck, RestartPolicy, Restarter,
    WorkerNeed, HERDER_PROBE,
};
use probe_core::evaluators::connect::{ConnectRules, Restart, RestartBook, Traces};
use probe_core::{Check, Status};
use probe_testkit::connect::scenarios::{self, status, THIS_WORKER};
use probe_testkit::connect::{
    Scenario, HEALTH_HEALTHY, HEALTH_STARTING, HEALTH_UNHEALTHY, REBALANCE_MESSAGE,
};

const W0: Option<&str> = Some(THIS_WORKER);

async fn worker(scenario: Scenario, need: WorkerNeed) -> (Status, String) {
    let connect = start(scenario).await;
    let connect_check = check(&connect, ConnectRules::default())
        .worker_health(true)
        .request_timeout(Duration::from_millis(500));
    let outcome = within(ConnectWorkerCheck::new(&connect_check, need).check()).await;
    (outcome.status, outcome.message.unwrap_or_default())
}

#[tokio::test]
async fn the_workers_own_health_decides_liveness_and_startup() {
    let cases = [
        (
            scenarios::failed_connector().health(200, HEALTH_HEALTHY),
            Status::Pass,
            Status::Pass,
        ),
        (
            scenarios::healthy().health(503, HEALTH_STARTING),
            Status::Pass,
            Status::Fail,
        ),
        (
            scenarios::healthy().health(500, HEALTH_UNHEALTHY),
            Status::Fail,
            Status::Fail,
        ),
        (
            scenarios::healthy().health_hang(),
            Status::Fail,
            Status::Fail,
        ),
    ];
    for (scenario, alive, started) in cases {
        let (got_alive, message) = worker(scenario.clone(), WorkerNeed::Alive).await;
        assert_eq!(got_alive, alive, "{message}");
        let (got_started, message) = worker(scenario, WorkerNeed::Started).await;
        assert_eq!(got_started, started, "{message}");
    }
    let (_, message) = worker(
        scenarios::healthy().health(503, HEALTH_STARTING),
        WorkerNeed::Started,
    )
    .await;
    assert!(
        message.contains("still starting (503): Worker is still starting up."),
        "{message}"
    );
    let (_, message) = worker(scenarios::healthy().health_hang(), WorkerNeed::Alive).await;
    assert!(
        message.ends_with("/health: no answer within 500ms"),
        "{message}"
    );
}

#[tokio::test]
async fn older_workers_are_asked_through_the_herder_not_get_root() {
    // No /health (404): the herder answers 404 for a connector that does not exist.
    let connect = start(scenarios::failed_connector()).await;
    let c = check(&connect, ConnectRules::default()).worker_health(true);
    let outcome = within(ConnectWorkerCheck::new(&c, WorkerNeed::Alive).check()).await;
    assert_eq!(outcome.status, Status::Pass, "{:?}", outcome.message);
    assert_eq!(connect.hits(&format!("/connectors/{HERDER_PROBE}")), 1);
    assert_eq!(connect.hits("/"), 0);
    // A rebalance (409) is asked once more, then counted as alive.
    let connect = start(scenarios::healthy().rebalancing(1)).await;
    let c = check(&connect, ConnectRules::default());
    let outcome = within(ConnectWorkerCheck::new(&c, WorkerNeed::Started).check()).await;
    assert_eq!(outcome.status, Status::Pass, "{:?}", outcome.message);
    assert_eq!(connect.hits(&format!("/connectors/{HERDER_PROBE}")), 2);
    // A worker that is not there.
    let port = common::free_port();
    let c = probe_core::checks::KafkaConnectCheck::new(
        &format!("http://127.0.0.1:{port}"),
        ConnectRules::default(),
    )
    .unwrap();
    let outcome = within(ConnectWorkerCheck::new(&c, WorkerNeed::Alive).check()).await;
    assert_eq!(outcome.status, Status::Fail);
    assert!(outcome.message.unwrap().contains("connection refused"));
}

#[tokio::test]
async fn a_rebalance_or_an_error_page_is_asked_once_more_not_a_failed_worker() {
    for scenario in [
        scenarios::healthy().rebalancing(1),
        scenarios::healthy().html_errors(1),
    ] {
        let connect = start(scenario).await;
        let verdict = within(check(&connect, ConnectRules::default()).evaluate())
            .await
            .expect("the second answer is used");
        assert_eq!(verdict.to_document(Traces::Keep), HEALTHY);
        assert_eq!(connect.hits("/connectors?expand=status"), 2);
    }
    // Twice in a row: the list is an error, naming Connect's message.
    let connect = start(scenarios::healthy().rebalancing(2)).await;
    let err = within(check(&connect, ConnectRules::default()).evaluate())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("answered 409: {REBALANCE_MESSAGE}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_status_that_stays_unreadable_is_unknown_in_the_details() {
    // An old worker lists `gone-sink`, then answers 404 for its status, twice.
    let connect = start(scenarios::healthy().deleted("gone-sink").old_worker()).await;
    let c = check(&connect, ConnectRules::default());
    let outcome = within(c.check()).await;
    assert_eq!(outcome.status, Status::Pass, "{:?}", outcome.message);
    assert_eq!(connect.hits("/connectors/gone-sink/status"), 2);
    let details = outcome.details.unwrap();
    assert_eq!(details["unknown"][0]["connector"], "gone-sink");
    assert!(outcome.message.unwrap().ends_with("; unknown: gone-sink"));
}

#[tokio::test]
async fn expected_connectors_hold_readiness_until_each_has_run() {
    let connect = start(scenarios::healthy()).await;
    let c = check(&connect, ConnectRules::default());
    let expected = ExpectedConnectorsCheck::new(
        &c,
        vec![
            Expected::Name("audit-source".into()),
            Expected::Pattern(regex::Regex::new("^orders-").unwrap()),
        ],
    );
    let outcome = within(expected.check()).await;
    assert_eq!(outcome.status, Status::Fail);
    assert_eq!(
        outcome.message.as_deref(),
        Some("waiting for expected connector(s): `audit-source` (missing)")
    );
    // It appears late, paused first.
    connect.set_connector(
        "audit-source",
        status("audit-source", ("PAUSED", W0), &[(0, "PAUSED", W0)]),
    );
    let outcome = within(expected.check()).await;
    assert_eq!(
        outcome.message.as_deref(),
        Some("waiting for expected connector(s): `audit-source` (PAUSED, not yet RUNNING)")
    );
    connect.set_connector(
        "audit-source",
        status("audit-source", ("RUNNING", W0), &[(0, "RUNNING", W0)]),
    );
    assert_eq!(within(expected.check()).await.status, Status::Pass);
    // Once each has run, it stays met without asking Connect again.
    connect.set_connector(
        "audit-source",
        status("audit-source", ("PAUSED", W0), &[(0, "PAUSED", W0)]),
    );
    let before = connect.request_count();
    assert_eq!(within(expected.check()).await.status, Status::Pass);
    assert_eq!(connect.request_count(), before);
}

#[tokio::test]
async fn the_restart_endpoints_are_called_and_recorded() {
    // A failed connector: one call for it and its failed tasks (Kafka 3.0+).
    let connect = start(scenarios::failed_connector()).await;
    let c = check(&connect, ConnectRules::default());
    let mut restarter = Restarter::new(RestartPolicy::default(), ConnectRules::default());
    within(restarter.round(&c)).await;
    assert_eq!(
        connect.restarts(),
        ["POST /connectors/orders-sink/restart?includeTasks=true&onlyFailed=true"]
    );
    let verdict = within(c.evaluate()).await.unwrap();
    assert!(verdict.healthy, "the restarted connector runs again");
    // A failed task of a running connector: the task alone.
    let connect = start(scenarios::failed_task_with_trace()).await;
    let c = check(&connect, ConnectRules::default());
    within(Restarter::new(RestartPolicy::default(), ConnectRules::default()).round(&c)).await;
    assert_eq!(
        connect.restarts(),
        ["POST /connectors/orders-sink/tasks/1/restart"]
    );
    // A worker before Kafka 3.0 ignores includeTasks: the tasks are then restarted one by one.
    let connect = start(scenarios::failed_connector().old_worker()).await;
    let c = check(&connect, ConnectRules::default());
    within(Restarter::new(RestartPolicy::default(), ConnectRules::default()).round(&c)).await;
    assert_eq!(
        connect.restarts(),
        [
            "POST /connectors/orders-sink/restart?includeTasks=true&onlyFailed=true",
            "POST /connectors/orders-sink/tasks/0/restart",
        ]
    );
}

#[tokio::test]
async fn with_a_worker_id_only_this_workers_containers_are_restarted() {
    let connect = start(scenarios::task_failing_here().fails_again()).await;
    let rules = ConnectRules {
        worker_id: Some(THIS_WORKER.into()),
        ..ConnectRules::default()
    };
    let c = check(&connect, rules.clone());
    within(Restarter::new(RestartPolicy::default(), rules.clone()).round(&c)).await;
    assert_eq!(
        connect.restarts(),
        ["POST /connectors/orders-sink/tasks/0/restart"]
    );
    let connect = start(scenarios::other_workers_failing()).await;
    let c = check(&connect, rules.clone());
    within(Restarter::new(RestartPolicy::default(), rules).round(&c)).await;
    assert!(connect.restarts().is_empty());
}

#[tokio::test]
async fn a_restart_refused_during_a_rebalance_is_not_counted() {
    let connect = start(scenarios::failed_task_with_trace()).await;
    let c = check(&connect, ConnectRules::default());
    let restart = Restart::Task {
        connector: "orders-sink".into(),
        task: 1,
    };
    // The statuses are read first; then the rebalance starts.
    let restarter = Restarter::new(RestartPolicy::default(), ConnectRules::default());
    let book = restarter.book();
    let statuses = within(ConnectApi::statuses(&c)).await.unwrap();
    assert_eq!(statuses.len(), 1);
    let connect2 = start(scenarios::failed_task_with_trace().rebalancing(10)).await;
    let c2 = check(&connect2, ConnectRules::default());
    let answer = within(ConnectApi::restart(&c2, &restart)).await.unwrap();
    assert_eq!(
        answer,
        probe_core::checks::kafka_connect::Restarted::Conflict
    );
    assert!(connect2.restarts().is_empty());
    let empty: &RestartBook = &book.lock().unwrap();
    assert!(empty.restarted().is_empty());
}

#[tokio::test]
async fn restarts_show_in_the_checks_details() {
    let connect = start(scenarios::failed_task_with_trace().fails_again()).await;
    let mut restarter = Restarter::new(RestartPolicy::default(), ConnectRules::default());
    let c = check(&connect, ConnectRules::default()).restart_book(restarter.book());
    within(restarter.round(&c)).await;
    let outcome = within(c.check()).await;
    let restarts = &outcome.details.unwrap()["restarts"][0];
    assert_eq!(restarts["connector"], "orders-sink");
    assert_eq!(restarts["task"], 1);
    assert_eq!(restarts["restarts"], 1);
    assert!(restarts["last_restart"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_client_certificate_is_presented_to_a_worker_that_requires_one() {
    use probe_core::http_client::{TlsConfig, TlsOptions};
    use probe_testkit::tls::TestCa;
    let clients = TestCa::new();
    let connect = start(scenarios::healthy().tls_requiring_clients(&clients)).await;
    let ca = connect.ca_file().unwrap().to_owned();
    let (cert, key) = clients.client("probe");
    let with =
        TlsConfig::new(&TlsOptions::new().ca_file(&ca).client_identity(&cert, &key)).unwrap();
    let verdict = within(
        check(&connect, ConnectRules::default())
            .tls(with)
            .evaluate(),
    )
    .await;
    assert_eq!(verdict.unwrap().to_document(Traces::Keep), HEALTHY);
    let without = TlsConfig::new(&TlsOptions::new().ca_file(&ca)).unwrap();
    let err = within(
        check(&connect, ConnectRules::default())
            .tls(without)
            .evaluate(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("127.0.0.1"), "{err}");
    // A key file that is not a key is refused when the configuration is built.
    let err = TlsConfig::new(&TlsOptions::new().client_identity(&cert, &cert)).unwrap_err();
    assert!(
        err.to_string().ends_with("holds no PEM private key"),
        "{err}"
    );
    let _ = (std::fs::remove_file(cert), std::fs::remove_file(key));
}
