//! `probe check` as a container runs it: the built binary against real servers in each
//! outcome, in maykin-common `health-check`'s output format.

mod support;

use std::time::Duration;

use probe_testkit::upstream::Upstream;
use support::{free_port, probe, touch, Serve, TempDir};

/// Docker keeps this much of a health check's output.
const DOCKER_OUTPUT: usize = 4096;

#[tokio::test]
async fn up_is_exit_0_with_one_line_on_stdout() {
    let up = Upstream::counting().await;
    let endpoint = format!("127.0.0.1:{}/x", up.addr().port());
    let r = probe(&["check", "--endpoint", &endpoint, "--timeout", "3"], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "UP, response status code: 200\n");
    assert_eq!(r.stderr, "");
    assert_eq!(up.hits(), 1);
    // The positional form is the same check.
    let r = probe(&["check", &up.url("/")], &[]).await;
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "UP, response status code: 200\n")
    );
}

#[tokio::test]
async fn a_5xx_is_exit_1_with_the_status_on_stderr() {
    let bad = Upstream::status(503).await;
    let r = probe(&["check", "--endpoint", &bad.url("/")], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, "DOWN, response status code: 503\n");
    assert_eq!(r.stdout, "");
    // 4xx is down too; 3xx without a location is up, as requests' `ok` has it.
    bad.set_status(404);
    let r = probe(&["check", &bad.url("/")], &[]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "DOWN, response status code: 404\n")
    );
    bad.set_status(304);
    let r = probe(&["check", &bad.url("/")], &[]).await;
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "UP, response status code: 304\n")
    );
}

#[tokio::test]
async fn a_refused_connection_is_down_with_the_reason() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let r = probe(&["check", "--endpoint", &url, "--timeout", "1"], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.starts_with("DOWN ("), "{}", r.stderr);
    assert!(r.stderr.contains("refused"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}

#[tokio::test]
async fn a_hanging_server_is_down_after_the_timeout() {
    let hang = Upstream::hanging().await;
    let r = probe(&["check", &hang.url("/"), "--timeout", "1"], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, "DOWN (timed out after 1s)\n");
    assert!(r.took < Duration::from_secs(5), "took {:?}", r.took);
    assert!(r.took >= Duration::from_millis(900), "took {:?}", r.took);
}

#[tokio::test]
async fn redirects_are_followed_to_the_open_klant_endpoint() {
    let serve =
        Serve::start("[server]\nlisten = \"127.0.0.1:{port}\"\ndialects = [\"open-klant\"]\n")
            .await;
    let url = format!("http://{}/_healthz/livez", serve.addr);
    let r = probe(&["check", "--endpoint", &url], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "UP, response status code: 200\n");
    // A missing path means /_healthz/livez/.
    let r = probe(&["check", &format!("{}", serve.addr)], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[tokio::test]
async fn a_client_outside_allow_clients_is_refused_by_probe_serve() {
    let serve = Serve::start(
        "[server]\nlisten = \"127.0.0.1:{port}\"\ndialects = [\"open-klant\"]\nallow_clients = [\"10.0.0.0/8\"]\n",
    )
    .await;
    let url = format!("http://{}/_healthz/livez/", serve.addr);
    let r = probe(&["check", &url], &[]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "DOWN, response status code: 403\n")
    );
}

#[tokio::test]
async fn files_are_up_when_present_and_fresh_enough() {
    let dir = TempDir::new("check");
    let live = dir.join("live");
    let file = format!("file://{}", live.display());
    let r = probe(&["check", &file], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("DOWN ({} does not exist)\n", live.display())
    );
    touch(&live, Duration::from_secs(5));
    let r = probe(&["check", &file], &[]).await;
    assert_eq!(
        (r.code, r.stdout.clone()),
        (Some(0), format!("UP, {} exists\n", live.display()))
    );
    let r = probe(&["check", &file, "--max-age", "60"], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r
        .stdout
        .starts_with(&format!("UP, {} was modified ", live.display())));
    touch(&live, Duration::from_secs(300));
    let r = probe(&["check", "--endpoint", &file, "--max-age", "60"], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    let prefix = format!("DOWN ({} was last modified 30", live.display());
    assert!(r.stderr.starts_with(&prefix), "{}", r.stderr);
    assert!(
        r.stderr.ends_with("s ago, more than the allowed 1m)\n"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn tcp_targets_connect() {
    let up = Upstream::counting().await;
    let r = probe(&["check", &format!("tcp://{}", up.addr())], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("UP, "), "{}", r.stdout);
    let r = probe(&["check", &format!("tcp://127.0.0.1:{}", free_port())], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
}

#[tokio::test]
async fn output_stays_within_what_docker_keeps() {
    let long = format!("file:///tmp/{}", "x".repeat(8000));
    let r = probe(&["check", &long], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.len() < DOCKER_OUTPUT, "{} bytes", r.stderr.len());
    assert!(r.stderr.starts_with("DOWN (") && r.stderr.ends_with("...\n"));
}

#[tokio::test]
async fn bad_flag_values_exit_64_naming_the_flag_and_usage_errors_2() {
    let r = probe(&["check", "http://h/", "--timeout", "-1"], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(
        r.stderr
            .contains("--timeout: -1 is not a positive number of seconds"),
        "{}",
        r.stderr
    );
    let r = probe(&["check", "http://h/", "--max-age", "5"], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(
        r.stderr
            .contains("--max-age: only applies to file:// targets"),
        "{}",
        r.stderr
    );
    let r = probe(&["check", "--timeout", "soon"], &[]).await;
    assert_eq!(r.code, Some(64), "a bad value is 64 like any other: {r:?}");
    assert!(
        r.stderr
            .contains("--timeout: \"soon\" is not a number of seconds"),
        "{}",
        r.stderr
    );
    let r = probe(&["check", "--timeout"], &[]).await;
    assert_eq!(
        r.code,
        Some(2),
        "a flag without its value is a usage error: {r:?}"
    );
    let r = probe(&["check", "--no-such-flag"], &[]).await;
    assert_eq!(r.code, Some(2), "{r:?}");
}

#[tokio::test]
async fn bad_ports_exit_64_with_one_line_and_never_probe_port_80() {
    for url in [
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:65536/",
        "http://127.0.0.1:-1/",
        "http://127.0.0.1:abc/",
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1",
    ] {
        let r = probe(&["check", url], &[]).await;
        assert_eq!(r.code, Some(64), "{url}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{url}: {r:?}");
        assert!(r.stderr.contains("error: URL: "), "{url}: {r:?}");
    }
    let r = probe(&["check", "http://127.0.0.1:99999/"], &[]).await;
    assert!(
        r.stderr.contains(
            "invalid port \"99999\" (expected 1 to 65535) in URL http://127.0.0.1:99999/"
        ),
        "{r:?}"
    );
    let r = probe(&["check", "--endpoint", "http://u:s3cret@h:0/\r\nX"], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("error: --endpoint: "), "{r:?}");
    assert!(!r.stderr.contains("s3cret"), "{r:?}");
}

#[tokio::test]
async fn a_url_with_control_characters_is_one_escaped_line() {
    let r = probe(
        &["check", "http://u:s3cret@127.0.0.1:1/a\r\nX-Forged: 1"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("/a\\r\\nX-Forged: 1"), "{r:?}");
    assert!(!r.stderr.contains("s3cret"), "{r:?}");
}
