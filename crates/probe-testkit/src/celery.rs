//! A real Celery worker for the tests, started through `scripts/celery-worker.sh` (which
//! installs Celery from PyPI into a virtualenv on first use) and killed when dropped.
//!
//! A worker logs "ready." before it listens on its control channel, so the first ping
//! after that line may reach nobody. [`CeleryWorker::start`] returns once the channel has
//! a listener: the broker's pub/sub says so. Give each worker a broker database of its own
//! (`redis://127.0.0.1:6379/<db>`), since the channel is per database.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/celery-worker.sh"
);
const READY_BUDGET: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_millis(100);
/// How many times to look for the control channel's listener after "ready.", [`STEP`] apart.
const LISTEN_TRIES: u32 = 100;
/// The budget of one exchange with the broker.
const REDIS_BUDGET: Duration = Duration::from_secs(2);

/// The shared Redis server the tests' workers use.
pub const REDIS: &str = "127.0.0.1:6379";

/// Fails the test, saying how to start it, when the shared Redis is not running.
pub async fn require_redis() {
    let up = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(REDIS),
    )
    .await;
    if !matches!(up, Ok(Ok(_))) {
        panic!("no Redis on {REDIS}: start one (redis-server --daemonize yes, or scripts/test.sh) and run the tests again");
    }
}

/// A running worker.
pub struct CeleryWorker {
    child: Child,
    log: PathBuf,
    dir: PathBuf,
}

impl CeleryWorker {
    /// Installs Celery if needed, starts a worker named `name` on `broker`
    /// (`redis://host:port/db`), waits until it logs that it is ready, then until its
    /// control channel has a listener, so that a ping reaches it. Fails the test, saying
    /// how to fix it, when it cannot.
    pub async fn start(name: &str, broker: &str) -> CeleryWorker {
        require_redis().await;
        install().await;
        let dir = scratch_dir();
        let log = dir.join("worker.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(SCRIPT)
            .args(["run", name, broker])
            .arg(dir.join("worker.pid"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let mut worker = CeleryWorker { child, log, dir };
        let ready = format!("{name} ready.");
        for _ in 0..(READY_BUDGET.as_millis() / STEP.as_millis()) {
            if worker.log_text().contains(&ready) {
                worker.wait_listening(name, broker).await;
                return worker;
            }
            if let Ok(Some(status)) = worker.child.try_wait() {
                panic!(
                    "the celery worker exited ({status}) before it was ready:\n{}",
                    worker.log_text()
                );
            }
            tokio::time::sleep(STEP).await;
        }
        panic!(
            "the celery worker was not ready within {READY_BUDGET:?}:\n{}",
            worker.log_text()
        );
    }

    /// Waits until the worker's control channel has a listener: the fanout of Celery's
    /// `celery.pidbox` exchange, which kombu subscribes to by pattern on the channel
    /// `/<db>.celery.pidbox`, where pings are published. Redis counts pattern subscribers
    /// of a channel only in `PUBLISH`'s answer (`PUBSUB NUMSUB` leaves them out), so this
    /// publishes a control message addressed to no worker, which workers ignore, until one
    /// receives it. Fails the test after [`LISTEN_TRIES`] tries.
    async fn wait_listening(&mut self, name: &str, broker: &str) {
        let (addr, db) = redis_of(broker);
        let channel = format!("/{db}.celery.pidbox");
        let mut last = String::new();
        for n in 0..LISTEN_TRIES {
            match tokio::time::timeout(REDIS_BUDGET, publish(&addr, &channel, n)).await {
                Ok(Ok(receivers)) if receivers > 0 => return,
                Ok(Ok(_)) => last = "no listener".into(),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = format!("Redis on {addr} did not answer within {REDIS_BUDGET:?}"),
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the celery worker exited ({status}) before it listened on {channel}:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(STEP).await;
        }
        panic!(
            "the celery worker {name} logged that it was ready, but {LISTEN_TRIES} looks \
             {STEP:?} apart found no listener on its control channel {channel} on {addr} \
             ({last}): a ping would reach no worker. Its log:\n{}",
            self.log_text()
        );
    }

    /// What the worker logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the worker and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CeleryWorker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory for one worker's pid file and log.
fn scratch_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "probe-celery-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Runs `scripts/celery-worker.sh install` (bounded; a failure fails the test).
async fn install() {
    crate::venv::install(SCRIPT, "Celery").await;
}

/// The Redis address (`host:port`) and database number of a `redis://host[:port][/db]`
/// broker URL (no credentials: the tests' brokers have none).
fn redis_of(broker: &str) -> (String, u32) {
    let rest = broker
        .strip_prefix("redis://")
        .unwrap_or_else(|| panic!("not a redis:// broker: {broker}"));
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:6379")
    };
    let db = match db {
        "" => 0,
        db => db
            .parse()
            .unwrap_or_else(|_| panic!("not a database number in {broker}")),
    };
    (addr, db)
}

/// `PUBLISH`es on `channel` a control message no worker dispatches (it is addressed to a
/// worker that does not exist): how many subscribers received it.
async fn publish(addr: &str, channel: &str, n: u32) -> std::io::Result<u64> {
    let body = serde_json::json!({
        "method": "ping",
        "arguments": {},
        "destination": ["nobody@probe-testkit"],
        "pattern": null,
        "matcher": null,
    });
    let message = serde_json::json!({
        "body": body.to_string(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {},
        "properties": {
            "delivery_mode": 1,
            "delivery_info": { "exchange": "celery.pidbox", "routing_key": "" },
            "priority": 0,
            "delivery_tag": format!("probe-testkit-{}-{n}", std::process::id()),
        },
    })
    .to_string();
    let mut request = String::from("*3\r\n$7\r\nPUBLISH\r\n");
    for arg in [channel, &message] {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).await?;
    reply
        .strip_prefix(':')
        .and_then(|n| n.trim_end().parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("Redis answered PUBLISH with {:?}", reply.trim_end()),
            )
        })
}
