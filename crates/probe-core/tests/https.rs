//! `https://` for the `http` and Kafka Connect checks, against loopback stand-ins serving
//! real TLS with a certificate authority made for each test: trusted through a CA file,
//! refused without it, refused for another name, refused plainly when the port speaks
//! plain HTTP.

#![cfg(feature = "tls")]

mod support;

use probe_core::checks::{HttpCheck, KafkaConnectCheck};
use probe_core::evaluators::connect::{ConnectRules, Traces};
use probe_core::http_client::{TlsConfig, TlsOptions};
use probe_core::{Check, Outcome, Status};
use probe_testkit::connect::{scenarios, FakeConnect};
use probe_testkit::tls::TestCa;
use probe_testkit::upstream::Upstream;
use support::within;

/// The system's store plus the CA file at `path`.
fn trusting(path: &std::path::Path) -> TlsConfig {
    TlsConfig::new(&TlsOptions::new().ca_file(path)).expect("a readable CA file")
}

async fn run(check: &HttpCheck) -> Outcome {
    within(10, check.check()).await
}

#[tokio::test]
async fn an_https_upstream_passes_when_its_ca_file_is_trusted() {
    let up = within(5, Upstream::tls(200)).await;
    let url = up.url("/health");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let check = HttpCheck::new(&url)
        .unwrap()
        .tls(trusting(up.ca_file().unwrap()));
    for _ in 0..2 {
        let outcome = run(&check).await;
        assert_eq!(outcome.status, Status::Pass, "{outcome:?}");
        assert_eq!(
            outcome.message.as_deref(),
            Some(format!("GET {url} answered 200").as_str())
        );
    }
    assert_eq!(up.hits(), 2);
    // A DNS name is checked against the certificate too (SNI from the URL's host).
    let by_name = format!("https://localhost:{}/health", up.addr().port());
    let check = HttpCheck::new(&by_name)
        .unwrap()
        .tls(trusting(up.ca_file().unwrap()));
    assert_eq!(run(&check).await.status, Status::Pass);
    // A failing status over TLS is still the status.
    up.set_status(503);
    let outcome = run(&check).await;
    assert_eq!(
        outcome.message.as_deref(),
        Some(format!("GET {by_name} answered 503").as_str())
    );
}

#[tokio::test]
async fn without_the_ca_file_the_certificate_is_not_trusted() {
    let up = within(5, Upstream::tls(200)).await;
    let url = format!("https://probe:s3cret@{}/health", up.addr());
    let outcome = run(&HttpCheck::new(&url).unwrap()).await;
    assert_eq!(outcome.status, Status::Fail);
    let message = outcome.message.unwrap();
    assert_eq!(
        message,
        format!(
            "GET https://probe:***@{}/health: TLS handshake with {} failed: invalid peer certificate: UnknownIssuer",
            up.addr(),
            up.addr()
        )
    );
    assert_eq!(
        up.hits(),
        0,
        "no request is sent over an untrusted connection"
    );
    // Another test CA is no better than none.
    let other = TestCa::new();
    let check = HttpCheck::new(&up.url("/"))
        .unwrap()
        .tls(trusting(other.ca_file()));
    let message = run(&check).await.message.unwrap();
    assert!(
        message.ends_with("invalid peer certificate: UnknownIssuer"),
        "{message}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let ca = TestCa::new();
    let up = within(5, Upstream::tls_with(200, ca.server(&["connect.internal"]))).await;
    let check = HttpCheck::new(&up.url("/"))
        .unwrap()
        .tls(trusting(ca.ca_file()));
    let outcome = run(&check).await;
    assert_eq!(outcome.status, Status::Fail);
    let message = outcome.message.unwrap();
    assert!(
        message.contains(&format!(
            "TLS handshake with {} failed: invalid peer certificate: certificate not valid for name \"127.0.0.1\"",
            up.addr()
        )),
        "{message}"
    );
    assert_eq!(up.hits(), 0);
}

#[tokio::test]
async fn a_plain_http_port_addressed_as_https_fails_plainly() {
    let plain = within(5, Upstream::counting()).await;
    let url = format!("https://{}/", plain.addr());
    let outcome = run(&HttpCheck::new(&url).unwrap()).await;
    assert_eq!(outcome.status, Status::Fail);
    assert_eq!(
        outcome.message.as_deref(),
        Some(
            format!(
                "GET {url}: TLS handshake with {} failed: the server did not answer in TLS (is it plain http?)",
                plain.addr()
            )
            .as_str()
        )
    );
    assert_eq!(plain.hits(), 0);
}

#[tokio::test]
async fn a_kafka_connect_worker_over_https_with_basic_auth_and_a_prefix() {
    let scenario = scenarios::failed_connector()
        .basic_auth("admin", "pa:ss")
        .path_prefix("/connect")
        .tls();
    let connect = within(5, FakeConnect::start(scenario)).await.unwrap();
    assert!(connect.url().starts_with("https://"), "{}", connect.url());
    let url = format!("{}/connect/", connect.url());
    let check = KafkaConnectCheck::new(&url, ConnectRules::default())
        .unwrap()
        .basic_auth("admin:pa:ss")
        .unwrap()
        .tls(trusting(connect.ca_file().unwrap()));
    let verdict = within(10, check.evaluate()).await.expect("a verdict");
    assert!(!verdict.healthy);
    assert!(
        verdict
            .to_document(Traces::Keep)
            .ends_with(r#""failure_rate": 1.0, "failure_threshold": 0.0, "healthy": false}"#),
        "{}",
        verdict.to_document(Traces::Keep)
    );
    assert_eq!(connect.requests(), ["/connect/connectors?expand=status"]);
    // The same worker without its CA: no verdict, and a reason naming the handshake.
    let untrusted = KafkaConnectCheck::new(&url, ConnectRules::default())
        .unwrap()
        .basic_auth("admin:pa:ss")
        .unwrap();
    let err = within(10, untrusted.evaluate()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}/connect/connectors?expand=status: TLS handshake with {} failed: invalid peer certificate: UnknownIssuer",
            connect.url(),
            connect.addr()
        )
    );
    assert_eq!(connect.request_count(), 1);
}
