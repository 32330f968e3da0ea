//! Shared helpers: bounded waits, ports, and private server instances the tests own.
//!
//! The system servers (PostgreSQL 5432, Redis 6379, MariaDB 3306, RabbitMQ 5672,
//! memcached 11211) are started by `scripts/test.sh`; a test that finds one missing fails
//! with the command that starts it. Private instances run on free ports in temporary
//! directories and are killed when dropped.

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

/// A private redis-server on its own port; `args` are extra config arguments.
pub(crate) struct PrivateRedis {
    pub(crate) port: u16,
    args: Vec<String>,
    dir: TempDir,
    daemon: Option<Daemon>,
}

impl PrivateRedis {
    pub(crate) fn start(args: &[&str]) -> PrivateRedis {
        let mut r = PrivateRedis {
            port: free_port(),
            args: args.iter().map(|s| s.to_string()).collect(),
            dir: TempDir::new("redis", None),
            daemon: None,
        };
        r.up();
        r
    }

    pub(crate) fn up(&mut self) {
        let port = self.port.to_string();
        self.daemon = Some(Daemon::spawn(
            Command::new("redis-server")
                .args([
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .arg("--dir")
                .arg(self.dir.path())
                .args(&self.args),
        ));
        wait_until("the private redis to listen", SERVER_LIMIT, || {
            port_open(self.port)
        });
    }

    pub(crate) fn down(&mut self) {
        self.daemon = None;
        wait_until("the private redis to stop", SERVER_LIMIT, || {
            !port_open(self.port)
        });
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// A private memcached on its own port.
pub(crate) struct PrivateMemcached {
    pub(crate) port: u16,
    daemon: Option<Daemon>,
}

impl PrivateMemcached {
    pub(crate) fn start() -> PrivateMemcached {
        let mut m = PrivateMemcached {
            port: free_port(),
            daemon: None,
        };
        m.up();
        m
    }

    pub(crate) fn up(&mut self) {
        let user = if Command::new("id")
            .arg("memcache")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
        {
            "memcache"
        } else {
            "nobody"
        };
        self.daemon = Some(Daemon::spawn(
            Command::new("memcached")
                .args(["-u", user, "-l", "127.0.0.1", "-U", "0", "-m", "8", "-p"])
                .arg(self.port.to_string()),
        ));
        wait_until("the private memcached to listen", SERVER_LIMIT, || {
            port_open(self.port)
        });
    }

    pub(crate) fn down(&mut self) {
        self.daemon = None;
        wait_until("the private memcached to stop", SERVER_LIMIT, || {
            !port_open(self.port)
        });
    }
}

/// A private MariaDB on an empty data directory (grant tables skipped: every login works).
pub(crate) struct PrivateMaria {
    pub(crate) port: u16,
    dir: TempDir,
    daemon: Option<Daemon>,
}

impl PrivateMaria {
    pub(crate) fn start() -> PrivateMaria {
        let dir = TempDir::new("mariadb", Some("mysql:mysql"));
        let mut m = PrivateMaria {
            port: free_port(),
            dir,
            daemon: None,
        };
        m.up();
        m
    }

    pub(crate) fn up(&mut self) {
        let d = self.dir.path();
        self.daemon = Some(Daemon::spawn(
            Command::new("/usr/sbin/mariadbd")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", d.display()))
                .arg(format!("--socket={}/sock", d.display()))
                .arg(format!("--pid-file={}/pid", d.display()))
                .arg(format!("--port={}", self.port))
                .args([
                    "--user=mysql",
                    "--bind-address=127.0.0.1",
                    "--skip-grant-tables",
                    "--innodb-buffer-pool-size=16M",
                    "--skip-log-bin",
                ]),
        ));
        wait_until("the private MariaDB to listen", SERVER_LIMIT, || {
            port_open(self.port)
        });
    }

    pub(crate) fn down(&mut self) {
        self.daemon = None;
        wait_until("the private MariaDB to stop", SERVER_LIMIT, || {
            !port_open(self.port)
        });
    }
}

/// A private PostgreSQL cluster (initdb as `postgres` in a temporary directory).
pub(crate) struct PrivatePg {
    pub(crate) port: u16,
    dir: TempDir,
}

impl PrivatePg {
    /// A cluster with trust authentication.
    pub(crate) fn start() -> PrivatePg {
        Self::init(None)
    }

    /// A cluster where `postgres` needs `password` (scram-sha-256).
    pub(crate) fn with_password(password: &str) -> PrivatePg {
        Self::init(Some(password))
    }

    fn init(password: Option<&str>) -> PrivatePg {
        let dir = TempDir::new("pg", Some("postgres"));
        let data = dir.path().join("data");
        let mut initdb = pg_tool("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--no-sync"]);
        match password {
            Some(p) => {
                let pwfile = dir.path().join("pw");
                std::fs::write(&pwfile, p).unwrap();
                let _ = Command::new("chown").arg("postgres").arg(&pwfile).status();
                initdb
                    .args(["-A", "scram-sha-256"])
                    .arg(format!("--pwfile={}", pwfile.display()));
            }
            None => {
                initdb.args(["-A", "trust"]);
            }
        }
        let out = initdb.stdin(Stdio::null()).output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = PrivatePg {
            port: free_port(),
            dir,
        };
        pg.up();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the cluster and waits until it accepts connections.
    pub(crate) fn up(&self) {
        self.up_with("");
    }

    /// Starts the cluster with extra server options (`-c name=value ...`).
    pub(crate) fn up_with(&self, extra: &str) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off {extra}",
            self.port,
            self.dir.path().display()
        );
        let out = pg_tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-o", &opts, "-l"])
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "30", "start"])
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl stop -m mode`, waiting for the server to stop unless `wait` is false.
    pub(crate) fn stop(&self, mode: &str, wait: bool) {
        let out = pg_tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args([
                "-m",
                mode,
                if wait { "-w" } else { "-W" },
                "-t",
                "30",
                "stop",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Makes the next start a standby (recovery) or, with `false`, a primary again.
    pub(crate) fn set_standby(&self, standby: bool) {
        let signal = self.data().join("standby.signal");
        if standby {
            std::fs::write(&signal, "").unwrap();
        } else {
            let _ = std::fs::remove_file(&signal);
        }
    }

    pub(crate) fn url(&self, user_info: &str) -> String {
        format!("postgres://{user_info}@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = pg_tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A PostgreSQL server program run as the `postgres` user, from the newest installed version.
fn pg_tool(name: &str) -> Command {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|dirs| {
            dirs.filter_map(|d| d.ok())
                .filter_map(|d| d.file_name().to_str().and_then(|v| v.parse::<u32>().ok()))
                .max()
        })
        .map(|v| format!("/usr/lib/postgresql/{v}/bin/{name}"))
        .unwrap_or_else(|| name.to_owned());
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--", &bin]);
    cmd
}

/// Opens a PostgreSQL session over a raw socket (trust auth) and keeps it open until the
/// returned stream drops: what holds a server in smart shutdown.
pub(crate) fn open_pg_session(port: u16) -> TcpStream {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect for a session");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&probe_core::proto::pg::startup_message(&[(
        "user", "postgres",
    )]))
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until ReadyForQuery ('Z' message): the session is then fully open.
    while !contains_ready_for_query(&seen) {
        let n = s.read(&mut buf).expect("read session start");
        assert!(n > 0, "the server closed the session");
        seen.extend_from_slice(&buf[..n]);
        assert!(seen.len() < 1 << 20, "too much session start-up data");
    }
    s
}

fn contains_ready_for_query(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 5 <= bytes.len() {
        let len =
            u32::from_be_bytes([bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4]]) as usize;
        if bytes[i] == b'Z' {
            return true;
        }
        i += 1 + len;
    }
    false
}
