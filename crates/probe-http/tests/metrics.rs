//! `/metrics` (feature `metrics`): both formats checked by the reference tools (promtool,
//! the official Python client's OpenMetrics parser, installed by `scripts/metrics-lint.sh`
//! on first use), one-hot states, counters and durations from runs, no check run by a
//! scrape, who may scrape, and the registry in an embedder's hands.

mod support;

use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use http::{Method, StatusCode};
use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Policy, Probe, Select};
use probe_http::metrics::prometheus_client::metrics::counter::Counter;
use probe_http::metrics::prometheus_client::registry::Registry;
use probe_http::metrics::{Format, Metrics};
use probe_http::{ClientAllowList, Kubernetes, ProbeService};
use support::{get, get_with, request, within, Served};

const LINT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/metrics-lint.sh");
/// Installing the tools (apt, pip) on first use included.
const LINT_BUDGET: Duration = Duration::from_secs(600);
const STEP: Duration = Duration::from_millis(50);
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";

/// Runs `scripts/metrics-lint.sh kind` on `body`: its output, or the test fails with it.
fn lint(kind: &str, body: &str) -> String {
    let mut child = Command::new(LINT)
        .arg(kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {LINT}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    for _ in 0..(LINT_BUDGET.as_millis() / STEP.as_millis()) {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{LINT} {kind} refused the answer ({}): {text}\n--- answer ---\n{body}\n\
                 (if a tool is missing: scripts/metrics-lint.sh install, or \
                 apt-get install -y --no-install-recommends prometheus)",
                out.status
            );
            return text;
        }
        std::thread::sleep(STEP);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{LINT} {kind} took more than {LINT_BUDGET:?}");
}

/// A failing database (in readiness), a passing loop (everywhere), a warning cache; with the
/// database's run counter.
fn health() -> (Health, probe_core::testing::Runs) {
    let db =
        Scripted::dependency([Step::fail("connection refused").after(Duration::from_millis(3))]);
    let runs = db.runs();
    let h = Health::builder()
        .check("db", db, [Probe::Readiness], Policy::default())
        .unwrap()
        .check(
            "loop",
            Scripted::local([Step::pass()]),
            [Probe::Liveness, Probe::Readiness, Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .check(
            "cache",
            Scripted::dependency([Step::warn("hit rate 12%")]),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    (h, runs)
}

fn service(health: &Health, metrics: Metrics) -> ProbeService {
    ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .dialect(metrics.route())
        .build()
}

/// The value of the sample `line_start` (series name and labels, exactly as written).
fn value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{body}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn both_formats_pass_the_reference_tools_and_the_failing_check_is_one_hot() {
    let (h, _) = health();
    let served = Served::start(service(&h, Metrics::new(&h))).await;
    within(10, h.evaluate(Probe::Startup, &Select::All)).await;
    let ready = get(served.addr, "/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);

    let text = get(served.addr, "/metrics").await;
    assert_eq!(text.status, StatusCode::OK);
    assert_eq!(
        text.header("content-type"),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(text.header("vary"), "accept");
    lint("promtool", &text.body);
    let b = &text.body;
    assert!(
        !b.contains("# EOF"),
        "no OpenMetrics trailer in the text format"
    );
    assert_eq!(
        value(b, r#"probe_check_status{check="db",state="fail"}"#),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_check_status{check="db",state="pass"}"#),
        0.0
    );
    assert_eq!(
        value(b, r#"probe_check_status{check="db",state="warn"}"#),
        0.0
    );
    assert_eq!(
        value(b, r#"probe_check_status{check="cache",state="warn"}"#),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_check_status{check="loop",state="pass"}"#),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_status{probe="readiness",state="fail"}"#),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_status{probe="readiness",state="pass"}"#),
        0.0
    );
    assert_eq!(
        value(b, r#"probe_status{probe="startup",state="pass"}"#),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_checks_total{check="db",result="fail"}"#),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_checks_total{check="db",result="pass"}"#),
        0.0
    );
    assert_eq!(
        value(b, r#"probe_checks_total{check="loop",result="pass"}"#),
        2.0,
        "one run for startup, one for readiness"
    );
    assert_eq!(
        value(
            b,
            r#"probe_evaluations_total{probe="readiness",result="fail"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            b,
            r#"probe_evaluations_total{probe="startup",result="pass"}"#
        ),
        1.0
    );
    assert_eq!(
        value(b, r#"probe_check_duration_seconds_count{check="db"}"#),
        1.0
    );
    assert_eq!(
        value(
            b,
            r#"probe_check_duration_seconds_bucket{check="db",le="0.001"}"#
        ),
        0.0,
        "the run took at least 3 ms"
    );
    assert_eq!(
        value(
            b,
            r#"probe_check_duration_seconds_bucket{check="db",le="+Inf"}"#
        ),
        1.0
    );
    assert!(b.contains(r#"probe_check_duration_seconds_bucket{check="db",le="8.192"}"#));
    let version = format!(
        r#"probe_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(b, &version), 1.0);

    let (status, headers, om) = get_with(served.addr, "/metrics", &[("accept", OPENMETRICS)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        support::header(&headers, "content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.ends_with("# EOF\n"));
    let parsed = lint("openmetrics", &om);
    assert!(parsed.starts_with("6 families"), "{parsed}");
    assert_eq!(
        value(&om, r#"probe_check_status{check="db",state="fail"}"#),
        1.0
    );
}

#[tokio::test]
async fn a_scrape_runs_no_check_and_reads_what_was_published() {
    let (h, runs) = health();
    let served = Served::start(service(&h, Metrics::new(&h))).await;
    let first = get(served.addr, "/metrics").await;
    assert_eq!(
        value(
            &first.body,
            r#"probe_check_status{check="db",state="fail"}"#
        ),
        1.0,
        "a gate check fails before its first run"
    );
    assert_eq!(
        value(
            &first.body,
            r#"probe_checks_total{check="db",result="fail"}"#
        ),
        0.0
    );
    for _ in 0..5 {
        assert_eq!(get(served.addr, "/metrics").await.status, StatusCode::OK);
        let head = support::ask(served.addr, Method::HEAD, "/metrics").await;
        assert_eq!(head.status, StatusCode::OK);
        assert!(head.body.is_empty());
    }
    assert_eq!(runs.count(), 0, "scraping ran the check");
    get(served.addr, "/readyz").await;
    assert_eq!(runs.count(), 1);
    let after = get(served.addr, "/metrics").await;
    assert_eq!(
        value(
            &after.body,
            r#"probe_checks_total{check="db",result="fail"}"#
        ),
        1.0
    );
    assert_eq!(runs.count(), 1);
    let post = support::ask(served.addr, Method::POST, "/metrics").await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn only_the_allowed_networks_may_scrape() {
    let (h, _) = health();
    let only_one: ClientAllowList = ClientAllowList::new(["127.0.0.1/32".parse().unwrap()]);
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(h.clone()))
        .dialect(Metrics::new(&h).route().clients(only_one))
        .build();
    let served = Served::start(service).await;
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let (status, _, _) = request(Method::GET, Some(other), served.addr, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = request(Method::GET, Some(other), served.addr, "/livez", &[]).await;
    assert_eq!(status, StatusCode::OK, "the probes stay open to everyone");
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    let (status, _, _) = request(Method::GET, Some(local), served.addr, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_embedder_adds_its_own_metrics_or_takes_the_series_into_its_registry() {
    let (h, _) = health();
    let mut metrics = Metrics::new(&h);
    let jobs = Counter::<u64>::default();
    metrics
        .registry_mut()
        .register("app_jobs", "Jobs done", jobs.clone());
    jobs.inc();
    let mut own = Registry::default();
    metrics.register_into(&mut own);
    within(10, h.evaluate(Probe::Readiness, &Select::All)).await;

    let ours = metrics.render(Format::Prometheus);
    assert_eq!(value(&ours, "app_jobs_total"), 1.0);
    lint("promtool", &ours);
    let theirs = Format::Prometheus.render(&own);
    assert_eq!(
        value(&theirs, r#"probe_checks_total{check="db",result="fail"}"#),
        1.0,
        "the series share their values"
    );
    assert_eq!(
        value(&theirs, r#"probe_check_status{check="db",state="fail"}"#),
        1.0
    );
}

#[tokio::test]
async fn each_kafka_streams_client_has_its_state_one_hot() {
    use probe_core::evaluators::streams::{State, StreamsClients, StreamsRules};
    let mut clients = StreamsClients::new();
    let orders = clients.add("orders", StreamsRules::default()).unwrap();
    let audit = clients.add("audit", StreamsRules::default()).unwrap();
    let h = clients
        .register(Health::builder(), Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let metrics = Metrics::new(&h);
    let before = metrics.render(Format::Prometheus);
    assert!(
        !before.contains("probe_kafka_streams_state"),
        "no state before a liveness run:\n{before}"
    );
    for s in [State::Rebalancing, State::Running] {
        orders.transition(s).unwrap();
    }
    audit.fail("the stream thread died").unwrap();
    within(10, h.evaluate(Probe::Liveness, &Select::All)).await;
    let text = metrics.render(Format::Prometheus);
    lint("promtool", &text);
    for (client, on) in [("orders", "RUNNING"), ("audit", "ERROR")] {
        for state in State::ALL {
            let series =
                format!(r#"probe_kafka_streams_state{{client="{client}",state="{state}"}}"#);
            assert_eq!(
                value(&text, &series),
                f64::from(u8::from(state.as_str() == on)),
                "{series}"
            );
        }
    }
    lint("openmetrics", &metrics.render(Format::OpenMetrics));
}

#[tokio::test]
async fn each_connector_and_task_has_its_state_one_hot() {
    use probe_testkit::connect::scenarios;

    let (connect, health) = connect_health(None).await;
    let metrics = Metrics::new(&health);
    let before = metrics.render(Format::Prometheus);
    assert!(
        !before.contains("probe_kafka_connect_"),
        "nothing is shown before the check has run:\n{before}"
    );
    within(10, health.evaluate(Probe::Readiness, &Select::All)).await;
    let text = metrics.render(Format::Prometheus);
    for (line, want) in [
        ("probe_kafka_connect_connector_state{check=\"connect\",connector=\"orders-sink\",state=\"RUNNING\"}", 1.0),
        ("probe_kafka_connect_connector_state{check=\"connect\",connector=\"orders-sink\",state=\"FAILED\"}", 0.0),
        ("probe_kafka_connect_task_state{check=\"connect\",connector=\"orders-sink\",task=\"0\",state=\"FAILED\"}", 1.0),
        ("probe_kafka_connect_task_state{check=\"connect\",connector=\"orders-sink\",task=\"0\",state=\"RUNNING\"}", 0.0),
    ] {
        assert_eq!(value(&text, line), want, "{line} in:\n{text}");
    }
    // Exactly one state per connector and per task.
    let ones = text
        .lines()
        .filter(|l| l.starts_with("probe_kafka_connect_") && l.ends_with(" 1"))
        .count();
    assert_eq!(ones, 2, "{text}");
    lint("promtool", &text);
    lint("openmetrics", &metrics.render(Format::OpenMetrics));

    // The task recovers: the next run moves its one.
    connect.set_connector(
        "orders-sink",
        scenarios::status(
            "orders-sink",
            ("RUNNING", Some(scenarios::OTHER_WORKER)),
            &[(0, "RUNNING", Some(scenarios::THIS_WORKER))],
        ),
    );
    within(10, health.evaluate(Probe::Readiness, &Select::All)).await;
    let text = metrics.render(Format::Prometheus);
    assert_eq!(
        value(&text, "probe_kafka_connect_task_state{check=\"connect\",connector=\"orders-sink\",task=\"0\",state=\"RUNNING\"}"),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn the_restarters_restarts_are_counted_per_connector_and_task() {
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;

    use probe_core::evaluators::connect::{Restart, RestartBook};

    let book = Arc::new(Mutex::new(RestartBook::new()));
    let (_connect, health) = connect_health(Some(book.clone())).await;
    let metrics = Metrics::new(&health);
    // The restarter shares the book; here the restarts it made are written in by hand.
    {
        let mut book = book.lock().unwrap();
        let now = tokio::time::Instant::now();
        let task = Restart::Task {
            connector: "orders-sink".into(),
            task: 0,
        };
        book.record(&task, now, SystemTime::now());
        book.record(&task, now, SystemTime::now());
        let connector = Restart::Connector {
            connector: "orders-sink".into(),
        };
        book.record(&connector, now, SystemTime::now());
    }
    within(10, health.evaluate(Probe::Readiness, &Select::All)).await;
    let text = metrics.render(Format::Prometheus);
    assert_eq!(
        value(
            &text,
            "probe_kafka_connect_restarts_total{check=\"connect\",connector=\"orders-sink\",task=\"0\"}"
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "probe_kafka_connect_restarts_total{check=\"connect\",connector=\"orders-sink\"}"
        ),
        1.0,
        "{text}"
    );
    lint("promtool", &text);
    let om = metrics.render(Format::OpenMetrics);
    assert!(
        om.contains("# TYPE probe_kafka_connect_restarts counter"),
        "{om}"
    );
    lint("openmetrics", &om);
}

/// A fake Connect with a task failing on this worker, and a `Health` whose readiness
/// check `connect` asks it (sharing `book` with a restarter when given).
async fn connect_health(
    book: Option<std::sync::Arc<std::sync::Mutex<probe_core::evaluators::connect::RestartBook>>>,
) -> (probe_testkit::connect::FakeConnect, Health) {
    use probe_core::checks::KafkaConnectCheck;
    use probe_core::evaluators::connect::ConnectRules;
    use probe_testkit::connect::{scenarios, FakeConnect};

    let connect = within(10, FakeConnect::start(scenarios::task_failing_here()))
        .await
        .expect("the fake Connect binds 127.0.0.1:0");
    let rules = ConnectRules::parse("FAILED", "CONNECTOR,TASK", None, 0).unwrap();
    let mut check = KafkaConnectCheck::new(&connect.url(), rules).unwrap();
    if let Some(book) = book {
        check = check.restart_book(book);
    }
    let health = Health::builder()
        .check("connect", check, [Probe::Readiness], Policy::default())
        .unwrap()
        .build()
        .unwrap();
    (connect, health)
}
