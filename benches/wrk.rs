//! The `wrk` load generator: running it (pinned to the load CPU) and reading its report.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::measure::Throughput;
use crate::process::{self, LOAD_CPU};

/// `wrk` failed, or printed something we cannot read.
#[derive(Debug, thiserror::Error)]
pub enum WrkError {
    /// It could not be run, or ran past its time.
    #[error("cannot run wrk: {0}")]
    Run(#[source] std::io::Error),
    /// It exited with an error.
    #[error("wrk failed: {0}")]
    Failed(String),
    /// A line we need is missing from its report.
    #[error("no `{missing}` in wrk's report: {report}")]
    Report {
        /// The line looked for.
        missing: &'static str,
        /// The report, shortened.
        report: String,
    },
}

/// Whether `wrk` is installed.
pub fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `wrk -t1 -c<conns> -d<duration> --latency <url>`, on the load CPU when `pin`.
pub fn run(url: &str, conns: usize, duration: Duration, pin: bool) -> Result<Throughput, WrkError> {
    let secs = duration.as_secs().max(1);
    let mut c = process::command(Path::new("wrk"), LOAD_CPU, pin);
    c.args([
        "-t1",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--latency",
        url,
    ]);
    let out = process::output_within(c, Duration::from_secs(secs + 15)).map_err(WrkError::Run)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(WrkError::Failed(format!(
            "{} {}",
            stdout.trim(),
            stderr.trim()
        )));
    }
    parse(&stdout)
}

/// Reads wrk's report (printed with `--latency`).
pub fn parse(report: &str) -> Result<Throughput, WrkError> {
    let missing = |what| WrkError::Report {
        missing: what,
        report: report.chars().take(400).collect(),
    };
    let requests_per_sec = after(report, "Requests/sec:")
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| missing("Requests/sec:"))?;
    let requests = report
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| missing("requests in"))?;
    let p50 = percentile(report, "50%").ok_or_else(|| missing("50%"))?;
    let p99 = percentile(report, "99%").ok_or_else(|| missing("99%"))?;
    let non_2xx: u64 = after(report, "Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // `Socket errors: connect 0, read 0, write 0, timeout 0`
    let socket_errors: u64 = after(report, "Socket errors:").map_or(0, |rest| {
        rest.split(',')
            .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum()
    });
    Ok(Throughput {
        requests,
        requests_per_sec,
        p50,
        p99,
        failures: non_2xx + socket_errors,
    })
}

/// The rest of the first line starting with `label`, trimmed.
fn after<'a>(report: &'a str, label: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(str::trim)
}

/// A line of the latency distribution, e.g. `99%  589.00us`.
fn percentile(report: &str, label: &str) -> Option<Duration> {
    let dist = report.split("Latency Distribution").nth(1)?;
    after(dist, label).and_then(duration)
}

/// wrk's durations: `589.00us`, `1.25ms`, `2.00s`, `1.00m`.
fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 3s test @ http://127.0.0.1:40000/livez
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   280.53us   87.23us   3.43ms   89.48%
    Req/Sec   109.93k     6.31k  117.48k    80.00%
  Latency Distribution
     50%  264.00us
     75%  294.00us
     90%  343.00us
     99%    1.25ms
  328211 requests in 3.00s, 27.54MB read
Requests/sec: 109389.94
Transfer/sec:      9.18MB
";

    #[test]
    fn a_clean_report_is_read() {
        let t = parse(REPORT).unwrap();
        assert_eq!(t.requests, 328_211);
        assert!((t.requests_per_sec - 109_389.94).abs() < 0.01);
        assert_eq!(t.p50, Duration::from_micros(264));
        assert_eq!(t.p99, Duration::from_micros(1_250));
        assert_eq!(t.failures, 0);
    }

    #[test]
    fn errors_and_bad_statuses_count_as_failures() {
        let report = REPORT.replace(
            "Requests/sec:",
            "  Socket errors: connect 0, read 2, write 1, timeout 4\n  Non-2xx or 3xx responses: 10\nRequests/sec:",
        );
        assert_eq!(parse(&report).unwrap().failures, 17);
    }

    #[test]
    fn a_report_without_the_distribution_is_an_error() {
        let report = REPORT.replace("Latency Distribution", "");
        let err = parse(&report).unwrap_err();
        assert!(err.to_string().contains("50%"), "{err}");
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(duration("2.00s"), Some(Duration::from_secs(2)));
        assert_eq!(duration("1.50m"), Some(Duration::from_secs(90)));
        assert_eq!(duration("7.00xs"), None);
        assert_eq!(duration("ms"), None);
    }
}
