//! The cache, database and broker check types: `redis`, `postgres`, `postgres-query`,
//! `postgres-migrations`, `mysql`, `amqp`, `memcached`. Each takes a `url`.

use probe_core::checks::{
    AmqpCheck, MemcachedCheck, MysqlCheck, PostgresCheck, PostgresMigrationsCheck,
    PostgresQueryCheck, RedisCheck,
};
use probe_core::evaluators::migrations::MigrationTable;

use std::time::Duration;

use probe_http::StandsFor;

use super::built::Built;
use super::{ConfigError, Fields};

fn url(f: &mut Fields) -> Result<String, ConfigError> {
    f.required_string("url")
}

/// `mysql`: `url`.
pub(super) fn mysql(f: &mut Fields) -> Result<Built, ConfigError> {
    let check = MysqlCheck::new(&url(f)?).map_err(|e| f.error("url", e.to_string()))?;
    Ok(Built::one(check))
}

/// `amqp`: `url`.
pub(super) fn amqp(f: &mut Fields) -> Result<Built, ConfigError> {
    let check = AmqpCheck::new(&url(f)?).map_err(|e| f.error("url", e.to_string()))?;
    Ok(Built::one(check))
}

/// `memcached`: `url`.
pub(super) fn memcached(f: &mut Fields) -> Result<Built, ConfigError> {
    let check = MemcachedCheck::new(&url(f)?).map_err(|e| f.error("url", e.to_string()))?;
    Ok(Built::one(check))
}

/// `redis`: `url`, `max_reply` (bytes), `mode` (`ping`, the default, or `write`: a
/// round trip on a key of its own, which stands for Django's cache check) and `expiry`
/// (the key's, write mode only, default 5s).
pub(super) fn redis(f: &mut Fields) -> Result<Built, ConfigError> {
    let mut check = RedisCheck::new(&url(f)?).map_err(|e| f.error("url", e.to_string()))?;
    match f.u32("max_reply")? {
        Some(0) => return Err(f.error("max_reply", "must be at least 1 (bytes)")),
        Some(bytes) => check = check.max_reply(bytes as usize),
        None => {}
    }
    let expiry = f.duration("expiry")?;
    match f.string("mode")?.as_deref() {
        None | Some("ping") => {
            if expiry.is_some() {
                return Err(f.error("expiry", "only a `mode = \"write\"` check writes a key"));
            }
            Ok(Built::one(check))
        }
        Some("write") => {
            let expiry = expiry.unwrap_or(Duration::from_secs(5));
            if expiry < Duration::from_millis(1) {
                return Err(f.error("expiry", "must be at least 1ms"));
            }
            Ok(Built::one(check.write_round_trip(expiry)).standing_for(StandsFor::Cache))
        }
        Some(other) => Err(f.error(
            "mode",
            format!("unknown mode `{other}` (available: ping, write)"),
        )),
    }
}

/// `postgres`: `url` and `connect_timeout`.
pub(super) fn postgres(f: &mut Fields) -> Result<Built, ConfigError> {
    let mut check = PostgresCheck::new(&url(f)?).map_err(|e| f.error("url", e.to_string()))?;
    if let Some(t) = f.duration("connect_timeout")? {
        check = check.connect_timeout(t);
    }
    Ok(Built::one(check).standing_for(StandsFor::Database))
}

/// `postgres-query`: `url` and `query`.
pub(super) fn postgres_query(f: &mut Fields) -> Result<Built, ConfigError> {
    let mut check = PostgresQueryCheck::new(&url(f)?).map_err(|e| f.error("url", e.to_string()))?;
    match f.string("query")? {
        Some(sql) if sql.trim().is_empty() => {
            return Err(f.error("query", "empty (write a statement, e.g. \"SELECT 1\")"))
        }
        Some(sql) => check = check.query(sql),
        None => {}
    }
    Ok(Built::one(check).standing_for(StandsFor::Database))
}

/// `postgres-migrations`: `url`, `preset` and `expected` (required), `app`, `table` and
/// `column`.
pub(super) fn postgres_migrations(f: &mut Fields) -> Result<Built, ConfigError> {
    let url = url(f)?;
    let preset = f.required_string("preset")?;
    let expected = f.required_string("expected")?;
    let (app, table, column) = (f.string("app")?, f.string("table")?, f.string("column")?);
    let migrations =
        MigrationTable::from_keys(&preset, app.as_deref(), table.as_deref(), column.as_deref())
            .map_err(|e| f.error("preset", e.to_string()))?;
    let check = PostgresMigrationsCheck::new(&url, migrations, &expected)
        .map_err(|e| f.error("url", e.to_string()))?;
    Ok(Built::one(check))
}

#[cfg(test)]
mod tests {
    use probe_core::Scope;

    use crate::config::Config;

    fn parse(keys: &str) -> Result<Config, String> {
        Config::parse(&format!("[[check]]\nname = \"c\"\n{keys}\n")).map_err(|e| e.to_string())
    }

    #[test]
    fn every_type_builds_a_dependency_check_from_its_url() {
        for (kind, url) in [
            ("redis", "redis://:pw@127.0.0.1:6379/2"),
            ("postgres", "postgres://127.0.0.1:5432/postgres"),
            ("postgres-query", "postgres://app:pw@127.0.0.1/app"),
            ("mysql", "mysql://127.0.0.1:3306"),
            ("amqp", "amqp://guest:guest@127.0.0.1:5672/"),
            ("memcached", "memcached://127.0.0.1:11211"),
        ] {
            let c = parse(&format!("type = \"{kind}\"\nurl = \"{url}\""))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(c.checks[0].check.scope(), Scope::Dependency, "{kind}");
        }
        let c = parse("type = \"postgres-migrations\"\nurl = \"postgres://127.0.0.1/app\"\npreset = \"sqlx\"\nexpected = \"20240101\"");
        assert!(c.is_ok(), "{:?}", c.err());
    }

    #[test]
    fn mistakes_name_the_key_and_never_the_password() {
        let e = parse("type = \"redis\"").err().unwrap();
        assert_eq!(e, "check[0] \"c\".url: missing (required)");
        let e = parse("type = \"redis\"\nurl = \"http://:s3cret@h/\"")
            .err()
            .unwrap();
        assert!(
            e.starts_with("check[0] \"c\".url: ") && !e.contains("s3cret"),
            "{e}"
        );
        let e = parse("type = \"postgres-migrations\"\nurl = \"postgres://h/db\"\npreset = \"django\"\nexpected = \"0042\"")
            .err().unwrap();
        assert!(e.starts_with("check[0] \"c\".preset: "), "{e}");
        let e = parse("type = \"postgres-migrations\"\nurl = \"postgres://h/db\"\npreset = \"flyway\"\nexpected = \"1\"")
            .err().unwrap();
        assert!(e.contains("flyway"), "{e}");
        let e = parse("type = \"mysql\"\nurl = \"mysql://h:3306\"\nquery = \"SELECT 1\"")
            .err()
            .unwrap();
        assert!(e.contains("query: unknown key"), "{e}");
    }

    #[test]
    fn empty_or_zero_values_are_refused_at_load() {
        for (keys, expected) in [
            (
                "type = \"postgres-query\"\nurl = \"postgres://h/db\"\nquery = \"\"",
                "check[0] \"c\".query: empty",
            ),
            (
                "type = \"postgres-query\"\nurl = \"postgres://h/db\"\nquery = \"  \"",
                "check[0] \"c\".query: empty",
            ),
            (
                "type = \"redis\"\nurl = \"redis://h\"\nmax_reply = 0",
                "check[0] \"c\".max_reply: must be at least 1",
            ),
            (
                "type = \"redis\"\nurl = \"redis://a b\"",
                "check[0] \"c\".url: invalid URL `redis://a b`: invalid host \"a b\"",
            ),
            (
                "type = \"redis\"\nurl = \"redis://h:99999\"",
                "check[0] \"c\".url: invalid URL `redis://h:99999`: invalid port \"99999\"",
            ),
        ] {
            let e = parse(keys)
                .err()
                .unwrap_or_else(|| panic!("accepted: {keys}"));
            assert!(e.starts_with(expected), "{keys}: {e}");
        }
    }
}
