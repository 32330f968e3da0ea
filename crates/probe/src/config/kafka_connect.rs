//! The `kafka-connect` check type: a Kafka Connect worker's connectors and tasks under
//! kafka-connect-healthcheck's rules; the `connect` dialect serves the same check.

use probe_core::checks::KafkaConnectCheck;
use probe_core::evaluators::connect::{parse_containers, parse_states, ConnectRules, RulesError};

use super::built::Built;
use super::{tls, ConfigError, Fields};

/// `kafka-connect`: the check, also handed over for the `connect` dialect.
pub(super) fn kafka_connect(f: &mut Fields) -> Result<Built, ConfigError> {
    let check = connect_check(f)?;
    let mut built = Built::one(check.clone());
    built.connect = Some(check);
    Ok(built)
}

/// The keys: `url` (required), `worker_id`, `unhealthy_states` and `considered_containers`
/// (a comma-separated string or a list), `failure_threshold_percentage`, `basic_auth`
/// (`user:password`), `request_timeout` (each request to Connect, default 5s),
/// `worker_health` (also ask `GET /health`, Kafka 3.9+) and `ca_file` (for `https://`).
fn connect_check(f: &mut Fields) -> Result<KafkaConnectCheck, ConfigError> {
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
    if let Some(tls) = tls::ca_file(f, &url)? {
        check = check.tls(tls);
    }
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
