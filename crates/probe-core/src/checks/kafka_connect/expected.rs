//! Expected connectors: readiness waits until each one a deployment expects exists and has
//! been RUNNING at least once. Each expectation, once met, stays met (a latch), so the
//! check asks Connect only while one is still waited for.

use std::sync::{Arc, Mutex};

use regex::Regex;
use serde_json::{json, Value};

use super::KafkaConnectCheck;
use crate::evaluators::connect::{ConnectState, ConnectorStatus};
use crate::{BoxFuture, Check, Outcome, Scope};

/// A connector a deployment expects: by exact name, or any connector whose name matches a
/// regular expression.
#[derive(Clone, Debug)]
pub enum Expected {
    /// Exactly this name.
    Name(String),
    /// At least one connector whose name matches.
    Pattern(Regex),
}

impl Expected {
    fn matches(&self, name: &str) -> bool {
        match self {
            Expected::Name(n) => n == name,
            Expected::Pattern(r) => r.is_match(name),
        }
    }

    fn shown(&self) -> String {
        match self {
            Expected::Name(n) => format!("`{n}`"),
            Expected::Pattern(r) => format!("/{}/", r.as_str()),
        }
    }
}

/// Fails until every expected connector has been seen RUNNING (on any worker).
///
/// ```
/// use probe_core::checks::kafka_connect::{Expected, ExpectedConnectorsCheck};
/// use probe_core::checks::KafkaConnectCheck;
/// use probe_core::evaluators::connect::ConnectRules;
///
/// let connect = KafkaConnectCheck::new("http://localhost:8083", ConnectRules::default()).unwrap();
/// let check = ExpectedConnectorsCheck::new(&connect, vec![Expected::Name("orders-sink".into())]);
/// # let _ = check;
/// ```
#[derive(Clone, Debug)]
pub struct ExpectedConnectorsCheck {
    check: KafkaConnectCheck,
    wanted: Arc<[Expected]>,
    met: Arc<Mutex<Vec<bool>>>,
}

impl ExpectedConnectorsCheck {
    /// Waits for `wanted`, asking through `check`.
    pub fn new(check: &KafkaConnectCheck, wanted: Vec<Expected>) -> Self {
        let met = vec![false; wanted.len()];
        ExpectedConnectorsCheck {
            check: check.clone(),
            wanted: wanted.into(),
            met: Arc::new(Mutex::new(met)),
        }
    }

    /// Marks the expectations `statuses` meet; returns, for each one still unmet, why.
    pub fn observe(&self, statuses: &[ConnectorStatus]) -> Vec<String> {
        let Ok(mut met) = self.met.lock() else {
            return Vec::new();
        };
        let mut waiting = Vec::new();
        for (i, wanted) in self.wanted.iter().enumerate() {
            if met[i] {
                continue;
            }
            let found: Vec<&ConnectorStatus> = statuses
                .iter()
                .filter(|s| wanted.matches(&s.name))
                .collect();
            if found
                .iter()
                .any(|s| ConnectState::Running.matches(&s.connector.state))
            {
                met[i] = true;
                tracing::info!("Expected connector {} is running", wanted.shown());
                continue;
            }
            waiting.push(match found.first() {
                None => format!("{} (missing)", wanted.shown()),
                Some(s) => format!(
                    "{} ({}, not yet RUNNING)",
                    wanted.shown(),
                    s.connector.state.to_uppercase()
                ),
            });
        }
        waiting
    }

    fn all_met(&self) -> bool {
        self.met
            .lock()
            .map(|m| m.iter().all(|x| *x))
            .unwrap_or(false)
    }
}

impl Check for ExpectedConnectorsCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let count = self.wanted.len();
            if self.all_met() {
                return Outcome::pass()
                    .with_message(format!("all {count} expected connector(s) have run"));
            }
            let statuses = match self.check.statuses().await {
                Ok(fetched) => fetched.statuses,
                Err(e) => return Outcome::fail(e.to_string()),
            };
            let waiting = self.observe(&statuses);
            if waiting.is_empty() {
                return Outcome::pass()
                    .with_message(format!("all {count} expected connector(s) have run"));
            }
            let details: Value = json!({ "waiting_for": waiting });
            Outcome::fail(format!(
                "waiting for expected connector(s): {}",
                waiting.join(", ")
            ))
            .with_details(details)
        })
    }
}
