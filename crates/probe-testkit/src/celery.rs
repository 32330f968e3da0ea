//! A real Celery worker for the tests, started through `scripts/celery-worker.sh` (which
//! installs Celery from PyPI into a virtualenv on first use) and killed when dropped.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/celery-worker.sh"
);
const READY_BUDGET: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_millis(100);

/// The shared Redis server the tests' workers use.
pub const REDIS: &str = "127.0.0.1:6379";

/// Fails the test, saying how to start it, when the shared Redis is not running.
pub async fn require_redis() {
    let up = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(REDIS),
    )
    .await;
    if !matches!(up, Ok(Ok(_))) {
        panic!("no Redis on {REDIS}: start one (redis-server --daemonize yes, or scripts/test.sh) and run the tests again");
    }
}

/// A running worker.
pub struct CeleryWorker {
    child: Child,
    log: PathBuf,
    dir: PathBuf,
}

impl CeleryWorker {
    /// Installs Celery if needed, starts a worker named `name` on `broker`, and waits
    /// until it logs that it is ready. Fails the test, saying how to fix it, when it
    /// cannot.
    pub async fn start(name: &str, broker: &str) -> CeleryWorker {
        require_redis().await;
        install().await;
        let dir = scratch_dir();
        let log = dir.join("worker.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(SCRIPT)
            .args(["run", name, broker])
            .arg(dir.join("worker.pid"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let mut worker = CeleryWorker { child, log, dir };
        let ready = format!("{name} ready.");
        for _ in 0..(READY_BUDGET.as_millis() / STEP.as_millis()) {
            if worker.log_text().contains(&ready) {
                return worker;
            }
            if let Ok(Some(status)) = worker.child.try_wait() {
                panic!(
                    "the celery worker exited ({status}) before it was ready:\n{}",
                    worker.log_text()
                );
            }
            tokio::time::sleep(STEP).await;
        }
        panic!(
            "the celery worker was not ready within {READY_BUDGET:?}:\n{}",
            worker.log_text()
        );
    }

    /// What the worker logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the worker and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CeleryWorker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory for one worker's pid file and log.
fn scratch_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "probe-celery-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Runs `scripts/celery-worker.sh install` (bounded; a failure fails the test).
async fn install() {
    crate::venv::install(SCRIPT, "Celery").await;
}
