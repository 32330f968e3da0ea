//! The connect dialect against the fake Kafka Connect: the peer's documents byte for byte
//! for every scenario, its routes and status codes, the defects it fixes (a hung Connect
//! blocks nothing, errors are documents), shared runs, redacted traces, and the kubernetes
//! dialect on the same port.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use probe_core::checks::KafkaConnectCheck;
use probe_core::evaluators::connect::ConnectRules;
use probe_core::{Health, Policy, Probe};
use probe_http::{ClientAddr, Connect, Details, Kubernetes, ProbeService, Server, ServerConfig};
use probe_testkit::connect::scenarios::{self, THIS_WORKER};
use probe_testkit::connect::{FakeConnect, Scenario};
use tokio::time::Instant;

const HEALTHY: &str = r#"{"failures": [], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": true}"#;
const TRACE: &str = r#"org.apache.kafka.connect.errors.ConnectException: password=hunter2 rejected\n\tat org.example.Sink.put(Sink.java:42)\n"#;
const LOOPBACK: &str = "127.0.0.1:40000";
const REMOTE: &str = "10.1.2.3:40000";
const W0: Option<&str> = Some(THIS_WORKER);

/// Awaits `f`, failing the test after 10 s.
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("no answer within 10 s")
}

async fn fake(scenario: Scenario) -> FakeConnect {
    within(FakeConnect::start(scenario))
        .await
        .expect("the fake Connect binds 127.0.0.1:0")
}

/// What a probe connect setup is made of.
struct Setup {
    rules: ConnectRules,
    request_timeout: Duration,
    policy: Policy,
    details: Details,
    traces: Details,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            rules: ConnectRules::default(),
            request_timeout: Duration::from_secs(2),
            policy: Policy::default().timeout(Duration::from_millis(2100)),
            details: Details::Always,
            traces: Details::Always,
        }
    }
}

/// The service `probe connect` builds: the check in readiness, kubernetes, then connect.
fn service(url: &str, setup: Setup) -> ProbeService {
    let check = KafkaConnectCheck::new(url, setup.rules)
        .expect("valid url")
        .request_timeout(setup.request_timeout);
    let health = Health::builder()
        .check(
            "kafka-connect",
            check.clone(),
            [Probe::Readiness],
            setup.policy,
        )
        .unwrap()
        .build()
        .unwrap();
    let connect = Connect::new(health.clone(), "kafka-connect", &check)
        .unwrap()
        .details(setup.details)
        .traces(setup.traces);
    // The fallback is named first on purpose: it is still asked last.
    ProbeService::builder()
        .fallback(connect)
        .dialect(Kubernetes::new(health))
        .build()
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Asks `svc` with no socket, as the client at `from`.
async fn ask(svc: &ProbeService, method: Method, path: &str, from: &str) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .body(Empty::<Bytes>::new())
        .unwrap();
    req.extensions_mut()
        .insert(ClientAddr(from.parse().unwrap()));
    let resp = within(svc.respond(req)).await;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(svc: &ProbeService, path: &str) -> Answer {
    ask(svc, Method::GET, path, LOOPBACK).await
}

/// Serves `svc` on 127.0.0.1:0 until the test ends.
fn listen(svc: ProbeService) -> SocketAddr {
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    tokio::spawn(bound.serve(svc, std::future::pending()));
    addr
}

struct Case {
    name: &'static str,
    scenario: fn() -> Scenario,
    states: &'static str,
    containers: &'static str,
    worker: Option<&'static str>,
    percentage: u32,
    status: u16,
    document: String,
}

fn case(
    name: &'static str,
    scenario: fn() -> Scenario,
    worker: Option<&'static str>,
    status: u16,
    document: &str,
) -> Case {
    Case {
        name,
        scenario,
        states: "FAILED",
        containers: "CONNECTOR,TASK",
        worker,
        percentage: 0,
        status,
        document: document.to_owned(),
    }
}

fn three_of_ten(threshold: &str, healthy: bool) -> String {
    format!(
        concat!(
            r#"{{"failures": [{{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": "connect-0:8083"}}, "#,
            r#"{{"type": "task", "connector": "orders-sink", "id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}}, "#,
            r#"{{"type": "task", "connector": "audit-source", "id": 5, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}}], "#,
            r#""failure_states": ["FAILED"], "failure_rate": 0.3, "failure_threshold": {}, "healthy": {}}}"#
        ),
        threshold, healthy
    )
}

/// Every scenario of the fake Connect, with the peer's status and document.
fn cases() -> Vec<Case> {
    let failed_both = concat!(
        r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": "connect-0:8083"}, "#,
        r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
        r#""failure_states": ["FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
    );
    let failed_task = concat!(
        r#"{"failures": [{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}], "#,
        r#""failure_states": ["FAILED"], "failure_rate": "#
    );
    vec![
        case("healthy", scenarios::healthy, None, 200, HEALTHY),
        case(
            "failed connector",
            scenarios::failed_connector,
            None,
            503,
            failed_both,
        ),
        case(
            "failed task with a trace",
            scenarios::failed_task_with_trace,
            W0,
            503,
            &format!(
                r#"{{"failures": [{{"type": "task", "connector": "orders-sink", "id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": "{TRACE}"}}], "failure_states": ["FAILED"], "failure_rate": 0.3333333333333333, "failure_threshold": 0.0, "healthy": false}}"#
            ),
        ),
        case(
            "paused, not unhealthy",
            scenarios::paused,
            None,
            200,
            HEALTHY,
        ),
        Case {
            states: "paused,failed",
            ..case(
                "paused, unhealthy",
                scenarios::paused,
                None,
                503,
                concat!(
                    r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "PAUSED", "worker_id": "connect-0:8083"}, "#,
                    r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "PAUSED", "worker_id": "connect-0:8083", "trace": null}], "#,
                    r#""failure_states": ["PAUSED", "FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
                ),
            )
        },
        case(
            "other workers failing",
            scenarios::other_workers_failing,
            W0,
            200,
            HEALTHY,
        ),
        case(
            "task failing here",
            scenarios::task_failing_here,
            Some("CONNECT-0:8083"),
            503,
            &format!(r#"{failed_task}0.5, "failure_threshold": 0.0, "healthy": false}}"#),
        ),
        case(
            "nothing on this worker",
            scenarios::elsewhere,
            W0,
            200,
            HEALTHY,
        ),
        case(
            "unreachable broker",
            scenarios::unreachable_broker,
            Some("connect-9:8083"),
            503,
            r#"{"failures": [{"type": "broker", "connector": "orders-sink"}], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": false}"#,
        ),
        case(
            "multiple tasks",
            scenarios::multiple_tasks,
            W0,
            200,
            HEALTHY,
        ),
        case(
            "multiple connectors",
            scenarios::multiple_connectors,
            W0,
            200,
            HEALTHY,
        ),
        case(
            "three of ten",
            scenarios::three_of_ten,
            W0,
            503,
            &three_of_ten("0.0", false),
        ),
        Case {
            percentage: 57,
            ..case(
                "three of ten under 57 %",
                scenarios::three_of_ten,
                W0,
                200,
                &three_of_ten("0.5700000000000001", true),
            )
        },
        case("no connectors", scenarios::empty, W0, 200, HEALTHY),
        Case {
            containers: "CONNECTOR",
            ..case(
                "connectors only",
                scenarios::task_failed_connector_running,
                None,
                200,
                HEALTHY,
            )
        },
        Case {
            containers: "TASK",
            ..case(
                "tasks only",
                scenarios::connector_failed_task_running,
                None,
                200,
                HEALTHY,
            )
        },
        case(
            "null worker ids under a filter",
            scenarios::null_worker_ids,
            W0,
            200,
            HEALTHY,
        ),
        case(
            "null worker ids, no filter",
            scenarios::null_worker_ids,
            None,
            503,
            concat!(
                r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "FAILED", "worker_id": null}, "#,
                r#"{"type": "task", "connector": "orders-sink", "id": 0, "state": "FAILED", "worker_id": null, "trace": null}], "#,
                r#""failure_states": ["FAILED"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
            ),
        ),
        Case {
            states: "stopped,RESTARTING",
            ..case(
                "states newer than the peer",
                scenarios::newer_states,
                None,
                503,
                concat!(
                    r#"{"failures": [{"type": "connector", "connector": "orders-sink", "state": "STOPPED", "worker_id": "connect-0:8083"}, "#,
                    r#"{"type": "connector", "connector": "audit-source", "state": "RESTARTING", "worker_id": "connect-0:8083"}, "#,
                    r#"{"type": "task", "connector": "audit-source", "id": 0, "state": "restarting", "worker_id": "connect-0:8083", "trace": null}], "#,
                    r#""failure_states": ["STOPPED", "RESTARTING"], "failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#
                ),
            )
        },
    ]
}

#[tokio::test]
async fn every_scenario_answers_the_peers_status_and_document_byte_for_byte() {
    for case in cases() {
        for old_worker in [false, true] {
            let scenario = (case.scenario)();
            let scenario = if old_worker {
                scenario.old_worker()
            } else {
                scenario
            };
            let connect = fake(scenario).await;
            let rules =
                ConnectRules::parse(case.states, case.containers, case.worker, case.percentage)
                    .unwrap();
            let svc = service(
                &connect.url(),
                Setup {
                    rules,
                    ..Setup::default()
                },
            );
            let got = get(&svc, "/").await;
            let what = format!("{} (old worker: {old_worker})", case.name);
            assert_eq!(got.status.as_u16(), case.status, "{what}");
            assert_eq!(got.body, case.document, "{what}");
            assert_eq!(got.content_type(), "application/json", "{what}");
        }
    }
}

#[tokio::test]
async fn the_peers_routes_over_a_real_socket() {
    let connect = fake(scenarios::healthy()).await;
    let addr = listen(service(&connect.url(), Setup::default()));

    let root = support::get(addr, "/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert_eq!(root.body, HEALTHY);
    assert_eq!(root.header("content-type"), "application/json");
    assert_eq!(root.header("content-length"), HEALTHY.len().to_string());

    let ping = support::get(addr, "/ping").await;
    assert_eq!(
        (ping.status, ping.body.as_str()),
        (StatusCode::OK, r#"{"status": "UP"}"#)
    );
    assert_eq!(ping.header("content-type"), "application/json");

    for path in [
        "/test",
        "/does/not/exist",
        "/kafka",
        "/this-is-a-long/url",
        "/connectors",
    ] {
        let got = support::get(addr, path).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(got.body, "", "{path}");
        assert_eq!(got.header("content-type"), "application/json", "{path}");
    }
    let before = connect.request_count();
    for path in ["/", "/ping", "/test", "/does/not/exist"] {
        let got = support::send(addr, Method::HEAD, path, &[]).await;
        assert_eq!(got.status, StatusCode::OK, "HEAD {path}");
        assert_eq!(got.body, "", "HEAD {path}");
    }
    assert_eq!(connect.request_count(), before, "HEAD checks nothing");
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        for path in ["/", "/ping", "/elsewhere"] {
            let got = support::send(addr, method.clone(), path, &[]).await;
            assert_eq!(
                got.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(got.header("allow"), "GET, HEAD", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn while_connect_hangs_ping_and_head_answer_at_once_and_root_within_its_budget() {
    let connect = fake(Scenario::new().hang()).await;
    let svc = service(
        &connect.url(),
        Setup {
            request_timeout: Duration::from_secs(1),
            policy: Policy::default().timeout(Duration::from_millis(1100)),
            ..Setup::default()
        },
    );
    let addr = listen(svc);
    let started = Instant::now();
    let root = tokio::spawn(async move { (support::get(addr, "/").await, started.elapsed()) });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let t = Instant::now();
    let ping = support::get(addr, "/ping").await;
    let head = support::send(addr, Method::HEAD, "/", &[]).await;
    let quick = t.elapsed();
    assert_eq!((ping.status, head.status), (StatusCode::OK, StatusCode::OK));
    assert!(
        quick < Duration::from_millis(500),
        "/ping and HEAD took {quick:?}"
    );

    let (root, took) = within(root).await.unwrap();
    assert_eq!(root.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        root.body,
        format!(
            r#"{{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "GET {}/connectors?expand=status: no answer within 1s", "failure_states": ["FAILED"]}}"#,
            connect.url()
        )
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1800),
        "GET / took {took:?} with a 1 s request timeout"
    );
}

#[tokio::test]
async fn an_evaluation_cut_off_by_the_engine_is_an_error_document_naming_connect() {
    // Each request may take 5 s, but the whole evaluation only 300 ms.
    let connect = fake(Scenario::new().hang()).await;
    let svc = service(
        &connect.url(),
        Setup {
            request_timeout: Duration::from_secs(5),
            policy: Policy::default().timeout(Duration::from_millis(300)),
            ..Setup::default()
        },
    );
    let t = Instant::now();
    let got = get(&svc, "/").await;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        got.body,
        format!(
            r#"{{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "no verdict from Kafka Connect at {}: timed out after 300ms", "failure_states": ["FAILED"]}}"#,
            connect.url()
        )
    );
}

#[tokio::test]
async fn connect_errors_are_error_documents_that_say_what_failed_without_secrets() {
    let error_object = r#"{"error_code":500,"message":"Request timed out"}"#;
    let connect = fake(Scenario::new().list_answer(500, error_object)).await;
    let got = get(&svc_for(&connect), "/").await;
    assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        got.body,
        format!(
            r#"{{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "GET {}/connectors?expand=status answered 500: Request timed out", "failure_states": ["FAILED"]}}"#,
            connect.url()
        )
    );

    // Nothing listens: connection refused, and the password stays out of the document.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let svc = service(
        &format!("http://admin:s3cret@127.0.0.1:{port}"),
        Setup::default(),
    );
    let got = get(&svc, "/").await;
    assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(got.body.contains(&format!(
        r#""error": "GET http://admin:***@127.0.0.1:{port}/connectors?expand=status: cannot connect to 127.0.0.1:{port}: connection refused""#
    )), "{}", got.body);
    assert!(!got.body.contains("s3cret"));
}

fn svc_for(connect: &FakeConnect) -> ProbeService {
    service(&connect.url(), Setup::default())
}

#[tokio::test]
async fn concurrent_requests_share_one_evaluation_and_a_reuse_window_is_optional() {
    let connect = fake(scenarios::healthy().delay(Duration::from_millis(200))).await;
    let svc = svc_for(&connect);
    let mut answers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let svc = svc.clone();
        answers.spawn(async move { get(&svc, "/").await.body });
    }
    while let Some(body) = within(answers.join_next()).await {
        assert_eq!(body.unwrap(), HEALTHY);
    }
    assert_eq!(
        connect.request_count(),
        1,
        "50 concurrent GET /, one evaluation"
    );
    get(&svc, "/").await;
    assert_eq!(connect.request_count(), 2, "no reuse window by default");

    let connect = fake(scenarios::healthy()).await;
    let svc = service(
        &connect.url(),
        Setup {
            policy: Policy::default()
                .timeout(Duration::from_millis(2100))
                .cache(Duration::from_secs(60)),
            ..Setup::default()
        },
    );
    for _ in 0..5 {
        assert_eq!(get(&svc, "/").await.body, HEALTHY);
    }
    assert_eq!(connect.request_count(), 1, "answered from the reuse window");
}

#[tokio::test]
async fn redacted_traces_are_null_for_clients_off_loopback_only() {
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let redacting = service(
        &connect.url(),
        Setup {
            traces: Details::Local,
            ..Setup::default()
        },
    );
    let remote = ask(&redacting, Method::GET, "/", REMOTE).await;
    assert_eq!(remote.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        remote.body.contains(
            r#""id": 1, "state": "FAILED", "worker_id": "connect-0:8083", "trace": null}"#
        ),
        "{}",
        remote.body
    );
    assert!(!remote.body.contains("hunter2"));
    let local = ask(&redacting, Method::GET, "/", LOOPBACK).await;
    assert!(local.body.contains("password=hunter2"), "{}", local.body);
    let ipv6_local = ask(&redacting, Method::GET, "/", "[::1]:40000").await;
    assert!(ipv6_local.body.contains("password=hunter2"));

    // Without the option every client sees the trace, as with the peer.
    let peer_like = svc_for(&connect);
    assert!(ask(&peer_like, Method::GET, "/", REMOTE)
        .await
        .body
        .contains("password=hunter2"));
}

#[tokio::test]
async fn under_the_local_policy_remote_clients_get_the_same_shape_with_details_withheld() {
    let local_policy = |url: &str| {
        service(
            url,
            Setup {
                details: Details::Local,
                traces: Details::Local,
                ..Setup::default()
            },
        )
    };
    // A failed task: worker ids and traces become null for a remote client.
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let svc = local_policy(&connect.url());
    let local = ask(&svc, Method::GET, "/", LOOPBACK).await;
    let peer = ask(&svc_for(&connect), Method::GET, "/", LOOPBACK).await;
    assert_eq!(
        local.body, peer.body,
        "byte-identical for clients that may see details"
    );
    let remote = ask(&svc, Method::GET, "/", REMOTE).await;
    assert_eq!(remote.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        remote.body,
        r#"{"failures": [{"type": "task", "connector": "orders-sink", "id": 1, "state": "FAILED", "worker_id": null, "trace": null}], "failure_states": ["FAILED"], "failure_rate": 0.3333333333333333, "failure_threshold": 0.0, "healthy": false}"#
    );
    // An error: the URL, host:port, Connect's text and any echoed credentials are withheld.
    let echo = fake(
        scenarios::healthy()
            .list_answer(500, r#"{"error_code":500,"message":"bad header Authorization: Basic YWRtaW46aHVudGVyMg== from admin:hunter2"}"#),
    )
    .await;
    let url = echo.url().replace("http://", "http://admin:hunter2@");
    let svc = local_policy(&url);
    let remote = ask(&svc, Method::GET, "/", REMOTE).await;
    assert_eq!(remote.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        remote.body,
        r#"{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "reason withheld", "failure_states": ["FAILED"]}"#
    );
    let local = ask(&svc, Method::GET, "/", LOOPBACK).await;
    assert!(
        local.body.contains(&echo.addr().to_string()),
        "{}",
        local.body
    );
    // Connect down: the same for a remote client, and for never.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    for (svc, from) in [
        (local_policy(&down), REMOTE),
        (
            service(
                &down,
                Setup {
                    details: Details::Never,
                    ..Setup::default()
                },
            ),
            LOOPBACK,
        ),
    ] {
        let got = ask(&svc, Method::GET, "/", from).await;
        assert!(
            got.body.contains(r#""error": "reason withheld""#),
            "{}",
            got.body
        );
        assert!(!got.body.contains("127.0.0.1"), "{}", got.body);
    }
    // /ping is the same for everyone; always is the peer's behaviour.
    let svc = local_policy(&connect.url());
    assert_eq!(
        ask(&svc, Method::GET, "/ping", REMOTE).await.body,
        r#"{"status": "UP"}"#
    );
    let always = svc_for(&connect);
    assert!(ask(&always, Method::GET, "/", REMOTE)
        .await
        .body
        .contains("connect-0:8083"));
}

#[tokio::test]
async fn kubernetes_routes_share_the_port_and_the_runs() {
    let connect = fake(scenarios::failed_connector().delay(Duration::from_millis(200))).await;
    let svc = svc_for(&connect);

    let livez = get(&svc, "/livez").await;
    assert_eq!((livez.status, livez.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(connect.request_count(), 0, "Connect is not in liveness");

    let (readyz, root) = tokio::join!(get(&svc, "/readyz"), get(&svc, "/"));
    assert_eq!(readyz.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        readyz.body,
        "[-]kafka-connect failed: 2 of 2 containers failed (rate 1.0 > threshold 0.0)\nreadyz check failed\n"
    );
    assert_eq!(root.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(root
        .body
        .starts_with(r#"{"failures": [{"type": "connector""#));
    assert_eq!(connect.request_count(), 1, "/readyz and / shared one run");

    let one = get(&svc, "/readyz/kafka-connect").await;
    assert_eq!(one.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        get(&svc, "/readyz/other").await.status,
        StatusCode::NOT_FOUND
    );
    // Paths of neither dialect get the peer's 404.
    let other = get(&svc, "/healthz").await;
    assert_eq!(
        (other.status, other.body.as_str()),
        (StatusCode::NOT_FOUND, "")
    );
}

#[test]
fn the_dialect_refuses_a_check_that_is_not_registered() {
    let check = KafkaConnectCheck::new("http://localhost:8083", ConnectRules::default()).unwrap();
    let health = Health::builder().build().unwrap();
    let err = Connect::new(health, "kafka-connect", &check).err().unwrap();
    assert_eq!(
        err.to_string(),
        "the connect dialect serves check `kafka-connect`, which is not registered in any probe"
    );
}

#[tokio::test]
async fn each_run_is_rendered_anew_and_a_reused_run_is_not_rendered_again() {
    let connect = fake(scenarios::failed_connector()).await;
    let svc = svc_for(&connect);
    let failed = get(&svc, "/").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    connect.set_connector(
        "orders-sink",
        probe_testkit::connect::scenarios::status(
            "orders-sink",
            ("RUNNING", W0),
            &[(0, "RUNNING", W0)],
        ),
    );
    let healthy = get(&svc, "/").await;
    assert_eq!(
        (healthy.status, healthy.body.as_str()),
        (StatusCode::OK, HEALTHY)
    );
    // Each view of the same run is its own document.
    let remote_policy = service(
        &connect.url(),
        Setup {
            details: Details::Local,
            ..Setup::default()
        },
    );
    connect.set_connector(
        "orders-sink",
        probe_testkit::connect::scenarios::status("orders-sink", ("FAILED", W0), &[]),
    );
    let remote = ask(&remote_policy, Method::GET, "/", REMOTE).await;
    let local = ask(&remote_policy, Method::GET, "/", LOOPBACK).await;
    assert!(
        remote.body.contains(r#""worker_id": null"#),
        "{}",
        remote.body
    );
    assert!(
        local.body.contains(r#""worker_id": "connect-0:8083""#),
        "{}",
        local.body
    );
}
