//! Grace periods for states: a container counts as unhealthy in a state only once it has
//! been in that state for its grace period (`UNASSIGNED=30s,RESTARTING=30s`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::evaluators::connect::{ConnectState, ConnectorStatus};

/// How long each state must hold before it counts; states not listed count at once.
///
/// ```
/// use std::time::Duration;
/// use probe_core::checks::kafka_connect::StateGrace;
/// use probe_core::evaluators::connect::ConnectState;
///
/// let grace = StateGrace::new(vec![(ConnectState::Unassigned, Duration::from_secs(30))]);
/// assert_eq!(grace.period(ConnectState::Unassigned), Some(Duration::from_secs(30)));
/// assert_eq!(grace.period(ConnectState::Failed), None);
/// ```
#[derive(Debug, Default)]
pub struct StateGrace {
    periods: Vec<(ConnectState, Duration)>,
    since: Mutex<HashMap<Container, (String, Instant)>>,
}

/// A connector (`None`) or one of its tasks.
type Container = (String, Option<i64>);

impl StateGrace {
    /// Grace periods for the states listed.
    pub fn new(periods: Vec<(ConnectState, Duration)>) -> Self {
        StateGrace {
            periods,
            since: Mutex::default(),
        }
    }

    /// Whether no state has a grace period.
    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// The grace period of `state`, if it has one.
    pub fn period(&self, state: ConnectState) -> Option<Duration> {
        self.periods
            .iter()
            .find(|(s, _)| *s == state)
            .map(|(_, d)| *d)
    }

    /// Notes the state of every container at `now`: a container keeps the time it entered
    /// its state while the state stays the same; containers no longer reported are forgotten.
    pub fn observe(&self, statuses: &[ConnectorStatus], now: Instant) {
        let Ok(mut since) = self.since.lock() else {
            return;
        };
        let mut next = HashMap::new();
        for status in statuses {
            let containers = std::iter::once((None, &status.connector.state))
                .chain(status.tasks.iter().map(|t| (Some(t.id), &t.state)));
            for (task, state) in containers {
                let key = (status.name.clone(), task);
                let state = state.to_uppercase();
                let entered = match since.get(&key) {
                    Some((previous, at)) if *previous == state => *at,
                    _ => now,
                };
                next.insert(key, (state, entered));
            }
        }
        *since = next;
    }

    /// Whether `state` of the container has held long enough at `now` to count.
    pub fn held(&self, connector: &str, task: Option<i64>, state: &str, now: Instant) -> bool {
        let Ok(parsed) = state.parse::<ConnectState>() else {
            return true;
        };
        let Some(period) = self.period(parsed) else {
            return true;
        };
        let Ok(since) = self.since.lock() else {
            return true;
        };
        match since.get(&(connector.to_owned(), task)) {
            Some((_, entered)) => now.duration_since(*entered) >= period,
            None => period.is_zero(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluators::connect::{ConnectRules, ConnectorInstance, TaskStatus};

    fn unassigned_task() -> Vec<ConnectorStatus> {
        vec![ConnectorStatus {
            name: "sink".into(),
            connector: ConnectorInstance {
                state: "RUNNING".into(),
                worker_id: Some("w:8083".into()),
                trace: None,
            },
            tasks: vec![TaskStatus {
                id: 0,
                state: "UNASSIGNED".into(),
                worker_id: None,
                trace: None,
            }],
            kind: None,
        }]
    }

    #[tokio::test(start_paused = true)]
    async fn a_state_counts_only_once_it_has_held_its_grace_period() {
        let rules = ConnectRules::parse("FAILED,UNASSIGNED", "CONNECTOR,TASK", None, 0).unwrap();
        let grace = StateGrace::new(vec![(ConnectState::Unassigned, Duration::from_secs(30))]);
        let statuses = unassigned_task();
        let verdict_at = |now: Instant| {
            grace.observe(&statuses, now);
            rules.evaluate_held(&statuses, false, &|c, t, s| grace.held(c, t, s, now))
        };
        let t0 = Instant::now();
        assert!(verdict_at(t0).healthy);
        assert!(verdict_at(t0 + Duration::from_secs(29)).healthy);
        let late = verdict_at(t0 + Duration::from_secs(30));
        assert!(!late.healthy);
        assert_eq!(late.failure_count, 1);
        // Leaving the state and entering it again starts the period over.
        let mut running = unassigned_task();
        running[0].tasks[0].state = "RUNNING".into();
        grace.observe(&running, t0 + Duration::from_secs(31));
        assert!(verdict_at(t0 + Duration::from_secs(32)).healthy);
        assert!(!verdict_at(t0 + Duration::from_secs(62)).healthy);
    }

    #[test]
    fn states_without_a_period_count_at_once() {
        let grace = StateGrace::new(vec![(ConnectState::Restarting, Duration::from_secs(30))]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let now = Instant::now();
            assert!(grace.held("sink", Some(0), "FAILED", now));
            assert!(!grace.held("sink", Some(0), "RESTARTING", now));
        });
    }
}
