//! `probe kpow` as a real process, against the fake broker: the full chain from a broker
//! going away to `/healthy` 503 (sticky) or the process exiting with status 1, and the
//! configuration errors that exit 64. Every child is killed when its test ends.

mod support;

use std::time::Duration;

use probe_testkit::kafka::{FakeBroker, Mode};
use support::child::Running;
use tokio::process::Command;
use tokio::time::Instant;

/// ApiVersions v0, correlation id 1, client id "probe": the documented 19 bytes.
const V0_REQUEST: [u8; 19] = [
    0x00, 0x00, 0x00, 0x0f, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 0x70, 0x72,
    0x6f, 0x62, 0x65,
];

/// ApiVersions v3, correlation id 2 (the retry), client "probe" 0.1.0: the documented
/// layout (header v2, two compact strings, tag buffers).
const V3_REQUEST: [u8; 33] = [
    0x00, 0x00, 0x00, 0x1d, 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x05, 0x70, 0x72,
    0x6f, 0x62, 0x65, 0x00, 0x06, 0x70, 0x72, 0x6f, 0x62, 0x65, 0x06, 0x30, 0x2e, 0x31, 0x2e, 0x30,
    0x00,
];

/// Starts `probe kpow --listen 127.0.0.1:0 <flags>` with `vars`.
async fn start(vars: &[(&str, &str)], flags: &[&str]) -> Running {
    let mut args = vec!["kpow", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    support::child::start(&args, vars).await
}

async fn broker(mode: Mode) -> FakeBroker {
    tokio::time::timeout(Duration::from_secs(5), FakeBroker::start_with(mode))
        .await
        .expect("the fake broker starts in time")
        .expect("start the fake broker")
}

/// Session timeout 1 s + heartbeat 200 ms: ERROR 1.2 s into an outage (plus up to two
/// polls of 100 ms).
const SHORT: [&str; 4] = ["--session-timeout", "1s", "--heartbeat-interval", "200ms"];
const LIMIT: Duration = Duration::from_millis(1200);
/// An outage is timed from the start of the first failed poll, which may have begun just
/// before the broker stopped: ERROR may come this much before t0 + LIMIT.
const SLACK: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_turns_503_after_the_outage_and_stays_503_when_the_broker_returns() {
    let mut broker = broker(Mode::Answer).await;
    let bootstrap = broker.address();
    let mut kpow = start(&[("BOOTSTRAP", &bootstrap)], &SHORT).await;

    let to_running = kpow.until("/readyz", 200, Duration::from_secs(5)).await;
    println!("RUNNING (/readyz 200) {to_running:?} after listening");
    for path in ["/healthy", "/up", "/livez", "/startupz"] {
        assert_eq!(kpow.get(path).await, (200, "ok".to_owned()), "{path}");
    }
    let first = &broker.received()[0];
    println!("first request seen by the broker: {:02x?}", first.raw);
    assert_eq!(first.raw, V0_REQUEST, "ApiVersions v0 as documented");

    tokio::time::timeout(Duration::from_secs(5), broker.stop())
        .await
        .expect("stop the broker");
    let unhealthy = kpow.until("/healthy", 503, Duration::from_secs(10)).await;
    println!("broker stopped at t0; /healthy 503 at t0 + {unhealthy:?} (limit {LIMIT:?})");
    assert!(
        unhealthy >= LIMIT - SLACK,
        "503 after {unhealthy:?}: before the limit"
    );
    let (_, body) = kpow.get("/healthy").await;
    assert!(
        body.starts_with("unhealthy: kafka-streams: kafka streams ERROR for ")
            && body.contains("at least session timeout 1s + heartbeat interval 200ms")
            && body.contains(&format!("{bootstrap}: cannot connect: connection refused")),
        "{body}"
    );
    assert_eq!(kpow.get("/up").await, (200, "ok".to_owned()));
    assert_eq!(kpow.get("/livez").await.0, 503);
    assert_eq!(kpow.get("/readyz").await.0, 503);
    assert_eq!(kpow.get("/startupz").await.0, 200, "startup stays latched");

    tokio::time::timeout(Duration::from_secs(5), broker.restart())
        .await
        .expect("restart in time")
        .expect("restart the broker on its port");
    let back = Instant::now();
    while back.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            kpow.get("/healthy").await.0,
            503,
            "ERROR is sticky: /healthy {:?} after the broker returned",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "broker back at t1; /healthy still 503 at t1 + {:?}",
        back.elapsed()
    );
    assert!(kpow.is_running(), "LOG_EXCEPTION keeps the process up");
    let line = kpow
        .log_line(
            "staying up, unhealthy until restarted",
            Duration::from_secs(2),
        )
        .await;
    assert!(
        line.contains("ERROR") && line.contains("LOG_EXCEPTION"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_and_exit_ends_the_process_with_status_1_after_the_error_line() {
    let mut broker = broker(Mode::Answer).await;
    let mut kpow = start(
        &[
            ("BOOTSTRAP", &broker.address()),
            ("STREAMS_ERROR_STRATEGY", "log_and_exit"),
        ],
        &SHORT,
    )
    .await;
    kpow.until("/readyz", 200, Duration::from_secs(5)).await;
    tokio::time::timeout(Duration::from_secs(5), broker.stop())
        .await
        .expect("stop the broker");
    let t0 = Instant::now();
    let code = kpow.exit_code(Duration::from_secs(10)).await;
    let took = t0.elapsed();
    println!(
        "broker stopped at t0; process exited with {code:?} at t0 + {took:?} (limit {LIMIT:?})"
    );
    assert_eq!(code, Some(1));
    assert!(
        took >= LIMIT - SLACK,
        "exited {took:?} after the broker stopped"
    );
    // The reader task may still be draining the pipe.
    let line = kpow
        .log_line("exiting with status 1", Duration::from_secs(2))
        .await;
    assert!(
        line.contains("ERROR") && line.contains("LOG_AND_EXIT"),
        "{line}"
    );
    assert!(line.contains("kafka cluster unreachable for"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_never_reached_ends_in_error_after_the_limit() {
    // A port nobody listens on: a broker started, then stopped.
    let mut gone = broker(Mode::Answer).await;
    tokio::time::timeout(Duration::from_secs(5), gone.stop())
        .await
        .expect("stop the broker");
    let kpow = start(
        &[("BOOTSTRAP", &gone.address())],
        &["--session-timeout", "2s", "--heartbeat-interval", "200ms"],
    )
    .await;
    assert_eq!(kpow.get("/healthy").await.0, 200, "CREATED is alive");
    assert_eq!(kpow.get("/startupz").await.0, 503, "never RUNNING");
    let took = kpow.until("/healthy", 503, Duration::from_secs(10)).await;
    println!("never reached: /healthy 503 {took:?} after listening (limit 2.2s)");
    assert_eq!(kpow.get("/startupz").await.0, 503);
    assert_eq!(kpow.get("/up").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_path_prefix_only_the_prefixed_routes_answer() {
    let broker = broker(Mode::Answer).await;
    let kpow = start(
        &[("BOOTSTRAP", &broker.address())],
        &["--path-prefix", "/kpow"],
    )
    .await;
    kpow.until("/kpow/readyz", 200, Duration::from_secs(5))
        .await;
    for path in ["/kpow/healthy", "/kpow/up", "/kpow/livez", "/kpow/startupz"] {
        assert_eq!(kpow.get(path).await.0, 200, "{path}");
    }
    for path in ["/healthy", "/up", "/livez"] {
        assert_eq!(kpow.get(path).await.0, 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_refusing_v0_is_asked_again_in_the_version_it_lists() {
    let broker = broker(Mode::Versions { min: 3, max: 3 }).await;
    let kpow = start(&[("BOOTSTRAP", &broker.address())], &[]).await;
    kpow.until("/readyz", 200, Duration::from_secs(5)).await;
    let received = broker.received();
    println!("v0 refused, then: {:02x?}", received[1].raw);
    assert_eq!(received[0].raw, V0_REQUEST);
    assert_eq!(received[1].raw, V3_REQUEST, "ApiVersions v3 as documented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_it_cleanly() {
    let broker = broker(Mode::Answer).await;
    let mut kpow = start(&[("BOOTSTRAP", &broker.address())], &["--drain", "0s"]).await;
    let pid = kpow.child.id().expect("the child's pid").to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status();
    let sent = tokio::time::timeout(Duration::from_secs(5), kill)
        .await
        .expect("kill returns in time")
        .expect("run kill");
    assert!(sent.success());
    assert_eq!(kpow.exit_code(Duration::from_secs(10)).await, Some(0));
}

/// Runs `probe kpow` expecting a configuration error: status 64 and one line naming it.
async fn config_error(vars: &[(&str, &str)], flags: &[&str]) -> String {
    let mut args = vec!["kpow", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    let (code, out) = support::child::run_to_exit(&args, vars).await;
    assert_eq!(code, Some(64), "{vars:?} {flags:?}: {out}");
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    assert!(out.starts_with("probe: configuration error: "), "{out}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_exits_64_naming_the_variable() {
    let b = ("BOOTSTRAP", "127.0.0.1:9092");
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>, &'a str);
    let cases: [Case<'_>; 6] = [
        (
            vec![b, ("STREAMS_ERROR_STRATEGY", "bogus")],
            vec![],
            "STREAMS_ERROR_STRATEGY: unknown streams error strategy `bogus`",
        ),
        (vec![], vec![], "BOOTSTRAP: missing"),
        (
            vec![("BOOTSTRAP", "kafka-0")],
            vec![],
            "BOOTSTRAP: `kafka-0` is not host:port: no port",
        ),
        (
            vec![("BOOTSTRAP", "kafka-0:9092,kafka-1")],
            vec![],
            "BOOTSTRAP: `kafka-1` is not host:port",
        ),
        (
            vec![b, ("HTTP_FORWARDED", "maybe")],
            vec![],
            "HTTP_FORWARDED: \"maybe\" is neither true nor false",
        ),
        (
            vec![b],
            vec!["--session-timeout", "soon"],
            "--session-timeout: invalid duration \"soon\"",
        ),
    ];
    for (vars, flags, expected) in cases {
        let line = config_error(&vars, &flags).await;
        assert!(line.contains(expected), "{vars:?} {flags:?}: {line}");
    }
}
