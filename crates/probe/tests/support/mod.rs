//! Shared by the binary's tests: running `probe` with a time limit, a `probe serve`
//! child killed when dropped, free ports, and temporary directories.

#![allow(dead_code, unreachable_pub)]

pub mod celery;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::time::timeout;

/// The binary under test.
pub const PROBE: &str = env!("CARGO_BIN_EXE_probe");

/// The budget of one `probe` run.
pub const T: Duration = Duration::from_secs(20);

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    /// The exit status (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// From spawn to exit.
    pub took: Duration,
}

/// Runs `probe args…` with `env` added to its environment, within [`T`].
pub async fn probe(args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let child = Command::new(PROBE)
        .args(args)
        .env_remove("CELERY_WORKER_NAME")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn probe");
    let out = timeout(T, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("probe {args:?} did not exit within {T:?}"))
        .expect("wait for probe");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `probe serve --config <file>` running in the background; killed when dropped.
pub struct Serve {
    pub addr: SocketAddr,
    child: Child,
    _dir: TempDir,
}

impl Serve {
    /// Writes `config` (with `{port}` replaced by a free port) and serves it, waiting
    /// until the port accepts connections.
    pub async fn start(config: &str) -> Serve {
        let dir = TempDir::new("serve");
        let port = free_port();
        let file = dir.join("probe.toml");
        std::fs::write(&file, config.replace("{port}", &port.to_string())).unwrap();
        let child = Command::new(PROBE)
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn probe serve");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ready = async {
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        timeout(Duration::from_secs(10), ready)
            .await
            .expect("probe serve listened within 10 s");
        Serve {
            addr,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `probe-bin-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("probe-bin-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A path inside it, as a string for the command line.
    pub fn arg(&self, name: &str) -> String {
        self.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates (or truncates) `path` and sets its modification time `age` ago.
pub fn touch(path: &Path, age: Duration) {
    let f = std::fs::File::create(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - age).unwrap();
}
