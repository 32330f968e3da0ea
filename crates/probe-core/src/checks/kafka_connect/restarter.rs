//! The task restarter: polls Connect's statuses and restarts FAILED connectors and tasks
//! through the REST API, on the schedule of [`RestartBook`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use regex::Regex;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{ConnectError, KafkaConnectCheck};
use crate::evaluators::connect::{
    backoff, ConnectRules, ConnectorStatus, Restart, RestartBook, RestartRules,
};
use crate::BoxFuture;

/// How the restarter runs.
#[derive(Clone, Debug)]
pub struct RestartPolicy {
    /// The schedule: backoff, maximum, reset, one call per connector.
    pub rules: RestartRules,
    /// How often Connect's statuses are read (default 30 s); the restarter also wakes up
    /// when a restart falls due.
    pub interval: Duration,
    /// Only connectors whose name matches.
    pub connectors: Option<Regex>,
    /// Only containers whose stack trace matches (a container without a trace never does).
    pub traces: Option<Regex>,
    /// Log and count what would be restarted, restart nothing.
    pub dry_run: bool,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            rules: RestartRules::default(),
            interval: Duration::from_secs(30),
            connectors: None,
            traces: None,
            dry_run: false,
        }
    }
}

/// What Connect answered to a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restarted {
    /// Done (202 or 204).
    Done,
    /// A worker before Kafka 3.0 ignored `includeTasks`: only the connector was restarted.
    ConnectorOnly,
    /// 409: the group is rebalancing; try again later (not counted).
    Conflict,
}

/// What the restarter needs from Connect; [`KafkaConnectCheck`] is the real one.
pub trait ConnectApi: Send + Sync + 'static {
    /// Every connector's status.
    fn statuses(&self) -> BoxFuture<'_, Result<Vec<ConnectorStatus>, ConnectError>>;
    /// Performs `restart`.
    fn restart<'a>(
        &'a self,
        restart: &'a Restart,
    ) -> BoxFuture<'a, Result<Restarted, ConnectError>>;
}

impl ConnectApi for KafkaConnectCheck {
    fn statuses(&self) -> BoxFuture<'_, Result<Vec<ConnectorStatus>, ConnectError>> {
        Box::pin(async move { KafkaConnectCheck::statuses(self).await.map(|f| f.statuses) })
    }

    fn restart<'a>(
        &'a self,
        restart: &'a Restart,
    ) -> BoxFuture<'a, Result<Restarted, ConnectError>> {
        Box::pin(async move {
            let path = match restart {
                Restart::ConnectorAndFailedTasks { connector, .. } => format!(
                    "/connectors/{}/restart?includeTasks=true&onlyFailed=true",
                    super::encode(connector)
                ),
                Restart::Connector { connector } => {
                    format!("/connectors/{}/restart", super::encode(connector))
                }
                Restart::Task { connector, task } => {
                    format!(
                        "/connectors/{}/tasks/{task}/restart",
                        super::encode(connector)
                    )
                }
            };
            let (url, status, body) = self.post(&path).await?;
            match status {
                202 => Ok(Restarted::Done),
                204 if matches!(restart, Restart::ConnectorAndFailedTasks { .. }) => {
                    Ok(Restarted::ConnectorOnly)
                }
                200..=299 => Ok(Restarted::Done),
                409 => Ok(Restarted::Conflict),
                _ => Err(ConnectError::Answer {
                    url: format!("POST {url}"),
                    source: crate::proto::connect_rest::refusal_of(status, &body),
                }),
            }
        })
    }
}

/// Restarts FAILED connectors and tasks, with a backoff per container.
///
/// ```
/// use probe_core::checks::kafka_connect::{RestartPolicy, Restarter};
/// use probe_core::evaluators::connect::ConnectRules;
///
/// let restarter = Restarter::new(RestartPolicy::default(), ConnectRules::default());
/// let book = restarter.book(); // share with the check, for its details
/// assert!(book.lock().unwrap().restarted().is_empty());
/// ```
#[derive(Debug)]
pub struct Restarter {
    policy: RestartPolicy,
    rules: ConnectRules,
    book: Arc<Mutex<RestartBook>>,
}

impl Restarter {
    /// A restarter judging which containers are this worker's with `rules`. With a worker
    /// id, a connector and its tasks are restarted in separate calls, so that failed tasks
    /// of other workers are left to their own sidecars.
    pub fn new(policy: RestartPolicy, rules: ConnectRules) -> Self {
        Restarter::with_book(policy, rules, Arc::default())
    }

    /// Like [`Restarter::new`], recording into `book` (made beforehand, to be shared with a
    /// check through [`KafkaConnectCheck::restart_book`]).
    pub fn with_book(
        mut policy: RestartPolicy,
        rules: ConnectRules,
        book: Arc<Mutex<RestartBook>>,
    ) -> Self {
        if rules.worker_id.is_some() {
            policy.rules.combined = false;
        }
        Restarter {
            policy,
            rules,
            book,
        }
    }

    /// The book of restarts, shared.
    pub fn book(&self) -> Arc<Mutex<RestartBook>> {
        self.book.clone()
    }

    /// Polls and restarts forever (spawn it; it stops when its task is aborted).
    pub async fn run<A: ConnectApi>(mut self, api: A) {
        loop {
            let next = self.round(&api).await;
            tokio::time::sleep_until(next).await;
        }
    }

    /// One poll: reads the statuses, performs the restarts due, and says when to poll next
    /// (after the interval, or earlier when a restart falls due).
    pub async fn round<A: ConnectApi>(&mut self, api: &A) -> Instant {
        let started = Instant::now();
        match api.statuses().await {
            Ok(statuses) => self.restart_due(api, &statuses).await,
            Err(e) => tracing::debug!("restarter: cannot read the statuses: {e}"),
        }
        let now = Instant::now();
        let next = started + self.policy.interval;
        let due = self
            .book
            .lock()
            .ok()
            .and_then(|b| b.next_due(&self.policy.rules, now));
        match due {
            Some(due) if due < next => due,
            _ => next.max(now),
        }
    }

    async fn restart_due<A: ConnectApi>(&mut self, api: &A, statuses: &[ConnectorStatus]) {
        let eligible = |name: &str, trace: Option<&str>| {
            self.policy
                .connectors
                .as_ref()
                .is_none_or(|r| r.is_match(name))
                && self
                    .policy
                    .traces
                    .as_ref()
                    .is_none_or(|r| trace.is_some_and(|t| r.is_match(t)))
        };
        let plan = match self.book.lock() {
            Ok(mut book) => book.plan(
                statuses,
                &self.rules,
                &self.policy.rules,
                &eligible,
                Instant::now(),
            ),
            Err(_) => return,
        };
        let mut queue: std::collections::VecDeque<Restart> = plan.into();
        while let Some(restart) = queue.pop_front() {
            if self.policy.dry_run {
                let n = self.record(&restart);
                tracing::info!("Dry run: would restart {restart} (restart {n})");
                continue;
            }
            match api.restart(&restart).await {
                Ok(Restarted::Done) => {
                    let n = self.record(&restart);
                    tracing::warn!(
                        "Restarted {restart} (restart {n}; the next one no sooner than {} min later)",
                        backoff(n).as_secs() / 60
                    );
                }
                Ok(Restarted::ConnectorOnly) => {
                    // A worker before Kafka 3.0: restart the tasks one by one from now on.
                    self.policy.rules.combined = false;
                    if let Restart::ConnectorAndFailedTasks { connector, tasks } = restart {
                        let alone = Restart::Connector {
                            connector: connector.clone(),
                        };
                        let n = self.record(&alone);
                        tracing::warn!("Restarted {alone} (restart {n})");
                        for task in tasks {
                            queue.push_back(Restart::Task {
                                connector: connector.clone(),
                                task,
                            });
                        }
                    }
                }
                Ok(Restarted::Conflict) => {
                    tracing::info!("Connect is rebalancing; {restart} will be restarted later")
                }
                Err(e) => tracing::warn!("Cannot restart {restart}: {e}"),
            }
        }
    }

    /// Counts `restart`; returns its container's count (the connector's for a combined one).
    fn record(&self, restart: &Restart) -> u32 {
        let Ok(mut book) = self.book.lock() else {
            return 0;
        };
        book.record(restart, Instant::now(), SystemTime::now());
        restart
            .units()
            .first()
            .and_then(|u| book.get(u))
            .map_or(0, |r| r.count)
    }
}

/// The restarts of `book` for a check's details: per container, restarts since the
/// process started, the current count (reset after a healthy period) and the time of the
/// last one.
pub fn restarts_details(book: &RestartBook) -> Value {
    Value::Array(
        book.restarted()
            .into_iter()
            .map(|(unit, record)| {
                json!({
                    "connector": unit.connector,
                    "task": unit.task,
                    "restarts": record.total,
                    "count": record.count,
                    "last_restart": record.last_wall.map(crate::time::rfc3339),
                })
            })
            .collect(),
    )
}
