//! `probe connect` beyond the drop-in, as the real binary against the fake Connect: the
//! kubernetes routes split into the worker (`/livez`, `/startupz`) and its connectors
//! (`/readyz`), the task restarter and its dry run, expected connectors, the worker id
//! `auto`, extra headers, and the peer's flags given without a value.

#[path = "connect/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{fake, get, run_to_exit, Running, HEALTHY};
use probe_testkit::connect::scenarios::{self, status, THIS_WORKER};
use probe_testkit::connect::{Scenario, HEALTH_HEALTHY, HEALTH_STARTING, HEALTH_UNHEALTHY};
use serde_json::Value;

const W0: Option<&str> = Some(THIS_WORKER);

/// The status of `/livez`, `/readyz`, `/startupz` and `/`.
async fn routes(probe: &Running) -> [u16; 4] {
    let mut out = [0; 4];
    for (i, path) in ["/livez", "/readyz", "/startupz", "/"].iter().enumerate() {
        out[i] = get(probe.addr, path).await.status;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn livez_is_the_worker_startupz_its_start_readyz_the_worker_and_its_connectors() {
    let cases: [(&str, Scenario, &[&str], [u16; 4]); 6] = [
        (
            "/health 200",
            scenarios::healthy().health(200, HEALTH_HEALTHY),
            &[],
            [200, 200, 200, 200],
        ),
        (
            "/health 503 starting",
            scenarios::healthy().health(503, HEALTH_STARTING),
            &[],
            [200, 503, 503, 503],
        ),
        (
            "/health 500",
            scenarios::healthy().health(500, HEALTH_UNHEALTHY),
            &[],
            [503, 503, 503, 503],
        ),
        (
            "/health hangs",
            scenarios::healthy().health_hang(),
            &[],
            [503, 503, 503, 503],
        ),
        (
            "FAILED connector",
            scenarios::failed_connector().health(200, HEALTH_HEALTHY),
            &[],
            [200, 503, 200, 503],
        ),
        (
            "FAILED connector, --liveness-includes-connectors",
            scenarios::failed_connector().health(200, HEALTH_HEALTHY),
            &["--liveness-includes-connectors"],
            [503, 503, 200, 503],
        ),
    ];
    println!("| case | /livez | /readyz | /startupz | / |");
    for (name, scenario, extra, wanted) in cases {
        let connect = fake(scenario).await;
        let url = connect.url();
        let mut args = vec![
            "--connect-url",
            &url,
            "--worker-health",
            "--request-timeout",
            "500ms",
        ];
        args.extend_from_slice(extra);
        let probe = Running::start(&args, &[]).await;
        let got = routes(&probe).await;
        println!(
            "| {name} | {} | {} | {} | {} |",
            got[0], got[1], got[2], got[3]
        );
        assert_eq!(got, wanted, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_health_the_herder_answers_for_the_worker() {
    // A worker before Kafka 3.9, or --worker-health not given.
    let connect = fake(scenarios::failed_connector()).await;
    let probe = Running::start(&["--connect-url", &connect.url()], &[]).await;
    assert_eq!(routes(&probe).await, [200, 503, 200, 503]);
    assert_eq!(connect.hits("/health"), 0);
    let gone = common::free_port();
    let probe = Running::start(
        &[
            "--connect-url",
            &format!("http://127.0.0.1:{gone}"),
            "--request-timeout",
            "500ms",
        ],
        &[],
    )
    .await;
    assert_eq!(routes(&probe).await, [503, 503, 503, 503]);
}

/// Waits up to 5 s for `f` to hold.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < end, "{what} within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The details of the `kafka-connect` check, from `/readyz/kafka-connect?format=json`.
async fn details(probe: &Running) -> Value {
    let got = get(probe.addr, "/readyz/kafka-connect?format=json").await;
    let doc: Value = serde_json::from_str(&got.body).expect("JSON");
    doc["checks"]["kafka-connect"][0]["details"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restarter_restarts_a_failed_task_once_then_backs_off() {
    let connect = fake(scenarios::failed_task_with_trace().fails_again()).await;
    let probe = Running::start(&["--connect-url", &connect.url(), "--restart-failed"], &[]).await;
    eventually("a restart", || !connect.restarts().is_empty()).await;
    assert_eq!(
        connect.restarts(),
        ["POST /connectors/orders-sink/tasks/1/restart"]
    );
    let restarts = details(&probe).await["restarts"].clone();
    assert_eq!(restarts[0]["task"], 1);
    assert_eq!(restarts[0]["restarts"], 1);
    // The task fails again; the next restart is 2 minutes away, however often it is probed.
    for _ in 0..5 {
        assert_eq!(get(probe.addr, "/").await.status, 503);
    }
    assert_eq!(connect.restarts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_restarts_nothing_and_says_what_it_would_have_done() {
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let probe = Running::start(
        &[
            "--connect-url",
            &connect.url(),
            "--restart-failed",
            "--dry-run",
        ],
        &[],
    )
    .await;
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let restarts = details(&probe).await["restarts"].clone();
        if restarts[0]["restarts"] == 1 {
            break;
        }
        assert!(
            Instant::now() < end,
            "the dry run counted no restart: {restarts}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(connect.restarts().is_empty(), "{:?}", connect.restarts());
    assert_eq!(
        connect.connector_status("orders-sink").unwrap()["tasks"][1]["state"],
        "FAILED"
    );
    let (code, stderr) = run_to_exit(&["--dry-run"], &[]).await;
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains("--dry-run: only applies with --restart-failed"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_waits_for_an_expected_connector_that_appears_late() {
    let connect = fake(scenarios::healthy()).await;
    let probe = Running::start(
        &[
            "--connect-url",
            &connect.url(),
            "--expect-connector",
            "audit-source",
            "--expect-connector",
            "/^orders-/",
        ],
        &[],
    )
    .await;
    let got = get(probe.addr, "/readyz?verbose").await;
    assert_eq!(got.status, 503);
    assert!(
        got.body.contains("[-]connect-expected failed: waiting for expected connector(s): `audit-source` (missing)"),
        "{}",
        got.body
    );
    assert_eq!(
        get(probe.addr, "/").await.body,
        HEALTHY,
        "/ stays the peer's"
    );
    connect.set_connector(
        "audit-source",
        status("audit-source", ("RUNNING", W0), &[(0, "RUNNING", W0)]),
    );
    assert_eq!(get(probe.addr, "/readyz").await.status, 200);
    // Zero connectors and nothing expected: healthy.
    let empty = fake(scenarios::empty()).await;
    let probe = Running::start(&["--connect-url", &empty.url()], &[]).await;
    assert_eq!(get(probe.addr, "/readyz").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_id_auto_comes_from_the_connect_images_variables() {
    let connect = fake(scenarios::task_failing_here()).await;
    let url = connect.url();
    // connect-0:8083 is this worker: its failed task counts.
    let env = [
        ("CONNECT_REST_ADVERTISED_HOST_NAME", "connect-0"),
        ("CONNECT_REST_PORT", "8083"),
    ];
    let probe = Running::start(
        &["--connect-url", &url, "--connect-worker-id", "auto"],
        &env,
    )
    .await;
    assert_eq!(get(probe.addr, "/").await.status, 503);
    // POD_IP and the URL's port, when the host name is not advertised.
    let probe = Running::start(
        &["--connect-url", &url],
        &[
            ("POD_IP", "connect-1"),
            ("HEALTHCHECK_CONNECT_WORKER_ID", "auto"),
        ],
    )
    .await;
    let got = get(probe.addr, "/readyz/kafka-connect?format=json").await;
    let doc: Value = serde_json::from_str(&got.body).unwrap();
    let port = connect.addr().port();
    assert_eq!(
        doc["checks"]["kafka-connect"][0]["details"]["worker_id_missing"],
        format!("worker id 'connect-1:{port}' appears in no status"),
        "{}",
        got.body
    );
    let mut probe = probe;
    let line = probe
        .wait_for("appears in no connector or task status")
        .await
        .expect("warned");
    assert!(line.contains("WARN"), "{line}");
    get(probe.addr, "/").await;
    let warnings = probe
        .log()
        .iter()
        .filter(|l| l.contains("appears in no connector"))
        .count();
    assert_eq!(warnings, 1, "warned once");
    let (code, stderr) = run_to_exit(&["--connect-worker-id", "auto"], &[]).await;
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains(
            "--connect-worker-id: auto needs CONNECT_REST_ADVERTISED_HOST_NAME or POD_IP"
        ),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_from_a_file_and_a_bearer_token_reach_connect_and_never_the_log() {
    let connect =
        fake(scenarios::healthy().require_header("authorization", "Bearer s3cr3t-token")).await;
    let dir = std::env::temp_dir().join(format!("probe-headers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("headers");
    std::fs::write(&file, "# the gateway's key\nX-Api-Key: k3y-value\n").unwrap();
    let file = file.to_str().unwrap();
    let mut probe = Running::start(
        &["--connect-url", &connect.url(), "--header-file", file],
        &[
            ("HEALTHCHECK_BEARER_TOKEN", "s3cr3t-token"),
            ("HEALTHCHECK_LOG_LEVEL", "debug"),
        ],
    )
    .await;
    assert_eq!(get(probe.addr, "/").await.body, HEALTHY);
    probe.wait_for("-----").await;
    let log = probe.log().join("\n");
    assert!(
        !log.contains("s3cr3t") && !log.contains("k3y-value"),
        "{log}"
    );
    // Without the token, Connect refuses.
    let probe = Running::start(&["--connect-url", &connect.url()], &[]).await;
    assert_eq!(get(probe.addr, "/").await.status, 503);
    std::fs::write(dir.join("bad"), "no colon here\n").unwrap();
    let bad = dir.join("bad");
    let (code, stderr) = run_to_exit(&["--header-file", bad.to_str().unwrap()], &[]).await;
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains("line 1: expected `Name: value`"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peers_flags_without_a_value_mean_the_default_whatever_the_variable() {
    let connect = fake(scenarios::task_failing_here()).await;
    let url = connect.url();
    // The variable names another worker, so the FAILED task would not count; the flag alone
    // means no filter, as the peer's argparse (nargs="?") does.
    let probe = Running::start(
        &["--connect-url", &url, "--connect-worker-id"],
        &[("HEALTHCHECK_CONNECT_WORKER_ID", "nobody:1")],
    )
    .await;
    assert_eq!(get(probe.addr, "/").await.status, 503);
}

#[test]
fn each_of_the_peers_eight_flags_alone_means_its_default() {
    use clap::Parser;
    use probe::cli::{Cli, Command};
    use probe::connect_cmd::ConnectOptions;
    use probe::env::MapEnv;
    let env = MapEnv::of(&[
        ("HEALTHCHECK_PORT", "1"),
        ("HEALTHCHECK_CONNECT_URL", "http://elsewhere:9"),
        ("HEALTHCHECK_CONNECT_WORKER_ID", "nobody:1"),
        ("HEALTHCHECK_UNHEALTHY_STATES", "PAUSED"),
        ("HEALTHCHECK_CONSIDERED_CONTAINERS", "TASK"),
        ("HEALTHCHECK_FAILURE_THRESHOLD_PERCENTAGE", "50"),
        ("HEALTHCHECK_BASIC_AUTH", "no-colon-is-an-error"),
        ("HEALTHCHECK_LOG_LEVEL", "ERROR"),
    ]);
    let argv = [
        "probe",
        "connect",
        "--port",
        "--connect-url",
        "--connect-worker-id",
        "--unhealthy-states",
        "--considered-containers",
        "--failure-threshold-percentage",
        "--basic-auth",
        "--log-level",
    ];
    let cli = Cli::try_parse_from(argv).expect("each flag may be given without a value");
    let Command::Connect(args) = cli.command else {
        panic!("not connect")
    };
    let options = ConnectOptions::read(&args, None, &env).unwrap();
    let defaults = ConnectOptions::read(&Default::default(), None, &MapEnv::default()).unwrap();
    assert_eq!(options.listen, defaults.listen);
    assert_eq!(options.check.url(), "http://localhost:8083");
    assert_eq!(options.check.rules(), defaults.check.rules());
    assert_eq!(options.log_level, defaults.log_level);
    // A value still wins, and a negative percentage is a value (refused), not a flag.
    let cli =
        Cli::try_parse_from(["probe", "connect", "--failure-threshold-percentage", "-5"]).unwrap();
    let Command::Connect(args) = cli.command else {
        panic!("not connect")
    };
    let err = ConnectOptions::read(&args, None, &MapEnv::default()).unwrap_err();
    assert!(
        err.to_string().contains("invalid percentage \"-5\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_says_what_log_level_accepts_with_its_variable_and_default() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_probe"))
        .args(["connect", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let entry: String = help
        .split("--log-level")
        .nth(1)
        .expect("--log-level in the help")
        .split("\n      --")
        .next()
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        entry.contains("DEBUG, INFO, WARNING or ERROR, in any case")
            && entry.contains("[env: HEALTHCHECK_LOG_LEVEL] [default: INFO]"),
        "{entry}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_never_withholds_from_loopback_too_and_a_bad_policy_is_refused() {
    // Remote clients under the default `local` are tested in probe-http; tests stay on
    // loopback, where `never` shows the same withheld documents.
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let probe = Running::start(
        &["--connect-url", &connect.url(), "--details", "never"],
        &[],
    )
    .await;
    let got = get(probe.addr, "/").await;
    assert_eq!(got.status, 503);
    assert!(
        got.body
            .contains(r#""id": 1, "state": "FAILED", "worker_id": null, "trace": null}"#),
        "{}",
        got.body
    );
    let readyz = get(probe.addr, "/readyz?verbose").await;
    assert!(
        readyz
            .body
            .contains("[-]kafka-connect failed: reason withheld"),
        "{}",
        readyz.body
    );
    let down = common::free_port();
    let probe = Running::start(
        &["--connect-url", &format!("http://127.0.0.1:{down}")],
        &[("HEALTHCHECK_DETAILS", "never")],
    )
    .await;
    let got = get(probe.addr, "/").await;
    assert!(
        got.body.contains(r#""error": "reason withheld""#),
        "{}",
        got.body
    );
    let (code, stderr) = run_to_exit(&["--details", "sometimes"], &[]).await;
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains("--details: expected never, local or always"),
        "{stderr}"
    );
}
