//! The cache, database and broker checks against the local servers, one fresh connection
//! per run, as a probe would run them. Start the servers first (`scripts/services.sh`).
//!
//! Run: `cargo bench -p probe-benches --bench checks`; medians are in
//! `target/criterion/checks/<name>/new/estimates.json`.

use std::time::Duration;

use criterion::Criterion;
use probe_core::checks::{
    AmqpCheck, MemcachedCheck, MysqlCheck, PostgresCheck, PostgresMigrationsCheck,
    PostgresQueryCheck, RedisCheck, TcpCheck,
};
use probe_core::evaluators::migrations::MigrationTable;
use probe_core::{Check, Status};

fn checks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let pg = "postgres://postgres@127.0.0.1:5432/postgres";
    let all: Vec<(&str, Box<dyn Check>)> = vec![
        (
            "tcp-5432 (baseline)",
            Box::new(TcpCheck::new("127.0.0.1:5432")),
        ),
        (
            "redis",
            Box::new(RedisCheck::new("redis://127.0.0.1:6379/0").unwrap()),
        ),
        ("postgres", Box::new(PostgresCheck::new(pg).unwrap())),
        (
            "postgres-query",
            Box::new(PostgresQueryCheck::new(pg).unwrap()),
        ),
        (
            "postgres-migrations",
            Box::new(
                PostgresMigrationsCheck::new(
                    pg,
                    MigrationTable::custom("pg_catalog.pg_database", "oid").unwrap(),
                    "1",
                )
                .unwrap(),
            ),
        ),
        (
            "mysql",
            Box::new(MysqlCheck::new("mysql://root@127.0.0.1:3306").unwrap()),
        ),
        (
            "amqp",
            Box::new(AmqpCheck::new("amqp://127.0.0.1:5672").unwrap()),
        ),
        (
            "memcached",
            Box::new(MemcachedCheck::new("memcached://127.0.0.1:11211").unwrap()),
        ),
    ];
    let mut group = c.benchmark_group("checks");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, check) in &all {
        let first = rt.block_on(check.check());
        assert_eq!(
            first.status,
            Status::Pass,
            "{name} does not pass against the local server ({:?}); start the servers with \
             `bash -c '. scripts/services.sh && ensure_services'`",
            first.message
        );
        group.bench_function(*name, |b| b.to_async(&rt).iter(|| check.check()));
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    checks(&mut c);
    c.final_summary();
}
