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

/// A proxy stand-in on loopback: records the head of the first request it gets and
/// answers it with `answer` (a whole HTTP/1.1 response), then closes.
async fn proxy_once(answer: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut s, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
            .await
            .expect("the proxy was asked within 20 s")
            .unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        s.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    (port, task)
}

#[tokio::test]
async fn a_target_off_loopback_goes_through_the_environments_proxy() {
    let (port, seen) =
        proxy_once("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    let proxy = format!("http://proxy-user:proxy-pw@127.0.0.1:{port}");
    // The name need not resolve: only the proxy is asked.
    let r = probe(
        &[
            "check",
            "--endpoint=http://klant.example.org/_healthz/readyz/",
        ],
        &[("HTTP_PROXY", &proxy)],
    )
    .await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "UP, response status code: 200\n");
    let head = seen.await.unwrap();
    assert!(
        head.starts_with("GET http://klant.example.org/_healthz/readyz/ HTTP/1.1\r\n"),
        "{head}"
    );
    // proxy-user:proxy-pw
    assert!(
        head.contains("proxy-authorization: Basic cHJveHktdXNlcjpwcm94eS1wdw==\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_and_a_refusal_is_down() {
    let (port, seen) = proxy_once("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
    let proxy = format!("127.0.0.1:{port}");
    let r = probe(
        &["check", "https://klant.example.org/_healthz/"],
        &[
            ("HTTPS_PROXY", &proxy),
            ("HTTP_PROXY", "http://127.0.0.1:1"),
        ],
    )
    .await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("it refused CONNECT klant.example.org:443 with 403"),
        "{r:?}"
    );
    assert!(seen
        .await
        .unwrap()
        .starts_with("CONNECT klant.example.org:443 HTTP/1.1\r\n"));
}

#[tokio::test]
async fn loopback_and_no_proxy_targets_are_asked_directly() {
    let up = Upstream::counting().await;
    // A proxy that is not there: going through it would fail the check.
    let dead = format!("http://127.0.0.1:{}", free_port());
    for env in [
        vec![("HTTP_PROXY", dead.as_str())],
        vec![("http_proxy", dead.as_str()), ("NO_PROXY", "*")],
    ] {
        let r = probe(&["check", &up.url("/")], &env).await;
        assert_eq!(r.code, Some(0), "{env:?}: {r:?}");
    }
    let r = probe(
        &["check", "http://localhost:1/"],
        &[("HTTP_PROXY", "socks5://p:1")],
    )
    .await;
    assert_eq!(r.code, Some(64), "{r:?}");
    assert!(
        r.stderr.contains(
            "HTTP_PROXY: invalid URL: socks5://p:1 (a proxy is asked over plain http://)"
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_endpoint_with_only_a_query_keeps_the_default_path() {
    let up = Upstream::counting().await;
    let endpoint = format!("--endpoint=127.0.0.1:{}?format=json", up.addr().port());
    let r = probe(&["check", &endpoint], &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(up.hits(), 1);
}
