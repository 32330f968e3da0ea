//! `probe kpow` as a real process, against the fake broker: the full chain from a broker
//! going away to `/healthy` 503 (sticky) or the process exiting with status 1, and the
//! configuration errors that exit 64. Every child is killed when its test ends.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use probe_testkit::kafka::{FakeBroker, Mode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
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

/// Variables the child must not inherit from whoever runs the tests.
const CLEARED: [&str; 8] = [
    "PORT",
    "BOOTSTRAP",
    "STREAMS_ERROR_STRATEGY",
    "HTTP_FORWARDED",
    "PROBE_LOG_LEVEL",
    "PROBE_LOG_FORMAT",
    "RUST_LOG",
    "PROBE_CONFIG",
];

/// A running `probe kpow`, its address, and everything it wrote to standard error.
struct Kpow {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

/// Starts `probe kpow --listen 127.0.0.1:0 <flags>` with `vars`; waits (up to 10 s) for
/// its "listening" line.
async fn start(vars: &[(&str, &str)], flags: &[&str]) -> Kpow {
    let (mut child, log, listening) = spawn(vars, flags);
    let addr = match tokio::time::timeout(Duration::from_secs(10), listening).await {
        Ok(Ok(addr)) => addr,
        _ => {
            let _ = child.kill().await;
            panic!(
                "probe kpow did not listen within 10s: {}",
                log.lock().unwrap()
            );
        }
    };
    Kpow { child, addr, log }
}

type Spawned = (Child, Arc<Mutex<String>>, oneshot::Receiver<String>);

fn spawn(vars: &[(&str, &str)], flags: &[&str]) -> Spawned {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_probe"));
    cmd.arg("kpow")
        .args(["--listen", "127.0.0.1:0"])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for key in CLEARED {
        cmd.env_remove(key);
    }
    cmd.env("PROBE_LOG_FORMAT", "text");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the probe binary");
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = oneshot::channel();
    let sink = log.clone();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.to_owned());
                }
            }
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    (child, log, rx)
}

impl Kpow {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET path`: status and body, within 5 s.
    async fn get(&self, path: &str) -> (u16, String) {
        get(&self.addr, path).await
    }

    /// Asks `path` every 50 ms until it answers `status`; how long that took.
    async fn until(&self, path: &str, status: u16, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let (got, body) = self.get(path).await;
            if got == status {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{path} still {got} after {limit:?}, want {status}: {body}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The exit status, waiting at most `limit`.
    async fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for the child").code(),
            Err(_) => panic!("still running after {limit:?}\nlog:\n{}", self.log()),
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the child").is_none()
    }
}

/// One HTTP/1.1 request on a fresh connection; the whole answer read, bounded in size.
async fn get(addr: &str, path: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: no answer within 5s"))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: not an HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
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
    let log = kpow.log();
    let line = log
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("staying up, unhealthy until restarted"))
        .unwrap_or_else(|| panic!("no error line:\n{log}"));
    assert!(line.contains("LOG_EXCEPTION"), "{line}");
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
    // The reader task may still be draining the pipe: give it a bounded moment.
    let deadline = Instant::now() + Duration::from_secs(2);
    let line = loop {
        let log = kpow.log();
        if let Some(l) = log.lines().find(|l| l.contains("exiting with status 1")) {
            break l.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no error line before the exit:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
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

/// Starts `probe kpow` expecting a configuration error: status 64 and one line naming it.
async fn config_error(vars: &[(&str, &str)], flags: &[&str]) -> String {
    let (mut child, log, _listening) = spawn(vars, flags);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap_or_else(|_| panic!("{vars:?} {flags:?}: still running after 10s"))
        .expect("wait for the child");
    // Standard error is closed once the process is gone; let the reader finish.
    let deadline = Instant::now() + Duration::from_secs(2);
    while log.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = log.lock().unwrap().clone();
    assert_eq!(status.code(), Some(64), "{vars:?} {flags:?}: {out}");
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
