//! `https://` through the binary: `probe check --ca-file`, `SSL_CERT_FILE`, a redirect
//! from http to https, `probe connect --ca-file` and a `probe serve` check with `ca_file`,
//! each against loopback stand-ins serving real TLS with a CA made for the test; and a bad
//! CA file refused at startup (exit 64, one line naming the flag and the file; for
//! `probe connect` and `probe serve` see `connect_options.rs` and `serve.rs`).

mod support;

#[path = "connect/common.rs"]
mod common;

use probe_testkit::connect::{scenarios, FakeConnect};
use probe_testkit::upstream::Upstream;
use support::{probe, Serve};

/// `path` as a command-line argument.
fn arg(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

async fn tls_upstream() -> Upstream {
    common::within(Upstream::tls(200)).await
}

#[tokio::test]
async fn probe_check_is_up_over_https_with_the_ca_file_and_down_without() {
    let up = tls_upstream().await;
    let ca = arg(up.ca_file().unwrap());
    let url = up.url("/");
    let r = probe(&["check", &url, "--ca-file", ca], &[]).await;
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(0), "UP, response status code: 200\n", "")
    );
    let r = probe(&["check", &url], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        format!(
            "DOWN (TLS handshake with {} failed: invalid peer certificate: UnknownIssuer)\n",
            up.addr()
        )
    );
    assert_eq!(
        up.hits(),
        1,
        "nothing is asked over an untrusted connection"
    );
}

#[tokio::test]
async fn ssl_cert_file_replaces_the_system_store() {
    let up = tls_upstream().await;
    let ca = arg(up.ca_file().unwrap());
    let r = probe(
        &["check", &up.url("/")],
        &[("SSL_CERT_FILE", ca), ("SSL_CERT_DIR", "")],
    )
    .await;
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "UP, response status code: 200\n"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_redirect_from_http_to_https_is_followed_with_the_ca_file() {
    let up = tls_upstream().await;
    let ca = arg(up.ca_file().unwrap());
    let redirect = common::within(Upstream::redirecting(&up.url("/_healthz/livez/"))).await;
    let url = redirect.url("/");
    let r = probe(&["check", &url, "--ca-file", ca], &[]).await;
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "UP, response status code: 200\n"),
        "{r:?}"
    );
    let r = probe(&["check", &url], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        r.stderr
    );
    assert_eq!((redirect.hits(), up.hits()), (2, 1));
}

#[tokio::test]
async fn a_bad_ca_file_is_a_configuration_error() {
    let up = tls_upstream().await;
    let r = probe(
        &["check", &up.url("/"), "--ca-file", "/nonexistent/ca.pem"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert_eq!(
        r.stderr,
        "probe: configuration error: --ca-file: cannot read CA file /nonexistent/ca.pem: no such file or directory\n"
    );
    let r = probe(&["check", "tcp://127.0.0.1:1", "--ca-file", "/x.pem"], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(
        r.stderr
            .contains("--ca-file: only applies to http:// and https:// targets"),
        "{}",
        r.stderr
    );
    assert_eq!(up.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_connect_reaches_an_https_worker_with_its_ca_file() {
    let scenario = scenarios::healthy()
        .basic_auth("admin", "pa:ss")
        .path_prefix("/connect")
        .tls();
    let connect = common::within(FakeConnect::start(scenario))
        .await
        .expect("the fake Connect binds 127.0.0.1:0");
    let url = format!("{}/connect", connect.url());
    let ca = arg(connect.ca_file().unwrap());
    let probe = common::Running::start(
        &["--connect-url", &url, "--basic-auth", "admin:pa:ss"],
        &[("HEALTHCHECK_CA_FILE", ca)],
    )
    .await;
    let got = common::get(probe.addr, "/").await;
    assert_eq!((got.status, got.body.as_str()), (200, common::HEALTHY));
    assert_eq!(connect.requests(), ["/connect/connectors?expand=status"]);
    // Without the CA: the peer's error document, and the reason in the log.
    let mut untrusted =
        common::Running::start(&["--connect-url", &url, "--basic-auth", "admin:pa:ss"], &[]).await;
    let got = common::get(untrusted.addr, "/").await;
    assert_eq!(got.status, 503, "{got:?}");
    let line = untrusted
        .wait_for("invalid peer certificate: UnknownIssuer")
        .await;
    assert!(line.is_some(), "{:?}", untrusted.log());
    assert_eq!(connect.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_http_check_trusts_its_ca_file() {
    let up = tls_upstream().await;
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{{port}}\"\ndetails = \"always\"\n\n\
         [[check]]\nname = \"web\"\ntype = \"http\"\nurl = \"{}\"\nca_file = \"{}\"\n\n\
         [[check]]\nname = \"web-untrusted\"\ntype = \"http\"\nurl = \"{}\"\ncritical = false\n",
        up.url("/health"),
        arg(up.ca_file().unwrap()),
        up.url("/health"),
    );
    let serve = Serve::start(&config).await;
    let got = common::get(serve.addr, "/readyz?verbose").await;
    assert_eq!(got.status, 200, "{got:?}");
    assert!(got.body.contains("[+]web ok"), "{}", got.body);
    assert!(
        got.body.contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        got.body
    );
}
