//! Every check against servers that misbehave: garbage, an endless answer, a closed
//! connection, silence (cut off by the engine's timeout), and the error answers real
//! servers give in states a test cannot easily produce (LOADING, too many connections).

use std::sync::Arc;
use std::time::{Duration, Instant};

use probe_core::checks::{AmqpCheck, MemcachedCheck, MysqlCheck, PostgresCheck, RedisCheck};
use probe_core::{Check, Health, Policy, Probe, Select, Status};

use crate::fakes::{serve, Script};
use crate::support::{message, run};

const HTTP: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

/// The five hand-written checks, each aimed at `port`.
fn all_checks(port: u16) -> Vec<(&'static str, Arc<dyn Check>)> {
    vec![
        (
            "redis",
            Arc::new(RedisCheck::new(&format!("redis://127.0.0.1:{port}")).unwrap()),
        ),
        (
            "postgres",
            Arc::new(PostgresCheck::new(&format!("postgres://127.0.0.1:{port}")).unwrap()),
        ),
        (
            "mysql",
            Arc::new(MysqlCheck::new(&format!("mysql://127.0.0.1:{port}")).unwrap()),
        ),
        (
            "amqp",
            Arc::new(AmqpCheck::new(&format!("amqp://127.0.0.1:{port}")).unwrap()),
        ),
        (
            "memcached",
            Arc::new(MemcachedCheck::new(&format!("memcached://127.0.0.1:{port}")).unwrap()),
        ),
    ]
}

#[tokio::test]
async fn garbage_answers_fail_with_a_plain_message() {
    let reply = serve(Script::Reply(HTTP.to_vec())).await;
    let greet = serve(Script::Greet(HTTP.to_vec())).await;
    let expected = [
        ("redis", reply, "not a RESP reply"),
        ("postgres", reply, "no response"),
        ("mysql", greet, "did not greet"),
        ("amqp", reply, "not an AMQP answer"),
        (
            "memcached",
            reply,
            "unexpected answer `HTTP/1.1 400 Bad Request`",
        ),
    ];
    for (name, port, text) in expected {
        let check = all_checks(port)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        let o = run(&*check).await;
        assert_eq!(o.status, Status::Fail, "{name}: {o:?}");
        assert!(message(&o).contains(text), "{name}: {o:?}");
    }
}

#[tokio::test]
async fn endless_answers_are_cut_off_at_a_bound() {
    let cases: [(&str, &[u8], &str); 5] = [
        ("redis", b"+", "exceeds the limit"),
        ("postgres", b"E\0\0\x70\0", "no response"),
        ("mysql", b"\xff\xff\0\0", "not as MySQL"),
        ("amqp", b"\x01\0\0\0\0\xff\0", "frame-end"),
        ("memcached", b"", "longer than 1024 bytes"),
    ];
    for (name, prefix, text) in cases {
        let port = serve(Script::Flood(prefix.to_vec())).await;
        let check = all_checks(port)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        let started = Instant::now();
        let o = run(&*check).await;
        assert_eq!(o.status, Status::Fail, "{name}: {o:?}");
        assert!(message(&o).contains(text), "{name}: {o:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_fails() {
    let port = serve(Script::Close).await;
    for (name, check) in all_checks(port) {
        let o = run(&*check).await;
        assert_eq!(o.status, Status::Fail, "{name}: {o:?}");
        let m = message(&o);
        assert!(
            m.contains("closed") || m.contains("reset") || m.contains("no response"),
            "{name}: {m}"
        );
    }
}

/// A server that accepts and says nothing: the engine's timeout fails each check in time.
#[tokio::test]
async fn silence_fails_within_the_engine_timeout() {
    let port = serve(Script::Silent).await;
    let mut builder = Health::builder();
    for (name, check) in all_checks(port) {
        builder = builder
            .check(
                name,
                check,
                [Probe::Readiness],
                Policy::default().timeout(Duration::from_millis(300)),
            )
            .unwrap();
    }
    let health = builder.build().unwrap();
    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        health.evaluate(Probe::Readiness, &Select::All),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.status, Status::Fail);
    assert_eq!(report.checks.len(), 5);
    for c in &report.checks {
        assert_eq!(c.status, Status::Fail, "{}: {c:?}", c.name);
        assert!(
            c.message.as_deref().unwrap_or("").contains("timed out"),
            "{}: {c:?}",
            c.name
        );
    }
}

#[tokio::test]
async fn redis_errors_are_reported_as_redis_said_them() {
    let loading = serve(Script::Reply(
        b"-LOADING Redis is loading the dataset in memory\r\n".to_vec(),
    ))
    .await;
    let o = run(&RedisCheck::new(&format!("redis://127.0.0.1:{loading}")).unwrap()).await;
    assert_eq!(o.status, Status::Fail);
    assert_eq!(
        message(&o),
        format!("redis: 127.0.0.1:{loading} refused PING: LOADING Redis is loading the dataset in memory")
    );
    let ok = serve(Script::Reply(b"+OK\r\n".to_vec())).await;
    let o = run(&RedisCheck::new(&format!("redis://127.0.0.1:{ok}")).unwrap()).await;
    assert_eq!(o.status, Status::Fail);
    assert!(message(&o).ends_with("answered PING with OK"), "{o:?}");
}

#[tokio::test]
async fn postgres_errors_follow_libpq() {
    fn error(fields: &[u8]) -> Vec<u8> {
        let mut m = vec![b'E'];
        m.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(fields);
        m
    }
    let too_many = serve(Script::Reply(error(
        b"SFATAL\0C53300\0Msorry, too many clients already\0\0",
    )))
    .await;
    let o = run(&PostgresCheck::new(&format!("postgres://127.0.0.1:{too_many}")).unwrap()).await;
    assert_eq!(
        o.status,
        Status::Pass,
        "any SQLSTATE but 57P03 means up: {o:?}"
    );
    assert_eq!(o.details.unwrap()["sqlstate"], "53300");

    let no_code = serve(Script::Reply(error(b"SFATAL\0Mout of memory\0\0"))).await;
    let o = run(&PostgresCheck::new(&format!("postgres://127.0.0.1:{no_code}")).unwrap()).await;
    assert_eq!(message(&o), format!("127.0.0.1:{no_code} - no response"));
}

#[tokio::test]
async fn a_mysql_server_refusing_at_greeting_is_alive_but_warns() {
    let too_many = serve(Script::Greet(
        b"\x17\0\0\0\xff\x10\x04Too many connections".to_vec(),
    ))
    .await;
    let o = run(&MysqlCheck::new(&format!("mysql://127.0.0.1:{too_many}")).unwrap()).await;
    assert_eq!(o.status, Status::Warn, "{o:?}");
    assert_eq!(
        message(&o),
        format!(
            "127.0.0.1:{too_many} - alive, but refusing connections: 1040 Too many connections"
        )
    );
    let v9 = serve(Script::Greet(b"\x06\0\0\0\x093.23\0".to_vec())).await;
    let o = run(&MysqlCheck::new(&format!("mysql://127.0.0.1:{v9}")).unwrap()).await;
    assert_eq!(o.status, Status::Fail);
    assert!(
        message(&o).contains("unsupported protocol version 9"),
        "{o:?}"
    );
}

#[tokio::test]
async fn memcached_error_lines_fail() {
    let port = serve(Script::Reply(b"SERVER_ERROR out of memory\r\n".to_vec())).await;
    let o = run(&MemcachedCheck::new(&format!("memcached://127.0.0.1:{port}")).unwrap()).await;
    assert_eq!(o.status, Status::Fail);
    assert!(
        message(&o).ends_with("answered `version` with SERVER_ERROR out of memory"),
        "{o:?}"
    );
}

/// The peak of this process's resident memory so far (`VmHWM`), in bytes.
#[cfg(feature = "postgres-query")]
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line");
    kib * 1024
}

/// A peer that answers the startup with an error message announcing 2 GiB, then streams
/// bytes: the tokio-postgres checks fail with a plain message within their timeout, and
/// this process's memory does not grow by more than a few MB.
#[cfg(feature = "postgres-query")]
#[tokio::test]
async fn a_postgres_peer_announcing_a_huge_message_fails_the_session_checks_cheaply() {
    use probe_core::checks::{PostgresMigrationsCheck, PostgresQueryCheck};
    use probe_core::evaluators::migrations::MigrationTable;

    const HUGE: &[u8] = b"E\x7f\xff\xff\xff";
    let port = serve(Script::Stream(HUGE.to_vec())).await;
    let url = format!("postgres://app:pw@127.0.0.1:{port}/app");
    let checks: [(&str, Arc<dyn Check>); 2] = [
        ("query", Arc::new(PostgresQueryCheck::new(&url).unwrap())),
        (
            "migrations",
            Arc::new(PostgresMigrationsCheck::new(&url, MigrationTable::sqlx(), "1").unwrap()),
        ),
    ];
    let before = peak_memory();
    for (name, check) in checks {
        let health = Health::builder()
            .check(
                name,
                check,
                [Probe::Readiness],
                Policy::default().timeout(Duration::from_secs(5)),
            )
            .unwrap()
            .build()
            .unwrap();
        let report = tokio::time::timeout(
            Duration::from_secs(20),
            health.evaluate(Probe::Readiness, &Select::All),
        )
        .await
        .expect("the engine answers within its deadline");
        let c = &report.checks[0];
        assert_eq!(c.status, Status::Fail, "{name}: {c:?}");
        assert_eq!(
            c.message.as_deref(),
            Some(
                format!(
                    "cannot open a session on 127.0.0.1:{port}/app: \
                     PostgreSQL sent a 2147483647-byte message (limit 1 MiB)"
                )
                .as_str()
            ),
            "{name}"
        );
    }
    let grown = peak_memory().saturating_sub(before);
    assert!(
        grown < 64 << 20,
        "the peak memory grew by {} MiB",
        grown >> 20
    );
}
