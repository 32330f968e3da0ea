//! Private Redis and PostgreSQL servers, killed and restarted again and again under a
//! running `probe serve`: the check fails on the first evaluation after each kill and
//! passes on the first after each restart; descriptors and memory stay flat.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::attack::{self, kubelet_get, pick, Probe};
use super::support::{free_port, TempDir};

/// Waits up to `limit` for `ready` to hold, looking every 20 ms.
async fn until(what: &str, limit: Duration, mut ready: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready().await {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn redis_pong(addr: SocketAddr) -> bool {
    let go = async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"PING\r\n").await?;
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).await?;
        Ok::<_, std::io::Error>(buf[..n].starts_with(b"+PONG"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), go).await,
        Ok(Ok(true))
    )
}

fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

/// Runs `rounds` kill/restart cycles of the server `start` launches (it must listen on
/// `addr` once `up` holds), with `probe serve` checking it by `check`.
async fn cycle(
    name: &str,
    rounds: usize,
    check: String,
    mut start: impl FnMut() -> Child,
    mut up: impl AsyncFnMut() -> bool,
) {
    let mut server = start();
    until(&format!("{name} up"), Duration::from_secs(30), &mut up).await;
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{{port}}\"\n\n[[check]]\nname = \"{name}\"\ntimeout = \"800ms\"\nprobes = [\"readiness\"]\n{check}\n"
    );
    let probe = Probe::serve(&config).await;
    let ask = async || kubelet_get(probe.addr, "/readyz?verbose", Duration::from_secs(5)).await;
    let (got, body) = ask().await;
    assert_eq!(got.status, 200, "{name} up: {body}");
    let (mut fds0, mut rss0) = (0, 0);
    for round in 0..rounds {
        kill_group(&mut server);
        let (got, body) = ask().await;
        assert_eq!(
            got.status, 503,
            "round {round}: the first evaluation after the kill fails: {body}"
        );
        server = start();
        until(&format!("{name} back up"), Duration::from_secs(30), &mut up).await;
        let (got, body) = ask().await;
        assert_eq!(
            got.status, 200,
            "round {round}: the first evaluation after the restart passes: {body}"
        );
        if round == 0 {
            (fds0, rss0) = (attack::open_fds(probe.pid), attack::rss_kib(probe.pid));
        }
    }
    kill_group(&mut server);
    let (fds, rss) = (attack::open_fds(probe.pid), attack::rss_kib(probe.pid));
    eprintln!(
        "restarts {name}: {rounds} kill/restart cycles; probe fds {fds0} -> {fds}, RSS {:.1} -> {:.1} MiB",
        rss0 as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    assert!(
        fds <= fds0 + 2,
        "{name}: descriptors grew from {fds0} to {fds}"
    );
    assert!(
        rss <= rss0 + 4 * 1024,
        "{name}: RSS grew from {rss0} KiB to {rss} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_redis_killed_and_restarted_twenty_times() {
    let _alone = super::attack::one_at_a_time().await;
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = || {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("run redis-server (install it: apt-get install redis-server)")
    };
    let check = format!("type = \"redis\"\nurl = \"redis://{addr}/0\"");
    cycle("redis", pick(20, 50), check, start, async || {
        redis_pong(addr).await
    })
    .await;
}

/// The directory of PostgreSQL's server programs (`/usr/lib/postgresql/<version>/bin`).
fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server programs under /usr/lib/postgresql (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_postgresql_killed_and_restarted_again_and_again() {
    let _alone = super::attack::one_at_a_time().await;
    let bin = pg_bin();
    let dir = TempDir::new("pg");
    let data = dir.join("data");
    // PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user, and
    // its programs run as it (no intermediate process, so a kill reaches the server).
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a postgres user (created by the postgresql package)")
    };
    let (uid, gid) = (id("-u"), id("-g"));
    let as_postgres = |program: &str| {
        let mut c = Command::new(bin.join(program));
        c.uid(uid).gid(gid);
        c
    };
    let chown = Command::new("chown")
        .args(["postgres:", &dir.arg("")])
        .status()
        .expect("run chown");
    assert!(
        chown.success(),
        "chown the cluster directory to postgres (is there a postgres user?)"
    );
    let init = as_postgres("initdb")
        .args([
            "-D",
            &data.to_string_lossy(),
            "--auth=trust",
            "-U",
            "postgres",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run initdb as postgres (/usr/lib/postgresql/*/bin/initdb)");
    assert!(init.success(), "initdb of a private cluster");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let sockets = dir.arg("");
    let start = || {
        as_postgres("postgres")
            .args([
                "-D",
                &data.to_string_lossy(),
                "-p",
                &port.to_string(),
                "-k",
                &sockets,
            ])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("run postgres")
    };
    let ready = bin.join("pg_isready");
    let up = async || {
        Command::new(&ready)
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    let check = format!("type = \"postgres-query\"\nurl = \"postgres://postgres@{addr}/postgres\"");
    cycle("postgresql", pick(6, 20), check, start, up).await;
}
