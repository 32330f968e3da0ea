//! Shared by the binary's tests: running `probe` with a time limit, a `probe serve`
//! child killed when dropped, free ports, and temporary directories.

#![allow(dead_code, unreachable_pub)]

pub(crate) mod child;

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
        .env_remove("PROBE_CONFIG")
        .env_remove("PROBE_LISTEN")
        .env_remove("PROBE_DRAIN")
        .env_remove("PROBE_LOG_LEVEL")
        .env_remove("RUST_LOG")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
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

/// `probe serve` running in the background; killed when dropped.
pub struct Serve {
    pub addr: SocketAddr,
    child: Child,
    _dir: Option<TempDir>,
}

impl Serve {
    /// Writes `config` (with `{port}` replaced by a free port) and serves it, waiting
    /// until the port accepts connections.
    pub async fn start(config: &str) -> Serve {
        let dir = TempDir::new("serve");
        let port = free_port();
        let file = dir.join("probe.toml");
        std::fs::write(&file, config.replace("{port}", &port.to_string())).unwrap();
        let file = file.to_string_lossy().into_owned();
        let mut serve = Serve::spawn(&["serve", "--config", &file], &[], port).await;
        serve._dir = Some(dir);
        serve
    }

    /// `probe serve --listen 127.0.0.1:<free port> args…` with `env` added to its
    /// environment, waiting until the port accepts connections.
    pub async fn listening(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--listen", &listen];
        all.extend_from_slice(args);
        Serve::spawn(&all, env, port).await
    }

    async fn spawn(args: &[&str], env: &[(&str, &str)], port: u16) -> Serve {
        let mut child = Command::new(PROBE)
            .args(args)
            .env_remove("PROBE_CONFIG")
            .env_remove("PROBE_LISTEN")
            .env_remove("PROBE_DRAIN")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn probe serve");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ready = async {
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                if let Some(status) = child.try_wait().expect("poll probe serve") {
                    panic!("probe {args:?} exited ({status}) before listening");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        timeout(Duration::from_secs(10), ready)
            .await
            .expect("probe serve listened within 10 s");
        Serve {
            addr,
            child,
            _dir: None,
        }
    }

    /// Sends SIGTERM, within 5 s.
    pub async fn terminate(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status();
        let sent = timeout(Duration::from_secs(5), kill)
            .await
            .expect("kill returns within 5 s")
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
    }

    /// Waits up to `limit` for the process to exit: its exit code (`None`: ended by a
    /// signal); panics when it is still running.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        match timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for probe serve").code(),
            Err(_) => panic!("probe serve still running {limit:?} later"),
        }
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll probe serve").is_none()
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

use std::io::{BufRead, BufReader};
use std::process::Output;
use std::sync::mpsc;

/// The binary under test, as a blocking command with the project's variables cleared.
pub(crate) fn command() -> std::process::Command {
    let mut c = std::process::Command::new(PROBE);
    c.env_remove("PROBE_CONFIG")
        .env_remove("PROBE_LISTEN")
        .env_remove("PROBE_DRAIN")
        .env_remove("RUST_LOG")
        .env_remove("PROBE_LOG_LEVEL");
    c
}

/// A running `probe` process; killed when dropped.
pub(crate) struct Running {
    pub(crate) child: std::process::Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: mpsc::Receiver<String>,
    pub(crate) first_lines: Vec<String>,
}

impl Running {
    /// Starts `cmd` (which must log its address) and waits up to 10 s for the address.
    pub(crate) fn start(mut cmd: std::process::Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn probe");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut first_lines = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    first_lines.push(line.clone());
                    if let Some(i) = line.find("listening on http://") {
                        let rest = &line[i + "listening on http://".len()..];
                        let addr = rest
                            .split_whitespace()
                            .next()
                            .unwrap()
                            .trim_end_matches('/');
                        let addr: SocketAddr = addr.parse().expect("an address in the log line");
                        return Running {
                            child,
                            addr,
                            log: rx,
                            first_lines,
                        };
                    }
                }
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("probe did not log its address within 10s; it said: {first_lines:?}");
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let ok = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Log lines received so far after start-up.
    pub(crate) fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to completion (at most 20 s).
pub(crate) fn run(mut cmd: std::process::Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn probe");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("probe did not exit within 20s");
}

/// A minimal HTTP/1.1 GET over loopback with a 5 s limit: (status, body).
pub(crate) fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read answer");
    let status = raw
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Writes `text` to a fresh file in a fresh directory; returns its path.
pub(crate) fn write_config(text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("probe-test-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("probe.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}
