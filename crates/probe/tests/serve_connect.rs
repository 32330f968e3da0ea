//! `probe serve` with a `kafka-connect` check and the `connect` dialect: the keys, their
//! errors, and the service the configuration builds (answered with no socket).

#[path = "connect/common.rs"]
mod common;

use bytes::Bytes;
use common::{fake, within};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use probe::config::Config;
use probe_http::{ClientAddr, ProbeService};
use probe_testkit::connect::scenarios;

async fn ask(svc: &ProbeService, path: &str, from: &str) -> (StatusCode, String) {
    let mut req = Request::get(path).body(Empty::<Bytes>::new()).unwrap();
    req.extensions_mut()
        .insert(ClientAddr(from.parse().unwrap()));
    let resp = within(svc.respond(req)).await;
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn config(text: &str) -> Result<Config, String> {
    Config::parse(text).map_err(|e| e.to_string())
}

#[test]
fn kafka_connect_keys_are_read_and_checked() {
    let ok = config(
        r#"
        [[check]]
        name = "connect"
        type = "kafka-connect"
        url = "http://127.0.0.1:8083/connect"
        worker_id = "connect-0:8083"
        unhealthy_states = ["failed", "paused"]
        considered_containers = "CONNECTOR,TASK"
        failure_threshold_percentage = 20
        basic_auth = "admin:pa:ss"
        request_timeout = "2s"
        worker_health = true
        timeout = "3s"
        "#,
    )
    .unwrap();
    assert_eq!(ok.connect().map(|(name, _)| name), Some("connect"));
    let (_, check) = ok.connect().unwrap();
    assert_eq!(check.url(), "http://127.0.0.1:8083/connect");
    assert_eq!(check.rules().failure_threshold_percentage, 20);

    let refused = [
        (
            r#"unhealthy_states = "FAILED,BOGUS""#,
            r#"check[0] "connect".unhealthy_states: unknown Kafka Connect state `BOGUS`"#,
        ),
        (
            r#"considered_containers = ["worker"]"#,
            r#"check[0] "connect".considered_containers: unknown container `worker`"#,
        ),
        (
            r#"basic_auth = "admin""#,
            r#"check[0] "connect".basic_auth: basic auth must be `user:password`"#,
        ),
        (
            r#"failure_threshold_percentage = -1"#,
            r#"check[0] "connect".failure_threshold_percentage: -1 is out of range"#,
        ),
        (
            r#"request_timeout = "0s""#,
            r#"check[0] "connect".request_timeout: must be greater than zero"#,
        ),
        (
            r#"probes = ["liveness"]"#,
            r#"check[0] "connect".probes: a `kafka-connect` check looks at a dependency"#,
        ),
    ];
    for (line, wanted) in refused {
        let text = format!(
            "[[check]]\nname = \"connect\"\ntype = \"kafka-connect\"\nurl = \"http://127.0.0.1:8083\"\n{line}\n"
        );
        let err = config(&text)
            .err()
            .unwrap_or_else(|| panic!("{line} was accepted"));
        assert!(err.starts_with(wanted), "{line}: {err}");
    }
    let err = config("[server]\ndialects = [\"connect\"]\n")
        .err()
        .unwrap();
    assert!(
        err.starts_with("server.dialects: the connect dialect serves a Kafka Connect check"),
        "{err}"
    );
}

#[tokio::test]
async fn the_connect_dialect_serves_the_first_kafka_connect_check_after_kubernetes() {
    let connect = fake(scenarios::failed_task_with_trace()).await;
    let other = fake(scenarios::healthy()).await;
    // `connect` is listed first, yet kubernetes keeps /readyz: connect is the fallback.
    let text = format!(
        r#"
        [server]
        dialects = ["connect", "kubernetes"]

        [[check]]
        name = "workers"
        type = "kafka-connect"
        url = "{}"

        [[check]]
        name = "mirror"
        type = "kafka-connect"
        url = "{}"
        "#,
        connect.url(),
        other.url()
    );
    let config = config(&text).unwrap();
    let (_health, svc) = probe::serve::service(&config).unwrap();

    let (status, body) = ask(&svc, "/readyz", "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("[-]workers failed: 1 of 3 containers failed"),
        "{body}"
    );
    assert!(body.contains("[+]mirror ok"), "{body}");

    let (status, body) = ask(&svc, "/", "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("password=hunter2"),
        "loopback sees the trace: {body}"
    );
    // Traces follow server.details: `local` by default, so a remote client gets null.
    let (_, body) = ask(&svc, "/", "10.0.0.8:1").await;
    assert!(body.contains(r#""trace": null"#), "{body}");
    assert!(!body.contains("hunter2"));

    let (status, body) = ask(&svc, "/nowhere", "127.0.0.1:1").await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, ""));
}
