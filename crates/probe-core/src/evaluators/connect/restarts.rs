//! When to restart a FAILED connector or task: a backoff of min(n² + n, 60) minutes after
//! the n-th restart (the schedule of Strimzi's auto-restart), a maximum count, and the
//! count forgotten once the container has stayed healthy long enough. Pure: the caller
//! passes the time and performs the restarts.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{ConnectRules, ConnectState, ConnectorStatus};

/// The wait after the `n`-th restart before the next one: min(n² + n, 60) minutes (0 before
/// the first).
///
/// ```
/// use std::time::Duration;
/// use probe_core::evaluators::connect::backoff;
///
/// let minutes: Vec<u64> = (0..8).map(|n| backoff(n).as_secs() / 60).collect();
/// assert_eq!(minutes, [0, 2, 6, 12, 20, 30, 42, 56]);
/// assert_eq!(backoff(8), Duration::from_secs(60 * 60));
/// ```
pub fn backoff(restarts: u32) -> Duration {
    let n = u64::from(restarts);
    Duration::from_secs(60 * (n * n + n).min(60))
}

/// What a restart is for: a connector (with its failed tasks, where Connect can do both in
/// one call) or one task.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unit {
    /// The connector's name.
    pub connector: String,
    /// The task id, or `None` for the connector itself.
    pub task: Option<i64>,
}

/// A restart to perform now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restart {
    /// `POST /connectors/{c}/restart?includeTasks=true&onlyFailed=true` (Kafka 3.0+): the
    /// connector and every failed task of it, in one call. `tasks` are the failed tasks
    /// it covers, counted as restarted with it.
    ConnectorAndFailedTasks {
        /// The connector.
        connector: String,
        /// Its failed tasks.
        tasks: Vec<i64>,
    },
    /// `POST /connectors/{c}/restart`: the connector instance alone.
    Connector {
        /// The connector.
        connector: String,
    },
    /// `POST /connectors/{c}/tasks/{t}/restart`.
    Task {
        /// The connector.
        connector: String,
        /// The task id.
        task: i64,
    },
}

impl Restart {
    /// The units this restart counts for.
    pub fn units(&self) -> Vec<Unit> {
        match self {
            Restart::ConnectorAndFailedTasks { connector, tasks } => {
                let mut units = vec![Unit {
                    connector: connector.clone(),
                    task: None,
                }];
                units.extend(tasks.iter().map(|&t| Unit {
                    connector: connector.clone(),
                    task: Some(t),
                }));
                units
            }
            Restart::Connector { connector } => vec![Unit {
                connector: connector.clone(),
                task: None,
            }],
            Restart::Task { connector, task } => vec![Unit {
                connector: connector.clone(),
                task: Some(*task),
            }],
        }
    }
}

impl std::fmt::Display for Restart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Restart::ConnectorAndFailedTasks { connector, tasks } => {
                write!(f, "connector '{connector}' with its failed tasks {tasks:?}")
            }
            Restart::Connector { connector } => write!(f, "connector '{connector}'"),
            Restart::Task { connector, task } => {
                write!(f, "connector '{connector}' task '{task}'")
            }
        }
    }
}

/// The restarter's settings.
#[derive(Clone, Debug)]
pub struct RestartRules {
    /// Stop restarting a container after this many restarts (`None`: never stop).
    pub max_restarts: Option<u32>,
    /// Forget a container's restarts once it has been RUNNING this long without a break.
    pub reset_after: Duration,
    /// Restart a connector and its failed tasks in one call (Kafka 3.0+). Off for a worker
    /// filter (the call would restart failed tasks of other workers too) and for workers that
    /// do not have it.
    pub combined: bool,
}

impl Default for RestartRules {
    fn default() -> Self {
        RestartRules {
            max_restarts: None,
            reset_after: Duration::from_secs(60 * 60),
            combined: true,
        }
    }
}

/// What the restarter knows of one container.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Restarts since the count was last reset.
    pub count: u32,
    /// Restarts since the process started, never reset.
    pub total: u32,
    /// When the last restart was made (for the backoff).
    pub last: Option<Instant>,
    /// The wall-clock time of the last restart (for people).
    pub last_wall: Option<SystemTime>,
    /// Since when it has been RUNNING without a break.
    pub healthy_since: Option<Instant>,
}

/// Every container's restarts, and the plan of the next ones.
#[derive(Clone, Debug, Default)]
pub struct RestartBook {
    records: HashMap<Unit, Record>,
}

impl RestartBook {
    /// An empty book.
    pub fn new() -> Self {
        RestartBook::default()
    }

    /// What to restart now, given the statuses seen at `now`. `rules` decides which
    /// containers are this worker's; `eligible(connector, trace)` applies the connector and
    /// trace filters. Only FAILED containers are restarted; PAUSED and STOPPED ones, like
    /// every other state, are left alone. Also resets the counts of containers that have
    /// been RUNNING for `reset_after`.
    pub fn plan(
        &mut self,
        statuses: &[ConnectorStatus],
        rules: &ConnectRules,
        restart: &RestartRules,
        eligible: &dyn Fn(&str, Option<&str>) -> bool,
        now: Instant,
    ) -> Vec<Restart> {
        let mut out = Vec::new();
        for status in statuses {
            let name = &status.name;
            let connector_unit = Unit {
                connector: name.clone(),
                task: None,
            };
            let instance = &status.connector;
            let connector_failed = rules.is_on_this_worker(instance.worker_id.as_deref())
                && ConnectState::Failed.matches(&instance.state)
                && eligible(name, instance.trace.as_deref());
            self.observe(&connector_unit, &instance.state, restart, now);
            let mut due_tasks = Vec::new();
            let mut failed_tasks = Vec::new();
            for task in &status.tasks {
                let unit = Unit {
                    connector: name.clone(),
                    task: Some(task.id),
                };
                self.observe(&unit, &task.state, restart, now);
                let failed = rules.is_on_this_worker(task.worker_id.as_deref())
                    && ConnectState::Failed.matches(&task.state)
                    && eligible(name, task.trace.as_deref());
                if failed {
                    failed_tasks.push(task.id);
                    if self.is_due(&unit, restart, now) {
                        due_tasks.push(task.id);
                    }
                }
            }
            if connector_failed && self.is_due(&connector_unit, restart, now) {
                if restart.combined {
                    out.push(Restart::ConnectorAndFailedTasks {
                        connector: name.clone(),
                        tasks: failed_tasks,
                    });
                    continue;
                }
                out.push(Restart::Connector {
                    connector: name.clone(),
                });
            }
            out.extend(due_tasks.into_iter().map(|task| Restart::Task {
                connector: name.clone(),
                task,
            }));
        }
        out
    }

    /// Counts `restart` as made at `now` (`wall` for people).
    pub fn record(&mut self, restart: &Restart, now: Instant, wall: SystemTime) {
        for unit in restart.units() {
            let record = self.records.entry(unit).or_default();
            record.count += 1;
            record.total += 1;
            record.last = Some(now);
            record.last_wall = Some(wall);
            record.healthy_since = None;
        }
    }

    /// The earliest time after `now` at which a container that was FAILED when last seen
    /// becomes due, if any: the restarter wakes up then rather than at its next poll.
    pub fn next_due(&self, restart: &RestartRules, now: Instant) -> Option<Instant> {
        self.records
            .values()
            .filter(|r| r.healthy_since.is_none() && r.count > 0)
            .filter(|r| restart.max_restarts.is_none_or(|max| r.count < max))
            .filter_map(|r| r.last.map(|last| last + backoff(r.count)))
            .filter(|due| *due > now)
            .min()
    }

    /// The record of `unit`, if it was ever seen or restarted.
    pub fn get(&self, unit: &Unit) -> Option<&Record> {
        self.records.get(unit)
    }

    /// Every container restarted at least once since the process started, sorted.
    pub fn restarted(&self) -> Vec<(&Unit, &Record)> {
        let mut out: Vec<_> = self.records.iter().filter(|(_, r)| r.total > 0).collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    fn observe(&mut self, unit: &Unit, state: &str, restart: &RestartRules, now: Instant) {
        let running = ConnectState::Running.matches(state);
        let failed = ConnectState::Failed.matches(state);
        if !running && !failed && !self.records.contains_key(unit) {
            return;
        }
        let record = self.records.entry(unit.clone()).or_default();
        if running {
            let since = *record.healthy_since.get_or_insert(now);
            if record.count > 0 && now.duration_since(since) >= restart.reset_after {
                record.count = 0;
            }
        } else {
            record.healthy_since = None;
        }
    }

    fn is_due(&self, unit: &Unit, restart: &RestartRules, now: Instant) -> bool {
        let Some(record) = self.records.get(unit) else {
            return true;
        };
        if restart.max_restarts.is_some_and(|max| record.count >= max) {
            return false;
        }
        match record.last {
            Some(last) if record.count > 0 => now >= last + backoff(record.count),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluators::connect::{ConnectorInstance, TaskStatus};

    fn status(connector: &str, tasks: &[(i64, &str)]) -> ConnectorStatus {
        ConnectorStatus {
            name: "sink".into(),
            connector: ConnectorInstance {
                state: connector.into(),
                worker_id: Some("w0:8083".into()),
                trace: None,
            },
            tasks: tasks
                .iter()
                .map(|&(id, state)| TaskStatus {
                    id,
                    state: state.into(),
                    worker_id: Some(if id == 9 { "w1:8083" } else { "w0:8083" }.into()),
                    trace: Some("java.lang.OutOfMemoryError".into()),
                })
                .collect(),
            kind: None,
        }
    }

    fn all(_: &str, _: Option<&str>) -> bool {
        true
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_task_is_restarted_at_once_then_after_the_backoff() {
        let (rules, restart) = (ConnectRules::default(), RestartRules::default());
        let mut book = RestartBook::new();
        let failed = [status("RUNNING", &[(0, "FAILED"), (1, "RUNNING")])];
        let t0 = Instant::now();
        let plan = book.plan(&failed, &rules, &restart, &all, t0);
        assert_eq!(
            plan,
            [Restart::Task {
                connector: "sink".into(),
                task: 0
            }]
        );
        book.record(&plan[0], t0, SystemTime::now());
        let just_before = t0 + Duration::from_secs(119);
        assert!(book
            .plan(&failed, &rules, &restart, &all, just_before)
            .is_empty());
        assert_eq!(
            book.next_due(&restart, just_before),
            Some(t0 + Duration::from_secs(120))
        );
        assert_eq!(
            book.plan(
                &failed,
                &rules,
                &restart,
                &all,
                t0 + Duration::from_secs(120)
            )
            .len(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn paused_stopped_and_other_workers_are_left_alone() {
        let rules = ConnectRules {
            worker_id: Some("w0:8083".into()),
            ..ConnectRules::default()
        };
        let restart = RestartRules::default();
        let mut book = RestartBook::new();
        let now = Instant::now();
        for state in ["PAUSED", "STOPPED", "UNASSIGNED", "RESTARTING", "RUNNING"] {
            let statuses = [status(state, &[(0, state), (9, "FAILED")])];
            assert!(
                book.plan(&statuses, &rules, &restart, &all, now).is_empty(),
                "{state}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_connector_is_restarted_with_its_failed_tasks_in_one_call() {
        let (rules, restart) = (ConnectRules::default(), RestartRules::default());
        let statuses = [status(
            "FAILED",
            &[(0, "FAILED"), (1, "RUNNING"), (2, "FAILED")],
        )];
        let plan = RestartBook::new().plan(&statuses, &rules, &restart, &all, Instant::now());
        assert_eq!(
            plan,
            [Restart::ConnectorAndFailedTasks {
                connector: "sink".into(),
                tasks: vec![0, 2]
            }]
        );
        let separate = RestartRules {
            combined: false,
            ..RestartRules::default()
        };
        let plan = RestartBook::new().plan(&statuses, &rules, &separate, &all, Instant::now());
        assert_eq!(plan.len(), 3, "{plan:?}");
        assert_eq!(
            plan[0],
            Restart::Connector {
                connector: "sink".into()
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn filters_and_the_maximum_hold_restarts_back() {
        let rules = ConnectRules::default();
        let statuses = [status("RUNNING", &[(0, "FAILED")])];
        let no_oom = |_: &str, trace: Option<&str>| !trace.unwrap_or("").contains("OutOfMemory");
        let now = Instant::now();
        assert!(RestartBook::new()
            .plan(&statuses, &rules, &RestartRules::default(), &no_oom, now)
            .is_empty());
        let once = RestartRules {
            max_restarts: Some(1),
            ..RestartRules::default()
        };
        let mut book = RestartBook::new();
        let plan = book.plan(&statuses, &rules, &once, &all, now);
        book.record(&plan[0], now, SystemTime::now());
        let much_later = now + Duration::from_secs(24 * 3600);
        assert!(book
            .plan(&statuses, &rules, &once, &all, much_later)
            .is_empty());
        assert_eq!(book.next_due(&once, much_later), None);
    }
}
