//! Database migration state: where a migration tool records what it applied, how to read
//! the latest entry, and whether it is at or past the version the application expects.
//!
//! A version is the number made of the leading digits of the recorded value, dashes
//! ignored: `20240101120000` (sqlx, diesel), `42` (refinery), `0042` from Django's
//! `0042_auto_20240101_1200`, `20240101120000` from `2024-01-01-120000_create_users`.
//! Versions compare as numbers, of any length.
//!
//! ```
//! use probe_core::evaluators::migrations::{judge, MigrationTable, Version};
//! use probe_core::Status;
//!
//! let table = MigrationTable::django("accounts");
//! let expected = Version::parse("0042_add_email").unwrap();
//! assert_eq!(judge(&table, &expected, Some("0042_add_email")).status, Status::Pass);
//! let behind = judge(&table, &expected, Some("0041_auto"));
//! assert_eq!(behind.status, Status::Fail);
//! assert!(behind.message.unwrap().contains("0041_auto"));
//! ```

use std::cmp::Ordering;
use std::fmt;

use serde_json::json;

use crate::Outcome;

/// A migrations table that cannot be configured as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MigrationConfigError {
    /// The preset name is not known.
    #[error("unknown migrations preset `{0}` (expected sqlx, refinery, diesel, django or custom)")]
    UnknownPreset(String),
    /// A preset needs a key that is missing.
    #[error("the `{preset}` migrations preset needs `{key}`")]
    Missing {
        /// The preset.
        preset: &'static str,
        /// The missing key.
        key: &'static str,
    },
    /// A table or column name is not a plain SQL identifier.
    #[error("`{0}` is not a plain SQL name (letters, digits, `_`; optionally `schema.table`)")]
    BadIdentifier(String),
    /// The expected version has no leading digits.
    #[error("the expected migration `{0}` does not start with a number")]
    BadVersion(String),
}

/// Which rows of the table count as applied.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    None,
    /// sqlx records failed runs too: only `success` rows count.
    Success,
    /// Django records every app in one table.
    App(String),
}

/// Where a migration tool records applied migrations, and how to read the latest one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationTable {
    table: String,
    column: String,
    filter: Filter,
}

impl MigrationTable {
    /// sqlx: `_sqlx_migrations.version` (bigint), successful runs only.
    pub fn sqlx() -> Self {
        Self::new("_sqlx_migrations", "version", Filter::Success)
    }

    /// refinery: `refinery_schema_history.version`.
    pub fn refinery() -> Self {
        Self::new("refinery_schema_history", "version", Filter::None)
    }

    /// diesel: `__diesel_schema_migrations.version` (a timestamp like `20240101120000`).
    pub fn diesel() -> Self {
        Self::new("__diesel_schema_migrations", "version", Filter::None)
    }

    /// Django: `django_migrations.name` for one `app`, compared by the number that starts
    /// the migration name (`0042_auto_...`).
    pub fn django(app: &str) -> Self {
        Self::new("django_migrations", "name", Filter::App(app.to_owned()))
    }

    /// Any table and column holding versions; names are used exactly as given (quoted).
    pub fn custom(table: &str, column: &str) -> Result<Self, MigrationConfigError> {
        check_identifier(table, 2)?;
        check_identifier(column, 1)?;
        Ok(Self::new(table, column, Filter::None))
    }

    /// From configuration keys: `preset` (`sqlx`, `refinery`, `diesel`, `django`,
    /// `custom`), `app` (Django), `table` and `column` (custom; `column` defaults to
    /// `version`).
    pub fn from_keys(
        preset: &str,
        app: Option<&str>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> Result<Self, MigrationConfigError> {
        match preset.to_ascii_lowercase().as_str() {
            "sqlx" => Ok(Self::sqlx()),
            "refinery" => Ok(Self::refinery()),
            "diesel" => Ok(Self::diesel()),
            "django" => match app {
                Some(app) if !app.is_empty() => Ok(Self::django(app)),
                _ => Err(MigrationConfigError::Missing {
                    preset: "django",
                    key: "app",
                }),
            },
            "custom" => {
                let table = table.ok_or(MigrationConfigError::Missing {
                    preset: "custom",
                    key: "table",
                })?;
                Self::custom(table, column.unwrap_or("version"))
            }
            other => Err(MigrationConfigError::UnknownPreset(other.to_owned())),
        }
    }

    fn new(table: &str, column: &str, filter: Filter) -> Self {
        MigrationTable {
            table: table.to_owned(),
            column: column.to_owned(),
            filter,
        }
    }

    /// The table name, as shown in messages (`django_migrations[accounts]` for Django).
    pub fn name(&self) -> String {
        match &self.filter {
            Filter::App(app) => format!("{}[{app}]", self.table),
            _ => self.table.clone(),
        }
    }

    /// The SQL that returns the latest applied version as text (no row when none); Django's
    /// takes the app as parameter `$1`, see [`MigrationTable::params`].
    pub fn query(&self) -> String {
        let table = quote(&self.table);
        let column = quote(&self.column);
        let number = format!("substring(replace({column}::text, '-', '') from '^[0-9]+')");
        let filter = match self.filter {
            Filter::None => String::new(),
            Filter::Success => "success AND ".into(),
            Filter::App(_) => "app = $1 AND ".into(),
        };
        format!(
            "SELECT {column}::text FROM {table} WHERE {filter}{number} IS NOT NULL \
             ORDER BY {number}::numeric DESC LIMIT 1"
        )
    }

    /// The query's parameters.
    pub fn params(&self) -> Vec<String> {
        match &self.filter {
            Filter::App(app) => vec![app.clone()],
            _ => Vec::new(),
        }
    }
}

/// A migration version: the raw text and the number its leading digits make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    raw: String,
    number: String,
}

impl Version {
    /// The version of `text` (leading digits, dashes ignored); `None` if there are none.
    pub fn parse(text: &str) -> Option<Version> {
        let digits: String = text
            .chars()
            .filter(|c| *c != '-')
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.is_empty() {
            return None;
        }
        let number = digits.trim_start_matches('0');
        Some(Version {
            raw: text.to_owned(),
            number: if number.is_empty() { "0" } else { number }.to_owned(),
        })
    }

    /// Like [`Version::parse`], with an error naming the text.
    pub fn expected(text: &str) -> Result<Version, MigrationConfigError> {
        Version::parse(text).ok_or_else(|| MigrationConfigError::BadVersion(text.to_owned()))
    }

    /// The text it was read from.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.number
            .len()
            .cmp(&other.number.len())
            .then_with(|| self.number.cmp(&other.number))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Judges the latest applied migration `found` (the query's answer, `None` for no row)
/// against `expected`: pass when it is at or past it, fail naming both versions otherwise.
/// Details carry `table`, `expected` and `found`.
pub fn judge(table: &MigrationTable, expected: &Version, found: Option<&str>) -> Outcome {
    let name = table.name();
    let details = json!({ "table": name, "expected": expected.as_str(), "found": found });
    let outcome = match found.and_then(Version::parse) {
        Some(latest) if latest >= *expected => Outcome::pass().with_message(format!(
            "migrations are current: latest applied {latest}, expected {expected} ({name})"
        )),
        Some(latest) => Outcome::fail(format!(
            "the database is behind: latest applied migration {latest}, expected {expected} ({name})"
        )),
        None => Outcome::fail(format!(
            "no migration applied in {name}: expected {expected}"
        )),
    };
    outcome.with_details(details)
}

fn check_identifier(name: &str, max_parts: usize) -> Result<(), MigrationConfigError> {
    let parts: Vec<&str> = name.split('.').collect();
    let plain = |p: &str| {
        let mut chars = p.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            && p.len() <= 63
    };
    if parts.len() > max_parts || !parts.iter().all(|p| plain(p)) {
        return Err(MigrationConfigError::BadIdentifier(name.to_owned()));
    }
    Ok(())
}

fn quote(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn versions_compare_as_numbers_of_any_length() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("10") > v("9"));
        assert!(v("0042_auto") > v("0041_squashed_0040"));
        assert_eq!(v("0042_x").cmp(&v("42")), Ordering::Equal);
        assert!(v("2024-01-02-000000_b") > v("20240101235959"));
        assert!(v("123456789012345678901234567890") > v("99999999999999999999"));
        assert_eq!(Version::parse("initial"), None);
        assert_eq!(Version::parse("0000").unwrap().number, "0");
        assert!(Version::expected("abc").is_err());
    }

    #[test]
    fn presets_read_their_tables() {
        assert_eq!(
            MigrationTable::sqlx().query(),
            "SELECT \"version\"::text FROM \"_sqlx_migrations\" WHERE success AND \
             substring(replace(\"version\"::text, '-', '') from '^[0-9]+') IS NOT NULL \
             ORDER BY substring(replace(\"version\"::text, '-', '') from '^[0-9]+')::numeric DESC LIMIT 1"
        );
        let django = MigrationTable::from_keys("Django", Some("accounts"), None, None).unwrap();
        assert!(django
            .query()
            .contains("\"django_migrations\" WHERE app = $1 AND"));
        assert_eq!(django.params(), ["accounts"]);
        assert_eq!(django.name(), "django_migrations[accounts]");
        let custom =
            MigrationTable::from_keys("custom", None, Some("ops.schema_log"), None).unwrap();
        assert!(custom.query().contains("FROM \"ops\".\"schema_log\""));
    }

    #[test]
    fn bad_configuration_is_refused() {
        use MigrationConfigError::*;
        assert!(matches!(
            MigrationTable::from_keys("flyway", None, None, None),
            Err(UnknownPreset(_))
        ));
        assert!(matches!(
            MigrationTable::from_keys("django", None, None, None),
            Err(Missing { .. })
        ));
        assert!(matches!(
            MigrationTable::from_keys("custom", None, None, None),
            Err(Missing { .. })
        ));
        for bad in ["t; DROP TABLE x", "a.b.c", "\"q\"", "", "1abc"] {
            assert!(
                matches!(MigrationTable::custom(bad, "v"), Err(BadIdentifier(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            MigrationTable::custom("t", "a.b"),
            Err(BadIdentifier(_))
        ));
    }

    #[test]
    fn judgement_names_both_versions() {
        let table = MigrationTable::sqlx();
        let expected = Version::parse("20240301000000").unwrap();
        let behind = judge(&table, &expected, Some("20240201000000"));
        assert_eq!(behind.status, Status::Fail);
        let msg = behind.message.unwrap();
        assert!(
            msg.contains("20240201000000") && msg.contains("20240301000000"),
            "{msg}"
        );
        assert_eq!(behind.details.unwrap()["found"], "20240201000000");
        assert_eq!(
            judge(&table, &expected, Some("20240401000000")).status,
            Status::Pass
        );
        let none = judge(&table, &expected, None);
        assert_eq!(none.status, Status::Fail);
        assert!(none.details.unwrap()["found"].is_null());
    }
}
