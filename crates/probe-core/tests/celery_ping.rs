//! The Celery control ping against a real Celery worker on the shared Redis, and against
//! private or broken Redis servers for the failure cases.

mod support;

use std::time::Duration;

use probe_core::celery::{CeleryPing, PingAnswer, PingError};
use probe_core::checks::CeleryPingCheck;
use probe_core::{Health, Policy, Probe, Select, Status};
use probe_testkit::celery::CeleryWorker;
use support::redis::{command, PrivateRedis};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

const T: Duration = Duration::from_secs(10);
/// The database the real worker uses on the shared Redis, away from everyone else's.
const DB: u32 = 9;

async fn ping(p: &CeleryPing) -> Result<PingAnswer, PingError> {
    timeout(T, p.ping())
        .await
        .expect("the ping kept its own timeout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_answers_to_its_own_name_only() {
    // A Redis of its own: the reply bindings counted below are this test's alone, whoever
    // else uses the shared server meanwhile.
    let redis = PrivateRedis::start(None).await;
    let server = redis.addr();
    let name = format!("probe-test-{}@localhost", std::process::id());
    let broker = format!("redis://{server}/{DB}");
    let mut worker = CeleryWorker::start(&name, &broker).await;
    let bindings = "SCARD _kombu.binding.reply.celery.pidbox";
    let permanent = "SCARD _kombu.binding_permanent.reply.celery.pidbox";
    let before = (
        command(&server, DB, bindings).await,
        command(&server, DB, permanent).await,
    );

    // Answered, every time, well within the timeout.
    let p = CeleryPing::new(&broker, &name).unwrap();
    let mut times = Vec::new();
    for _ in 0..21 {
        match ping(&p).await {
            Ok(PingAnswer::Pong { elapsed }) => times.push(elapsed),
            other => panic!("expected pong, got {other:?}\n{}", worker.log_text()),
        }
    }
    times.sort();
    eprintln!(
        "celery ping round trip over {} runs: median {:?}, max {:?}",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert!(times[times.len() / 2] < Duration::from_secs(1));

    // The same through the engine, as a readiness check.
    let health = Health::builder()
        .check(
            "worker",
            CeleryPingCheck::new(&broker, &name).unwrap(),
            [Probe::Readiness],
            Policy {
                timeout: Duration::from_secs(4),
                ..Policy::default()
            },
        )
        .unwrap()
        .build()
        .unwrap();
    let report = timeout(T, health.evaluate(Probe::Readiness, &Select::All))
        .await
        .unwrap();
    assert_eq!(report.status, Status::Pass, "{report:?}");

    // Another name: the worker hears the request but does not answer it.
    let wrong = CeleryPing::new(&broker, "nobody@nowhere")
        .unwrap()
        .timeout(Duration::from_secs(1));
    let started = Instant::now();
    match ping(&wrong).await {
        Ok(PingAnswer::NoReply { listeners, waited }) => {
            assert!(listeners >= 1, "the worker did not receive the request");
            assert!(
                waited >= Duration::from_secs(1),
                "gave up early: {waited:?}"
            );
        }
        other => panic!("expected no reply, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));

    // Every ping removed its reply binding again.
    let after = (
        command(&server, DB, bindings).await,
        command(&server, DB, permanent).await,
    );
    assert_eq!(before, after, "reply bindings left behind");

    // The worker is gone: no answer.
    worker.kill();
    let answer = ping(&p.clone().timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(!answer.replied(), "{answer:?}");
}

#[tokio::test]
async fn without_a_worker_the_ping_says_so_and_a_dead_redis_is_an_error() {
    let mut redis = PrivateRedis::start(Some("s3cret")).await;
    let addr = redis.addr();
    let url = format!("redis://:s3cret@{addr}/0");

    // Nobody subscribed: the answer comes at once, without waiting the timeout out.
    let p = CeleryPing::new(&url, "celery@nowhere")
        .unwrap()
        .timeout(Duration::from_secs(3));
    let started = Instant::now();
    match ping(&p).await {
        Ok(PingAnswer::NoReply { listeners: 0, .. }) => {}
        other => panic!("expected no listeners, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1));

    // A subscriber that never answers (a worker whose loop hangs): the full timeout.
    let mut hung = TcpStream::connect(&addr).await.unwrap();
    hung.write_all(b"AUTH s3cret\r\nPSUBSCRIBE /0.celery.pidbox\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("psubscribe") {
        let n = timeout(T, hung.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&buf[..n]);
    }
    let p = p.timeout(Duration::from_millis(700));
    match ping(&p).await {
        Ok(PingAnswer::NoReply {
            listeners: 1,
            waited,
        }) => {
            assert!(waited >= Duration::from_millis(700));
        }
        other => panic!("expected one silent listener, got {other:?}"),
    }
    drop(hung);

    // A wrong password, or none: refused, and the password never shows.
    let e = ping(&CeleryPing::new(&format!("redis://:wrong-pw@{addr}/0"), "celery@x").unwrap())
        .await
        .unwrap_err();
    let message = e.to_string();
    assert!(
        message.starts_with(&format!("redis at {addr} refused AUTH: ")),
        "{message}"
    );
    assert!(!message.contains("wrong-pw"));
    let e = ping(&CeleryPing::new(&format!("redis://{addr}/0"), "celery@x").unwrap())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("redis at {addr} refused SELECT: NOAUTH")),
        "{e}"
    );

    // Redis is down.
    redis.stop();
    let e = ping(&CeleryPing::new(&url, "celery@nowhere").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cannot connect to redis at {addr}: connection refused")
    );
}

#[tokio::test]
async fn a_server_that_is_not_redis_fails_plainly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..2 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                let _ = s.read(&mut buf).await;
            });
        }
    });
    let p = CeleryPing::new(&format!("redis://{addr}/0"), "celery@x").unwrap();
    let e = ping(&p).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("redis at {addr} sent an invalid reply to SELECT: unexpected type byte 'H'")
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_off_at_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    });
    let p = CeleryPing::new(&format!("redis://{addr}/3"), "celery@x")
        .unwrap()
        .timeout(Duration::from_millis(500));
    let started = Instant::now();
    let e = ping(&p).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("redis at {addr} did not answer SELECT within 500ms")
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    held.abort();
}

/// Serves one connection per reply: reads the first command, answers it with the reply
/// (none: closes the connection), then holds the connection until the client leaves.
async fn broken_redis(replies: Vec<&'static [u8]>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for reply in replies {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                if reply.is_empty() {
                    return;
                }
                let _ = s.write_all(reply).await;
                let _ = s.read(&mut buf).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn replies_past_the_bounds_or_a_closed_connection_fail_plainly() {
    let replies: Vec<&[u8]> = vec![
        b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
        b"*2000\r\n",
        b"$300000\r\n",
        b"",
    ];
    let addr = broken_redis(replies).await;
    let p = CeleryPing::new(&format!("redis://{addr}/0"), "celery@x").unwrap();
    for reason in [
        "arrays nested too deep",
        "array of more than 1024 elements",
        "reply larger than 262144 bytes",
    ] {
        assert_eq!(
            ping(&p).await.unwrap_err().to_string(),
            format!("redis at {addr} sent an invalid reply to SELECT: {reason}")
        );
    }
    assert_eq!(
        ping(&p).await.unwrap_err().to_string(),
        format!("connection to redis at {addr} failed during SELECT: connection closed")
    );
}
