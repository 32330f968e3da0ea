//! What the Kafka Connect check logs: the peer's lines at the peer's levels.
//!
//! Alone in its test binary: tracing caches per call site whether anyone listens, and a
//! test running concurrently on another thread would race the capturing subscriber.

#[path = "connect/common.rs"]
mod common;
#[path = "connect/logs.rs"]
mod logs;

use common::{check, rules, start, within};
use probe_testkit::connect::scenarios;
use tracing::Level;

#[tokio::test]
async fn it_logs_what_the_peer_logs_at_the_same_levels() {
    let (captured, _guard) = logs::Captured::install();
    let connect = start(scenarios::task_failing_here()).await;
    within(check(&connect, rules("FAILED", "CONNECTOR,TASK", None, 0)).evaluate())
        .await
        .unwrap();
    let connect = start(scenarios::unreachable_broker()).await;
    within(
        check(
            &connect,
            rules("FAILED", "CONNECTOR,TASK", Some("connect-9:8083"), 0),
        )
        .evaluate(),
    )
    .await
    .unwrap();
    let lines = captured.lines();
    let expected = [
        (Level::INFO, "Connector 'orders-sink' is healthy in state: RUNNING".to_owned()),
        (Level::WARN, "Connector 'orders-sink' task '0' is unhealthy in failure state: FAILED".to_owned()),
        (Level::INFO, "------------------------------------------------".to_owned()),
        // Ours, once: the configured worker appears in no status.
        (
            Level::WARN,
            "Worker id 'connect-9:8083' appears in no connector or task status; Connect reports connect-1:8083, connect-2:8083: nothing is judged on this worker (check the advertised host name and port)".to_owned(),
        ),
        (
            Level::ERROR,
            format!(
                "Error while attempting to get details for orders-sink. Assuming unhealthy. Error: GET {}/connectors/orders-sink answered 503: Request timed out",
                connect.url()
            ),
        ),
        (Level::INFO, "------------------------------------------------".to_owned()),
    ];
    assert_eq!(lines, expected);
}
