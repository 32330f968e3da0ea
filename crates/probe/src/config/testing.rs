//! Helpers for the configuration's unit tests: one `[[check]]` table, read whole.

use super::{CheckSpec, Config};

/// The first check of a configuration holding one `[[check]]` named `c` with `keys`.
pub(crate) fn one(keys: &str) -> Result<CheckSpec, String> {
    Config::parse(&format!("[[check]]\nname = \"c\"\n{keys}\n"))
        .map(|mut c| c.checks.remove(0))
        .map_err(|e| e.to_string())
}

/// The error for such a table; panics when it is accepted.
pub(crate) fn refused(keys: &str) -> String {
    match one(keys) {
        Ok(_) => panic!("accepted: {keys}"),
        Err(e) => e,
    }
}
