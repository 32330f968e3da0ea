//! The check types a `[[check]]` table's `type` may name, each once, with its builder.
//!
//! Adding a type is one entry in [`CHECK_TYPES`] and its builder, a function from the
//! table's keys to what it registers ([`Built`]), in the module of its family. Everything
//! that lists the types (the error for an unknown one) reads this table.

use super::built::Built;
use super::{celery, databases, files, kafka, kafka_connect, network, ConfigError, Fields};

/// A check type: the name `type` gives, and how its keys become checks.
pub struct CheckType {
    /// The value of `type`.
    pub name: &'static str,
    /// Reads the type's own keys from the table and builds its checks.
    pub build: fn(&mut Fields) -> Result<Built, ConfigError>,
}

impl CheckType {
    /// The type `name`, built by `build`.
    pub const fn new(
        name: &'static str,
        build: fn(&mut Fields) -> Result<Built, ConfigError>,
    ) -> Self {
        CheckType { name, build }
    }
}

/// Every check type, in the order error messages list them.
pub const CHECK_TYPES: &[CheckType] = &[
    CheckType::new("tcp", network::tcp),
    CheckType::new("http", network::http),
    CheckType::new("file-age", files::file_age),
    CheckType::new("file-exists", files::file_exists),
    CheckType::new("celery-ping", celery::celery_ping),
    CheckType::new("kafka", kafka::kafka),
    CheckType::new("kafka-streams", kafka::kafka_streams),
    CheckType::new("kafka-connect", kafka_connect::kafka_connect),
    CheckType::new("redis", databases::redis),
    CheckType::new("postgres", databases::postgres),
    CheckType::new("postgres-query", databases::postgres_query),
    CheckType::new("postgres-migrations", databases::postgres_migrations),
    CheckType::new("mysql", databases::mysql),
    CheckType::new("amqp", databases::amqp),
    CheckType::new("memcached", databases::memcached),
    CheckType::new("storage", files::storage),
];

/// The names of [`CHECK_TYPES`], in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    CHECK_TYPES.iter().map(|t| t.name)
}

/// Builds the checks of type `kind` from the table's keys; an unknown `kind` is an error
/// on `type` listing the available ones.
pub fn build(kind: &str, f: &mut Fields) -> Result<Built, ConfigError> {
    match CHECK_TYPES.iter().find(|t| t.name == kind) {
        Some(t) => (t.build)(f),
        None => Err(f.error(
            "type",
            format!(
                "unknown check type `{kind}` (available: {})",
                names().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(keys: &str) -> Result<Config, String> {
        Config::parse(&format!("[[check]]\nname = \"c\"\n{keys}\n")).map_err(|e| e.to_string())
    }

    /// The fewest keys each type builds from.
    const MINIMAL: &[(&str, &str)] = &[
        ("tcp", "address = \"127.0.0.1:1\""),
        ("http", "url = \"http://127.0.0.1:1/\""),
        ("file-age", "path = \"/tmp/w.live\"\nmax_age = \"70s\""),
        ("file-exists", "path = \"/tmp/w.ready\""),
        ("celery-ping", "worker = \"celery@w\""),
        ("kafka", "bootstrap = \"127.0.0.1:9092\""),
        ("kafka-streams", "bootstrap = \"127.0.0.1:9092\""),
        ("kafka-connect", "url = \"http://127.0.0.1:8083\""),
        ("redis", "url = \"redis://127.0.0.1:6379\""),
        ("postgres", "url = \"postgres://127.0.0.1/app\""),
        ("postgres-query", "url = \"postgres://127.0.0.1/app\""),
        (
            "postgres-migrations",
            "url = \"postgres://127.0.0.1/app\"\npreset = \"sqlx\"\nexpected = \"20240101\"",
        ),
        ("mysql", "url = \"mysql://127.0.0.1:3306\""),
        ("amqp", "url = \"amqp://127.0.0.1:5672/\""),
        ("memcached", "url = \"memcached://127.0.0.1:11211\""),
        ("storage", "path = \"/tmp\""),
    ];

    #[test]
    fn every_type_builds_from_its_minimal_keys() {
        let minimal: Vec<&str> = MINIMAL.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            minimal,
            names().collect::<Vec<_>>(),
            "every type in CHECK_TYPES needs its minimal keys here"
        );
        for (kind, keys) in MINIMAL {
            let c = parse(&format!("type = \"{kind}\"\n{keys}"))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(
                c.checks[0].name == "c",
                "{kind}: the main check carries the name"
            );
        }
    }

    #[test]
    fn every_type_without_keys_names_the_missing_one() {
        for kind in names() {
            let e = parse(&format!("type = \"{kind}\""))
                .err()
                .unwrap_or_default();
            let (place, problem) = e.split_once(": ").unwrap_or_else(|| panic!("{kind}: {e}"));
            assert!(
                place.starts_with("check[0] \"c\".") && place != "check[0] \"c\".type",
                "{kind}: {e}"
            );
            assert!(problem.starts_with("missing (required)"), "{kind}: {e}");
        }
    }

    #[test]
    fn unknown_types_list_the_available_ones() {
        let e = parse("type = \"nope\"").err().unwrap();
        assert!(e.contains("file-age, file-exists, celery-ping"), "{e}");
    }

    #[test]
    fn an_unknown_type_lists_exactly_the_table() {
        let e = parse("type = \"carrier-pigeon\"").err().unwrap();
        let listed = e
            .strip_prefix("check[0] \"c\".type: unknown check type `carrier-pigeon` (available: ")
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{e}"));
        assert_eq!(
            listed.split(", ").collect::<Vec<_>>(),
            names().collect::<Vec<_>>()
        );
    }

    #[test]
    fn names_are_unique() {
        let mut sorted: Vec<&str> = names().collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), CHECK_TYPES.len());
    }
}
