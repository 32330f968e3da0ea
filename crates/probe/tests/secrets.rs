//! No secret the configuration holds leaves the process, whatever an upstream echoes:
//! not in an answer's body (any dialect, any format), not in a log line, not in an exit
//! message. The upstreams here are hostile on purpose: each quotes back the credentials
//! it was sent (the `Authorization` header, the password it refused).

mod support;

use std::time::Duration;

use probe_core::text::base64;
use support::child;
use support::{probe, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An HTTP server that answers every request `500` with a Kafka Connect error document
/// whose message is the whole request it received, headers included.
async fn reflecting_http() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 8192 {
                    match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let echo = String::from_utf8_lossy(&got).replace("\r\n", " | ");
                let body = serde_json::json!({ "error_code": 500, "message": echo }).to_string();
                let resp = format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr.to_string()
}

/// A Redis stand-in that refuses every command quoting what it was sent, as a server
/// logging `ERR invalid password <password>` would.
async fn reflecting_redis() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await
                {
                    if n == 0 {
                        return;
                    }
                    let sent = String::from_utf8_lossy(&buf[..n]).replace("\r\n", " ");
                    let reply = format!("-ERR invalid password, you sent: {sent}\r\n");
                    if s.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr.to_string()
}

/// A PostgreSQL stand-in that answers the startup message with an `ErrorResponse`
/// quoting `secret`, as a proxy or a misconfigured server might.
async fn reflecting_postgres(secret: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
                let mut fields = Vec::new();
                for (code, text) in [
                    (b'S', "FATAL".to_owned()),
                    (b'V', "FATAL".to_owned()),
                    (b'C', "28P01".to_owned()),
                    (
                        b'M',
                        format!("password authentication failed: got {secret}"),
                    ),
                ] {
                    fields.push(code);
                    fields.extend_from_slice(text.as_bytes());
                    fields.push(0);
                }
                fields.push(0);
                let mut msg = vec![b'E'];
                msg.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
                msg.extend_from_slice(&fields);
                let _ = s.write_all(&msg).await;
            });
        }
    });
    addr.to_string()
}

/// Every form in which `secret` (used with `user`) could leak: itself, percent-encoded
/// and as the basic-auth header value.
fn forms(user: &str, secret: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        base64(format!("{user}:{secret}").as_bytes()),
    ]
}

fn assert_clean(what: &str, text: &str, secrets: &[Vec<String>]) {
    for s in secrets.iter().flatten() {
        assert!(!text.contains(s.as_str()), "{what} shows {s:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_secrets_are_absent_from_every_answer_and_log_line() {
    let connect = reflecting_http().await;
    let connect2 = reflecting_http().await;
    let redis = reflecting_redis().await;
    let pg = reflecting_postgres("pg-echo-pw-4").await;
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
dialects = ["kubernetes", "connect"]
details = "always"

[[check]]
name = "connect"
type = "kafka-connect"
url = "http://admin:connect-url-pw-1@{connect}"
probes = ["readiness"]

[[check]]
name = "connect-basic"
type = "kafka-connect"
url = "http://{connect2}"
basic_auth = "ops:connect-basic-pw-2"
probes = ["readiness"]

[[check]]
name = "celery"
type = "celery-ping"
broker = "redis://:celery-pw-3@{redis}/0"
worker = "celery@w"
probes = ["readiness"]

[[check]]
name = "pg"
type = "postgres-query"
url = "postgres://app:pg-echo-pw-4@{pg}/app"
probes = ["readiness"]

[[check]]
name = "pg-param"
type = "postgres-query"
url = "postgres://app@{pg}/app?password=pg-param-pw-5"
probes = ["readiness"]
"#
    );
    let secrets = [
        forms("admin", "connect-url-pw-1"),
        forms("ops", "connect-basic-pw-2"),
        forms("", "celery-pw-3"),
        forms("app", "pg-echo-pw-4"),
        forms("app", "pg-param-pw-5"),
    ];
    let dir = TempDir::new("secrets");
    let file = dir.join("probe.toml");
    std::fs::write(&file, config).unwrap();
    let file = file.to_string_lossy().into_owned();
    let running = child::start(&["--log-level", "debug", "serve", "--config", &file], &[]).await;
    // Each upstream must have been asked and have echoed: the answers name the failures.
    let (code, body) = running.get("/readyz?verbose").await;
    assert_eq!(code, 503, "{body}");
    for name in ["connect", "connect-basic", "celery", "pg", "pg-param"] {
        assert!(body.contains(&format!("[-]{name} failed")), "{body}");
    }
    assert!(
        body.contains("you sent"),
        "the Redis echo reached the message: {body}"
    );
    assert!(body.contains("password authentication failed"), "{body}");
    assert_clean("/readyz?verbose", &body, &secrets);
    for path in [
        "/",
        "/readyz/connect?verbose",
        "/readyz?format=json",
        "/livez?verbose",
    ] {
        let (_, body) = running.get(path).await;
        assert_clean(path, &body, &secrets);
    }
    let (_, json) = json_get(&running.addr, "/readyz").await;
    assert!(json.contains("\"checks\""), "{json}");
    assert_clean("/readyz as health+json", &json, &secrets);
    // The ERROR line of the Connect check and the rest of the log.
    running
        .log_line("Assuming unhealthy", Duration::from_secs(5))
        .await;
    assert_clean("the log", &running.log(), &secrets);
}

async fn json_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/health+json\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_check_never_prints_the_password_its_broker_echoes() {
    let redis = reflecting_redis().await;
    let broker = format!("redis://:worker-pw-6@{redis}/0");
    let run = probe(
        &[
            "worker-check",
            "--broker",
            &broker,
            "--worker-name",
            "celery@w",
            "--skip-event-loop-liveness",
        ],
        &[],
    )
    .await;
    assert!(matches!(run.code, Some(c) if c != 0), "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("refused AUTH"), "{all}");
    assert_clean("worker-check", &all, &[forms("", "worker-pw-6")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_never_show_a_secret() {
    let config_cases = [
        (
            "type = \"postgres-query\"\nurl = \"postgres://h/db?password=cfg-pw-7&bogus_option=1\"",
            "cfg-pw-7",
        ),
        (
            "type = \"postgres-query\"\nurl = \"host=h password=cfg-pw-8 dbname=x\"",
            "cfg-pw-8",
        ),
        (
            "type = \"postgres\"\nurl = \"postgres://u:cfg-pw-9@h/db?sslmode=require\"",
            "cfg-pw-9",
        ),
        (
            "type = \"kafka\"\nbootstrap = [\"user:cfg-pw-10@kafka:9092\"]",
            "cfg-pw-10",
        ),
        (
            "type = \"kafka-connect\"\nurl = \"http://u:cfg-pw-11@h:99999\"",
            "cfg-pw-11",
        ),
        (
            "type = \"redis\"\nurl = \"redis://:cfg-pw-12@a b\"",
            "cfg-pw-12",
        ),
    ];
    for (check, secret) in config_cases {
        let text = format!("[[check]]\nname = \"c\"\n{check}\n");
        let dir = TempDir::new("secret-config");
        let file = dir.join("probe.toml");
        std::fs::write(&file, &text).unwrap();
        let run = probe(&["serve", "--config", &file.to_string_lossy()], &[]).await;
        assert_eq!(run.code, Some(64), "{text}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{text}: {}", run.stderr);
        assert!(!run.stderr.contains(secret), "{text}: {}", run.stderr);
    }
    let run = probe(
        &["kpow"],
        &[("BOOTSTRAP", "svc:env-pw-13@kafka:9092"), ("PORT", "0")],
    )
    .await;
    assert_eq!(run.code, Some(64), "{run:?}");
    assert!(run.stderr.contains("BOOTSTRAP"), "{}", run.stderr);
    assert!(!run.stderr.contains("env-pw-13"), "{}", run.stderr);
    let run = probe(
        &[
            "connect",
            "--connect-url",
            "http://u:flag-pw-14@127.0.0.1:99999",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(64), "{run:?}");
    assert!(!run.stderr.contains("flag-pw-14"), "{}", run.stderr);
}
