//! The `kafka` check and the `probe kpow` chain against a real Kafka-compatible broker,
//! tansu (installed by `scripts/tansu.sh install`, which `scripts/test.sh` runs; a missing
//! broker fails these tests with the command to install it). The broker is stopped,
//! frozen and brought back the way a cluster goes away in production.

mod support;

use std::time::Duration;

use probe_testkit::tansu::Tansu;
use support::child::{start, Running};
use tokio::time::Instant;

/// `probe serve` with `config` (`{bootstrap}` replaced), listening on a free port.
async fn serve(dir: &support::TempDir, config: &str, bootstrap: &str) -> Running {
    let file = dir.join("probe.toml");
    std::fs::write(&file, config.replace("{bootstrap}", bootstrap)).unwrap();
    let file = file.to_string_lossy().into_owned();
    start(
        &["serve", "--config", &file, "--listen", "127.0.0.1:0"],
        &[],
    )
    .await
}

const KAFKA_CHECK: &str = r#"
[[check]]
name = "kafka"
type = "kafka"
bootstrap = ["{bootstrap}"]
probes = ["readiness"]
timeout = "500ms"
"#;

/// The check's timeout, and what an answer may add to it on a loaded machine.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);
const ANSWER_SLACK: Duration = Duration::from_millis(300);

/// Times one GET: the status, the body and how long it took.
async fn timed(p: &Running, path: &str) -> (u16, String, Duration) {
    let t = Instant::now();
    let (code, body) = p.get(path).await;
    (code, body, t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kafka_check_passes_against_tansu_and_fails_within_its_timeout() {
    let mut broker = Tansu::start().await;
    let dir = support::TempDir::new("kafka-real");
    let probe = serve(&dir, KAFKA_CHECK, &broker.address()).await;

    let (code, body, _) = timed(&probe, "/readyz?verbose").await;
    assert_eq!(code, 200, "against a running tansu: {body}");
    assert!(body.contains("[+]kafka ok"), "{body}");

    // Frozen: the kernel still accepts, nothing answers. The check must give up in time.
    broker.pause().await;
    let (code, body, took) = timed(&probe, "/readyz?verbose").await;
    println!("tansu frozen: /readyz {code} in {took:?} (timeout {CHECK_TIMEOUT:?})");
    assert_eq!(code, 503, "{body}");
    assert!(
        took <= CHECK_TIMEOUT + ANSWER_SLACK,
        "a frozen broker held /readyz for {took:?}"
    );
    broker.resume().await;
    let (code, body, _) = timed(&probe, "/readyz?verbose").await;
    assert_eq!(code, 200, "tansu resumed: {body}");

    // Stopped: connection refused.
    broker.stop().await;
    let (code, body, took) = timed(&probe, "/readyz?verbose").await;
    println!("tansu stopped: /readyz {code} in {took:?}: {body}");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("connection refused"), "{body}");
    assert!(took <= CHECK_TIMEOUT + ANSWER_SLACK, "{took:?}");

    broker.restart().await;
    let (code, body, _) = timed(&probe, "/readyz?verbose").await;
    assert_eq!(code, 200, "tansu back on its port: {body}");
}

/// Session timeout 1 s + heartbeat 1 s: ERROR 2 s into an outage, plus up to two polls
/// of 500 ms.
const FLAGS: [&str; 4] = ["--session-timeout", "1s", "--heartbeat-interval", "1s"];
const LIMIT: Duration = Duration::from_secs(2);
/// The outage is timed from the first failed poll, which may have started just before
/// the broker was gone.
const SLACK: Duration = Duration::from_millis(100);

async fn kpow(broker: &Tansu, strategy: &str) -> Running {
    let mut args = vec!["kpow", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(&FLAGS);
    let p = start(
        &args,
        &[
            ("BOOTSTRAP", &broker.address()),
            ("STREAMS_ERROR_STRATEGY", strategy),
        ],
    )
    .await;
    p.until("/readyz", 200, Duration::from_secs(10)).await;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpow_reaches_error_after_the_outage_and_stays_there_when_tansu_returns() {
    let mut broker = Tansu::start().await;
    let probe = kpow(&broker, "LOG_EXCEPTION").await;
    for path in ["/healthy", "/livez", "/startupz", "/up"] {
        assert_eq!(probe.get(path).await.0, 200, "{path}");
    }

    broker.stop().await;
    let t0 = Instant::now();
    let first_503 = probe.until("/readyz", 503, Duration::from_secs(10)).await;
    probe.until("/healthy", 503, Duration::from_secs(10)).await;
    let error = t0.elapsed();
    println!(
        "tansu stopped at t0: /readyz first 503 at t0 + {first_503:?}, /healthy 503 (ERROR) at t0 + {error:?} (limit {LIMIT:?})"
    );
    assert!(
        error >= LIMIT - SLACK,
        "ERROR after {error:?}: before the limit"
    );
    let (_, body) = probe.get("/healthy").await;
    assert!(
        body.starts_with("unhealthy: kafka-streams: kafka streams ERROR for ")
            && body.contains("at least session timeout 1s + heartbeat interval 1s")
            && body.contains("connection refused"),
        "{body}"
    );

    broker.restart().await;
    let back = Instant::now();
    while back.elapsed() < Duration::from_secs(2) {
        assert_eq!(
            probe.get("/healthy").await.0,
            503,
            "ERROR is sticky: /healthy answered otherwise {:?} after tansu returned",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut probe = probe;
    assert!(probe.is_running(), "LOG_EXCEPTION keeps the process up");
    assert_eq!(probe.get("/startupz").await.0, 200, "startup stays latched");
    assert_eq!(probe.get("/up").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpow_log_and_exit_ends_with_status_1_after_the_outage() {
    let mut broker = Tansu::start().await;
    let mut probe = kpow(&broker, "LOG_AND_EXIT").await;
    broker.stop().await;
    let t0 = Instant::now();
    let code = probe.exit_code(Duration::from_secs(10)).await;
    let took = t0.elapsed();
    println!("tansu stopped at t0: probe kpow exited {code:?} at t0 + {took:?}");
    assert_eq!(code, Some(1));
    assert!(
        took >= LIMIT - SLACK,
        "exited {took:?} after the broker stopped"
    );
    let line = probe
        .log_line("exiting with status 1", Duration::from_secs(2))
        .await;
    assert!(
        line.contains("LOG_AND_EXIT") && line.contains("kafka cluster unreachable for"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_logs_the_api_versions_request_as_the_check_sends_it() {
    // tansu logs every frame it reads and the answer it gives at debug level.
    let broker = Tansu::start_with_env(&[("RUST_LOG", "tansu_service=debug")]).await;
    let dir = support::TempDir::new("kafka-real-log");
    let probe = serve(&dir, KAFKA_CHECK, &broker.address()).await;
    let (code, body) = probe.get("/readyz?verbose").await;
    assert_eq!(code, 200, "{body}");
    // The check's request: ApiVersions (18) v0, correlation id 1, client id "probe", a
    // 15-byte frame after the size prefix (the 19 bytes the broker stand-in is checked on).
    let wanted = "api_key: 18, api_version: 0, correlation_id: 1, client_id: Some(\"probe\")";
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = broker.log();
        if log.contains(wanted) || Instant::now() >= deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let request = log
        .lines()
        .find(|l| l.contains(wanted))
        .unwrap_or_else(|| panic!("tansu did not log {wanted:?}:\n{log}"));
    println!("tansu read: {request}");
    assert!(request.contains("size: 15"), "{request}");
    let response = log
        .lines()
        .find(|l| l.contains("response") && l.contains("ApiVersionsResponse"))
        .unwrap_or_else(|| panic!("tansu logged no ApiVersions response:\n{log}"));
    println!("tansu answered: {response}");
    assert!(response.contains("error_code: 0"), "{response}");
}
