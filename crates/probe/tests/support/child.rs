//! The `probe` binary as an async child process (killed when dropped), for tests that
//! follow it over time, and a bounded HTTP/1.1 GET. Every wait is bounded.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Variables the child must not inherit from whoever runs the tests.
const CLEARED: [&str; 10] = [
    "PORT",
    "BOOTSTRAP",
    "STREAMS_ERROR_STRATEGY",
    "HTTP_FORWARDED",
    "PROBE_LOG_LEVEL",
    "PROBE_LOG_FORMAT",
    "PROBE_LISTEN",
    "PROBE_DRAIN",
    "PROBE_CONFIG",
    "RUST_LOG",
];

/// A running `probe`, the address it announced, and everything it wrote to standard error.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) addr: String,
    log: Arc<Mutex<String>>,
}

/// Starts `probe <args>` with `vars` and waits (up to 10 s) for its "listening" line; the
/// args should make it listen on `127.0.0.1:0`.
pub(crate) async fn start(args: &[&str], vars: &[(&str, &str)]) -> Running {
    let (mut child, log, listening) = spawn(args, vars);
    let addr = match tokio::time::timeout(Duration::from_secs(10), listening).await {
        Ok(Ok(addr)) => addr,
        _ => {
            let _ = child.kill().await;
            panic!(
                "probe {args:?} did not listen within 10s: {}",
                log.lock().unwrap()
            );
        }
    };
    Running { child, addr, log }
}

/// Runs `probe <args>` with `vars` expecting it to stop by itself within 10 s: its exit
/// status and standard error.
pub(crate) async fn run_to_exit(args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let (mut child, log, _listening) = spawn(args, vars);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap_or_else(|_| panic!("probe {args:?} {vars:?}: still running after 10s"))
        .expect("wait for the child");
    // Standard error closes with the process; let the reader take the last lines.
    let deadline = Instant::now() + Duration::from_secs(2);
    while log.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = log.lock().unwrap().clone();
    (status.code(), out)
}

type Spawned = (Child, Arc<Mutex<String>>, oneshot::Receiver<String>);

fn spawn(args: &[&str], vars: &[(&str, &str)]) -> Spawned {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_probe"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for key in CLEARED {
        cmd.env_remove(key);
    }
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

impl Running {
    /// What it wrote to standard error so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to `limit`) for a line of its log containing `text`.
    pub(crate) async fn log_line(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| l.contains(text)) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no line with {text:?} within {limit:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `GET path`: status and body.
    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        get(&self.addr, path).await
    }

    /// Asks `path` every 50 ms until it answers `status`; how long that took.
    pub(crate) async fn until(&self, path: &str, status: u16, limit: Duration) -> Duration {
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
    pub(crate) async fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for the child").code(),
            Err(_) => panic!("still running after {limit:?}\nlog:\n{}", self.log()),
        }
    }

    /// Whether it is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the child").is_none()
    }
}

/// One HTTP/1.1 request on a fresh connection, within 5 s; the answer read up to 64 KiB.
pub(crate) async fn get(addr: &str, path: &str) -> (u16, String) {
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
