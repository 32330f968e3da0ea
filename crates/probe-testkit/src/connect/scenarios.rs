//! Ready-made Connect clusters, written from the shape of Connect's status object.
//!
//! Workers are `connect-0:8083` (the one under test when a worker filter is used),
//! `connect-1:8083` and `connect-2:8083`.

use serde_json::{json, Value};

use super::Scenario;

/// The worker a filtered check is told it runs beside.
pub const THIS_WORKER: &str = "connect-0:8083";
/// Another worker of the cluster.
pub const OTHER_WORKER: &str = "connect-1:8083";
/// A third worker.
pub const THIRD_WORKER: &str = "connect-2:8083";

/// A status object: `connector` is `(state, worker)`, each task `(id, state, worker)`.
pub fn status(
    name: &str,
    connector: (&str, Option<&str>),
    tasks: &[(i64, &str, Option<&str>)],
) -> Value {
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|&(id, state, worker)| json!({ "id": id, "state": state, "worker_id": worker }))
        .collect();
    json!({
        "name": name,
        "connector": { "state": connector.0, "worker_id": connector.1 },
        "tasks": tasks,
        "type": "sink",
    })
}

const W0: Option<&str> = Some(THIS_WORKER);
const W1: Option<&str> = Some(OTHER_WORKER);
const W2: Option<&str> = Some(THIRD_WORKER);

/// `orders-sink` and its task running on this worker: healthy.
pub fn healthy() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("RUNNING", W0), &[(0, "RUNNING", W0)]),
    )
}

/// `orders-sink` failed, and its only task too: 2 of 2 failed.
pub fn failed_connector() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("FAILED", W0), &[(0, "FAILED", W0)]),
    )
}

/// `orders-sink` running, task 1 of its two tasks failed with a stack trace: 1 of 3.
pub fn failed_task_with_trace() -> Scenario {
    let mut s = status(
        "orders-sink",
        ("RUNNING", W0),
        &[(0, "RUNNING", W0), (1, "FAILED", W0)],
    );
    s["tasks"][1]["trace"] = Value::from(
        "org.apache.kafka.connect.errors.ConnectException: password=hunter2 rejected\n\tat org.example.Sink.put(Sink.java:42)\n",
    );
    Scenario::new().connector("orders-sink", s)
}

/// `orders-sink` paused, with its task: healthy unless PAUSED is an unhealthy state.
pub fn paused() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("PAUSED", W0), &[(0, "PAUSED", W0)]),
    )
}

/// Everything failed, on another worker: healthy for a check filtered on this worker.
pub fn other_workers_failing() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("FAILED", W1), &[(0, "FAILED", W1)]),
    )
}

/// The connector runs on another worker, its task failed on this one: 1 of 2 failed.
pub fn task_failing_here() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("RUNNING", W1), &[(0, "FAILED", W0)]),
    )
}

/// Everything runs on another worker: nothing is judged here, so Connect is asked about
/// `orders-sink` (the broker probe), which it answers.
pub fn elsewhere() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("RUNNING", W1), &[(0, "RUNNING", W1)]),
    )
}

/// Like [`elsewhere`] with the task on a third worker, but Connect cannot describe the
/// connector (503): a `broker` failure.
pub fn unreachable_broker() -> Scenario {
    Scenario::new()
        .connector(
            "orders-sink",
            status("orders-sink", ("RUNNING", W1), &[(0, "RUNNING", W2)]),
        )
        .details_http(503)
}

/// One connector with four running tasks (ids 0, 1, 2, 5): healthy.
pub fn multiple_tasks() -> Scenario {
    Scenario::new().connector(
        "audit-source",
        status(
            "audit-source",
            ("RUNNING", W0),
            &[
                (0, "RUNNING", W0),
                (1, "RUNNING", W0),
                (2, "RUNNING", W0),
                (5, "RUNNING", W0),
            ],
        ),
    )
}

/// Two connectors with four running tasks each: healthy.
pub fn multiple_connectors() -> Scenario {
    let running = [
        (0, "RUNNING", W0),
        (1, "RUNNING", W0),
        (2, "RUNNING", W0),
        (3, "RUNNING", W0),
    ];
    Scenario::new()
        .connector(
            "orders-sink",
            status("orders-sink", ("RUNNING", W0), &running),
        )
        .connector(
            "audit-source",
            status("audit-source", ("RUNNING", W0), &running),
        )
}

/// Two connectors listed out of alphabetical order, ten containers, three failed:
/// `orders-sink` itself and its task 1, and task 5 of `audit-source`. Rate 0.3.
pub fn three_of_ten() -> Scenario {
    Scenario::new()
        .connector(
            "orders-sink",
            status(
                "orders-sink",
                ("FAILED", W0),
                &[
                    (0, "RUNNING", W0),
                    (1, "FAILED", W0),
                    (2, "RUNNING", W0),
                    (3, "RUNNING", W0),
                ],
            ),
        )
        .connector(
            "audit-source",
            status(
                "audit-source",
                ("RUNNING", W0),
                &[
                    (0, "RUNNING", W0),
                    (1, "RUNNING", W0),
                    (2, "RUNNING", W0),
                    (5, "FAILED", W0),
                ],
            ),
        )
}

/// No connectors: healthy.
pub fn empty() -> Scenario {
    Scenario::new()
}

/// The connector is running but its task failed: healthy when only connectors count.
pub fn task_failed_connector_running() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("RUNNING", W0), &[(0, "FAILED", W0)]),
    )
}

/// The connector failed but its task is running: healthy when only tasks count.
pub fn connector_failed_task_running() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("FAILED", W0), &[(0, "RUNNING", W0)]),
    )
}

/// A failed connector and task whose worker ids are `null` (a worker that lost its
/// assignment): judged without a worker filter, never matched by one.
pub fn null_worker_ids() -> Scenario {
    Scenario::new().connector(
        "orders-sink",
        status("orders-sink", ("FAILED", None), &[(0, "FAILED", None)]),
    )
}

/// States newer than the peer: `orders-sink` STOPPED (no tasks), `audit-source`
/// RESTARTING with a restarting task, sent in lower case.
pub fn newer_states() -> Scenario {
    Scenario::new()
        .connector("orders-sink", status("orders-sink", ("STOPPED", W0), &[]))
        .connector(
            "audit-source",
            status("audit-source", ("restarting", W0), &[(0, "restarting", W0)]),
        )
}
