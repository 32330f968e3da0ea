//! Shared helpers: bounded runs and waits, ports, reference tools, temporary directories
//! and child processes.
//!
//! The system servers (PostgreSQL 5432, Redis 6379, MariaDB 3306, RabbitMQ 5672,
//! memcached 11211) are started by `scripts/test.sh`; a test that finds one missing fails
//! with the command that starts it.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use probe_core::{Check, Outcome, Status};

/// The most any single check run may take in a test.
pub(crate) const RUN_LIMIT: Duration = Duration::from_secs(10);

/// How long a private server may take to start or stop.
pub(crate) const SERVER_LIMIT: Duration = Duration::from_secs(30);

/// Runs `check` once, under [`RUN_LIMIT`].
pub(crate) async fn run<C: Check + ?Sized>(check: &C) -> Outcome {
    tokio::time::timeout(RUN_LIMIT, check.check())
        .await
        .expect("the check did not finish within 10 s")
}

/// Asserts the outcome's status, showing the outcome when it differs.
#[track_caller]
pub(crate) fn assert_status(outcome: &Outcome, status: Status) {
    assert_eq!(outcome.status, status, "unexpected outcome: {outcome:?}");
}

/// Asserts that neither the message nor the details contain `secret`.
#[track_caller]
pub(crate) fn assert_no_secret(outcome: &Outcome, secret: &str) {
    let message = outcome.message.as_deref().unwrap_or("");
    let details = outcome
        .details
        .as_ref()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(!message.contains(secret), "secret in message: {message}");
    assert!(!details.contains(secret), "secret in details: {details}");
}

/// The message of an outcome, or "".
pub(crate) fn message(outcome: &Outcome) -> &str {
    outcome.message.as_deref().unwrap_or("")
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub(crate) fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Fails the test, saying how to start it, unless a system server listens on `port`.
#[track_caller]
pub(crate) fn require_system(name: &str, port: u16) {
    assert!(
        port_open(port),
        "{name} is not listening on 127.0.0.1:{port}. These tests need it: run the tests with \
         scripts/test.sh, or start it with `bash -c '. scripts/services.sh && ensure_services'`"
    );
}

/// A port nothing listens on (bound once by the OS, then released).
pub(crate) fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// Polls `done` every 50 ms until it holds, failing the test after `within`.
#[track_caller]
pub(crate) fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command under coreutils `timeout` (20 s), returning its exit code and stdout.
pub(crate) fn tool(program: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new("timeout")
        .arg("20")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

/// A fresh temporary directory owned by `owner` (a system user), removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str, owner: Option<&str>) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "probe-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        if let Some(owner) = owner {
            let ok = Command::new("chown")
                .arg("-R")
                .arg(owner)
                .arg(&dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "cannot chown {} to {owner}", dir.display());
        }
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed and reaped on drop.
pub(crate) struct Daemon {
    child: Option<Child>,
}

impl Daemon {
    pub(crate) fn spawn(cmd: &mut Command) -> Daemon {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Daemon { child: Some(child) }
    }

    /// Kills the process and waits for it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}
