//! `probe connect`'s options: flags over `HEALTHCHECK_*` variables over the peer's
//! defaults, and every bad value refused at startup with one line naming where it came
//! from (exit 64), or a usage error (exit 2) for a flag without a value.

#[path = "connect/common.rs"]
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{fake, free_port, get, run_to_exit, Running, HEALTHY};
use probe::cli::ConnectArgs;
use probe::connect_cmd::ConnectOptions;
use probe::env::MapEnv;
use probe_core::evaluators::connect::{ConnectState, Container};
use probe_testkit::connect::scenarios::{self, THIS_WORKER};
use tracing_subscriber::filter::LevelFilter;

#[test]
fn defaults_are_the_peers() {
    let options = ConnectOptions::read(&ConnectArgs::default(), None, &MapEnv::default()).unwrap();
    assert_eq!(
        options.listen,
        "0.0.0.0:18083".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(options.check.url(), "http://localhost:8083");
    let rules = options.check.rules();
    assert_eq!(rules.unhealthy_states, [ConnectState::Failed]);
    assert_eq!(
        rules.considered_containers,
        [Container::Connector, Container::Task]
    );
    assert_eq!(rules.worker_id, None);
    assert_eq!(rules.failure_threshold_percentage, 0);
    assert_eq!(options.log_level, LevelFilter::INFO);
    assert_eq!(options.request_timeout, Duration::from_secs(5));
    assert_eq!(options.cache, Duration::ZERO);
    assert_eq!(options.drain, Duration::ZERO, "the peer exits at once");
    assert!(!options.redact_traces);
    // Empty variables count as unset.
    let empty = MapEnv::of(&[
        ("HEALTHCHECK_PORT", ""),
        ("HEALTHCHECK_UNHEALTHY_STATES", ""),
    ]);
    let options = ConnectOptions::read(&ConnectArgs::default(), None, &empty).unwrap();
    assert_eq!(options.listen.port(), 18083);
    assert_eq!(
        options.check.rules().unhealthy_states,
        [ConnectState::Failed]
    );
}

#[test]
fn trace_is_a_level_as_the_global_help_lists_it() {
    for (flag, var) in [(Some("trace"), None), (None, Some("TRACE"))] {
        let env = MapEnv::of(
            &var.map(|v| ("HEALTHCHECK_LOG_LEVEL", v))
                .into_iter()
                .collect::<Vec<_>>(),
        );
        let options = ConnectOptions::read(&ConnectArgs::default(), flag, &env).unwrap();
        assert_eq!(options.log_level, LevelFilter::TRACE);
    }
}

#[test]
fn variables_override_defaults_and_flags_override_variables() {
    let env = MapEnv::of(&[
        ("HEALTHCHECK_PORT", "18100"),
        ("HEALTHCHECK_CONNECT_URL", "http://connect-env:8083"),
        ("HEALTHCHECK_CONNECT_WORKER_ID", "env-worker:8083"),
        ("HEALTHCHECK_UNHEALTHY_STATES", "paused"),
        ("HEALTHCHECK_CONSIDERED_CONTAINERS", "task"),
        ("HEALTHCHECK_FAILURE_THRESHOLD_PERCENTAGE", "20"),
        ("HEALTHCHECK_LOG_LEVEL", "warning"),
        ("HEALTHCHECK_BIND", "::1"),
        ("HEALTHCHECK_DRAIN", "2s"),
    ]);
    let from_env = ConnectOptions::read(&ConnectArgs::default(), None, &env).unwrap();
    assert_eq!(
        from_env.listen,
        "[::1]:18100".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(from_env.check.url(), "http://connect-env:8083");
    let rules = from_env.check.rules();
    assert_eq!(rules.worker_id.as_deref(), Some("env-worker:8083"));
    assert_eq!(rules.unhealthy_states, [ConnectState::Paused]);
    assert_eq!(rules.considered_containers, [Container::Task]);
    assert_eq!(rules.failure_threshold_percentage, 20);
    assert_eq!(from_env.log_level, LevelFilter::WARN);
    assert_eq!(from_env.drain, Duration::from_secs(2));

    let flags = ConnectArgs {
        port: Some("18200".into()),
        connect_url: Some("http://connect-flag:8083/".into()),
        connect_worker_id: Some("flag-worker:8083".into()),
        unhealthy_states: Some("FAILED,RESTARTING".into()),
        considered_containers: Some("connector".into()),
        failure_threshold_percentage: Some("57".into()),
        bind: Some("127.0.0.1".into()),
        drain: Some("0s".into()),
        ..ConnectArgs::default()
    };
    let from_flags = ConnectOptions::read(&flags, Some("DEBUG"), &env).unwrap();
    assert_eq!(
        from_flags.listen,
        "127.0.0.1:18200".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(from_flags.check.url(), "http://connect-flag:8083");
    let rules = from_flags.check.rules();
    assert_eq!(rules.worker_id.as_deref(), Some("flag-worker:8083"));
    assert_eq!(
        rules.unhealthy_states,
        [ConnectState::Failed, ConnectState::Restarting]
    );
    assert_eq!(rules.considered_containers, [Container::Connector]);
    assert_eq!(rules.failure_threshold_percentage, 57);
    assert_eq!(from_flags.log_level, LevelFilter::DEBUG);
    assert_eq!(from_flags.drain, Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_binary_follows_the_same_precedence() {
    let connect = fake(scenarios::three_of_ten()).await;
    let dead = "http://127.0.0.1:9"; // nothing listens on the discard port
    let env = [
        ("HEALTHCHECK_CONNECT_URL", dead),
        ("HEALTHCHECK_UNHEALTHY_STATES", "paused"),
        ("HEALTHCHECK_CONNECT_WORKER_ID", THIS_WORKER),
        ("HEALTHCHECK_FAILURE_THRESHOLD_PERCENTAGE", "57"),
    ];
    // The URL flag beats the dead URL of the variable; the other variables apply.
    let probe = Running::start(&["--connect-url", &connect.url()], &env).await;
    let got = get(probe.addr, "/").await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body,
        r#"{"failures": [], "failure_states": ["PAUSED"], "failure_rate": 0.0, "failure_threshold": 0.5700000000000001, "healthy": true}"#
    );
    // A flag beats each variable.
    let probe = Running::start(
        &[
            "--connect-url",
            &connect.url(),
            "--unhealthy-states",
            "failed",
            "--failure-threshold-percentage",
            "10",
        ],
        &env,
    )
    .await;
    let got = get(probe.addr, "/").await;
    assert_eq!(got.status, 503);
    assert!(got
        .body
        .ends_with(r#""failure_states": ["FAILED"], "failure_rate": 0.3, "failure_threshold": 0.1, "healthy": false}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_and_address_come_from_the_variables_too() {
    let connect = fake(scenarios::healthy()).await;
    let port = free_port();
    let port_text = port.to_string();
    let mut probe = Running::start_exactly(
        &["--connect-url", &connect.url()],
        &[
            ("HEALTHCHECK_PORT", &port_text),
            ("HEALTHCHECK_BIND", "127.0.0.1"),
        ],
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await;
    assert_eq!(get(probe.addr, "/").await.body, HEALTHY);
    let started = format!("Healthcheck server started at: http://localhost:{port}");
    assert!(probe.wait_for(&started).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_level_takes_any_case_and_follows_the_same_precedence() {
    let connect = fake(scenarios::healthy()).await;
    let url = connect.url();
    // Lower case works (the peer crashes on it); DEBUG shows debug lines.
    let mut probe = Running::start(
        &[
            "--connect-url",
            &url,
            "--log-level",
            "debug",
            "--worker-health",
        ],
        &[],
    )
    .await;
    get(probe.addr, "/").await;
    let skipped = probe.wait_for("is not served by this worker").await;
    assert!(skipped.is_some_and(|l| l.contains("DEBUG")));

    // WARNING from the variable: warnings, no INFO lines.
    let mut probe = Running::start(
        &["--connect-url", &url],
        &[("HEALTHCHECK_LOG_LEVEL", "Warning")],
    )
    .await;
    assert!(probe.wait_for("No worker id supplied").await.is_some());
    assert!(!probe
        .log()
        .join("\n")
        .contains("Initializing healthcheck server"));

    // The flag beats the variable.
    let mut probe = Running::start(
        &["--connect-url", &url, "--log-level", "info"],
        &[("HEALTHCHECK_LOG_LEVEL", "ERROR")],
    )
    .await;
    assert!(probe
        .wait_for("Initializing healthcheck server")
        .await
        .is_some());
}

/// Flags, variables, and the start of the one line it must print.
type BadValue<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_exit_64_with_one_line_naming_the_flag_or_variable() {
    let cases: &[BadValue<'_>] = &[
        (
            &["--unhealthy-states", "FAILED,BOGUS"],
            &[],
            "--unhealthy-states: unknown Kafka Connect state `BOGUS`",
        ),
        (
            &[],
            &[("HEALTHCHECK_UNHEALTHY_STATES", "bogus")],
            "HEALTHCHECK_UNHEALTHY_STATES: unknown Kafka Connect state `bogus`",
        ),
        (
            &["--considered-containers", "connector,worker"],
            &[],
            "--considered-containers: unknown container `worker`",
        ),
        (
            &[],
            &[("HEALTHCHECK_CONSIDERED_CONTAINERS", "pods")],
            "HEALTHCHECK_CONSIDERED_CONTAINERS: unknown container `pods`",
        ),
        (
            &["--basic-auth", "adminonly"],
            &[],
            "--basic-auth: basic auth must be `user:password`",
        ),
        (
            &[],
            &[("HEALTHCHECK_BASIC_AUTH", "adminonly")],
            "HEALTHCHECK_BASIC_AUTH: basic auth must be `user:password`",
        ),
        (
            &["--port", "eighty"],
            &[],
            "--port: invalid port \"eighty\"",
        ),
        (
            &[],
            &[("HEALTHCHECK_PORT", "70000")],
            "HEALTHCHECK_PORT: invalid port \"70000\"",
        ),
        (
            &["--log-level", "verbose"],
            &[],
            "--log-level: unknown log level \"verbose\"",
        ),
        (
            &[],
            &[("HEALTHCHECK_LOG_LEVEL", "loud")],
            "HEALTHCHECK_LOG_LEVEL: unknown log level \"loud\"",
        ),
        (
            &["--failure-threshold-percentage", "-5"],
            &[],
            "--failure-threshold-percentage: invalid percentage \"-5\"",
        ),
        (
            &["--connect-url", "ftp://connect:8083"],
            &[],
            "--connect-url: kafka connect url: unsupported scheme `ftp`",
        ),
        (
            &["--port", "+18083"],
            &[],
            "--port: invalid port \"+18083\" (expected 0 to 65535)",
        ),
        (
            &["--connect-url", "http://127.0.0.1:99999"],
            &[],
            "--connect-url: kafka connect url: invalid port \"99999\" (expected 1 to 65535) in URL http://127.0.0.1:99999",
        ),
        (
            &[],
            &[("HEALTHCHECK_CONNECT_URL", "http://127.0.0.1:-1")],
            "HEALTHCHECK_CONNECT_URL: kafka connect url: invalid port \"-1\"",
        ),
        (
            &[
                "--connect-url",
                "https://connect:8083",
                "--ca-file",
                "/nonexistent/ca.pem",
            ],
            &[],
            "--ca-file: cannot read CA file /nonexistent/ca.pem: no such file or directory",
        ),
        (
            &[],
            &[("HEALTHCHECK_CA_FILE", "/etc/ca.pem")],
            "HEALTHCHECK_CA_FILE: only applies to an https:// Connect URL",
        ),
        (
            &["--request-timeout", "soon"],
            &[],
            "--request-timeout: invalid duration \"soon\"",
        ),
        (
            &["--drain", "-5s"],
            &[],
            "--drain: invalid duration \"-5s\"",
        ),
        (
            &[],
            &[("HEALTHCHECK_DRAIN", "later")],
            "HEALTHCHECK_DRAIN: invalid duration \"later\"",
        ),
        (
            &["--bind", "everywhere"],
            &[],
            "--bind: invalid address \"everywhere\"",
        ),
    ];
    for (args, env, wanted) in cases {
        let (code, stderr) = run_to_exit(args, env).await;
        assert_eq!(code, 64, "{args:?} {env:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?} {env:?}: {stderr}");
        assert!(
            lines[0].starts_with(&format!("probe: configuration error: {wanted}")),
            "{args:?} {env:?}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_of_our_own_without_its_value_is_a_usage_error() {
    for flag in ["--ca-file", "--bind", "--request-timeout", "--header-file"] {
        let (code, stderr) = run_to_exit(&[flag], &[]).await;
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(stderr.contains("a value is required"), "{flag}: {stderr}");
    }
}
