//! A real Celery worker on the shared Redis, started through `scripts/celery-worker.sh`
//! (which installs Celery from PyPI into a virtualenv on first use); killed when dropped.

use std::fs::File;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::timeout;

use super::TempDir;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/celery-worker.sh"
);
/// The shared Redis server.
pub const REDIS: &str = "127.0.0.1:6379";

/// A running worker.
pub struct CeleryWorker {
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

/// Fails the test, saying how to start it, when the shared Redis is not running.
pub async fn require_redis() {
    let up = timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(REDIS),
    )
    .await;
    if !matches!(up, Ok(Ok(_))) {
        panic!("no Redis on {REDIS}: start one (redis-server --daemonize yes, or scripts/test.sh) and run the tests again");
    }
}

impl CeleryWorker {
    /// Installs Celery if needed, starts a worker named `name` on `broker`, and waits
    /// until it logs that it is ready; fails the test, saying how to fix it, when it cannot.
    pub async fn start(name: &str, broker: &str) -> CeleryWorker {
        require_redis().await;
        let install = Command::new(SCRIPT)
            .arg("install")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        let out = timeout(Duration::from_secs(600), install)
            .await
            .expect("installing Celery took more than 10 minutes; run scripts/celery-worker.sh install by hand")
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        assert!(
            out.status.success(),
            "Celery is not installed and could not be installed: {}\nfix it, then run: scripts/celery-worker.sh install",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = TempDir::new("celery");
        let log = dir.join("worker.log");
        let file = File::create(&log).unwrap();
        let child = Command::new(SCRIPT)
            .args(["run", name, broker])
            .arg(dir.join("worker.pid"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let mut worker = CeleryWorker {
            child,
            log,
            _dir: dir,
        };
        let ready = format!("{name} ready.");
        for _ in 0..600 {
            if worker.log_text().contains(&ready) {
                return worker;
            }
            if let Ok(Some(status)) = worker.child.try_wait() {
                panic!(
                    "the celery worker exited ({status}) before it was ready:\n{}",
                    worker.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the celery worker was not ready within 60 s:\n{}",
            worker.log_text()
        );
    }

    /// What the worker logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the worker (SIGKILL: no goodbye to the broker) and waits until it is gone.
    pub async fn kill(mut self) {
        timeout(Duration::from_secs(10), self.child.kill())
            .await
            .expect("the worker died within 10 s")
            .expect("kill the worker");
    }
}

impl Drop for CeleryWorker {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
