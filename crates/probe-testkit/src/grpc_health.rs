//! The official Python gRPC health client (grpcio-health-checking), through
//! `scripts/grpc-health-client.sh`, which installs it from PyPI into a virtualenv outside
//! the checkout on first use. Every wait is bounded; the client is killed when dropped.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/grpc-health-client.sh"
);

/// The longest a line of the client may take (its own calls last at most 1 s, a Watch
/// until it ends).
const LINE_BUDGET: Duration = Duration::from_secs(20);

/// Installs the client if needed; fails the test, saying what to install, when it cannot.
pub async fn require() {
    crate::venv::install(
        SCRIPT,
        "the Python gRPC health client (grpcio-health-checking)",
    )
    .await;
}

/// A running client (`check`, `watch` or `kubelet` mode, see the script's Python part).
pub struct PyHealthClient {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    args: String,
}

impl PyHealthClient {
    /// Installs the client if needed, then starts `MODE PORT NAME...`.
    pub async fn start(mode: &str, port: u16, names: &[&str]) -> PyHealthClient {
        require().await;
        let port = port.to_string();
        let mut child = Command::new(SCRIPT)
            .args(["run", mode, &port])
            .args(names)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        PyHealthClient {
            child,
            lines,
            args: format!("{mode} {port} {names:?}"),
        }
    }

    /// The next line it prints; panics when it exits first or takes longer than 20 s.
    pub async fn line(&mut self) -> String {
        match tokio::time::timeout(LINE_BUDGET, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => panic!(
                "the Python health client ({}) ended without a line",
                self.args
            ),
            Err(_) => panic!(
                "the Python health client ({}) printed nothing for {LINE_BUDGET:?}",
                self.args
            ),
        }
    }

    /// Asserts that it prints nothing for `quiet`.
    pub async fn silent_for(&mut self, quiet: Duration) {
        if let Ok(line) = tokio::time::timeout(quiet, self.lines.next_line()).await {
            panic!("expected nothing for {quiet:?} from the Python health client, got {line:?}");
        }
    }

    /// Every line until it exits, and its exit code (bounded).
    pub async fn finish(mut self) -> (Vec<String>, Option<i32>) {
        let mut out = Vec::new();
        for _ in 0..1_000 {
            match tokio::time::timeout(LINE_BUDGET, self.lines.next_line()).await {
                Ok(Ok(Some(line))) => out.push(line),
                Ok(_) => break,
                Err(_) => panic!("the Python health client ({}) hung", self.args),
            }
        }
        let status = tokio::time::timeout(LINE_BUDGET, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the Python health client ({}) did not exit", self.args))
            .expect("wait for the Python health client");
        (out, status.code())
    }
}

/// `check PORT NAME...`: one line per name, in order.
pub async fn check(port: u16, names: &[&str]) -> Vec<String> {
    let (lines, code) = PyHealthClient::start("check", port, names)
        .await
        .finish()
        .await;
    assert_eq!(code, Some(0), "the Python health client failed: {lines:?}");
    lines
}
