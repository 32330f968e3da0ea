//! From a `[[check]]` table's `type` and keys to a check.

use std::sync::Arc;

use probe_core::checks::{HttpCheck, KafkaConnectCheck, TcpCheck};
use probe_core::evaluators::connect::{parse_containers, parse_states, ConnectRules, RulesError};
use probe_core::Check;

use super::{ConfigError, Fields};

/// The check types a configuration may name.
pub const TYPES: &[&str] = &["tcp", "http", "kafka-connect"];

/// Builds a check of type `kind` from its keys.
pub fn build(kind: &str, f: &mut Fields) -> Result<Arc<dyn Check>, ConfigError> {
    match kind {
        "tcp" => Ok(Arc::new(TcpCheck::new(f.required_string("address")?))),
        "http" => {
            let url = f.required_string("url")?;
            let check = HttpCheck::new(&url).map_err(|e| f.error("url", e.to_string()))?;
            Ok(Arc::new(check))
        }
        "kafka-connect" => Ok(Arc::new(kafka_connect(f)?)),
        other => Err(f.error(
            "type",
            format!(
                "unknown check type `{other}` (available: {})",
                TYPES.join(", ")
            ),
        )),
    }
}

/// A `kafka-connect` check: `url` (required), `worker_id`, `unhealthy_states` and
/// `considered_containers` (a comma-separated string or a list), `failure_threshold_percentage`,
/// `basic_auth` (`user:password`), `request_timeout` (each request to Connect, default 5s)
/// and `worker_health` (also ask `GET /health`, Kafka 3.9+).
pub fn kafka_connect(f: &mut Fields) -> Result<KafkaConnectCheck, ConfigError> {
    let url = f.required_string("url")?;
    let d = ConnectRules::default();
    let unhealthy_states = match f.strings("unhealthy_states")? {
        Some(list) => parse_states(&list.join(","))
            .map_err(|e| f.error("unhealthy_states", rules_problem(e)))?,
        None => d.unhealthy_states,
    };
    let considered_containers = match f.strings("considered_containers")? {
        Some(list) => parse_containers(&list.join(","))
            .map_err(|e| f.error("considered_containers", rules_problem(e)))?,
        None => d.considered_containers,
    };
    let rules = ConnectRules {
        unhealthy_states,
        considered_containers,
        worker_id: f
            .string("worker_id")?
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty()),
        failure_threshold_percentage: f.u32("failure_threshold_percentage")?.unwrap_or(0),
    };
    let mut check =
        KafkaConnectCheck::new(&url, rules).map_err(|e| f.error("url", e.to_string()))?;
    if let Some(auth) = f.string("basic_auth")? {
        check = check
            .basic_auth(&auth)
            .map_err(|e| f.error("basic_auth", e.to_string()))?;
    }
    if let Some(timeout) = f.duration("request_timeout")? {
        if timeout.is_zero() {
            return Err(f.error("request_timeout", "must be greater than zero"));
        }
        check = check.request_timeout(timeout);
    }
    let worker_health = f.bool("worker_health")?.unwrap_or(false);
    Ok(check.worker_health(worker_health))
}

fn rules_problem(e: RulesError) -> String {
    match e {
        RulesError::State(e) => e.to_string(),
        RulesError::Container(e) => e.to_string(),
        RulesError::Empty(_) => "the list is empty".to_owned(),
    }
}
