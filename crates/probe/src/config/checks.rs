//! From a `[[check]]` table's `type` and keys to a check.

use std::sync::Arc;

use probe_core::checks::{HttpCheck, TcpCheck};
use probe_core::Check;

use super::{ConfigError, Fields};

/// The check types a configuration may name.
pub const TYPES: &[&str] = &["tcp", "http"];

/// Builds a check of type `kind` from its keys.
pub fn build(kind: &str, f: &mut Fields) -> Result<Arc<dyn Check>, ConfigError> {
    match kind {
        "tcp" => Ok(Arc::new(TcpCheck::new(f.required_string("address")?))),
        "http" => {
            let url = f.required_string("url")?;
            let check = HttpCheck::new(&url).map_err(|e| f.error("url", e.to_string()))?;
            Ok(Arc::new(check))
        }
        other => Err(f.error(
            "type",
            format!(
                "unknown check type `{other}` (available: {})",
                TYPES.join(", ")
            ),
        )),
    }
}
