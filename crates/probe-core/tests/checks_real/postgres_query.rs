//! `postgres-query` against the system PostgreSQL and a private password-protected cluster.

use std::time::{Duration, Instant};

use probe_core::checks::PostgresQueryCheck;
use probe_core::Status;

use crate::servers::PrivatePg;
use crate::support::{assert_no_secret, assert_status, free_port, message, require_system, run};

#[tokio::test]
async fn select_1_and_a_configured_query_run_on_the_system_server() {
    require_system("PostgreSQL", 5432);
    let url = "postgres://postgres@127.0.0.1:5432/postgres";
    let o = run(&PostgresQueryCheck::new(url).unwrap()).await;
    assert_status(&o, Status::Pass);
    assert_eq!(
        message(&o),
        "`SELECT 1` succeeded on 127.0.0.1:5432/postgres"
    );
    assert_eq!(o.details.unwrap()["rows"], 1);

    let o = run(&PostgresQueryCheck::new(url)
        .unwrap()
        .query("SELECT generate_series(1, 5000)"))
    .await;
    assert_status(&o, Status::Pass);
    assert_eq!(
        o.details.unwrap()["rows"],
        1000,
        "rows are read up to a cap"
    );

    let o = run(&PostgresQueryCheck::new(url).unwrap().query("SELECT 1/0")).await;
    assert_status(&o, Status::Fail);
    assert!(
        message(&o).contains("division by zero (SQLSTATE 22012)"),
        "{o:?}"
    );

    let o = run(&PostgresQueryCheck::new("postgres://postgres@127.0.0.1:5432/no_such_db").unwrap())
        .await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("3D000"), "{o:?}");
}

#[tokio::test]
async fn a_wrong_password_fails_with_the_server_reason_and_no_secret() {
    let pg = PrivatePg::with_password("p@ss word!");
    let good = pg.url("postgres:p%40ss%20word%21");
    assert_status(
        &run(&PostgresQueryCheck::new(&good).unwrap()).await,
        Status::Pass,
    );

    let o = run(&PostgresQueryCheck::new(&pg.url("postgres:wrong-pw-789")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(
        message(&o).contains("password authentication failed"),
        "{o:?}"
    );
    assert!(message(&o).contains("28P01"), "{o:?}");
    assert_no_secret(&o, "wrong-pw-789");

    let o = run(&PostgresQueryCheck::new(&pg.url("postgres")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("password"), "{o:?}");
}

#[tokio::test]
async fn nothing_listening_fails_at_once() {
    let port = free_port();
    let started = Instant::now();
    let o =
        run(&PostgresQueryCheck::new(&format!("postgres://u:pw-x1@127.0.0.1:{port}/db")).unwrap())
            .await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("connection refused"), "{o:?}");
    assert_no_secret(&o, "pw-x1");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_stopped_cluster_fails_and_passes_again_once_restarted() {
    let pg = PrivatePg::start();
    let check = PostgresQueryCheck::new(&pg.url("postgres")).unwrap();
    assert_status(&run(&check).await, Status::Pass);
    pg.stop("fast", true);
    assert_status(&run(&check).await, Status::Fail);
    pg.up();
    assert_status(&run(&check).await, Status::Pass);
}

#[tokio::test]
async fn target_session_attrs_is_checked() {
    require_system("PostgreSQL", 5432);
    let primary = "postgres://postgres@127.0.0.1:5432/postgres?target_session_attrs";
    let o = run(&PostgresQueryCheck::new(&format!("{primary}=read-write")).unwrap()).await;
    assert_status(&o, Status::Pass);
    let o = run(&PostgresQueryCheck::new(&format!("{primary}=read-only")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert_eq!(
        message(&o),
        "cannot open a session on 127.0.0.1:5432/postgres: \
         the server is not read-only, as target_session_attrs asks"
    );
}
