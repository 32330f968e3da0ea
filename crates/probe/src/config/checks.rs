//! From a `[[check]]` table's `type` and keys to the checks it registers.
//!
//! Most types build one check, registered under the table's `name` in the probes its
//! `probes` key names. A type may build several (`kafka-streams` registers `<name>`,
//! `<name>:ready` and `<name>:started`, each in its own probe) and may need work running
//! beside the engine (a cluster driver): a [`Background`], started once the engine is built.

use std::sync::Arc;

use probe_core::checks::{HttpCheck, TcpCheck};
use probe_core::{Check, Probe};

use super::{kafka, ConfigError, Fields};

/// The check types a configuration may name.
pub const TYPES: &[&str] = &["tcp", "http", "kafka", "kafka-streams"];

/// One check a table registers.
pub struct Part {
    /// Appended to the table's name: `""` for the main check, `":ready"`...
    pub suffix: &'static str,
    /// The check.
    pub check: Arc<dyn Check>,
    /// The probes it is in, when the type decides; `None`: the table's `probes` key.
    pub probes: Option<Vec<Probe>>,
}

/// Work a check type needs running beside the engine, such as the cluster driver of
/// `kafka-streams`.
pub trait Background: Send + Sync {
    /// Starts the work, inside the Tokio runtime. Called once the engine is built; a second
    /// call does nothing.
    fn start(&self);
}

/// What a table builds.
pub struct Built {
    /// The checks to register, the main one first.
    pub parts: Vec<Part>,
    /// Work to start once the engine is built.
    pub background: Option<Arc<dyn Background>>,
}

impl Built {
    /// One check under the table's name, in the table's probes.
    pub fn one(check: Arc<dyn Check>) -> Self {
        Built {
            parts: vec![Part {
                suffix: "",
                check,
                probes: None,
            }],
            background: None,
        }
    }
}

/// Builds the checks of type `kind` from its keys.
pub fn build(kind: &str, f: &mut Fields) -> Result<Built, ConfigError> {
    match kind {
        "tcp" => Ok(Built::one(Arc::new(TcpCheck::new(
            f.required_string("address")?,
        )))),
        "http" => {
            let url = f.required_string("url")?;
            let check = HttpCheck::new(&url).map_err(|e| f.error("url", e.to_string()))?;
            Ok(Built::one(Arc::new(check)))
        }
        "kafka" => kafka::kafka(f),
        "kafka-streams" => kafka::kafka_streams(f),
        other => Err(f.error(
            "type",
            format!(
                "unknown check type `{other}` (available: {})",
                TYPES.join(", ")
            ),
        )),
    }
}
