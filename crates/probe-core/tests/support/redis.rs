//! Redis for the tests: the shared server on 127.0.0.1:6379, a private `redis-server`
//! on a free port, and a few raw commands to look at what a test left behind.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tmp::TempDir;

/// The shared Redis server.
pub(crate) const SHARED: &str = "127.0.0.1:6379";

/// Fails the test, saying how to start it, when the shared Redis is not running.
pub(crate) async fn require_shared() {
    let up = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(SHARED)).await;
    if !matches!(up, Ok(Ok(_))) {
        panic!("no Redis on {SHARED}: start one (redis-server --daemonize yes) and run the tests again");
    }
}

/// Sends one inline command to `addr` (database `db`) and returns the raw reply.
pub(crate) async fn command(addr: &str, db: u32, line: &str) -> String {
    let go = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("SELECT {db}\r\n{line}\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = Vec::new();
        // "+OK\r\n" for SELECT, then at least one full line for the command.
        while got.iter().filter(|&&b| b == b'\n').count() < 2 {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "redis closed the connection");
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).into_owned();
        text.split_once("\r\n").unwrap().1.to_owned()
    };
    tokio::time::timeout(Duration::from_secs(5), go)
        .await
        .expect("redis answered within 5 s")
}

/// A private `redis-server` on a free loopback port, killed when dropped.
pub(crate) struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    _dir: TempDir,
}

impl PrivateRedis {
    /// Starts one (with `requirepass` when `password` is given) and waits until it
    /// accepts connections.
    pub(crate) async fn start(password: Option<&str>) -> PrivateRedis {
        let dir = TempDir::new("redis");
        let port = free_port();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(PathBuf::from(dir.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): install it (apt-get install redis-server)")
        });
        let server = PrivateRedis {
            child: Some(child),
            port,
            _dir: dir,
        };
        for _ in 0..100 {
            if TcpStream::connect(server.addr()).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the private redis-server on {} did not start within 5 s",
            server.addr()
        );
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server; its port then refuses connections.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
