//! The promises of the probe endpoints, measured against the release `probe` binary.
//!
//! ```text
//! cargo build --release -p probe
//! cargo bench -p probe-benches --bench scenarios
//! ```
//!
//! 1. **Storm.** 1,000 `/readyz` requests, 100 at a time, each on a fresh connection,
//!    against `probe serve` whose only readiness check is `http` against a counting
//!    upstream with `cache = "1s"`: the upstream's hits and the time taken. Then 3.5 s of
//!    keep-alive load on the same endpoint: one upstream request per reuse window.
//! 2. **Hanging dependency.** The only readiness check's upstream accepts connections and
//!    never answers (`timeout = "500ms"`): how long `/readyz` takes (the promise: at most
//!    the timeout + 100 ms), and `/livez` latency while such a readiness request is in
//!    flight, next to `/livez` with nothing in flight.
//! 3. **Idle memory.** Resident memory (`VmRSS`) of `probe serve` with the default
//!    configuration after it started, and after 1,000 requests.
//! 4. **Memory of 100 checks.** `probe serve` with `metrics = true` and 100 `file-exists`
//!    readiness checks run in the background every 50 ms, keeping the default 16 runs of
//!    history each and keeping none (`history = 0`): VmRSS once every history is full
//!    (2 s, about 40 runs per check), and the time of 50 `/metrics` scrapes of each, one
//!    after another on fresh connections (median and slowest).
//!
//! `probe serve` runs on CPU 0 and this program on CPU 1 when `taskset` is there. The
//! exit status is 1 when a promise is not kept. `PROBE_BIN` names another binary.
//!
//! Run by `cargo test` (without `--bench`), the first two scenarios run against the same
//! configuration served in this process by `probe-http`, with the same promises checked.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use probe_benches::loadgen::{self, Storm};
use probe_benches::measure::{micros, Histogram};
use probe_benches::process::{self, Running, Scratch, LOAD_CPU};
use probe_benches::sidecar;
use probe_core::checks::HttpCheck;
use probe_core::{Health, Policy, Probe};
use probe_http::{Kubernetes, ProbeService, Server, ServerConfig};
use probe_testkit::upstream::Upstream;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

type Error = Box<dyn std::error::Error>;

/// The reuse window of the storm's check.
const WINDOW: Duration = Duration::from_secs(1);
/// The timeout of the hanging check.
const HANG_TIMEOUT: Duration = Duration::from_millis(500);
/// What the engine may add to a check's timeout before `/readyz` answers.
const SLACK: Duration = Duration::from_millis(100);
/// The most one whole scenario may take.
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scenarios: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = if bench {
        run_against_binary(&rt)
    } else {
        rt.block_on(run_in_process())
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("scenarios: a promise was not kept (see NOT KEPT above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("scenarios: {e}");
            ExitCode::FAILURE
        }
    }
}

// === the servers ===

/// The readiness check of a scenario.
struct CheckSpec {
    name: &'static str,
    url: String,
    timeout: Duration,
    cache: Option<Duration>,
}

/// Whatever serves the scenario: the binary, or `probe-http` in this process.
enum Sidecar {
    Binary(Running),
    InProcess(SocketAddr, JoinHandle<()>),
}

impl Sidecar {
    fn addr(&self) -> SocketAddr {
        match self {
            Sidecar::Binary(r) => r.addr(),
            Sidecar::InProcess(addr, _) => *addr,
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Sidecar::InProcess(_, task) = self {
            task.abort();
        }
    }
}

/// How long the scenarios run: in full under `cargo bench`, shorter under `cargo test`.
#[derive(Clone, Copy)]
struct Scale {
    /// Keep-alive load after the storm.
    sustained: Duration,
    /// Hanging readiness requests measured, one after another and while `/livez` is asked.
    hangs: usize,
}

const FULL: Scale = Scale {
    sustained: Duration::from_millis(3_500),
    hangs: 5,
};
const QUICK: Scale = Scale {
    sustained: Duration::from_millis(1_500),
    hangs: 2,
};

/// How sidecars are started in this run.
enum Launcher {
    Binary {
        bin: std::path::PathBuf,
        scratch: Scratch,
        pin: bool,
    },
    InProcess,
}

impl Launcher {
    /// Serves `check` (or the default configuration when `None`).
    fn start(&self, name: &str, check: Option<&CheckSpec>) -> Result<Sidecar, Error> {
        match self {
            Launcher::Binary { bin, scratch, pin } => {
                let config = check.map(|c| sidecar::http_check(c.name, &c.url, c.timeout, c.cache));
                Ok(Sidecar::Binary(sidecar::serve(
                    bin,
                    config.as_deref(),
                    scratch,
                    name,
                    *pin,
                )?))
            }
            Launcher::InProcess => {
                let mut b = Health::builder();
                if let Some(c) = check {
                    let policy = Policy::default().timeout(c.timeout);
                    let policy = match c.cache {
                        Some(w) => policy.cache(w),
                        None => policy,
                    };
                    b = b.check(c.name, HttpCheck::new(&c.url)?, [Probe::Readiness], policy)?;
                }
                let service = ProbeService::builder()
                    .dialect(Kubernetes::new(b.build()?))
                    .build();
                let bound = Server::bind(([127, 0, 0, 1], 0).into(), ServerConfig::default())?;
                let addr = bound.local_addr();
                let task = tokio::spawn(bound.serve(service, std::future::pending()));
                Ok(Sidecar::InProcess(addr, task))
            }
        }
    }
}

/// Prints whether a promise was kept; returns it.
fn verdict(kept: bool, promise: &str) -> bool {
    println!("  {} {promise}", if kept { "kept:" } else { "NOT KEPT:" });
    kept
}

// === the scenarios ===

/// Scenario 1: a storm of readiness probes costs one upstream request per reuse window.
async fn storm(launch: &Launcher, scale: Scale) -> Result<bool, Error> {
    println!(
        "\n1. storm: /readyz with one http check, cache = {}ms",
        WINDOW.as_millis()
    );
    let upstream = Upstream::counting().await;
    let check = CheckSpec {
        name: "upstream",
        url: upstream.url("/"),
        timeout: HANG_TIMEOUT,
        cache: Some(WINDOW),
    };
    let server = launch.start("storm", Some(&check))?;
    let Storm {
        codes,
        errors,
        elapsed,
        latencies,
    } = timeout(
        SCENARIO_LIMIT,
        loadgen::storm(server.addr(), "/readyz", 1_000, 100),
    )
    .await?;
    let hits = upstream.hits();
    let windows = elapsed.as_secs_f64() / WINDOW.as_secs_f64();
    let allowed = windows.ceil() as u64 + 1;
    println!(
        "  1,000 requests (100 at a time, fresh connections) in {:.3} s: codes {codes:?}, {errors} errors",
        elapsed.as_secs_f64()
    );
    println!(
        "  latency p50 {} p99 {} max {}",
        micros(latencies.quantile(0.5)),
        micros(latencies.quantile(0.99)),
        micros(latencies.max())
    );
    println!("  upstream hits: {hits} (the storm spans {windows:.2} reuse windows)");
    let mut kept = verdict(
        codes.get(&200) == Some(&1_000) && errors == 0,
        "every request answered 200",
    );
    kept &= verdict(
        (1..=allowed).contains(&hits),
        &format!("one upstream request per started reuse window (at most {allowed})"),
    );

    let before = upstream.hits();
    let sustained = scale.sustained;
    let load = timeout(
        SCENARIO_LIMIT,
        loadgen::keep_alive(server.addr(), "/readyz", 32, sustained, 5_000_000),
    )
    .await??;
    let hits = upstream.hits() - before;
    let allowed = (sustained.as_secs_f64() / WINDOW.as_secs_f64()).ceil() as u64 + 1;
    println!(
        "  then {:.1} s of keep-alive load (32 connections): {} requests, {} failed, upstream hits {hits}",
        sustained.as_secs_f64(),
        load.requests,
        load.failures
    );
    kept &= verdict(
        load.failures == 0 && (1..=allowed).contains(&hits),
        &format!("sustained load: one upstream request per reuse window (at most {allowed})"),
    );
    Ok(kept)
}

/// Scenario 2: a dependency that never answers holds `/readyz` no longer than its
/// timeout + 100 ms, and `/livez` stays fast meanwhile.
async fn hanging(launch: &Launcher, scale: Scale) -> Result<bool, Error> {
    println!(
        "\n2. hanging dependency: /readyz with one http check, timeout = {}ms",
        HANG_TIMEOUT.as_millis()
    );
    let upstream = Upstream::hanging().await;
    let check = CheckSpec {
        name: "hung",
        url: upstream.url("/"),
        timeout: HANG_TIMEOUT,
        cache: None,
    };
    let server = launch.start("hanging", Some(&check))?;
    let addr = server.addr();

    let mut readyz = Vec::new();
    let mut readyz_ok = true;
    for _ in 0..scale.hangs {
        let (code, took) = loadgen::get_once(addr, "/readyz").await?;
        readyz_ok &= code == 503;
        readyz.push(took);
    }
    let quiet = livez_latencies(addr, 50, None).await?;
    let mut busy = Histogram::default();
    for _ in 0..scale.hangs {
        let inflight = tokio::spawn(loadgen::get_once(addr, "/readyz"));
        sleep(Duration::from_millis(50)).await;
        busy.merge(&livez_latencies(addr, 20, Some(&inflight)).await?);
        let (code, _) = timeout(SCENARIO_LIMIT, inflight).await???;
        readyz_ok &= code == 503;
    }
    let slowest = readyz.iter().max().copied().unwrap_or_default();
    println!(
        "  /readyz answered 503 in {} ({} requests, one after another)",
        readyz
            .iter()
            .map(|d| micros(*d))
            .collect::<Vec<_>>()
            .join(", "),
        readyz.len()
    );
    println!(
        "  /livez, nothing in flight:          p50 {} p99 {} max {} ({} requests)",
        micros(quiet.quantile(0.5)),
        micros(quiet.quantile(0.99)),
        micros(quiet.max()),
        quiet.len()
    );
    println!(
        "  /livez, while /readyz hangs on it:  p50 {} p99 {} max {} ({} requests)",
        micros(busy.quantile(0.5)),
        micros(busy.quantile(0.99)),
        micros(busy.max()),
        busy.len()
    );
    let mut kept = verdict(readyz_ok, "/readyz answered 503");
    kept &= verdict(
        slowest <= HANG_TIMEOUT + SLACK,
        &format!(
            "/readyz within the timeout + 100 ms ({} at most, slowest {})",
            micros(HANG_TIMEOUT + SLACK),
            micros(slowest)
        ),
    );
    kept &= verdict(
        busy.len() >= 10 && busy.quantile(0.5) < Duration::from_millis(50),
        "/livez stays fast while readiness waits (median under 50 ms)",
    );
    Ok(kept)
}

/// `count` `/livez` requests one after another on fresh connections; with `inflight`,
/// only those answered while it is still running count.
async fn livez_latencies(
    addr: SocketAddr,
    count: usize,
    inflight: Option<&JoinHandle<Result<(u16, Duration), loadgen::RequestError>>>,
) -> Result<Histogram, Error> {
    let mut h = Histogram::default();
    for _ in 0..count {
        let (code, took) = loadgen::get_once(addr, "/livez").await?;
        if code != 200 {
            return Err(format!("/livez answered {code}").into());
        }
        if inflight.is_some_and(JoinHandle::is_finished) {
            break;
        }
        h.record(took);
    }
    Ok(h)
}

/// Scenario 3: resident memory of `probe serve` with the default configuration.
async fn memory(launch: &Launcher) -> Result<bool, Error> {
    println!("\n3. idle memory: probe serve with the default configuration");
    let server = launch.start("memory", None)?;
    let Sidecar::Binary(running) = &server else {
        return Err("resident memory is measured on the binary only".into());
    };
    sleep(Duration::from_millis(200)).await;
    let (started, _) = process::resident_kib(running.pid())?;
    let storm = timeout(
        SCENARIO_LIMIT,
        loadgen::storm(server.addr(), "/readyz", 1_000, 20),
    )
    .await?;
    sleep(Duration::from_millis(500)).await;
    let (idle, peak) = process::resident_kib(running.pid())?;
    println!("  after start:          VmRSS {started} KiB");
    println!(
        "  after 1,000 requests: VmRSS {idle} KiB (peak VmHWM {peak} KiB); codes {:?}",
        storm.codes
    );
    Ok(verdict(
        storm.codes.get(&200) == Some(&1_000),
        "every request answered 200",
    ))
}

/// Scenario 4: 100 checks in the background, with and without their history.
async fn hundred_checks(
    bin: &std::path::Path,
    scratch: &Scratch,
    pin: bool,
) -> Result<bool, Error> {
    println!("\n4. 100 file-exists checks every 50 ms, metrics = true: with and without history");
    let target = scratch.write("present", "")?;
    let mut kept = true;
    let mut rows = Vec::new();
    for history in [16u32, 0] {
        let mut config = format!("[server]\nmetrics = true\nhistory = {history}\n");
        for i in 0..100 {
            config.push_str(&format!(
                "\n[[check]]\nname = \"file-{i}\"\ntype = \"file-exists\"\npath = {:?}\nprobes = [\"readiness\"]\ninterval = \"50ms\"\n",
                target.display().to_string()
            ));
        }
        let name = format!("hundred-history-{history}");
        let running = sidecar::serve(bin, Some(&config), scratch, &name, pin)?;
        sleep(Duration::from_secs(2)).await;
        let mut times = Vec::new();
        for _ in 0..50 {
            let (code, took) = timeout(
                SCENARIO_LIMIT,
                loadgen::get_once(running.addr(), "/metrics"),
            )
            .await??;
            kept &= code == 200;
            times.push(took);
        }
        times.sort();
        let (rss, peak) = process::resident_kib(running.pid())?;
        rows.push((history, rss));
        println!(
            "  history = {history:>2}: VmRSS {rss} KiB (peak VmHWM {peak} KiB); /metrics median {}, slowest {}",
            micros(times[times.len() / 2]),
            micros(times[times.len() - 1])
        );
    }
    if let [(_, with), (_, without)] = rows[..] {
        println!(
            "  the history of 100 checks x 16 runs: {} KiB",
            with as i64 - without as i64
        );
    }
    Ok(verdict(kept, "every /metrics scrape answered 200"))
}

fn run_against_binary(rt: &tokio::runtime::Runtime) -> Result<bool, Error> {
    let bin = sidecar::probe_bin()?;
    if let Some(w) = sidecar::staleness(&bin) {
        eprintln!("{w}");
    }
    let pin = process::can_pin() && process::pin_self(LOAD_CPU);
    println!("probe binary: {}", bin.display());
    println!(
        "probe serve {}",
        if pin {
            "on CPU 0, this program on CPU 1 (taskset)"
        } else {
            "unpinned"
        }
    );
    let launch = Launcher::Binary {
        bin: bin.clone(),
        scratch: Scratch::new()?,
        pin,
    };
    let scratch = Scratch::new()?;
    rt.block_on(async {
        let a = storm(&launch, FULL).await?;
        let b = hanging(&launch, FULL).await?;
        let c = memory(&launch).await?;
        let d = hundred_checks(&bin, &scratch, pin).await?;
        Ok(a && b && c && d)
    })
}

async fn run_in_process() -> Result<bool, Error> {
    println!("scenarios, served in this process by probe-http (cargo bench runs them against the binary)");
    let launch = Launcher::InProcess;
    let started = Instant::now();
    let a = storm(&launch, QUICK).await?;
    let b = hanging(&launch, QUICK).await?;
    println!(
        "\n3. idle memory: measured on the binary only, by `cargo bench -p probe-benches --bench scenarios`"
    );
    println!("\nscenarios took {:.1} s", started.elapsed().as_secs_f64());
    Ok(a && b)
}
