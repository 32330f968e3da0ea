//! The rules: which states are unhealthy, which containers count, which worker is ours,
//! and how many failures are tolerated.

use std::fmt;
use std::str::FromStr;

use super::{ConnectState, ConnectorStatus, Failure, Observation, UnknownState, Verdict};

/// A kind of thing Connect runs: the connector instance or one of its tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    /// The connector instance.
    Connector,
    /// A task of a connector.
    Task,
}

impl Container {
    /// `connector` or `task`, as the failure entries name them.
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Connector => "connector",
            Container::Task => "task",
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container name other than `connector` or `task`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown container `{0}` (expected CONNECTOR or TASK)")]
pub struct UnknownContainer(pub String);

impl FromStr for Container {
    type Err = UnknownContainer;

    /// Parses `connector` or `task`, ignoring case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "connector" => Ok(Container::Connector),
            "task" => Ok(Container::Task),
            _ => Err(UnknownContainer(s.trim().to_owned())),
        }
    }
}

/// Why a rule set could not be built from its textual options.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// `unhealthy_states` names a state Connect does not have.
    #[error("unhealthy states: {0}")]
    State(#[from] UnknownState),
    /// `considered_containers` names something other than connector or task.
    #[error("considered containers: {0}")]
    Container(#[from] UnknownContainer),
    /// A list option was empty.
    #[error("{0}: the list is empty")]
    Empty(&'static str),
}

/// How Connect statuses become a verdict, as kafka-connect-healthcheck 0.3.0 decides it.
///
/// ```
/// use probe_core::evaluators::connect::{ConnectRules, ConnectorStatus, Traces};
///
/// let rules = ConnectRules::parse("failed", "connector,task", None, 0).unwrap();
/// let status: ConnectorStatus = serde_json::from_str(
///     r#"{"name":"sink","connector":{"state":"RUNNING","worker_id":"w:8083"},
///         "tasks":[{"id":0,"state":"FAILED","worker_id":"w:8083"}]}"#,
/// ).unwrap();
/// let verdict = rules.evaluate(&[status], false);
/// assert!(!verdict.healthy);
/// assert_eq!(verdict.failure_rate, 0.5);
/// assert_eq!(
///     verdict.to_document(Traces::Keep),
///     r#"{"failures": [{"type": "task", "connector": "sink", "id": 0, "state": "FAILED", "worker_id": "w:8083", "trace": null}], "failure_states": ["FAILED"], "failure_rate": 0.5, "failure_threshold": 0.0, "healthy": false}"#,
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRules {
    /// States that count as failures (default `FAILED`).
    pub unhealthy_states: Vec<ConnectState>,
    /// What is judged and counted (default both).
    pub considered_containers: Vec<Container>,
    /// Judge only what runs on this worker (compared ignoring case); `None` judges all.
    /// A container whose worker id is `null` never matches a filter.
    pub worker_id: Option<String>,
    /// Failures tolerated, in percent of all considered containers (default 0).
    pub failure_threshold_percentage: u32,
}

impl Default for ConnectRules {
    fn default() -> Self {
        ConnectRules {
            unhealthy_states: vec![ConnectState::Failed],
            considered_containers: vec![Container::Connector, Container::Task],
            worker_id: None,
            failure_threshold_percentage: 0,
        }
    }
}

impl ConnectRules {
    /// Builds rules from kafka-connect-healthcheck's option strings: comma-separated,
    /// case-insensitive state and container lists (`"FAILED,PAUSED"`, `"CONNECTOR,TASK"`),
    /// the worker id (empty means none) and the threshold percentage.
    pub fn parse(
        unhealthy_states: &str,
        considered_containers: &str,
        worker_id: Option<&str>,
        failure_threshold_percentage: u32,
    ) -> Result<Self, RulesError> {
        Ok(ConnectRules {
            unhealthy_states: parse_states(unhealthy_states)?,
            considered_containers: parse_containers(considered_containers)?,
            worker_id: worker_id
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
            failure_threshold_percentage,
        })
    }

    /// `failure_threshold_percentage * 0.01`, computed as the peer does (57 gives
    /// `0.5700000000000001`).
    pub fn failure_threshold(&self) -> f64 {
        f64::from(self.failure_threshold_percentage) * 0.01
    }

    /// Whether `container` is judged and counted.
    pub fn considers(&self, container: Container) -> bool {
        self.considered_containers.contains(&container)
    }

    /// Whether a container reported on `worker_id` is judged under the worker filter.
    pub fn is_on_this_worker(&self, worker_id: Option<&str>) -> bool {
        match (&self.worker_id, worker_id) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(ours), Some(theirs)) => ours.to_lowercase() == theirs.to_lowercase(),
        }
    }

    /// Whether a state as Connect sent it is one of the unhealthy states.
    pub fn is_unhealthy(&self, state: &str) -> bool {
        let upper = state.to_uppercase();
        self.unhealthy_states.iter().any(|s| s.as_str() == upper)
    }

    /// The connector to ask about when no connector was judged (none on this worker, or
    /// connectors not considered): Connect's answer for it shows whether Connect still
    /// reaches its Kafka cluster. `None` when no such probe is needed.
    pub fn broker_probe_target<'a>(&self, statuses: &'a [ConnectorStatus]) -> Option<&'a str> {
        let judged_one = self.considers(Container::Connector)
            && statuses
                .iter()
                .any(|s| self.is_on_this_worker(s.connector.worker_id.as_deref()));
        match statuses.first() {
            Some(first) if !judged_one => Some(&first.name),
            _ => None,
        }
    }

    /// Judges `statuses` (in Connect's order). `broker_failed` says that the probe named by
    /// [`broker_probe_target`](Self::broker_probe_target) failed: it adds a `broker`
    /// failure for the first connector and makes the verdict unhealthy (ignored when
    /// `statuses` is empty).
    pub fn evaluate(&self, statuses: &[ConnectorStatus], broker_failed: bool) -> Verdict {
        self.evaluate_held(statuses, broker_failed, &|_, _, _| true)
    }

    /// Like [`evaluate`](Self::evaluate), but an unhealthy state counts only where
    /// `held(connector, task, state)` says it has lasted long enough (a grace period for
    /// transient states such as UNASSIGNED); until then the container is judged healthy.
    pub fn evaluate_held(
        &self,
        statuses: &[ConnectorStatus],
        broker_failed: bool,
        held: &dyn Fn(&str, Option<i64>, &str) -> bool,
    ) -> Verdict {
        let mut failures = Vec::new();
        let mut observations = Vec::new();
        let (with_connectors, with_tasks) = (
            self.considers(Container::Connector),
            self.considers(Container::Task),
        );
        for status in statuses {
            let instance = &status.connector;
            if with_connectors && self.is_on_this_worker(instance.worker_id.as_deref()) {
                let state = instance.state.to_uppercase();
                let unhealthy = self.is_unhealthy(&state) && held(&status.name, None, &state);
                if unhealthy {
                    failures.push(Failure::Connector {
                        connector: status.name.clone(),
                        state: state.clone(),
                        worker_id: instance.worker_id.clone(),
                    });
                }
                observations.push(Observation {
                    connector: status.name.clone(),
                    task: None,
                    state,
                    unhealthy,
                });
            }
            if !with_tasks {
                continue;
            }
            for task in &status.tasks {
                if !self.is_on_this_worker(task.worker_id.as_deref()) {
                    continue;
                }
                let unhealthy = self.is_unhealthy(&task.state)
                    && held(&status.name, Some(task.id), &task.state);
                if unhealthy {
                    failures.push(Failure::Task {
                        connector: status.name.clone(),
                        id: task.id,
                        state: task.state.clone(),
                        worker_id: task.worker_id.clone(),
                        trace: task.trace.clone(),
                    });
                }
                observations.push(Observation {
                    connector: status.name.clone(),
                    task: Some(task.id),
                    state: task.state.clone(),
                    unhealthy,
                });
            }
        }
        let failure_count = failures.len();
        let broker_failed = broker_failed && !statuses.is_empty();
        if broker_failed {
            failures.push(Failure::Broker {
                connector: statuses[0].name.clone(),
            });
        }
        let mut container_count = 0;
        if with_connectors {
            container_count += statuses.len();
        }
        if with_tasks {
            container_count += statuses.iter().map(|s| s.tasks.len()).sum::<usize>();
        }
        let failure_rate = if container_count > 0 {
            failure_count as f64 / container_count as f64
        } else {
            0.0
        };
        let failure_threshold = self.failure_threshold();
        Verdict {
            failures,
            failure_states: self.unhealthy_states.clone(),
            failure_rate,
            failure_threshold,
            healthy: failure_rate <= failure_threshold && !broker_failed,
            container_count,
            failure_count,
            observations,
        }
    }
}

/// Parses a comma-separated list of Connect states, ignoring case and whitespace
/// around each name. Order and repeats are kept (they show in `failure_states`).
pub fn parse_states(list: &str) -> Result<Vec<ConnectState>, RulesError> {
    if list.trim().is_empty() {
        return Err(RulesError::Empty("unhealthy states"));
    }
    Ok(list
        .split(',')
        .map(str::parse)
        .collect::<Result<_, UnknownState>>()?)
}

/// Parses a comma-separated list of containers (`connector`, `task`), ignoring case and
/// whitespace around each name.
pub fn parse_containers(list: &str) -> Result<Vec<Container>, RulesError> {
    if list.trim().is_empty() {
        return Err(RulesError::Empty("considered containers"));
    }
    Ok(list
        .split(',')
        .map(str::parse)
        .collect::<Result<_, UnknownContainer>>()?)
}
