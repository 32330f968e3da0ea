//! A log stream that cannot be written never stops `probe`: standard error on a full disk
//! (`2>/dev/full`) or on a pipe whose reader has gone (`2>&1 | head`), and standard output
//! closed under `probe check`.

mod support;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use support::{free_port, write_config, PROBE};

/// `probe serve` on 127.0.0.1:`port` at the debug level, with standard error on `stderr`.
/// Only `Host: 127.0.0.1` is allowed: a request naming another host is refused with a log
/// line, so the tests can make it log while it serves.
fn serve(port: u16, stderr: Stdio) -> Child {
    let config = write_config("[server]\nallowed_hosts = [\"127.0.0.1\"]\n");
    Command::new(PROBE)
        .args(["serve", "--log-level", "debug", "--drain", "0s", "--config"])
        .arg(config)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("PROBE_CONFIG")
        .env_remove("PROBE_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn probe serve")
}

/// Starts [`serve`] on a free port, standard error from `stderr`, and waits (up to 10 s
/// each time) until the port accepts connections. The port is free when chosen but may be
/// taken before `probe` binds it: on an early exit it tries again, at most five ports.
async fn start(stderr: impl Fn() -> Stdio) -> (Child, u16) {
    let mut exits = Vec::new();
    for _ in 0..5 {
        let port = free_port();
        let mut child = serve(port, stderr());
        let listening = async {
            loop {
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return None;
                }
                if let Some(status) = child.try_wait().expect("poll probe serve") {
                    return Some(status);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        match tokio::time::timeout(Duration::from_secs(10), listening).await {
            Ok(None) => return (child, port),
            Ok(Some(status)) => exits.push(format!("port {port}: {status}")),
            Err(_) => panic!("probe serve did not listen on port {port} within 10 s"),
        }
    }
    panic!("probe serve exited before listening, on every port tried: {exits:?}");
}

/// `GET /readyz` with `Host: host`, within 5 s: the status.
async fn ask_as(port: u16, host: &str) -> u16 {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let request = format!("GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("an answer within 5 s")
        .expect("an answer");
    let text = String::from_utf8_lossy(&raw);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"))
}

/// Makes it log while it serves (a refused host), and asks: every answer comes, the
/// process still running after; then SIGTERM stops it with status 0, though its last log
/// line is lost too.
async fn keeps_answering_and_stops_cleanly(mut child: Child, port: u16) {
    for _ in 0..3 {
        assert_eq!(ask_as(port, "elsewhere.example").await, 400);
        assert_eq!(ask_as(port, "127.0.0.1").await, 200);
    }
    assert!(
        child.try_wait().expect("poll probe serve").is_none(),
        "probe serve is still running"
    );
    let pid = child.id().expect("running").to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status();
    let sent = tokio::time::timeout(Duration::from_secs(5), kill).await;
    assert!(sent.expect("kill within 5 s").expect("run kill").success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("probe serve stops within 5 s of SIGTERM")
        .expect("wait for probe serve");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_standard_error_on_a_full_disk_probe_serve_keeps_answering() {
    let full = || {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        Stdio::from(file)
    };
    let (child, port) = start(full).await;
    keeps_answering_and_stops_cleanly(child, port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_log_pipe_closed_probe_serve_keeps_answering() {
    let (mut child, port) = start(Stdio::piped).await;
    // The reader goes away, as `head` does: every later line meets a closed pipe.
    drop(child.stderr.take());
    keeps_answering_and_stops_cleanly(child, port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_check_exits_by_the_verdict_when_its_output_is_closed() {
    let (_server, port) = start(Stdio::null).await;
    for (path, code) in [("/livez", 0), ("/nowhere", 1)] {
        let mut check = Command::new(PROBE)
            .arg("check")
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn probe check");
        // Nobody reads its verdict line.
        drop(check.stdout.take());
        drop(check.stderr.take());
        let status = tokio::time::timeout(Duration::from_secs(20), check.wait())
            .await
            .expect("probe check exits within 20 s")
            .expect("wait for probe check");
        assert_eq!(status.code(), Some(code), "{path}");
    }
}
