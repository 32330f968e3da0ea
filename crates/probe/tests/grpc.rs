//! `probe serve` with `[server] grpc = true`, driven by the official Python gRPC health
//! client (grpcio-health-checking, installed on first use), and `probe check grpc://`.

mod support;

use std::time::{Duration, Instant};

use probe_testkit::grpc_health::{self, PyHealthClient};
use support::{free_port, probe, Serve, TempDir};

/// gRPC on, a 3 s drain, and readiness holding one background check: `flag`, which
/// passes while `<dir>/flag` exists. Liveness holds none.
async fn serve(dir: &TempDir) -> Serve {
    let flag = dir.arg("flag");
    Serve::start(&format!(
        r#"
[server]
listen = "127.0.0.1:{{port}}"
grpc = true
drain = "3s"

[[check]]
name = "flag"
type = "file-exists"
path = "{flag}"
probes = ["readiness"]
interval = "100ms"
"#
    ))
    .await
}

fn port(s: &Serve) -> u16 {
    s.addr.port()
}

#[tokio::test]
async fn check_answers_for_each_name() {
    let dir = TempDir::new("grpc-check");
    let s = serve(&dir).await;
    let names = ["", "readiness", "liveness", "startup", "flag", "nosuch"];
    let got = grpc_health::check(port(&s), &names).await;
    assert_eq!(
        got,
        [
            "NOT_SERVING",
            "NOT_SERVING",
            "SERVING",
            "SERVING",
            "NOT_SERVING",
            "NOT_FOUND"
        ],
        "for {names:?}"
    );
    std::fs::write(dir.join("flag"), "").unwrap();
    let mut got = Vec::new();
    for _ in 0..50 {
        got = grpc_health::check(port(&s), &["", "readiness", "flag"]).await;
        if got.iter().all(|g| g == "SERVING") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        got,
        ["SERVING", "SERVING", "SERVING"],
        "once the file exists"
    );
}

#[tokio::test]
async fn watch_follows_a_change_each_way_once() {
    let dir = TempDir::new("grpc-watch");
    let s = serve(&dir).await;
    let mut overall = PyHealthClient::start("watch", port(&s), &[""]).await;
    let mut flag = PyHealthClient::start("watch", port(&s), &["flag"]).await;
    assert_eq!(overall.line().await, "NOT_SERVING");
    assert_eq!(flag.line().await, "NOT_SERVING");
    std::fs::write(dir.join("flag"), "").unwrap();
    assert_eq!(overall.line().await, "SERVING");
    assert_eq!(flag.line().await, "SERVING");
    // The check keeps running every 100 ms: nothing changes, nothing is sent.
    overall.silent_for(Duration::from_millis(500)).await;
    std::fs::remove_file(dir.join("flag")).unwrap();
    assert_eq!(overall.line().await, "NOT_SERVING");
    assert_eq!(flag.line().await, "NOT_SERVING");
    flag.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn at_sigterm_watches_turn_not_serving_but_liveness_and_end_at_the_stop() {
    let dir = TempDir::new("grpc-stop");
    std::fs::write(dir.join("flag"), "").unwrap();
    let mut s = serve(&dir).await;
    let mut overall = PyHealthClient::start("watch", port(&s), &[""]).await;
    let mut flag = PyHealthClient::start("watch", port(&s), &["flag"]).await;
    let mut live = PyHealthClient::start("watch", port(&s), &["liveness"]).await;
    for _ in 0..2 {
        let first = overall.line().await;
        if first == "SERVING" {
            break;
        }
        assert_eq!(first, "NOT_SERVING", "before the first run");
    }
    let first = flag.line().await;
    if first == "NOT_SERVING" {
        assert_eq!(flag.line().await, "SERVING");
    } else {
        assert_eq!(first, "SERVING");
    }
    assert_eq!(live.line().await, "SERVING");
    s.terminate().await;
    let signalled = Instant::now();
    assert_eq!(overall.line().await, "NOT_SERVING", "at SIGTERM");
    assert_eq!(flag.line().await, "NOT_SERVING", "a check alone too");
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "before the drain ends"
    );
    assert_eq!(
        grpc_health::check(port(&s), &["liveness", ""]).await,
        ["SERVING", "NOT_SERVING"],
        "during the drain"
    );
    assert_eq!(
        live.line().await,
        "END UNAVAILABLE",
        "liveness never turned"
    );
    assert_eq!(overall.line().await, "END UNAVAILABLE");
    assert_eq!(flag.line().await, "END UNAVAILABLE");
    assert_eq!(s.exit_within(Duration::from_secs(3)).await, Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "open watches do not hold the stop: {:?}",
        signalled.elapsed()
    );
}

#[tokio::test]
async fn an_unknown_name_is_not_found_on_check_and_service_unknown_on_an_open_watch() {
    let dir = TempDir::new("grpc-unknown");
    let s = serve(&dir).await;
    assert_eq!(
        grpc_health::check(port(&s), &["nosuch"]).await,
        ["NOT_FOUND"]
    );
    let mut w = PyHealthClient::start("watch", port(&s), &["nosuch"]).await;
    assert_eq!(w.line().await, "SERVICE_UNKNOWN");
    w.silent_for(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_kubelet_like_probe_gets_its_answer_within_one_second() {
    let dir = TempDir::new("grpc-kubelet");
    let s = serve(&dir).await;
    let (lines, code) = PyHealthClient::start("kubelet", port(&s), &["liveness"])
        .await
        .finish()
        .await;
    assert_eq!(code, Some(0));
    let (status, ms) = lines[0].split_once(' ').expect("STATUS MS");
    assert_eq!(status, "SERVING");
    assert!(ms.parse::<u64>().unwrap() < 1000, "{ms} ms");
}

#[tokio::test]
async fn http1_still_answers_on_the_grpc_port() {
    let dir = TempDir::new("grpc-http1");
    let s = serve(&dir).await;
    let r = probe(&["check", &format!("http://{}/livez", s.addr)], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "UP, response status code: 200\n");
}

#[tokio::test]
async fn probe_check_grpc_exits_0_when_serving_and_1_with_the_reason_otherwise() {
    let dir = TempDir::new("grpc-cli");
    let s = serve(&dir).await;
    let url = |q: &str| format!("grpc://{}{q}", s.addr);
    let r = probe(&["check", &url("?service=liveness")], &[]).await;
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "UP, status: SERVING\n"),
        "{r:?}"
    );
    let r = probe(&["check", &url("")], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, "DOWN, status: NOT_SERVING\n");
    let r = probe(&["check", &url("/?service=readiness")], &[]).await;
    assert_eq!(r.stderr, "DOWN, status: NOT_SERVING\n");
    let r = probe(&["check", &url("?service=nosuch")], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, "DOWN (unknown service \"nosuch\")\n");

    let closed = free_port();
    let r = probe(&["check", &format!("grpc://127.0.0.1:{closed}")], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("DOWN (cannot connect to 127.0.0.1:{closed}: connection refused)\n")
    );

    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_url = format!("grpc://{}", mute.local_addr().unwrap());
    let started = Instant::now();
    let r = probe(&["check", &mute_url, "--timeout", "0.5"], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, "DOWN (timed out after 500ms)\n");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn probe_check_grpc_talks_to_a_plain_http_port_and_says_so() {
    let s = Serve::listening(&[], &[]).await;
    let r = probe(
        &["check", &format!("grpc://{}", s.addr), "--timeout", "1"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("DOWN (no HTTP/2 from {}", s.addr))
            && r.stderr.ends_with("is gRPC served on this port?)\n"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn a_bad_grpc_url_exits_64_naming_the_problem() {
    for (url, says) in [
        ("grpc://127.0.0.1", "grpc:// needs HOST:PORT"),
        ("grpc://h:80/readiness", "has no path"),
        ("grpc://h:80?svc=x", "unknown query parameter"),
        ("grpcs://h:80", "grpcs:// is not supported"),
    ] {
        let r = probe(&["check", url], &[]).await;
        assert_eq!(r.code, Some(64), "{url}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(says), "{url}: {}", r.stderr);
    }
    let r = probe(&["check", "grpc://h:80", "--ca-file", "/x.pem"], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
}

#[tokio::test]
async fn the_grpc_key_is_read_strictly() {
    let dir = TempDir::new("grpc-key");
    let file = dir.join("p.toml");
    std::fs::write(&file, "[server]\ngrpc = \"yes\"\n").unwrap();
    let r = probe(&["serve", "--config", &file.to_string_lossy()], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(
        r.stderr
            .contains("server.grpc: expected true or false, found string"),
        "{}",
        r.stderr
    );
}
