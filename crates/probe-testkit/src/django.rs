//! The real django-health-check, as maykin-common wires it, for tests that compare the
//! `open-klant` dialect with it: a small Django project (`scripts/django-peer/`) served
//! through `scripts/django-health.sh`, which installs the peer from PyPI into a virtualenv
//! under `~/.cache/probe/` on first use. Killed when dropped.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/django-health.sh"
);
const READY_BUDGET: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_millis(100);

/// Installs the peer unless it is there; a failure fails the test, saying how to fix it.
pub async fn install() {
    crate::venv::install(SCRIPT, "django-health-check with maykin-common").await;
}

/// The versions installed, `django 5.2.19 django-health-check 4.8.0 ...`.
pub async fn versions() -> String {
    install().await;
    let out = Command::new(SCRIPT)
        .arg("install")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running Django project serving maykin-common's health URLs.
pub struct DjangoPeer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl DjangoPeer {
    /// Serves the project with `env` (the `PEER_*` variables of its settings) and returns
    /// once its port accepts connections. Fails the test, with the server's output, when
    /// it exits first or does not listen within a minute.
    pub async fn start(env: &[(&str, &str)]) -> DjangoPeer {
        install().await;
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "probe-django-peer-{}-{port}.log",
            std::process::id()
        ));
        let out = File::create(&log).unwrap();
        let mut cmd = Command::new(SCRIPT);
        cmd.args(["run", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // Whatever the test process has, the peer reads only what it is given.
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let mut peer = DjangoPeer { port, child, log };
        for _ in 0..(READY_BUDGET.as_millis() / STEP.as_millis()) {
            let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
            if let Ok(Ok(_)) = tokio::time::timeout(STEP, connect).await {
                return peer;
            }
            if let Ok(Some(status)) = peer.child.try_wait() {
                panic!(
                    "the Django peer exited ({status}) before it listened:\n{}",
                    peer.log_text()
                );
            }
            tokio::time::sleep(STEP).await;
        }
        panic!(
            "the Django peer did not listen on 127.0.0.1:{port} within {READY_BUDGET:?}:\n{}",
            peer.log_text()
        );
    }

    /// What it printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for DjangoPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
