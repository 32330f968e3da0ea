//! Helpers shared by the Kafka Connect test files.

#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::time::Duration;

use probe_core::checks::{ConnectError, KafkaConnectCheck};
use probe_core::evaluators::connect::{ConnectRules, Traces};
use probe_testkit::connect::{FakeConnect, Scenario};

/// The peer's document for a healthy worker with the default rules.
pub(crate) const HEALTHY: &str = r#"{"failures": [], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": true}"#;

/// Rules from the peer's option strings.
pub(crate) fn rules(
    states: &str,
    containers: &str,
    worker: Option<&str>,
    percentage: u32,
) -> ConnectRules {
    ConnectRules::parse(states, containers, worker, percentage).expect("valid rules")
}

/// Awaits `f`, failing the test after 10 s.
pub(crate) async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("the call did not finish within 10 s")
}

/// Starts a fake Connect for `scenario`.
pub(crate) async fn start(scenario: Scenario) -> FakeConnect {
    within(FakeConnect::start(scenario))
        .await
        .expect("the fake Connect binds 127.0.0.1:0")
}

/// A check of `connect` with `rules` and a short request timeout.
pub(crate) fn check(connect: &FakeConnect, rules: ConnectRules) -> KafkaConnectCheck {
    KafkaConnectCheck::new(&connect.url(), rules)
        .expect("valid url")
        .request_timeout(Duration::from_secs(2))
}

/// Evaluates and renders the health document (traces kept), or the error text.
pub(crate) async fn document(check: &KafkaConnectCheck) -> Result<String, ConnectError> {
    within(check.evaluate())
        .await
        .map(|v| v.to_document(Traces::Keep))
}

/// A port of 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
