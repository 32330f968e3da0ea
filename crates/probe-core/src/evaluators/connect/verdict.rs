//! What the Connect rules found: the failures in Connect's order, the rate, the threshold.

use super::document::{self, Traces};
use super::ConnectState;

/// The result of [`ConnectRules::evaluate`](super::ConnectRules::evaluate).
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Failed containers in Connect's order (a connector, then its tasks), a broker
    /// failure last.
    pub failures: Vec<Failure>,
    /// The unhealthy states the rules used, as configured.
    pub failure_states: Vec<ConnectState>,
    /// Failed considered containers divided by all considered containers (0.0 when none).
    pub failure_rate: f64,
    /// The configured percentage times 0.01.
    pub failure_threshold: f64,
    /// `failure_rate <= failure_threshold`, and no broker failure.
    pub healthy: bool,
    /// Considered containers of every worker (the denominator of the rate).
    pub container_count: usize,
    /// Failed considered containers on this worker (the numerator of the rate).
    pub failure_count: usize,
    /// Every connector and task the rules judged, in Connect's order, healthy or not:
    /// what the check logs.
    pub observations: Vec<Observation>,
}

/// One failure entry of the health document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A connector in an unhealthy state.
    Connector {
        /// The name Connect listed it under.
        connector: String,
        /// Its state, upper-cased.
        state: String,
        /// Its worker, as sent.
        worker_id: Option<String>,
    },
    /// A task in an unhealthy state.
    Task {
        /// The name of its connector.
        connector: String,
        /// The task id.
        id: i64,
        /// Its state, as sent.
        state: String,
        /// Its worker, as sent.
        worker_id: Option<String>,
        /// Its stack trace, when Connect sent one.
        trace: Option<String>,
    },
    /// Connect could not describe the first connector: it lost its Kafka cluster.
    Broker {
        /// The connector asked about.
        connector: String,
    },
}

/// One connector or task the rules judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The connector's name.
    pub connector: String,
    /// The task id, or `None` for the connector itself.
    pub task: Option<i64>,
    /// The state: upper-cased for a connector, as sent for a task.
    pub state: String,
    /// Whether the state is one of the unhealthy ones.
    pub unhealthy: bool,
}

impl Verdict {
    /// Whether a broker failure forced the verdict to unhealthy.
    pub fn broker_failed(&self) -> bool {
        self.failures
            .iter()
            .any(|f| matches!(f, Failure::Broker { .. }))
    }

    /// One line for people, e.g. `1 of 5 containers failed (rate 0.2 > threshold 0.0)`.
    pub fn summary(&self) -> String {
        let op = if self.failure_rate <= self.failure_threshold {
            "<="
        } else {
            ">"
        };
        let mut line = format!(
            "{} of {} containers failed (rate {} {op} threshold {})",
            self.failure_count,
            self.container_count,
            document::python_float(self.failure_rate),
            document::python_float(self.failure_threshold),
        );
        for f in &self.failures {
            if let Failure::Broker { connector } = f {
                line.push_str(&format!(
                    "; Connect could not describe connector `{connector}` (broker check)"
                ));
            }
        }
        line
    }

    /// The health document, byte for byte as kafka-connect-healthcheck renders it;
    /// see [`document::render_verdict`].
    pub fn to_document(&self, traces: Traces) -> String {
        document::render_verdict(self, traces)
    }
}
