//! `postgres-migrations` against real migration tables in a scratch database on the system
//! PostgreSQL, one per test.

use std::sync::atomic::{AtomicU32, Ordering};

use probe_core::checks::PostgresMigrationsCheck;
use probe_core::evaluators::migrations::MigrationTable;
use probe_core::{Outcome, Status};

use crate::support::{
    assert_no_secret, assert_status, free_port, message, require_system, run, tool,
};

/// A scratch database, dropped with the value.
struct Scratch {
    name: String,
}

impl Scratch {
    fn new(setup: &str) -> Scratch {
        require_system("PostgreSQL", 5432);
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "probe_mig_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        psql("postgres", &format!("DROP DATABASE IF EXISTS {name}"));
        psql("postgres", &format!("CREATE DATABASE {name}"));
        let db = Scratch { name };
        psql(&db.name, setup);
        db
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    async fn check(&self, table: MigrationTable, expected: &str) -> Outcome {
        run(&PostgresMigrationsCheck::new(&self.url(), table, expected).unwrap()).await
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(db: &str, sql: &str) {
    let (code, out) = tool(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
    );
    assert_eq!(code, 0, "psql failed: {sql}: {out}");
}

#[tokio::test]
async fn sqlx_counts_successful_migrations_only() {
    let db = Scratch::new(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, \
         checksum BYTEA NOT NULL DEFAULT '', execution_time BIGINT NOT NULL DEFAULT 0); \
         INSERT INTO _sqlx_migrations (version, description, success) VALUES \
         (20240101000000, 'init', true), (20240201000000, 'users', true), (20240301000000, 'broken', false);",
    );
    assert_status(
        &db.check(MigrationTable::sqlx(), "20240201000000").await,
        Status::Pass,
    );
    assert_status(
        &db.check(MigrationTable::sqlx(), "20240101000000").await,
        Status::Pass,
    );

    let o = db.check(MigrationTable::sqlx(), "20240301000000").await;
    assert_status(&o, Status::Fail);
    assert_eq!(
        message(&o),
        "the database is behind: latest applied migration 20240201000000, expected 20240301000000 (_sqlx_migrations)"
    );
    let details = o.details.unwrap();
    assert_eq!(details["found"], "20240201000000");
    assert_eq!(details["expected"], "20240301000000");
}

#[tokio::test]
async fn refinery_versions_compare_as_numbers() {
    let db = Scratch::new(
        "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255)); \
         INSERT INTO refinery_schema_history (version, name) VALUES (1, 'a'), (9, 'b'), (12, 'c');",
    );
    assert_status(
        &db.check(MigrationTable::refinery(), "12").await,
        Status::Pass,
    );
    let o = db.check(MigrationTable::refinery(), "13").await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("migration 12, expected 13"), "{o:?}");
}

#[tokio::test]
async fn diesel_timestamps_accept_the_dashed_directory_form() {
    let db = Scratch::new(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP); \
         INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20240101120000');",
    );
    assert_status(
        &db.check(MigrationTable::diesel(), "2024-01-01-120000_create_users")
            .await,
        Status::Pass,
    );
    let o = db
        .check(MigrationTable::diesel(), "2024-03-01-000000")
        .await;
    assert_status(&o, Status::Fail);
    assert_eq!(o.details.unwrap()["found"], "20240101120000");
}

#[tokio::test]
async fn django_compares_the_number_of_one_apps_latest_migration() {
    let db = Scratch::new(
        "CREATE TABLE django_migrations (id SERIAL PRIMARY KEY, app VARCHAR(255) NOT NULL, \
         name VARCHAR(255) NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now()); \
         INSERT INTO django_migrations (app, name) VALUES ('accounts', '0001_initial'), \
         ('accounts', '0002_email'), ('accounts', '0010_auto_20240101_1200'), ('billing', '0042_invoice');",
    );
    let accounts = || MigrationTable::django("accounts");
    assert_status(&db.check(accounts(), "0010").await, Status::Pass);
    let o = db.check(accounts(), "0011_phone").await;
    assert_status(&o, Status::Fail);
    assert_eq!(
        message(&o),
        "the database is behind: latest applied migration 0010_auto_20240101_1200, expected 0011_phone \
         (django_migrations[accounts])"
    );
    let o = db
        .check(MigrationTable::django("search"), "0001_initial")
        .await;
    assert_status(&o, Status::Fail);
    assert!(
        message(&o).starts_with("no migration applied in django_migrations[search]"),
        "{o:?}"
    );
}

#[tokio::test]
async fn a_custom_table_and_column_in_a_schema() {
    let db = Scratch::new(
        "CREATE SCHEMA ops; CREATE TABLE ops.schema_log (rev TEXT); \
         INSERT INTO ops.schema_log VALUES ('7'), ('31'), ('not-a-number');",
    );
    let table = || MigrationTable::custom("ops.schema_log", "rev").unwrap();
    assert_status(&db.check(table(), "31").await, Status::Pass);
    assert_status(&db.check(table(), "32").await, Status::Fail);
}

#[tokio::test]
async fn a_missing_or_empty_table_fails() {
    let db = Scratch::new("CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY);");
    let o = db.check(MigrationTable::refinery(), "1").await;
    assert_status(&o, Status::Fail);
    assert_eq!(
        message(&o),
        "no migration applied in refinery_schema_history: expected 1"
    );

    let o = db.check(MigrationTable::sqlx(), "1").await;
    assert_status(&o, Status::Fail);
    assert!(
        message(&o).starts_with("no migrations table _sqlx_migrations on 127.0.0.1:5432/"),
        "{o:?}"
    );
    assert!(o.details.unwrap()["found"].is_null());
}

#[tokio::test]
async fn an_unreachable_database_fails_with_details_and_no_secret() {
    let url = format!("postgres://app:mig-secret@127.0.0.1:{}/app", free_port());
    let o = run(&PostgresMigrationsCheck::new(&url, MigrationTable::sqlx(), "1").unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("connection refused"), "{o:?}");
    assert_no_secret(&o, "mig-secret");
    assert_eq!(o.details.unwrap()["expected"], "1");
}
