//! A real Prometheus server (Debian's `prometheus` package) scrapes `probe serve` on
//! loopback: its query API follows a check whose real dependency, a private Redis, goes
//! down and comes back.

mod support;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use probe_testkit::redis::PrivateRedis;
use support::{command as probe, free_port, get, write_config, Running};

/// A `prometheus` server scraping one target every 200 ms, killed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Prometheus {
    fn start(dir: &Path, target: SocketAddr) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\nscrape_configs:\n  - job_name: probe\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start prometheus ({e}): install it with \
                     `apt-get install -y --no-install-recommends prometheus` (scripts/metrics-lint.sh install does)"
                )
            });
        let mut server = Prometheus { child, addr };
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            // Listening first, then ready (`/-/ready` answers 503 while the TSDB opens).
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && get(addr, "/-/ready").0 == 200
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("prometheus exited before listening: {status}");
            }
            assert!(
                Instant::now() < until,
                "prometheus was not ready on {addr} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of the instant query `query` when it has exactly one series.
    fn value(&self, query: &str) -> Option<String> {
        let (status, body) = get(self.addr, &format!("/api/v1/query?query={}", encode(query)));
        assert_eq!(status, 200, "query {query}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON from the query API");
        let result = v["data"]["result"].as_array()?;
        match result.as_slice() {
            [one] => one["value"][1].as_str().map(str::to_owned),
            _ => None,
        }
    }

    /// Waits (up to 30 s, one query every 100 ms) until `query` answers `want`.
    fn wait_for(&self, query: &str, want: &str) -> Duration {
        let begun = Instant::now();
        let mut last = None;
        while begun.elapsed() < Duration::from_secs(30) {
            last = self.value(query);
            if last.as_deref() == Some(want) {
                return begun.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("`{query}` still {last:?} after 30 s, not {want}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a PromQL query for a URL's query string.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_sees_the_check_fail_while_its_redis_is_down_and_pass_when_it_returns() {
    let mut redis = PrivateRedis::start(&[]);
    let config = write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nmetrics = true\n\n\
         [[check]]\nname = \"cache\"\ntype = \"redis\"\nurl = \"redis://{}\"\n\
         probes = [\"readiness\"]\ntimeout = \"300ms\"\ninterval = \"200ms\"\n",
        redis.addr()
    ));
    let mut cmd = probe();
    cmd.arg("serve").arg("--config").arg(&config);
    let serve = Running::start(cmd);
    let prometheus = Prometheus::start(config.parent().unwrap(), serve.addr);

    let up = "up{job=\"probe\"}";
    let fail = "probe_check_status{check=\"cache\",state=\"fail\"}";
    let pass = "probe_check_status{check=\"cache\",state=\"pass\"}";
    prometheus.wait_for(up, "1");
    prometheus.wait_for(pass, "1");
    assert_eq!(prometheus.value(fail).as_deref(), Some("0"));

    redis.stop();
    prometheus.wait_for(fail, "1");
    assert_eq!(prometheus.value(pass).as_deref(), Some("0"));
    assert_eq!(
        prometheus
            .value("probe_status{probe=\"readiness\",state=\"fail\"}")
            .as_deref(),
        Some("1"),
        "the probe's own series follows its check"
    );

    redis.restart();
    prometheus.wait_for(pass, "1");
    assert_eq!(prometheus.value(fail).as_deref(), Some("0"));
}
