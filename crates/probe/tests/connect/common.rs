//! Helpers shared by the `probe connect` test files: the real binary as a child process
//! (environment cleared, loopback only, killed when dropped), its log, and a tiny client.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use probe_testkit::connect::{FakeConnect, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The peer's document for a healthy worker with the default rules.
pub(crate) const HEALTHY: &str = r#"{"failures": [], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": true}"#;

/// The `message` of the error document.
pub(crate) const ERROR_MESSAGE: &str =
    "Exception raised while attempting to calculate health result, assuming unhealthy.";

/// Awaits `f`, failing the test after 10 s.
pub(crate) async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("no answer within 10 s")
}

/// Starts a fake Connect for `scenario`.
pub(crate) async fn fake(scenario: Scenario) -> FakeConnect {
    within(FakeConnect::start(scenario))
        .await
        .expect("the fake Connect binds 127.0.0.1:0")
}

/// `probe connect` with `args` and only the variables `env`, as a child process.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_probe"));
    cmd.arg("connect")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A running `probe connect`, killed when dropped.
pub(crate) struct Running {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
}

impl Running {
    /// Starts `probe connect` with `args` on a free port of `127.0.0.1` and waits until it
    /// accepts connections.
    pub(crate) async fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
        let port = free_port().to_string();
        let mut all = vec!["--bind", "127.0.0.1", "--port", &port];
        all.extend_from_slice(args);
        let addr = SocketAddr::from(([127, 0, 0, 1], port.parse().unwrap()));
        Running::start_exactly(&all, env, addr).await
    }

    /// Starts `probe connect` with exactly `args` (which must keep it on loopback) and
    /// waits until `addr` accepts connections.
    pub(crate) async fn start_exactly(
        args: &[&str],
        env: &[(&str, &str)],
        addr: SocketAddr,
    ) -> Running {
        let mut child = command(args, env).spawn().expect("spawn probe");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut running = Running { child, log, addr };
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            if TcpStream::connect(addr).await.is_ok() {
                return running;
            }
            let exited = matches!(running.child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > end {
                tokio::time::sleep(Duration::from_millis(50)).await;
                panic!(
                    "probe connect did not listen on {addr}; its log:\n{}",
                    running.log().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Every log line so far.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to 5 s for a log line containing `needle`, and returns it.
    pub(crate) async fn wait_for(&mut self, needle: &str) -> Option<String> {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Some(line) = self.log().into_iter().find(|l| l.contains(needle)) {
                return Some(line);
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                // Exited: give the reader a moment to collect the last lines.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return self.log().into_iter().find(|l| l.contains(needle));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Sends SIGTERM and waits (up to 5 s) for it to exit.
    pub(crate) async fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        wait_exit(&mut self.child, Duration::from_secs(5))
            .await
            .expect("probe connect exits within 5 s of SIGTERM")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

async fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Runs `probe connect` expecting it to exit by itself within 5 s: its exit code and
/// standard error.
pub(crate) async fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut child = command(args, env).spawn().expect("spawn probe");
    let status = wait_exit(&mut child, Duration::from_secs(5)).await;
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("probe connect {args:?} did not exit within 5 s");
    }
    let mut stderr = String::new();
    use std::io::Read;
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    (status.and_then(|s| s.code()).unwrap_or(-1), stderr)
}

/// What came back from one request.
#[derive(Debug)]
pub(crate) struct Got {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

/// `METHOD path` over a fresh connection (`Connection: close`), within 10 s.
pub(crate) async fn request(addr: SocketAddr, method: &str, path: &str) -> Got {
    within(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let text = String::from_utf8(raw).expect("utf-8 answer");
        let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        Got {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    })
    .await
}

/// `GET path`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Got {
    request(addr, "GET", path).await
}
