//! Instructions per request, counted by valgrind's callgrind: a figure noise cannot move.
//!
//! ```text
//! cargo build --release -p probe
//! cargo bench -p probe-benches --bench instructions
//! ```
//!
//! Requests per second on a shared machine move by ±20 % from one run to the next; the
//! instructions a server executes per request do not. This runs the bare hyper server
//! and `probe serve` (the default configuration for `/livez`; three `http` checks cached
//! for an hour for `/readyz`) under `valgrind --tool=callgrind`, sends 500 requests to warm
//! up, zeroes the counters, sends 2,000 more over 8 keep-alive connections, and divides.
//! Only user space is counted: the kernel's share of a request (the socket calls, the same
//! for every server here) is not.
//!
//! Needs valgrind (`apt-get install -y valgrind`). Run by `cargo test` (without
//! `--bench`), it only checks that it can read callgrind's output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use probe_benches::process::{self, Running, Scratch};
use probe_benches::{bare, loadgen, sidecar};
use tokio::runtime::Runtime;

type Error = Box<dyn std::error::Error>;

/// Requests before the counters are zeroed.
const WARM_UP: u64 = 500;
/// Requests counted.
const COUNTED: u64 = 2_000;
/// Under valgrind everything is some 50 times slower.
const START_WAIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    bare::bench_main("instructions", bench, self_test)
}

/// The total of a callgrind output file: its `summary:` (or `totals:`) line.
fn parse_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `valgrind --tool=callgrind` writing to `out`, then `program`.
fn under_callgrind(out: &Path, program: &Path) -> Command {
    let mut c = Command::new("valgrind");
    c.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(program);
    c
}

/// Sends `n` GETs of `path` over 8 keep-alive connections.
fn drive(rt: &Runtime, addr: SocketAddr, path: &str, n: u64) -> Result<(), Error> {
    let t = rt.block_on(loadgen::keep_alive(
        addr,
        path,
        8,
        Duration::from_secs(300),
        n,
    ))?;
    if t.requests != n || t.failures > 0 {
        return Err(format!(
            "{path}: {} of {n} requests answered, {} failed",
            t.requests, t.failures
        )
        .into());
    }
    Ok(())
}

fn callgrind_control(flag: &str, pid: u32) -> Result<(), Error> {
    let out = process::output_within(
        {
            let mut c = Command::new("callgrind_control");
            c.arg(flag).arg(pid.to_string());
            c
        },
        Duration::from_secs(60),
    )?;
    if !out.status.success() {
        return Err(format!(
            "callgrind_control {flag} {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// Warms `server` up, counts `COUNTED` requests of `path`, and returns instructions per
/// request. `out` is the callgrind output file the server was started with.
fn count(rt: &Runtime, server: &Running, out: &Path, path: &str) -> Result<f64, Error> {
    drive(rt, server.addr(), path, WARM_UP)?;
    callgrind_control("-z", server.pid())?;
    drive(rt, server.addr(), path, COUNTED)?;
    callgrind_control("-d", server.pid())?;
    // The dump is written next to `out`, as `<out>.1`.
    let dump = PathBuf::from(format!("{}.1", out.display()));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(total) = std::fs::read_to_string(&dump)
            .ok()
            .as_deref()
            .and_then(parse_total)
        {
            return Ok(total as f64 / COUNTED as f64);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("no callgrind dump at {}", dump.display()).into())
}

fn bench() -> Result<(), Error> {
    if !runs("valgrind") || !runs("callgrind_control") {
        return Err("valgrind is not installed (apt-get install -y valgrind)".into());
    }
    let bin = sidecar::probe_bin()?;
    if let Some(w) = sidecar::staleness(&bin) {
        eprintln!("{w}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let scratch = Scratch::new()?;
    let (_upstreams, checks) = rt.block_on(sidecar::upstream_checks(3, Duration::from_secs(3_600)));

    println!("probe binary: {}", bin.display());
    println!("user-space instructions per request ({COUNTED} requests after {WARM_UP} to warm up, 8 keep-alive connections)\n");
    println!("| endpoint | probe | bare hyper | bare / probe |");
    println!("|---|---|---|---|");
    let bare_ir = {
        let out = scratch.path("bare.callgrind");
        let mut cmd = under_callgrind(&out, &bare::exe()?);
        cmd.arg(bare::CHILD_ARG);
        let server = bare::start(cmd, START_WAIT)?;
        count(&rt, &server, &out, "/livez")?
    };
    for (label, config, path) in [
        ("/livez (default config)", None, "/livez"),
        (
            "/readyz (3 cached http checks)",
            Some(checks.as_str()),
            "/readyz",
        ),
    ] {
        let name = if config.is_some() {
            "checks"
        } else {
            "default"
        };
        let out = scratch.path(&format!("{name}.callgrind"));
        let server = serve_under_callgrind(&bin, config, &scratch, name, &out)?;
        let probe_ir = count(&rt, &server, &out, path)?;
        println!(
            "| {label} | {probe_ir:.0} | {bare_ir:.0} | {:.3} |",
            bare_ir / probe_ir
        );
    }
    Ok(())
}

/// `probe serve` under callgrind on a free port, logging errors only.
fn serve_under_callgrind(
    bin: &Path,
    config: Option<&str>,
    scratch: &Scratch,
    name: &str,
    out: &Path,
) -> Result<Running, Error> {
    let addr = process::free_addr()?;
    let mut cmd = under_callgrind(out, bin);
    cmd.args([
        "serve",
        "--listen",
        &addr.to_string(),
        "--log-level",
        "error",
    ]);
    if let Some(text) = config {
        cmd.arg("--config")
            .arg(scratch.write(&format!("{name}.toml"), text)?);
    }
    let child = cmd
        .env_remove("PROBE_CONFIG")
        .env_remove("PROBE_LISTEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(
        Running::new(format!("probe serve ({name}) under callgrind"), child, addr)
            .wait_listening(START_WAIT, None)?,
    )
}

/// Without `--bench`: callgrind's totals are read, and a file without them is refused.
fn self_test() -> Result<(), Error> {
    let dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 12638128\n\ntotals: 12638246\n";
    if parse_total(dump) != Some(12_638_128) {
        return Err("the summary line of a callgrind dump was misread".into());
    }
    if parse_total("events: Ir\n").is_some() {
        return Err("a dump without totals was read as having some".into());
    }
    println!("instructions self-test passed; count with `cargo bench -p probe-benches --bench instructions`");
    Ok(())
}
