//! A real Kafka-compatible broker for the tests: tansu (from crates.io), with its in-memory
//! storage engine, on a loopback port of its own. It is installed once by
//! `scripts/tansu.sh install` (run by `scripts/test.sh`) into `~/.cache/probe/tansu`; a
//! test that finds no binary fails, saying how to install it.
//!
//! ```no_run
//! use probe_testkit::tansu::Tansu;
//!
//! # async fn run() {
//! let mut broker = Tansu::start().await;
//! let bootstrap = broker.address(); // "127.0.0.1:<port>"
//! broker.stop().await;              // connection refused from now on
//! broker.restart().await;           // same port again
//! # }
//! ```

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{timeout, Instant};

/// How long the broker has to accept connections after it was started.
const START_BUDGET: Duration = Duration::from_secs(20);

/// Where the binary is: `$TANSU` when set, else `$TANSU_HOME/bin/tansu`, else
/// `~/.cache/probe/tansu/bin/tansu` (where `scripts/tansu.sh install` puts it). Panics,
/// saying how to install it, when there is none.
pub fn binary() -> PathBuf {
    let path = match std::env::var_os("TANSU") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = match std::env::var_os("TANSU_HOME") {
                Some(h) => PathBuf::from(h),
                None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/probe/tansu"),
            };
            home.join("bin/tansu")
        }
    };
    assert!(
        path.is_file(),
        "no tansu broker at {}: install it with `scripts/tansu.sh install` from the \
         repository root (builds tansu from crates.io with cargo, about 20 minutes the first \
         time; scripts/test.sh does it), or set TANSU to its path",
        path.display()
    );
    path
}

/// A running tansu broker; killed when dropped.
pub struct Tansu {
    addr: SocketAddr,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    env: Vec<(String, String)>,
}

impl Tansu {
    /// Starts tansu on a free loopback port and waits until the port accepts.
    pub async fn start() -> Tansu {
        Tansu::start_with_env(&[]).await
    }

    /// The same, with `env` added to the broker's environment (`RUST_LOG`...).
    pub async fn start_with_env(env: &[(&str, &str)]) -> Tansu {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut broker = Tansu {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            log: Arc::default(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        broker.spawn().await;
        broker
    }

    /// `127.0.0.1:<port>`, for a bootstrap list.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Everything the broker printed so far (standard output and error).
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the broker (SIGTERM, SIGKILL after 5 s) and waits until its port refuses.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if timeout(Duration::from_secs(5), child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(self.addr).await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "tansu still accepts on {} after it stopped",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Freezes the broker (SIGSTOP): connections are still accepted by the kernel, but
    /// nothing answers, as with a broker wedged in a long pause.
    pub async fn pause(&self) {
        self.signal("-STOP").await;
    }

    /// Lets a paused broker go on (SIGCONT).
    pub async fn resume(&self) {
        self.signal("-CONT").await;
    }

    async fn signal(&self, sig: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .expect("tansu is running");
        let sent = timeout(
            Duration::from_secs(5),
            Command::new("kill").args([sig, &pid.to_string()]).status(),
        )
        .await
        .expect("kill returns within 5 s")
        .expect("run kill");
        assert!(sent.success(), "kill {sig} {pid}");
    }

    /// Starts the broker again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let url = format!("tcp://{}", self.addr);
        let mut child = Command::new(binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = self.log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let deadline = Instant::now() + START_BUDGET;
        while TcpStream::connect(self.addr).await.is_err() {
            if let Some(status) = child.try_wait().expect("poll tansu") {
                panic!(
                    "tansu exited ({status}) before accepting on {}:\n{}",
                    self.addr,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "tansu did not accept on {} within {START_BUDGET:?}:\n{}",
                self.addr,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.child = Some(child);
    }
}
