//! `postgres` (pg_isready semantics) against the system PostgreSQL and private clusters,
//! each state compared with `pg_isready` itself.

use std::time::{Duration, Instant};

use probe_core::checks::postgres::PingStatus;
use probe_core::checks::PostgresCheck;
use probe_core::Status;

use crate::fakes::{serve, Script};
use crate::servers::{open_pg_session, PrivatePg};
use crate::support::{
    assert_no_secret, free_port, message, port_open, require_system, run, tool, wait_until,
    SERVER_LIMIT,
};

/// Runs `pg_isready` and the check against the same port and user; returns both verdicts
/// as pg_isready exit codes, with the check's message.
async fn both(port: u16, user: &str) -> (i32, i32, String) {
    let p = port.to_string();
    let (code, _) = tool(
        "pg_isready",
        &["-h", "127.0.0.1", "-p", &p, "-U", user, "-d", "postgres"],
    );
    let check = PostgresCheck::new(&format!(
        "postgres://{user}:never-sent@127.0.0.1:{port}/postgres"
    ))
    .unwrap();
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), check.ping())
        .await
        .unwrap();
    let o = run(&check).await;
    assert_eq!(o.status == Status::Pass, status == PingStatus::Accepting);
    assert_no_secret(&o, "never-sent");
    (code, status.exit_code(), message(&o).to_owned())
}

#[tokio::test]
async fn the_system_server_is_accepting_connections() {
    require_system("PostgreSQL", 5432);
    let o = run(&PostgresCheck::new("postgres://127.0.0.1:5432").unwrap()).await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    assert_eq!(message(&o), "127.0.0.1:5432 - accepting connections");
    // An unknown role or database is still a server accepting connections, as for pg_isready.
    for user in ["postgres", "no_such_role_here"] {
        let (tool_code, check_code, msg) = both(5432, user).await;
        assert_eq!((tool_code, check_code), (0, 0), "{user}: {msg}");
    }
}

#[tokio::test]
async fn nothing_listening_is_no_response() {
    let port = free_port();
    let started = Instant::now();
    let (tool_code, check_code, msg) = both(port, "postgres").await;
    assert_eq!((tool_code, check_code), (2, 2));
    assert_eq!(msg, format!("127.0.0.1:{port} - no response"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_silent_server_is_no_response_within_the_connect_timeout() {
    let port = serve(Script::Silent).await;
    let check = PostgresCheck::new(&format!("postgres://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let o = run(&check).await;
    assert_eq!(message(&o), format!("127.0.0.1:{port} - no response"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_password_protected_server_accepts_without_any_password_being_sent() {
    let pg = PrivatePg::with_password("cluster-secret");
    let (tool_code, check_code, msg) = both(pg.port, "postgres").await;
    assert_eq!((tool_code, check_code), (0, 0), "{msg}");
    let o = run(&PostgresCheck::new(&pg.url("postgres:cluster-secret")).unwrap()).await;
    assert_no_secret(&o, "cluster-secret");
    assert_eq!(
        o.details.unwrap()["authentication_request"],
        10,
        "SASL expected"
    );
}

#[tokio::test]
async fn a_stopped_cluster_is_no_response_then_accepting_again() {
    let pg = PrivatePg::start();
    assert_eq!(both(pg.port, "postgres").await.0, 0);
    pg.stop("fast", true);
    let (tool_code, check_code, msg) = both(pg.port, "postgres").await;
    assert_eq!((tool_code, check_code), (2, 2), "{msg}");
    pg.up();
    let (tool_code, check_code, msg) = both(pg.port, "postgres").await;
    assert_eq!((tool_code, check_code), (0, 0), "{msg}");
}

/// A smart shutdown waits for open sessions and refuses new ones with 57P03, and so does a
/// standby in recovery with hot_standby off: pg_isready says "rejecting connections"
/// (exit 1), and so must the check. Prints the agreement table.
#[tokio::test]
async fn the_check_agrees_with_pg_isready_through_shutdown_and_recovery() {
    require_system("PostgreSQL", 5432);
    let pg = PrivatePg::with_password("agree-secret");
    let port = pg.port;
    let mut table = Vec::new();
    table.push(("system server, up", both(5432, "postgres").await));
    table.push((
        "private cluster, password auth",
        both(port, "postgres").await,
    ));
    table.push((
        "private cluster, unknown role",
        both(port, "nobody_here").await,
    ));

    // The session that holds the shutdown open needs trust authentication.
    let trust = PrivatePg::start();
    let stream = open_pg_session(trust.port);
    trust.stop("smart", false);
    wait_until("the smart shutdown to begin", SERVER_LIMIT, || {
        let p = trust.port.to_string();
        tool("pg_isready", &["-h", "127.0.0.1", "-p", &p]).0 == 1
    });
    let rejecting = both(trust.port, "postgres").await;
    table.push(("smart shutdown with a session open", rejecting.clone()));
    let details =
        run(&PostgresCheck::new(&format!("postgres://127.0.0.1:{}", trust.port)).unwrap())
            .await
            .details
            .unwrap();
    assert_eq!(details["sqlstate"], "57P03", "{details}");

    drop(stream);
    wait_until("the cluster to finish stopping", SERVER_LIMIT, || {
        !port_open(trust.port)
    });
    table.push(("stopped", both(trust.port, "postgres").await));
    trust.up();
    table.push(("started again", both(trust.port, "postgres").await));
    // A standby with hot_standby off stays in recovery and refuses sessions with 57P03.
    trust.stop("fast", true);
    trust.set_standby(true);
    trust.up_with("-c hot_standby=off");
    let recovering = both(trust.port, "postgres").await;
    table.push(("standby in recovery, hot_standby off", recovering.clone()));
    trust.stop("fast", true);
    trust.set_standby(false);
    trust.up();
    table.push((
        "promoted back to a primary",
        both(trust.port, "postgres").await,
    ));
    table.push(("nothing listening", both(free_port(), "postgres").await));

    println!("state | pg_isready exit | check (as exit code) | check message");
    for (state, (tool_code, check_code, msg)) in &table {
        println!("{state} | {tool_code} | {check_code} | {msg}");
    }
    for (state, (tool_code, check_code, _)) in &table {
        assert_eq!(tool_code, check_code, "{state}");
    }
    assert_eq!(rejecting.1, 1, "the smart shutdown must show as rejecting");
    assert!(
        rejecting.2.ends_with(" - rejecting connections"),
        "{}",
        rejecting.2
    );
    assert_eq!(
        recovering.1, 1,
        "a standby in recovery must show as rejecting"
    );
}
