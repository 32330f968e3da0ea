//! The load benchmark: `probe serve` against the barest hyper server, same machine, same run.
//!
//! ```text
//! cargo build --release -p probe
//! cargo bench -p probe-benches --bench load
//! ```
//!
//! Starts on loopback, each on a free port and pinned to CPU 0 when `taskset` is there:
//! `probe serve` with the default configuration, `probe serve --config` with three cached
//! `http` checks against counting upstreams (`cache = "1s"`), and the bare hyper server.
//! Then, with `wrk` pinned to CPU 1 (or the built-in generator when `wrk` is missing), it
//! measures `/livez` against the bare server and `/readyz` against the bare server in
//! interleaved rounds (A B A B ...), and prints requests/s, p99 and the median ratio. It
//! also reads each server's CPU time (`/proc/PID/task/*/schedstat`) around every run: CPU
//! time per request does not depend on the share of the CPU a server got, so its ratio
//! (bare / probe) moves much less than requests/s when other work shares the machine.
//!
//! Settings (environment): `PROBE_BIN` (default `target/release/probe`),
//! `PROBE_BENCH_ROUNDS` (5), `PROBE_BENCH_SECONDS` (3), `PROBE_BENCH_CONNECTIONS` (32),
//! `PROBE_BENCH_LOADGEN` (`wrk` or `builtin`; default `wrk` when installed),
//! `PROBE_BENCH_SERVER` (`[server]` keys for the `/livez` server, e.g. `metrics = true` or
//! `grpc = true`; several separated by `;`. Default: none, the embedded default).
//!
//! Run by `cargo test` (without `--bench`), it only checks its own machinery: the bare
//! server and the load generators, for a fraction of a second.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use probe_benches::measure::{median, micros, Throughput};
use probe_benches::process::{self, Running, Scratch, LOAD_CPU};
use probe_benches::{bare, loadgen, sidecar, wrk};
use probe_testkit::upstream::Upstream;
use tokio::runtime::Runtime;

/// The most requests one built-in run may send.
const MAX_REQUESTS: u64 = 20_000_000;
/// The figure `/livez` must reach, as a fraction of the bare server's requests/s.
const LIVEZ_GOAL: f64 = 0.9;

fn main() -> ExitCode {
    bare::bench_main("load", bench, self_test)
}

type Error = Box<dyn std::error::Error>;

/// How the load is generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Generator {
    Wrk,
    Builtin,
}

struct Settings {
    rounds: usize,
    duration: Duration,
    conns: usize,
    generator: Generator,
    pin: bool,
}

impl Settings {
    fn from_env() -> Result<Self, Error> {
        let number = |name: &str, default: u64| -> Result<u64, Error> {
            match std::env::var(name) {
                Ok(v) if !v.is_empty() => match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(format!("{name}={v:?}: expected a positive whole number").into()),
                },
                _ => Ok(default),
            }
        };
        let generator = match std::env::var("PROBE_BENCH_LOADGEN").as_deref() {
            Ok("wrk") => Generator::Wrk,
            Ok("builtin") => Generator::Builtin,
            Ok(other) if !other.is_empty() => {
                return Err(
                    format!("PROBE_BENCH_LOADGEN={other:?}: expected wrk or builtin").into(),
                )
            }
            _ if wrk::available() => Generator::Wrk,
            _ => Generator::Builtin,
        };
        if generator == Generator::Wrk && !wrk::available() {
            return Err(
                "PROBE_BENCH_LOADGEN=wrk but wrk is not installed (apt-get install -y wrk)".into(),
            );
        }
        Ok(Settings {
            rounds: number("PROBE_BENCH_ROUNDS", 5)?.min(50) as usize,
            duration: Duration::from_secs(number("PROBE_BENCH_SECONDS", 3)?.min(60)),
            conns: number("PROBE_BENCH_CONNECTIONS", 32)?.min(1_000) as usize,
            generator,
            pin: process::can_pin(),
        })
    }

    /// Loads `path` of `target` for `duration`; also reads the server's CPU time, to tell
    /// what one request cost it whatever share of the CPU it got.
    fn measure(
        &self,
        rt: &Runtime,
        target: &Running,
        path: &str,
        duration: Duration,
    ) -> Result<Sample, Error> {
        let cpu_before = process::cpu_time(target.pid())?;
        let load = match self.generator {
            Generator::Wrk => wrk::run(&target.url(path), self.conns, duration, self.pin)?,
            Generator::Builtin => rt.block_on(loadgen::keep_alive(
                target.addr(),
                path,
                self.conns,
                duration,
                MAX_REQUESTS,
            ))?,
        };
        let cpu = process::cpu_time(target.pid())?.saturating_sub(cpu_before);
        let cpu_per_request = cpu
            .checked_div(u32::try_from(load.requests.max(1)).unwrap_or(u32::MAX))
            .unwrap_or_default();
        Ok(Sample {
            load,
            cpu_per_request,
        })
    }
}

/// One measurement of one server.
struct Sample {
    load: Throughput,
    /// The server's CPU time (user and system, all threads) per completed request.
    cpu_per_request: Duration,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  cpu {:>5.2}us/req",
            self.load,
            self.cpu_per_request.as_secs_f64() * 1e6
        )
    }
}

fn runtime() -> Result<Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
}

fn bench() -> Result<(), Error> {
    let bin = sidecar::probe_bin()?;
    if let Some(w) = sidecar::staleness(&bin) {
        eprintln!("{w}");
    }
    let mut s = Settings::from_env()?;
    if s.pin && !process::pin_self(LOAD_CPU) {
        s.pin = false;
    }
    let rt = runtime()?;
    let (upstreams, config) = rt.block_on(sidecar::upstream_checks(3, Duration::from_secs(1)));
    let scratch = Scratch::new()?;
    let bare = bare::spawn(s.pin)?;
    let server_keys = std::env::var("PROBE_BENCH_SERVER")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let plain_config = server_keys
        .as_ref()
        .map(|keys| format!("[server]\n{}\n", keys.replace(';', "\n")));
    let plain = sidecar::serve(&bin, plain_config.as_deref(), &scratch, "default", s.pin)?;
    let checked = sidecar::serve(&bin, Some(&config), &scratch, "three-checks", s.pin)?;
    for (target, path) in [(&plain, "/livez"), (&checked, "/readyz"), (&bare, "/livez")] {
        let (code, _) = rt.block_on(loadgen::get_once(target.addr(), path))?;
        if code != 200 {
            return Err(format!("{} answered {code}, expected 200", target.url(path)).into());
        }
    }

    println!("probe binary: {}", bin.display());
    println!(
        "load: {}, {} connections, {} rounds x {} s, interleaved; servers {}",
        match s.generator {
            Generator::Wrk => "wrk -t1",
            Generator::Builtin => "built-in generator",
        },
        s.conns,
        s.rounds,
        s.duration.as_secs(),
        if s.pin {
            "on CPU 0, load on CPU 1 (taskset)"
        } else {
            "and load unpinned"
        },
    );
    // Warm up: first connections, allocator pools, caches.
    for (target, path) in [(&plain, "/livez"), (&checked, "/readyz"), (&bare, "/livez")] {
        s.measure(&rt, target, path, Duration::from_secs(1))?;
    }
    let hits_before: u64 = upstreams.iter().map(Upstream::hits).sum();
    let readyz_started = Instant::now();
    let livez_label = match &server_keys {
        Some(keys) => format!("/livez ([server] {keys})"),
        None => "/livez (default config)".to_owned(),
    };
    let pairs = [
        (livez_label.as_str(), &plain, "/livez"),
        ("/readyz (3 cached http checks)", &checked, "/readyz"),
    ];
    let mut summaries = Vec::new();
    for (label, probe, path) in pairs {
        println!("\n{label} vs bare hyper");
        let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 1..=s.rounds {
            let x = s.measure(&rt, probe, path, s.duration)?;
            let y = s.measure(&rt, &bare, path, s.duration)?;
            let ratio = if y.load.requests_per_sec > 0.0 {
                x.load.requests_per_sec / y.load.requests_per_sec
            } else {
                0.0
            };
            println!(
                "  round {round}: probe {x}\n           bare  {y}\n           ratio {ratio:.3}"
            );
            if x.load.failures > 0 || y.load.failures > 0 {
                eprintln!("  warning: failed requests in round {round}; its figures are suspect");
            }
            a.push(x);
            b.push(y);
            ratios.push(ratio);
        }
        summaries.push(Summary::new(label, &a, &b, &ratios));
    }
    let readyz_secs = readyz_started.elapsed().as_secs_f64();
    let hits = upstreams.iter().map(Upstream::hits).sum::<u64>() - hits_before;

    println!("\n| endpoint | probe req/s | bare req/s | ratio (median) | probe p99 | bare p99 | probe CPU us/req | bare CPU us/req | CPU ratio (median) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for sum in &summaries {
        println!("{sum}");
    }
    let livez = &summaries[0];
    println!(
        "\n/livez goal: >= {LIVEZ_GOAL:.2} x bare hyper: {} (median ratio {:.3})",
        if livez.ratio >= LIVEZ_GOAL {
            "met"
        } else {
            "NOT met"
        },
        livez.ratio
    );
    println!(
        "upstream requests while measuring: {hits} for 3 checks over {readyz_secs:.1} s (cache 1s: at most one per check per started window)"
    );
    Ok(())
}

/// The medians of one comparison.
struct Summary {
    label: String,
    a_rps: f64,
    b_rps: f64,
    ratio: f64,
    a_p99: f64,
    b_p99: f64,
    a_cpu: f64,
    b_cpu: f64,
    cpu_ratio: f64,
}

impl Summary {
    fn new(label: &str, a: &[Sample], b: &[Sample], ratios: &[f64]) -> Self {
        let of = |v: &[Sample], f: fn(&Sample) -> f64| {
            median(&v.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
        };
        Summary {
            label: label.to_owned(),
            a_rps: of(a, |s| s.load.requests_per_sec),
            b_rps: of(b, |s| s.load.requests_per_sec),
            ratio: median(ratios).unwrap_or(0.0),
            a_p99: of(a, |s| s.load.p99.as_secs_f64()),
            b_p99: of(b, |s| s.load.p99.as_secs_f64()),
            a_cpu: of(a, |s| s.cpu_per_request.as_secs_f64() * 1e6),
            b_cpu: of(b, |s| s.cpu_per_request.as_secs_f64() * 1e6),
            cpu_ratio: median(
                &a.iter()
                    .zip(b)
                    .map(|(x, y)| y.cpu_per_request.as_secs_f64() / x.cpu_per_request.as_secs_f64())
                    .collect::<Vec<_>>(),
            )
            .unwrap_or(0.0),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {} | {:.0} | {:.0} | {:.3} | {} | {} | {:.2} | {:.2} | {:.3} |",
            self.label,
            self.a_rps,
            self.b_rps,
            self.ratio,
            micros(Duration::from_secs_f64(self.a_p99)),
            micros(Duration::from_secs_f64(self.b_p99)),
            self.a_cpu,
            self.b_cpu,
            self.cpu_ratio,
        )
    }
}

/// Without `--bench` (as `cargo test` runs it): the bare server starts, answers, and both
/// load generators read it, briefly.
fn self_test() -> Result<(), Error> {
    let rt = runtime()?;
    let bare = bare::spawn(false)?;
    let (code, _) = rt.block_on(loadgen::get_once(bare.addr(), "/anything"))?;
    if code != 200 {
        return Err(format!("the bare server answered {code}, expected 200").into());
    }
    let t = rt.block_on(loadgen::keep_alive(
        bare.addr(),
        "/livez",
        4,
        Duration::from_millis(300),
        100_000,
    ))?;
    if t.requests == 0 || t.failures > 0 || t.p99 < t.p50 {
        return Err(format!("the built-in generator measured nonsense: {t}").into());
    }
    println!("load self-test: bare server, built-in generator: {t}");
    if wrk::available() {
        let w = wrk::run(&bare.url("/livez"), 4, Duration::from_secs(1), false)?;
        if w.requests == 0 || w.failures > 0 {
            return Err(format!("wrk measured nonsense: {w}").into());
        }
        println!("load self-test: bare server, wrk: {w}");
    }
    println!("load self-test passed; measure with `cargo bench -p probe-benches --bench load`");
    Ok(())
}
