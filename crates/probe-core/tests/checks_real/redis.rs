//! `redis` against the system Redis and private redis-server instances.

use probe_core::checks::RedisCheck;
use probe_core::Status;

use crate::servers::PrivateRedis;
use crate::support::{
    assert_no_secret, assert_status, free_port, message, require_system, run, tool,
};

#[tokio::test]
async fn the_system_redis_answers_pong_in_every_database_it_has() {
    require_system("Redis", 6379);
    let o = run(&RedisCheck::new("redis://127.0.0.1:6379").unwrap()).await;
    assert_status(&o, Status::Pass);
    assert_eq!(message(&o), "127.0.0.1:6379 answered PONG");
    assert_status(
        &run(&RedisCheck::new("redis://127.0.0.1:6379/15").unwrap()).await,
        Status::Pass,
    );

    let o = run(&RedisCheck::new("redis://127.0.0.1:6379/9999").unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(
        message(&o).contains("refused SELECT: ERR DB index is out of range"),
        "{o:?}"
    );
}

#[tokio::test]
async fn wrong_or_missing_credentials_fail_with_what_redis_said_and_no_secret() {
    let server = PrivateRedis::start(&["--requirepass", "right-pass-123"]);
    let p = server.port;

    let o = run(&RedisCheck::new(&format!("redis://127.0.0.1:{p}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("NOAUTH"), "{o:?}");

    let o = run(&RedisCheck::new(&format!("redis://:wrong-pass-456@127.0.0.1:{p}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("refused AUTH: WRONGPASS"), "{o:?}");
    assert_no_secret(&o, "wrong-pass-456");

    let o =
        run(&RedisCheck::new(&format!("redis://:right-pass-123@127.0.0.1:{p}/3")).unwrap()).await;
    assert_status(&o, Status::Pass);
    assert_no_secret(&o, "right-pass-123");
}

#[tokio::test]
async fn an_acl_user_authenticates_with_its_name() {
    let server = PrivateRedis::start(&[]);
    let p = server.port.to_string();
    let (code, out) = tool(
        "redis-cli",
        &[
            "-p",
            &p,
            "ACL",
            "SETUSER",
            "alice",
            "on",
            ">alice%pw",
            "~*",
            "+@all",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "OK"));

    let url = format!("redis://alice:alice%25pw@127.0.0.1:{p}");
    assert_status(&run(&RedisCheck::new(&url).unwrap()).await, Status::Pass);

    let o =
        run(&RedisCheck::new(&format!("redis://alice:not-alice-pw@127.0.0.1:{p}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("WRONGPASS"), "{o:?}");
    assert_no_secret(&o, "not-alice-pw");
}

#[tokio::test]
async fn nothing_listening_fails_at_once() {
    let port = free_port();
    let started = std::time::Instant::now();
    let o = run(&RedisCheck::new(&format!("redis://127.0.0.1:{port}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("connection refused"), "{o:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn a_stopped_server_fails_and_passes_again_once_restarted() {
    let mut server = PrivateRedis::start(&[]);
    let check = RedisCheck::new(&server.url()).unwrap();
    assert_status(&run(&check).await, Status::Pass);
    server.down();
    assert_status(&run(&check).await, Status::Fail);
    server.up();
    assert_status(&run(&check).await, Status::Pass);
}

/// `redis-cli ping` exits 0 whenever the server answers, even with `NOAUTH`: what operators
/// test is that it prints `PONG`. The check passes exactly when it does, and fails whenever
/// redis-cli exits non-zero.
#[tokio::test]
async fn the_check_agrees_with_redis_cli_ping() {
    require_system("Redis", 6379);
    let mut open = PrivateRedis::start(&[]);
    let locked = PrivateRedis::start(&["--requirepass", "agree-pass"]);
    let (open_port, locked_port) = (open.port, locked.port);
    let mut rows = vec![
        ("system redis, up", 6379, None),
        ("private redis, up", open_port, None),
        ("requirepass, no AUTH", locked_port, None),
        ("requirepass, right AUTH", locked_port, Some("agree-pass")),
        ("requirepass, wrong AUTH", locked_port, Some("wrong-agree")),
        ("nothing listening", free_port(), None),
    ];
    let mut table = Vec::new();
    for (state, port, pass) in rows.drain(..) {
        table.push(agreement(state, port, pass).await);
    }
    open.down();
    table.push(agreement("private redis, stopped", open_port, None).await);
    open.up();
    table.push(agreement("private redis, restarted", open_port, None).await);

    println!("state | redis-cli exit | redis-cli output | check");
    for (state, code, out, status) in &table {
        println!("{state} | {code} | {out} | {status}");
    }
    for (state, code, out, status) in &table {
        assert_eq!(
            *status == Status::Pass,
            out == "PONG",
            "{state}: redis-cli printed {out:?}, the check said {status}"
        );
        if *code != 0 {
            assert_eq!(*status, Status::Fail, "{state}: redis-cli exited {code}");
        }
    }
}

async fn agreement(
    state: &'static str,
    port: u16,
    pass: Option<&str>,
) -> (&'static str, i32, String, Status) {
    let p = port.to_string();
    let mut args = vec!["-h", "127.0.0.1", "-p", &p];
    if let Some(pass) = pass {
        args.extend(["--no-auth-warning", "-a", pass]);
    }
    args.push("ping");
    let (code, out) = tool("redis-cli", &args);
    let url = match pass {
        Some(pass) => format!("redis://:{pass}@127.0.0.1:{port}"),
        None => format!("redis://127.0.0.1:{port}"),
    };
    let status = run(&RedisCheck::new(&url).unwrap()).await.status;
    (state, code, out, status)
}

#[tokio::test]
async fn the_write_mode_sets_reads_and_deletes_its_own_key() {
    let server = PrivateRedis::start(&[]);
    let p = server.port;
    let check = RedisCheck::new(&format!("redis://127.0.0.1:{p}/2"))
        .unwrap()
        .write_round_trip(std::time::Duration::from_secs(5));
    let o = run(&check).await;
    assert_status(&o, Status::Pass);
    assert_eq!(
        message(&o),
        format!("127.0.0.1:{p} took, returned and deleted a key")
    );
    // Nothing is left behind, in that database or any other.
    let (code, out) = tool("redis-cli", &["-p", &p.to_string(), "-n", "2", "dbsize"]);
    assert_eq!((code, out.trim()), (0, "0"));
}

#[tokio::test]
async fn a_full_redis_under_noeviction_answers_ping_but_fails_the_write_mode() {
    // Any used memory is past a 1-byte limit: every write is refused, PING still answers.
    let server = PrivateRedis::start(&["--maxmemory", "1", "--maxmemory-policy", "noeviction"]);
    let url = format!("redis://127.0.0.1:{}", server.port);
    assert_status(&run(&RedisCheck::new(&url).unwrap()).await, Status::Pass);
    let o = run(&RedisCheck::new(&url)
        .unwrap()
        .write_round_trip(std::time::Duration::from_secs(5)))
    .await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("refused SET: OOM"), "{o:?}");
}

#[tokio::test]
async fn a_read_only_replica_fails_the_write_mode() {
    let primary = PrivateRedis::start(&[]);
    let replica = PrivateRedis::start(&["--replicaof", "127.0.0.1", &primary.port.to_string()]);
    let o = run(
        &RedisCheck::new(&format!("redis://127.0.0.1:{}", replica.port))
            .unwrap()
            .write_round_trip(std::time::Duration::from_secs(5)),
    )
    .await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("refused SET: READONLY"), "{o:?}");
}
