//! The task restarter on a paused clock: restart times follow the backoff exactly (0, 2,
//! 6, 12, 20, 30 minutes apart for a task that fails again after every restart), the count
//! resets after a healthy period, a maximum holds, and a dry run restarts nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use probe_core::checks::kafka_connect::{ConnectApi, RestartPolicy, Restarted, Restarter};
use probe_core::checks::ConnectError;
use probe_core::evaluators::connect::{
    ConnectRules, ConnectorInstance, ConnectorStatus, Restart, RestartRules, TaskStatus, Unit,
};
use probe_core::BoxFuture;
use tokio::time::Instant;

/// A Connect in memory: one connector with one task whose state the test scripts, and the
/// time of every restart it receives.
#[derive(Clone)]
struct Scripted {
    inner: Arc<Mutex<ScriptState>>,
}

struct ScriptState {
    task_state: &'static str,
    /// What a restart leaves the task in: RUNNING, or FAILED again (the cause is still there).
    after_restart: &'static str,
    restarts: Vec<(Instant, Restart)>,
    polls: usize,
}

impl Scripted {
    fn new(task_state: &'static str, after_restart: &'static str) -> Self {
        Scripted {
            inner: Arc::new(Mutex::new(ScriptState {
                task_state,
                after_restart,
                restarts: Vec::new(),
                polls: 0,
            })),
        }
    }

    fn set(&self, task_state: &'static str, after_restart: &'static str) {
        let mut s = self.inner.lock().unwrap();
        s.task_state = task_state;
        s.after_restart = after_restart;
    }

    /// Minutes between consecutive restarts, the first counted from `t0`.
    fn gaps(&self, t0: Instant) -> Vec<u64> {
        let s = self.inner.lock().unwrap();
        let mut last = t0;
        s.restarts
            .iter()
            .map(|(t, _)| {
                let gap = t.duration_since(last);
                last = *t;
                assert_eq!(gap.as_secs() % 60, 0, "restart off the minute: {gap:?}");
                gap.as_secs() / 60
            })
            .collect()
    }

    fn count(&self) -> usize {
        self.inner.lock().unwrap().restarts.len()
    }
}

impl ConnectApi for Scripted {
    fn statuses(&self) -> BoxFuture<'_, Result<Vec<ConnectorStatus>, ConnectError>> {
        Box::pin(async move {
            let mut s = self.inner.lock().unwrap();
            s.polls += 1;
            Ok(vec![ConnectorStatus {
                name: "orders-sink".into(),
                connector: ConnectorInstance {
                    state: "RUNNING".into(),
                    worker_id: Some("connect-0:8083".into()),
                    trace: None,
                },
                tasks: vec![TaskStatus {
                    id: 0,
                    state: s.task_state.into(),
                    worker_id: Some("connect-0:8083".into()),
                    trace: Some("org.apache.kafka.connect.errors.ConnectException: boom".into()),
                }],
                kind: Some("sink".into()),
            }])
        })
    }

    fn restart<'a>(
        &'a self,
        restart: &'a Restart,
    ) -> BoxFuture<'a, Result<Restarted, ConnectError>> {
        Box::pin(async move {
            let mut s = self.inner.lock().unwrap();
            s.restarts.push((Instant::now(), restart.clone()));
            s.task_state = s.after_restart;
            Ok(Restarted::Done)
        })
    }
}

fn policy(rules: RestartRules) -> RestartPolicy {
    RestartPolicy {
        rules,
        ..RestartPolicy::default()
    }
}

fn task_unit() -> Unit {
    Unit {
        connector: "orders-sink".into(),
        task: Some(0),
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_failing_again_is_restarted_0_2_6_12_20_30_minutes_apart() {
    let connect = Scripted::new("FAILED", "FAILED");
    let restarter = Restarter::new(policy(RestartRules::default()), ConnectRules::default());
    let book = restarter.book();
    let t0 = Instant::now();
    let run = tokio::spawn(restarter.run(connect.clone()));
    // Six restarts take 0 + 2 + 6 + 12 + 20 + 30 = 70 minutes; the seventh is due 42
    // minutes after the sixth.
    tokio::time::sleep(Duration::from_secs(70 * 60 + 30)).await;
    assert_eq!(connect.gaps(t0), [0, 2, 6, 12, 20, 30]);
    tokio::time::sleep(Duration::from_secs(42 * 60)).await;
    assert_eq!(connect.gaps(t0), [0, 2, 6, 12, 20, 30, 42]);
    let record = book.lock().unwrap().get(&task_unit()).cloned().unwrap();
    assert_eq!((record.count, record.total), (7, 7));
    assert!(record.last_wall.is_some());
    run.abort();
    println!("restart timeline (minutes apart): {:?}", connect.gaps(t0));
}

#[tokio::test(start_paused = true)]
async fn the_count_resets_after_the_healthy_period() {
    let connect = Scripted::new("FAILED", "FAILED");
    let rules = RestartRules {
        reset_after: Duration::from_secs(10 * 60),
        ..RestartRules::default()
    };
    let restarter = Restarter::new(policy(rules), ConnectRules::default());
    let book = restarter.book();
    let t0 = Instant::now();
    let run = tokio::spawn(restarter.run(connect.clone()));
    tokio::time::sleep(Duration::from_secs(8 * 60 + 1)).await;
    assert_eq!(connect.gaps(t0), [0, 2, 6]);
    // The third restart works: the task runs for 15 minutes (past the 10-minute healthy
    // period), then fails again and is restarted at once, not 12 minutes later.
    connect.set("RUNNING", "FAILED");
    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    assert_eq!(book.lock().unwrap().get(&task_unit()).unwrap().count, 0);
    let failed_at = Instant::now();
    connect.set("FAILED", "FAILED");
    // The next poll (every 30 s) sees it FAILED and restarts it.
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(connect.count(), 4);
    let fourth = connect.inner.lock().unwrap().restarts[3].0;
    assert!(fourth.duration_since(failed_at) <= Duration::from_secs(30));
    // ... and then after 2 minutes, as a first restart.
    tokio::time::sleep(Duration::from_secs(2 * 60)).await;
    assert_eq!(connect.count(), 5);
    let record = book.lock().unwrap().get(&task_unit()).cloned().unwrap();
    assert_eq!((record.count, record.total), (2, 5));
    run.abort();
}

#[tokio::test(start_paused = true)]
async fn a_task_that_recovers_is_restarted_once() {
    let connect = Scripted::new("FAILED", "RUNNING");
    let restarter = Restarter::new(policy(RestartRules::default()), ConnectRules::default());
    let run = tokio::spawn(restarter.run(connect.clone()));
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(connect.count(), 1);
    run.abort();
}

#[tokio::test(start_paused = true)]
async fn the_maximum_stops_the_restarts() {
    let connect = Scripted::new("FAILED", "FAILED");
    let rules = RestartRules {
        max_restarts: Some(3),
        ..RestartRules::default()
    };
    let run =
        tokio::spawn(Restarter::new(policy(rules), ConnectRules::default()).run(connect.clone()));
    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    assert_eq!(
        connect.gaps(Instant::now() - Duration::from_secs(24 * 3600)),
        [0, 2, 6]
    );
    run.abort();
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_restarts_nothing_but_keeps_the_same_book() {
    let connect = Scripted::new("FAILED", "FAILED");
    let policy = RestartPolicy {
        dry_run: true,
        ..RestartPolicy::default()
    };
    let restarter = Restarter::new(policy, ConnectRules::default());
    let book = restarter.book();
    let run = tokio::spawn(restarter.run(connect.clone()));
    tokio::time::sleep(Duration::from_secs(70 * 60 + 30)).await;
    assert_eq!(connect.count(), 0, "a dry run sends no restart");
    assert_eq!(
        book.lock().unwrap().get(&task_unit()).unwrap().total,
        6,
        "it counts what it would have done, on the same schedule"
    );
    run.abort();
}

#[tokio::test(start_paused = true)]
async fn paused_and_stopped_tasks_and_other_workers_tasks_are_left_alone() {
    for state in ["PAUSED", "STOPPED", "UNASSIGNED", "RESTARTING"] {
        let connect = Scripted::new(state, state);
        let run = tokio::spawn(
            Restarter::new(RestartPolicy::default(), ConnectRules::default()).run(connect.clone()),
        );
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(connect.count(), 0, "{state}");
        run.abort();
    }
    let connect = Scripted::new("FAILED", "FAILED");
    let elsewhere = ConnectRules {
        worker_id: Some("connect-1:8083".into()),
        ..ConnectRules::default()
    };
    let run =
        tokio::spawn(Restarter::new(RestartPolicy::default(), elsewhere).run(connect.clone()));
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(connect.count(), 0, "another worker's task");
    run.abort();
}

#[tokio::test(start_paused = true)]
async fn connector_and_trace_filters_select_what_is_restarted() {
    for (connectors, traces, wanted) in [
        (Some("^orders-"), None, 1),
        (Some("^audit-"), None, 0),
        (None, Some("ConnectException"), 1),
        (None, Some("OutOfMemoryError"), 0),
    ] {
        let connect = Scripted::new("FAILED", "RUNNING");
        let policy = RestartPolicy {
            connectors: connectors.map(|r| regex::Regex::new(r).unwrap()),
            traces: traces.map(|r| regex::Regex::new(r).unwrap()),
            ..RestartPolicy::default()
        };
        let run =
            tokio::spawn(Restarter::new(policy, ConnectRules::default()).run(connect.clone()));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(connect.count(), wanted, "{connectors:?} {traces:?}");
        run.abort();
    }
}
