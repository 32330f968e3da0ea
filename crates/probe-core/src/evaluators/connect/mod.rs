//! Kafka Connect state rules: from the statuses Connect reports and a rule set to a
//! verdict, and the documents kafka-connect-healthcheck serves for it.
//!
//! The rules are those of kafka-connect-healthcheck 0.3.0 (unhealthy states, considered
//! containers, a worker filter, a failure-threshold percentage), with its defects fixed:
//! state names are validated, and a `null` worker id never matches a filter. Nothing here
//! does I/O: `checks::KafkaConnectCheck` (cargo feature `kafka-connect`) fetches the
//! statuses.
//!
//! ```
//! use probe_core::evaluators::connect::{ConnectRules, ConnectorStatus, Traces};
//!
//! let rules = ConnectRules::parse("FAILED", "CONNECTOR,TASK", Some("connect-0:8083"), 0).unwrap();
//! let statuses: Vec<ConnectorStatus> = vec![serde_json::from_str(
//!     r#"{"name":"orders","connector":{"state":"running","worker_id":"connect-1:8083"},
//!         "tasks":[{"id":0,"state":"RUNNING","worker_id":"connect-0:8083"}]}"#,
//! ).unwrap()];
//! // The connector runs elsewhere, so Connect is asked about it to prove it still works.
//! assert_eq!(rules.broker_probe_target(&statuses), Some("orders"));
//! let verdict = rules.evaluate(&statuses, false);
//! assert!(verdict.healthy);
//! assert_eq!(verdict.summary(), "0 of 2 containers failed (rate 0.0 <= threshold 0.0)");
//! ```

mod document;
mod restarts;
mod rules;
mod status;
mod verdict;

#[cfg(test)]
mod tests;

pub use document::{
    python_float, render_answer, render_error, render_verdict, render_withheld, write_str, Traces,
    ERROR_MESSAGE, PING_DOCUMENT, WITHHELD,
};
pub use restarts::{backoff, Record, Restart, RestartBook, RestartRules, Unit};
pub use rules::{
    parse_containers, parse_states, ConnectRules, Container, RulesError, UnknownContainer,
};
pub use status::{ConnectState, ConnectorInstance, ConnectorStatus, TaskStatus, UnknownState};
pub use verdict::{Failure, Observation, Verdict};
