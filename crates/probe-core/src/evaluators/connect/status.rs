//! What Kafka Connect's REST API reports about a connector: the status object of
//! `GET /connectors/{name}/status` (also the `status` of each entry of
//! `GET /connectors?expand=status`), and the states Connect knows.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// The status of one connector and its tasks, as Connect sends it.
///
/// States are kept as sent (Connect may grow new ones); worker ids may be `null`;
/// unknown fields (`version` on Kafka 4.1+, ...) are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ConnectorStatus {
    /// The connector's name. The Kafka Connect check overwrites it with the name under
    /// which Connect listed the connector, which is the name the documents show.
    #[serde(default)]
    pub name: String,
    /// The connector instance: its state and the worker running it.
    pub connector: ConnectorInstance,
    /// Its tasks, sorted by id; empty for a stopped connector or before task configs exist.
    #[serde(default)]
    pub tasks: Vec<TaskStatus>,
    /// `source`, `sink` or `unknown`; older workers omit it or send `null`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// The connector part of a status object.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ConnectorInstance {
    /// The state as sent, e.g. `RUNNING`.
    pub state: String,
    /// The worker's advertised `host:port`, or `None` when Connect sent `null` or nothing.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// The Java stack trace of a failed connector, when Connect sent one.
    #[serde(default)]
    pub trace: Option<String>,
}

/// One task of a connector.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TaskStatus {
    /// The task's number within its connector.
    pub id: i64,
    /// The state as sent, e.g. `FAILED`.
    pub state: String,
    /// The worker's advertised `host:port`, or `None` when Connect sent `null` or nothing.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// The Java stack trace of a failed task, when Connect sent one.
    #[serde(default)]
    pub trace: Option<String>,
}

/// A state Kafka Connect reports for a connector or a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectState {
    /// Not yet assigned to a worker (transient).
    Unassigned,
    /// Running.
    Running,
    /// Paused by an operator.
    Paused,
    /// Failed: broken until restarted.
    Failed,
    /// Being restarted (Kafka 3.0+, transient).
    Restarting,
    /// Stopped by an operator (Kafka 3.5+, connectors only).
    Stopped,
}

impl ConnectState {
    /// Every state, in Connect's order.
    pub const ALL: [ConnectState; 6] = [
        ConnectState::Unassigned,
        ConnectState::Running,
        ConnectState::Paused,
        ConnectState::Failed,
        ConnectState::Restarting,
        ConnectState::Stopped,
    ];

    /// The name Connect uses, upper-case.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectState::Unassigned => "UNASSIGNED",
            ConnectState::Running => "RUNNING",
            ConnectState::Paused => "PAUSED",
            ConnectState::Failed => "FAILED",
            ConnectState::Restarting => "RESTARTING",
            ConnectState::Stopped => "STOPPED",
        }
    }

    /// Whether `reported` (a state as Connect sent it) is this state, ignoring case.
    pub fn matches(self, reported: &str) -> bool {
        reported.to_uppercase() == self.as_str()
    }
}

impl fmt::Display for ConnectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that Kafka Connect does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Kafka Connect state `{0}` (expected UNASSIGNED, RUNNING, PAUSED, FAILED, RESTARTING or STOPPED)"
)]
pub struct UnknownState(pub String);

impl FromStr for ConnectState {
    type Err = UnknownState;

    /// Parses a state name, ignoring case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_uppercase();
        ConnectState::ALL
            .into_iter()
            .find(|state| state.as_str() == wanted)
            .ok_or_else(|| UnknownState(s.trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_whatever_their_case() {
        for state in ConnectState::ALL {
            assert_eq!(state.as_str().parse(), Ok(state));
            assert_eq!(state.as_str().to_lowercase().parse(), Ok(state));
        }
        assert_eq!(" Failed ".parse(), Ok(ConnectState::Failed));
        assert_eq!(
            "BOGUS".parse::<ConnectState>(),
            Err(UnknownState("BOGUS".into()))
        );
        assert!("".parse::<ConnectState>().is_err());
    }

    #[test]
    fn status_objects_keep_what_connect_sent_and_ignore_the_rest() {
        let body = r#"{"name":"jdbc-sink","connector":{"state":"RUNNING","worker_id":"w1:8083","version":"4.1.0"},
            "tasks":[{"id":0,"state":"failed","worker_id":null,"trace":"boom\n\tat X"},
                     {"id":1,"state":"RUNNING","worker_id":"w2:8083","version":null}],
            "type":"sink","extra":{"nested":[1,2]}}"#;
        let status: ConnectorStatus = serde_json::from_str(body).unwrap();
        assert_eq!(status.name, "jdbc-sink");
        assert_eq!(status.connector.worker_id.as_deref(), Some("w1:8083"));
        assert_eq!(status.tasks[0].state, "failed");
        assert_eq!(status.tasks[0].worker_id, None);
        assert_eq!(status.tasks[0].trace.as_deref(), Some("boom\n\tat X"));
        assert_eq!(status.tasks[1].trace, None);
        assert_eq!(status.kind.as_deref(), Some("sink"));
    }

    #[test]
    fn error_objects_are_not_status_objects() {
        let body = r#"{"error_code":404,"message":"No status found for connector foo"}"#;
        assert!(serde_json::from_str::<ConnectorStatus>(body).is_err());
    }

    #[test]
    fn old_workers_without_type_and_tasks_still_parse() {
        let body = r#"{"name":"a","connector":{"state":"STOPPED","worker_id":"w:1"},"type":null}"#;
        let status: ConnectorStatus = serde_json::from_str(body).unwrap();
        assert!(status.tasks.is_empty());
        assert_eq!(status.kind, None);
    }
}
