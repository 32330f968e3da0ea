//! Private server instances a test owns: each on a free port, in a temporary directory,
//! stopped and started at will, and killed when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{free_port, port_open, wait_until, Daemon, TempDir, SERVER_LIMIT};

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
