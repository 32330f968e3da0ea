//! Running the real `probe` binary in tests: spawn, find the address it listens on, ask it
//! over loopback, stop it. Every wait is bounded.
#![allow(dead_code)]

pub(crate) mod child;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test.
pub(crate) fn probe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_probe"));
    c.env_remove("PROBE_CONFIG")
        .env_remove("PROBE_LISTEN")
        .env_remove("RUST_LOG")
        .env_remove("PROBE_LOG_LEVEL");
    c
}

/// A running `probe` process; killed when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: mpsc::Receiver<String>,
    pub(crate) first_lines: Vec<String>,
}

impl Running {
    /// Starts `cmd` (which must log its address) and waits up to 10 s for the address.
    pub(crate) fn start(mut cmd: Command) -> Running {
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
        let ok = Command::new("kill")
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
pub(crate) fn run(mut cmd: Command) -> Output {
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

/// A closed loopback port (bound then released).
pub(crate) fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
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
