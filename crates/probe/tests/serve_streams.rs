//! Several `kafka-streams` checks in one `probe serve`: each its own client with its own
//! checks and cluster, the probes aggregating them. Against the broker stand-in.

mod support;

use std::time::Duration;

use probe_testkit::kafka::FakeBroker;
use support::child::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_in_error_fails_liveness_and_a_client_not_required_does_not_hold_readiness() {
    let up = tokio::time::timeout(Duration::from_secs(5), FakeBroker::start())
        .await
        .expect("the fake broker starts in time")
        .expect("start the fake broker");
    let mut gone = tokio::time::timeout(Duration::from_secs(5), FakeBroker::start())
        .await
        .expect("the fake broker starts in time")
        .expect("start the fake broker");
    tokio::time::timeout(Duration::from_secs(5), gone.stop())
        .await
        .expect("stop the broker");
    let dir = support::TempDir::new("serve-streams");
    let file = dir.join("probe.toml");
    let config = format!(
        r#"
[[check]]
name = "orders"
type = "kafka-streams"
bootstrap = "{up}"
heartbeat_interval = "200ms"

[[check]]
name = "audit"
type = "kafka-streams"
bootstrap = "{gone}"
session_timeout = "1s"
heartbeat_interval = "200ms"
required_for_readiness = false
"#,
        up = up.address(),
        gone = gone.address()
    );
    std::fs::write(&file, config).unwrap();
    let file = file.to_string_lossy().into_owned();
    let probe = start(
        &["serve", "--config", &file, "--listen", "127.0.0.1:0"],
        &[],
    )
    .await;

    // orders reaches RUNNING; audit never does, and is not required for readiness.
    probe.until("/readyz", 200, Duration::from_secs(5)).await;
    let (_, body) = probe.get("/readyz?verbose").await;
    assert!(body.contains("[+]orders:ready ok"), "{body}");
    assert!(
        body.contains("[+]audit:ready ok (warn: kafka streams CREATED"),
        "{body}"
    );
    assert!(body.contains("not required for readiness"), "{body}");

    // audit's cluster stays away past its limit: ERROR, and liveness fails for it alone.
    probe.until("/livez", 503, Duration::from_secs(10)).await;
    let (_, body) = probe.get("/livez?verbose").await;
    assert!(body.contains("[+]orders ok"), "{body}");
    assert!(
        body.contains("[-]audit failed: kafka streams ERROR"),
        "{body}"
    );
    assert_eq!(probe.get("/livez/orders").await.0, 200);
    assert_eq!(probe.get("/livez/audit").await.0, 503);
}
