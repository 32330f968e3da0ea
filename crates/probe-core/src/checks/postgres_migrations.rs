//! `postgres-migrations`: the database's latest applied migration is at or past the
//! version the application expects.

use serde_json::json;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::postgres_query::{PostgresConfigError, PostgresTarget};
use crate::evaluators::migrations::{judge, MigrationTable, Version};
use crate::{BoxFuture, Check, Outcome, Scope};

/// Reads the latest applied migration from a migration tool's table and passes when it is
/// at or past `expected`; a database behind fails with a message naming both versions, and
/// `details` carries `table`, `expected` and `found`.
///
/// The rules for tables and versions are [`crate::evaluators::migrations`]: presets for
/// sqlx, refinery, diesel and Django (per app), or any table and column. A missing table
/// fails (nothing was ever migrated). Registered for startup and readiness, an instance
/// whose database is behind neither starts nor takes traffic: that is the point, and the
/// operator's choice. A fresh connection is used for every run.
///
/// ```
/// use probe_core::checks::PostgresMigrationsCheck;
/// use probe_core::evaluators::migrations::MigrationTable;
///
/// let schema = PostgresMigrationsCheck::new(
///     "postgres://app:s3cret@127.0.0.1:5432/app",
///     MigrationTable::sqlx(),
///     "20240301120000",
/// )
/// .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct PostgresMigrationsCheck {
    target: PostgresTarget,
    table: MigrationTable,
    expected: Version,
}

impl PostgresMigrationsCheck {
    /// A check that the database at `url` has applied `expected` (or later) in `table`.
    pub fn new(
        url: &str,
        table: MigrationTable,
        expected: &str,
    ) -> Result<Self, PostgresConfigError> {
        Ok(PostgresMigrationsCheck {
            target: PostgresTarget::parse(url)?,
            table,
            expected: Version::expected(expected)?,
        })
    }

    async fn run(&self) -> Outcome {
        let shown = self.target.shown();
        let name = self.table.name();
        let details = json!({ "table": name, "expected": self.expected.as_str(), "found": null });
        let session = match self.target.connect().await {
            Ok(s) => s,
            Err(reason) => {
                return Outcome::fail(format!("cannot open a session on {shown}: {reason}"))
                    .with_details(details)
            }
        };
        let params = self.table.params();
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        match session.client.query_opt(&self.table.query(), &params).await {
            Ok(row) => {
                let found: Option<String> = match row.map(|r| r.try_get::<_, Option<String>>(0)) {
                    Some(Ok(v)) => v,
                    Some(Err(e)) => {
                        return Outcome::fail(format!(
                            "cannot read {name} on {shown}: {}",
                            self.target.failure(&session, &e)
                        ))
                        .with_details(details)
                    }
                    None => None,
                };
                judge(&self.table, &self.expected, found.as_deref())
            }
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Outcome::fail(format!(
                "no migrations table {name} on {shown}: expected {}",
                self.expected
            ))
            .with_details(details),
            Err(e) => Outcome::fail(format!(
                "cannot read {name} on {shown}: {}",
                self.target.failure(&session, &e)
            ))
            .with_details(details),
        }
    }
}

impl Check for PostgresMigrationsCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}
