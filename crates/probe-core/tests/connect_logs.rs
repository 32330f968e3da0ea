//! What the Kafka Connect check logs: the peer's lines at the peer's levels, each printed
//! when what it says changes.
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
    let failing = start(scenarios::task_failing_here()).await;
    let watching = check(&failing, rules("FAILED", "CONNECTOR,TASK", None, 0));
    within(watching.evaluate()).await.unwrap();
    // Asked again with nothing changed, it prints nothing: the peer would repeat itself.
    within(watching.evaluate()).await.unwrap();
    let connect = start(scenarios::unreachable_broker()).await;
    let elsewhere = check(
        &connect,
        rules("FAILED", "CONNECTOR,TASK", Some("connect-9:8083"), 0),
    );
    within(elsewhere.evaluate()).await.unwrap();
    // The same broker failure again: nothing new to say.
    within(elsewhere.evaluate()).await.unwrap();
    // The task recovers: that line alone, then the separator.
    failing.set_connector(
        "orders-sink",
        scenarios::status(
            "orders-sink",
            ("RUNNING", Some(scenarios::OTHER_WORKER)),
            &[(0, "RUNNING", Some(scenarios::THIS_WORKER))],
        ),
    );
    within(watching.evaluate()).await.unwrap();
    within(watching.evaluate()).await.unwrap();
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
        (Level::INFO, "Connector 'orders-sink' task '0' is healthy in state: RUNNING".to_owned()),
        (Level::INFO, "------------------------------------------------".to_owned()),
    ];
    assert_eq!(lines, expected);
}
