//! The gRPC benchmark: health `Check` requests/s of `probe serve` against a bare
//! tonic-health server, and the `Watch` fan-out of one readiness change to 10,000 streams.
//!
//! ```text
//! cargo build --release -p probe
//! cargo bench -p probe-benches --bench grpc            # Check, with h2load
//! cargo bench -p probe-benches --bench grpc -- watch   # Watch fan-out
//! ```
//!
//! `Check`: starts on loopback, each on a free port and pinned to CPU 0 when `taskset` is
//! there, `probe serve` with `[server] grpc = true` and no checks, and a bare tonic-health
//! server (this executable again: tonic's own transport serving
//! `tonic_health::server::health_reporter()`'s service, `""` set `SERVING`, with TCP_NODELAY
//! on its connections as `Server::serve` sets by default). Asks each once
//! with tonic's client (the answer must be `SERVING`), then drives each with `h2load`
//! (pinned to CPU 1) sending the prepared unary frame of `HealthCheckRequest { service: "" }`
//! (the 5-byte gRPC prefix of an empty message) to `/grpc.health.v1.Health/Check`, in
//! interleaved rounds (probe, bare, probe, bare ...). Prints requests/s per round, every
//! request's outcome (all must succeed, and every answer must carry one 7-byte message, as a
//! health answer does: an error answer carries none) and the median ratio probe / bare;
//! after the rounds, each server is asked once more with tonic's client.
//!
//! `watch`: `probe serve` with `grpc = true` and one readiness check, `file-exists` on a
//! scratch file, run in the background every 100 ms. Opens `PROBE_WATCH_STREAMS` (10,000)
//! `Watch("readiness")` calls over connections of `PROBE_WATCH_PER_CONN` (25, below the
//! listener's 32 concurrent streams) each, waits for every first message (`NOT_SERVING`),
//! then makes the file appear (or go) and measures, per trial, the time from the change to
//! the first and to the last stream receiving the new status, and its p50 and p99 over the
//! streams. Reads the server's resident memory (VmRSS) before the streams open and with
//! all of them open.
//!
//! Settings (environment): `PROBE_BIN` (default `target/release/probe`),
//! `PROBE_BENCH_ROUNDS` (5), `PROBE_GRPC_REQUESTS` (requests per h2load run, 200,000),
//! `PROBE_GRPC_CONNECTIONS` (8), `PROBE_GRPC_STREAMS` (concurrent streams per connection,
//! 16), `PROBE_WATCH_STREAMS` (10,000), `PROBE_WATCH_PER_CONN` (25), `PROBE_WATCH_TRIALS` (3).
//!
//! Run by `cargo test` (without `--bench`), it only checks its own machinery for a fraction
//! of a second: the bare tonic-health server in-process, one `Check`, a small `Watch`
//! fan-out against it, and the reading of an h2load report. It needs neither h2load nor
//! the probe binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use probe_benches::measure::median;
use probe_benches::process::{self, Running, Scratch, LOAD_CPU, SERVER_CPU};
use probe_benches::{bare, sidecar};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

type Error = Box<dyn std::error::Error>;

/// Re-invokes this executable as the bare tonic-health server.
const TONIC_ARG: &str = "--bare-tonic-health-server";
/// The gRPC unary frame of an empty message: uncompressed, length 0.
const EMPTY_FRAME: [u8; 5] = [0; 5];
/// The figure `Check` must reach, as a fraction of the bare server's requests/s.
const CHECK_GOAL: f64 = 0.9;
/// The longest one h2load run may take.
const H2LOAD_LIMIT: Duration = Duration::from_secs(120);

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(TONIC_ARG) {
        return tonic_child_main();
    }
    bare::bench_main("grpc", bench, self_test)
}

fn bench() -> Result<(), Error> {
    if std::env::args().skip(1).any(|a| a == "watch") {
        watch_bench()
    } else {
        check_bench()
    }
}

fn number(name: &str, default: u64, max: u64) -> Result<u64, Error> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n.min(max)),
            _ => Err(format!("{name}={v:?}: expected a positive whole number").into()),
        },
        _ => Ok(default),
    }
}

fn runtime(workers: usize) -> Result<Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?)
}

// ---------------------------------------------------------------------------------------
// The bare tonic-health server.

/// Serves tonic-health's own service (`""` and `readiness` `SERVING`) on `listener` with
/// tonic's transport, no router in front.
async fn serve_tonic_health(
    listener: tokio::net::TcpListener,
) -> (
    tonic_health::server::HealthReporter,
    tokio::task::JoinHandle<()>,
) {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("readiness", tonic_health::ServingStatus::Serving)
        .await;
    // `Server::serve(addr)` sets TCP_NODELAY on every connection (tonic's default
    // `tcp_nodelay(true)`); an incoming stream made from a listener does not unless told,
    // and Nagle's algorithm would then coalesce the answers that the probe's listener
    // (TCP_NODELAY, as a latency-sensitive server should) sends at once.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .serve_with_incoming(service, incoming)
            .await;
    });
    (reporter, task)
}

/// The `main` of the bare tonic-health child: prints its port, serves until stdin closes.
fn tonic_child_main() -> ExitCode {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bare tonic-health server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bare tonic-health server: cannot bind 127.0.0.1:0: {e}");
                return ExitCode::FAILURE;
            }
        };
        let port = listener.local_addr().map_or(0, |a| a.port());
        let (_reporter, task) = serve_tonic_health(listener).await;
        println!("{port}");
        let _ = std::io::stdout().flush();
        let _ = task.await;
        ExitCode::SUCCESS
    })
}

/// Starts this executable again as the bare tonic-health server, on the server CPU when
/// `pin`.
fn spawn_tonic(pin: bool) -> Result<Running, Error> {
    let mut cmd = process::command(&bare::exe()?, SERVER_CPU, pin);
    cmd.arg(TONIC_ARG);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std_mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let wait = Duration::from_secs(5);
    let port: u16 = rx
        .recv_timeout(wait)
        .ok()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Ok(Running::new("bare tonic-health server", child, addr).wait_listening(wait, None)?)
}

// ---------------------------------------------------------------------------------------
// Clients.

async fn channel(addr: SocketAddr) -> Result<Channel, Error> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?)
}

/// One `Check(service)` with tonic's generated client.
async fn check_once(addr: SocketAddr, service: &str) -> Result<ServingStatus, Error> {
    let mut client = HealthClient::new(channel(addr).await?);
    let request = HealthCheckRequest {
        service: service.into(),
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), client.check(request))
        .await
        .map_err(|_| format!("Check({service:?}) on {addr}: no answer within 5 s"))??;
    Ok(ServingStatus::try_from(answer.into_inner().status)?)
}

fn expect_serving(rt: &Runtime, target: &Running, service: &str) -> Result<(), Error> {
    let status = rt.block_on(check_once(target.addr(), service))?;
    println!(
        "{}: Check({service:?}) = {}",
        target.addr(),
        status.as_str_name()
    );
    if status != ServingStatus::Serving {
        return Err(format!("Check({service:?}) answered {status:?}, expected SERVING").into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Check: h2load.

/// What h2load reported of one run.
#[derive(Clone, Debug, PartialEq)]
struct H2load {
    rps: f64,
    done: u64,
    succeeded: u64,
    failed: u64,
    errored: u64,
    timeout: u64,
    /// Bytes of response DATA (the gRPC messages).
    data: u64,
}

impl H2load {
    fn all_ok(&self, sent: u64) -> bool {
        self.done == sent
            && self.succeeded == sent
            && self.failed == 0
            && self.errored == 0
            && self.timeout == 0
    }
}

/// `1,234` or `1234` or `1.23KB`-free integers: h2load prints plain integers.
fn first_number(text: &str) -> Option<f64> {
    let t: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    t.parse().ok()
}

/// `N word` pairs of h2load's `requests:` line: the number before `word`.
fn count_before(line: &str, word: &str) -> Option<u64> {
    let parts: Vec<&str> = line.split([',', ':']).collect();
    parts.iter().find_map(|p| {
        let p = p.trim();
        p.strip_suffix(word)
            .and_then(|n| n.trim().parse::<u64>().ok())
    })
}

/// Reads h2load's report.
fn parse_h2load(report: &str) -> Result<H2load, Error> {
    let missing =
        |what: &str| -> Error { format!("no `{what}` in h2load's report:\n{report}").into() };
    let finished = report
        .lines()
        .find(|l| l.starts_with("finished in"))
        .ok_or_else(|| missing("finished in"))?;
    // finished in 1.23s, 81234.56 req/s, 1.23MB/s
    let rps = finished
        .split(',')
        .nth(1)
        .and_then(first_number)
        .ok_or_else(|| missing("req/s"))?;
    let requests = report
        .lines()
        .find(|l| l.starts_with("requests:"))
        .ok_or_else(|| missing("requests:"))?;
    let count = |w: &str| count_before(requests, w).ok_or_else(|| missing(w));
    let traffic = report
        .lines()
        .find(|l| l.starts_with("traffic:"))
        .ok_or_else(|| missing("traffic:"))?;
    // traffic: 3.05MB (3200000) total, 1.91MB (2000000) headers (space savings 90.00%), 6.68KB (7000) data
    let data = traffic
        .split(',')
        .find(|p| p.trim_end().ends_with("data"))
        .and_then(|p| {
            let open = p.find('(')?;
            let close = p.find(')')?;
            p[open + 1..close].parse::<u64>().ok()
        })
        .ok_or_else(|| missing("data"))?;
    Ok(H2load {
        rps,
        done: count("done")?,
        succeeded: count("succeeded")?,
        failed: count("failed")?,
        errored: count("errored")?,
        timeout: count("timeout")?,
        data,
    })
}

fn h2load_available() -> bool {
    Command::new("h2load")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct CheckSettings {
    rounds: usize,
    requests: u64,
    conns: u64,
    streams: u64,
    pin: bool,
}

fn h2load(
    s: &CheckSettings,
    body: &Path,
    addr: SocketAddr,
    requests: u64,
) -> Result<H2load, Error> {
    let mut cmd = process::command(Path::new("h2load"), LOAD_CPU, s.pin);
    cmd.args(["-t", "1"])
        .arg("-n")
        .arg(requests.to_string())
        .arg("-c")
        .arg(s.conns.to_string())
        .arg("-m")
        .arg(s.streams.to_string())
        .arg("-d")
        .arg(body)
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg(format!("http://{addr}/grpc.health.v1.Health/Check"));
    let out = process::output_within(cmd, H2LOAD_LIMIT)?;
    let report = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "h2load failed ({}): {}{}",
            out.status,
            report,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let r = parse_h2load(&report)?;
    if !r.all_ok(requests) {
        return Err(format!("h2load: not every request succeeded: {r:?}\n{report}").into());
    }
    Ok(r)
}

fn check_bench() -> Result<(), Error> {
    if !h2load_available() {
        return Err("h2load is not installed (apt-get install -y nghttp2-client)".into());
    }
    let bin = sidecar::probe_bin()?;
    if let Some(w) = sidecar::staleness(&bin) {
        eprintln!("{w}");
    }
    let mut s = CheckSettings {
        rounds: number("PROBE_BENCH_ROUNDS", 5, 50)? as usize,
        requests: number("PROBE_GRPC_REQUESTS", 200_000, 10_000_000)?,
        conns: number("PROBE_GRPC_CONNECTIONS", 8, 256)?,
        streams: number("PROBE_GRPC_STREAMS", 16, 32)?,
        pin: process::can_pin(),
    };
    if s.pin && !process::pin_self(LOAD_CPU) {
        s.pin = false;
    }
    let rt = runtime(1)?;
    let scratch = Scratch::new()?;
    let body = scratch.path("check.grpc");
    std::fs::write(&body, EMPTY_FRAME)?;
    let probe = sidecar::serve(
        &bin,
        Some("[server]\ngrpc = true\n"),
        &scratch,
        "grpc",
        s.pin,
    )?;
    let tonic = spawn_tonic(s.pin)?;
    for target in [&probe, &tonic] {
        expect_serving(&rt, target, "")?;
    }
    expect_serving(&rt, &probe, "liveness")?;

    println!("probe binary: {}", bin.display());
    println!(
        "load: h2load -t1 -c{} -m{}, {} requests per run, {} rounds, interleaved; servers {}",
        s.conns,
        s.streams,
        s.requests,
        s.rounds,
        if s.pin {
            "on CPU 0, h2load on CPU 1 (taskset)"
        } else {
            "and h2load unpinned"
        },
    );
    // Warm up: connections, allocator pools.
    let warm = (s.requests / 10).max(1_000);
    for target in [&probe, &tonic] {
        h2load(&s, &body, target.addr(), warm)?;
    }
    let mut ratios = Vec::new();
    let (mut probe_rps, mut tonic_rps) = (Vec::new(), Vec::new());
    let mut bytes = None;
    let mut cpu_ratios = Vec::new();
    for round in 1..=s.rounds {
        let mut pair = Vec::new();
        let mut cpus = Vec::new();
        for (name, target) in [("probe", &probe), ("tonic-health", &tonic)] {
            let cpu_before = process::cpu_time(target.pid())?;
            let r = h2load(&s, &body, target.addr(), s.requests)?;
            let cpu = process::cpu_time(target.pid())?.saturating_sub(cpu_before);
            let per_message = r.data / r.succeeded.max(1);
            // Every answer, from either server, must be one health message (7 bytes: the
            // prefix and `status`); a gRPC error would have none.
            if r.data != 7 * r.succeeded || *bytes.get_or_insert(r.data) != r.data {
                return Err(format!(
                    "{name}: {} bytes of answers to {} requests (7 each expected; the other server sent {})",
                    r.data,
                    r.succeeded,
                    bytes.unwrap_or_default()
                )
                .into());
            }
            println!(
                "round {round} {name:<13} {:>9.0} req/s  {} of {} succeeded, {per_message} B/answer  cpu {:>5.2}us/req",
                r.rps,
                r.succeeded,
                s.requests,
                cpu.as_secs_f64() * 1e6 / r.succeeded.max(1) as f64,
            );
            pair.push(r.rps);
            cpus.push(cpu.as_secs_f64() / r.succeeded.max(1) as f64);
        }
        probe_rps.push(pair[0]);
        tonic_rps.push(pair[1]);
        ratios.push(pair[0] / pair[1]);
        cpu_ratios.push(cpus[1] / cpus[0]);
        println!(
            "round {round} ratio probe/bare {:.3}  cpu per request bare/probe {:.3}",
            pair[0] / pair[1],
            cpus[1] / cpus[0]
        );
    }
    for target in [&probe, &tonic] {
        expect_serving(&rt, target, "")?;
    }
    let ratio = median(&ratios).unwrap_or_default();
    println!(
        "Check(\"\"): probe median {:.0} req/s, tonic-health median {:.0} req/s; median ratio probe/bare {ratio:.3} over {} rounds (goal >= {CHECK_GOAL}: {})",
        median(&probe_rps).unwrap_or_default(),
        median(&tonic_rps).unwrap_or_default(),
        s.rounds,
        if ratio >= CHECK_GOAL { "met" } else { "NOT met" },
    );
    println!(
        "server CPU time per request, median ratio bare/probe {:.3}",
        median(&cpu_ratios).unwrap_or_default()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Watch: fan-out.

/// One message of one stream, as received.
struct Received {
    status: i32,
    at: Instant,
}

/// The figures of one trial.
struct Trial {
    first: Duration,
    p50: Duration,
    p99: Duration,
    last: Duration,
}

/// `streams` open `Watch(service)` calls, over connections of `per_conn` streams each.
struct Watchers {
    rx: mpsc::UnboundedReceiver<Received>,
    streams: usize,
    _tasks: tokio::task::JoinSet<()>,
}

impl Watchers {
    /// Opens the calls and waits (up to `wait`) for every first message, which must be
    /// `first`.
    async fn open(
        addr: SocketAddr,
        service: &str,
        streams: usize,
        per_conn: usize,
        first: ServingStatus,
        wait: Duration,
    ) -> Result<Self, Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = tokio::task::JoinSet::new();
        let conns = streams.div_ceil(per_conn);
        let mut opened = 0;
        for _ in 0..conns {
            let channel = channel(addr).await?;
            for _ in 0..per_conn.min(streams - opened) {
                let mut client = HealthClient::new(channel.clone());
                let tx = tx.clone();
                let service = service.to_string();
                tasks.spawn(async move {
                    let Ok(answer) = client.watch(HealthCheckRequest { service }).await else {
                        return;
                    };
                    let mut stream = answer.into_inner();
                    // At most a few changes per trial: bounded by the trials, and ends
                    // with the call.
                    while let Ok(Some(message)) = stream.message().await {
                        let received = Received {
                            status: message.status,
                            at: Instant::now(),
                        };
                        if tx.send(received).is_err() {
                            return;
                        }
                    }
                });
                opened += 1;
            }
        }
        drop(tx);
        let mut w = Watchers {
            rx,
            streams,
            _tasks: tasks,
        };
        w.collect(first, wait).await?;
        Ok(w)
    }

    /// One message of each stream, each `status`, within `wait`: their arrival times.
    async fn collect(
        &mut self,
        status: ServingStatus,
        wait: Duration,
    ) -> Result<Vec<Instant>, Error> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut times = Vec::with_capacity(self.streams);
        while times.len() < self.streams {
            let received = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(r)) => r,
                Ok(None) => {
                    return Err(format!(
                        "the Watch streams ended after {} of {} messages",
                        times.len(),
                        self.streams
                    )
                    .into())
                }
                Err(_) => {
                    return Err(format!(
                        "{} of {} streams received {} within {wait:?}",
                        times.len(),
                        self.streams,
                        status.as_str_name()
                    )
                    .into())
                }
            };
            if received.status != status as i32 {
                return Err(format!(
                    "a stream received status {}, expected {}",
                    received.status,
                    status.as_str_name()
                )
                .into());
            }
            times.push(received.at);
        }
        Ok(times)
    }

    /// Makes a change (`change`), then collects every stream's `status`.
    async fn trial(
        &mut self,
        change: impl FnOnce() -> Result<(), Error>,
        status: ServingStatus,
        wait: Duration,
    ) -> Result<Trial, Error> {
        let changed = Instant::now();
        change()?;
        let times = self.collect(status, wait).await?;
        let mut lags: Vec<Duration> = times.iter().map(|t| t.duration_since(changed)).collect();
        lags.sort();
        let at = |q: f64| lags[((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len()) - 1];
        Ok(Trial {
            first: lags[0],
            p50: at(0.5),
            p99: at(0.99),
            last: lags[lags.len() - 1],
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_trial(n: usize, to: ServingStatus, t: &Trial) {
    println!(
        "trial {n} -> {:<11} first {:>7.1} ms  p50 {:>7.1} ms  p99 {:>7.1} ms  last {:>7.1} ms  (last - first {:>6.1} ms)",
        to.as_str_name(),
        ms(t.first),
        ms(t.p50),
        ms(t.p99),
        ms(t.last),
        ms(t.last - t.first),
    );
}

fn watch_bench() -> Result<(), Error> {
    let bin = sidecar::probe_bin()?;
    if let Some(w) = sidecar::staleness(&bin) {
        eprintln!("{w}");
    }
    let streams = number("PROBE_WATCH_STREAMS", 10_000, 50_000)? as usize;
    let per_conn = number("PROBE_WATCH_PER_CONN", 25, 32)? as usize;
    let trials = number("PROBE_WATCH_TRIALS", 3, 20)? as usize;
    let pin = process::can_pin() && process::pin_self(LOAD_CPU);
    let rt = runtime(1)?;
    let scratch = Scratch::new()?;
    let flag = scratch.path("ready.flag");
    let config = format!(
        "[server]\ngrpc = true\n\n[[check]]\nname = \"flag\"\ntype = \"file-exists\"\npath = {:?}\nprobes = [\"readiness\"]\ninterval = \"100ms\"\n",
        flag.display().to_string()
    );
    let probe = sidecar::serve(&bin, Some(&config), &scratch, "watch", pin)?;
    // Let the first background run happen, so the server is at rest.
    std::thread::sleep(Duration::from_millis(500));
    let (rss_before, _) = process::resident_kib(probe.pid())?;
    println!("probe binary: {}", bin.display());
    println!(
        "{streams} Watch(\"readiness\") streams, {per_conn} per connection ({} connections); check `file-exists` every 100 ms; server {}",
        streams.div_ceil(per_conn),
        if pin { "on CPU 0, clients on CPU 1 (taskset)" } else { "and clients unpinned" },
    );
    rt.block_on(async {
        let opened = Instant::now();
        let mut w = Watchers::open(
            probe.addr(),
            "readiness",
            streams,
            per_conn,
            ServingStatus::NotServing,
            Duration::from_secs(60),
        )
        .await?;
        println!(
            "all {streams} streams have their first message (NOT_SERVING) after {:.0} ms",
            ms(opened.elapsed())
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (rss_open, _) = process::resident_kib(probe.pid())?;
        println!(
            "server VmRSS: {rss_before} KiB before, {rss_open} KiB with {streams} streams open: {:.1} KiB per stream",
            rss_open.saturating_sub(rss_before) as f64 / streams as f64
        );
        let mut lasts = Vec::new();
        let mut p99s = Vec::new();
        for n in 1..=trials {
            let appear = n % 2 == 1;
            let to = if appear {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            let flag = flag.clone();
            let t = w
                .trial(
                    move || {
                        if appear {
                            std::fs::write(&flag, b"ready\n")?;
                        } else {
                            std::fs::remove_file(&flag)?;
                        }
                        Ok(())
                    },
                    to,
                    Duration::from_secs(30),
                )
                .await?;
            print_trial(n, to, &t);
            lasts.push(ms(t.last));
            p99s.push(ms(t.p99));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "Watch fan-out to {streams} streams: median over {trials} trials: last stream {:.1} ms after the change, p99 {:.1} ms (includes up to 100 ms until the next background run)",
            median(&lasts).unwrap_or_default(),
            median(&p99s).unwrap_or_default(),
        );
        Ok::<(), Error>(())
    })?;
    drop(probe);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Under `cargo test`: the machinery only.

fn self_test() -> Result<(), Error> {
    let sample = "finished in 2.41s, 82993.19 req/s, 3.49MB/s\n\
        requests: 200000 total, 200000 started, 200000 done, 200000 succeeded, 0 failed, 0 errored, 0 timeout\n\
        status codes: 200000 2xx, 0 3xx, 0 4xx, 0 5xx\n\
        traffic: 8.39MB (8800128) total, 4.96MB (5200000) headers (space savings 89.36%), 1.34MB (1400000) data\n";
    let r = parse_h2load(sample)?;
    assert_eq!(
        r,
        H2load {
            rps: 82993.19,
            done: 200_000,
            succeeded: 200_000,
            failed: 0,
            errored: 0,
            timeout: 0,
            data: 1_400_000,
        }
    );
    assert!(r.all_ok(200_000) && !r.all_ok(200_001));
    assert!(parse_h2load("nothing").is_err());

    let rt = runtime(1)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (reporter, _task) = serve_tonic_health(listener).await;
        let status = check_once(addr, "").await?;
        if status != ServingStatus::Serving {
            return Err(format!("bare tonic-health answered {status:?}").into());
        }
        let mut w = Watchers::open(
            addr,
            "readiness",
            40,
            8,
            ServingStatus::Serving,
            Duration::from_secs(10),
        )
        .await?;
        let t = w
            .trial(
                move || {
                    tokio::spawn(async move {
                        reporter
                            .set_service_status(
                                "readiness",
                                tonic_health::ServingStatus::NotServing,
                            )
                            .await;
                    });
                    Ok(())
                },
                ServingStatus::NotServing,
                Duration::from_secs(10),
            )
            .await?;
        if t.first > t.last {
            return Err("the first stream was later than the last".into());
        }
        println!("grpc: machinery ok (h2load report, tonic-health Check and Watch fan-out)");
        Ok::<(), Error>(())
    })
}
