//! Helpers for the configuration's unit tests: one `[[check]]` table, or a `[server]`
//! table, read whole.

use super::{CheckSpec, Config, ServerSettings};

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

/// The server settings of a configuration whose `[server]` table holds `keys`.
pub(crate) fn server(keys: &str) -> Result<ServerSettings, String> {
    Config::parse(&format!("[server]\n{keys}\n"))
        .map(|c| c.server)
        .map_err(|e| e.to_string())
}
