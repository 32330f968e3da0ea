//! What the cases share: the long/brief switch, a probe like the kubelet's, latency
//! figures, and a process's memory and descriptors read from /proc.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// One case at a time: each is an attack that would skew the figures of another. Every
/// case holds this for its whole run.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Whether the long mode was asked for (`RESILIENCE_LONG=1`).
pub fn long() -> bool {
    std::env::var("RESILIENCE_LONG").is_ok_and(|v| v == "1")
}

/// `brief` or `long` depending on the mode.
pub fn pick<T>(brief: T, long_value: T) -> T {
    if long() {
        long_value
    } else {
        brief
    }
}

/// What one probe got: the status (0: no answer) and how long it took.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    pub status: u16,
    pub took: Duration,
}

/// A probe as the kubelet sends it: a fresh connection, one `GET`, `Connection: close`,
/// a deadline. Status 0 when the deadline passed or the connection failed.
pub async fn kubelet_get(addr: SocketAddr, path: &str, deadline: Duration) -> (Answer, String) {
    kubelet_get_from(None, addr, path, deadline).await
}

/// [`kubelet_get`] from the local address `from` (any of 127.0.0.0/8 on loopback), as a
/// kubelet on the node's address, apart from a peer's.
pub async fn kubelet_get_from(
    from: Option<std::net::IpAddr>,
    addr: SocketAddr,
    path: &str,
    deadline: Duration,
) -> (Answer, String) {
    let started = Instant::now();
    let go = async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        if let Some(ip) = from {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let mut s = socket.connect(addr).await?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.31\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        (&mut s).take(256 * 1024).read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    match tokio::time::timeout(deadline, go).await {
        Ok(Ok(raw)) => {
            let text = String::from_utf8_lossy(&raw).into_owned();
            let status = text
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (
                Answer {
                    status,
                    took: started.elapsed(),
                },
                text,
            )
        }
        _ => (
            Answer {
                status: 0,
                took: started.elapsed(),
            },
            String::new(),
        ),
    }
}

/// The `q` quantile of `took` (0.5: the median), in milliseconds.
pub fn quantile_ms(answers: &[Answer], q: f64) -> f64 {
    let mut v: Vec<f64> = answers.iter().map(|a| a.took.as_secs_f64() * 1e3).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}

/// A process's peak resident set (VmHWM) in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

/// A process's current resident set (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// How many file descriptors a process has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/fd: {e}"))
        .count()
}

/// The binary under attack: `RESILIENCE_PROBE` when set (to measure another build with
/// the same attack), else this build's.
pub fn probe_binary() -> String {
    std::env::var("RESILIENCE_PROBE").unwrap_or_else(|_| env!("CARGO_BIN_EXE_probe").to_owned())
}

/// A `probe` child (killed when dropped) serving `config`, once its port accepts.
pub struct Probe {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    pub pid: u32,
    _dir: super::support::TempDir,
}

impl Probe {
    /// Writes `config` (`{port}` replaced by a free port) and runs `probe serve` on it.
    pub async fn serve(config: &str) -> Probe {
        let dir = super::support::TempDir::new("resilience");
        let port = super::support::free_port();
        let file = dir.join("probe.toml");
        std::fs::write(&file, config.replace("{port}", &port.to_string())).unwrap();
        let mut child = tokio::process::Command::new(probe_binary())
            .args(["serve", "--config", &file.to_string_lossy()])
            .env_remove("RUST_LOG")
            .env_remove("PROBE_LOG_LEVEL")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn probe serve");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ready = async {
            while TcpStream::connect(addr).await.is_err() {
                if let Some(status) = child.try_wait().unwrap() {
                    let said = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
                    panic!("probe serve exited ({status}) before listening: {said}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), ready)
            .await
            .expect("probe serve listened within 10 s");
        let pid = child.id().expect("running");
        Probe {
            child,
            addr,
            pid,
            _dir: dir,
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM {}", self.pid);
    }
}
