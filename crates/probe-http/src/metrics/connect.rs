//! The Kafka Connect series (feature `kafka-connect`): one-hot connector and task states,
//! as the last run of each `kafka-connect` check saw them, and the restarts of the task
//! restarter (`--restart-failed`) as its check's details count them.

use probe_core::checks::ConnectError;
use probe_core::evaluators::connect::{Observation, Verdict};
use probe_core::Health;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

/// The states a connector or task reports through Connect's REST API.
pub(super) const STATES: [&str; 6] = [
    "UNASSIGNED",
    "RUNNING",
    "PAUSED",
    "STOPPED",
    "FAILED",
    "RESTARTING",
];

/// The most connectors and tasks one check shows: Connect names them, not the
/// configuration, so the number of series is capped.
pub(super) const MAX_SHOWN: usize = 1_000;

/// One connector's or task's restarts: `(check, connector, task, total)`.
pub(super) type Restarts<'a> = (&'a str, String, Option<i64>, u64);

/// The restarts each check's last run reported in its details (`restarts`: one entry per
/// connector or task restarted at least once), at most [`MAX_SHOWN`] per check.
pub(super) fn restarts<'a>(health: &Health, names: &'a [String]) -> Vec<Restarts<'a>> {
    let mut out = Vec::new();
    for name in names {
        let Some(report) = health.latest(name) else {
            continue;
        };
        let Some(details) = report.details.as_deref() else {
            continue;
        };
        let Some(entries) = details.get("restarts").and_then(|r| r.as_array()) else {
            continue;
        };
        for e in entries.iter().take(MAX_SHOWN) {
            let (Some(connector), Some(total)) = (
                e.get("connector").and_then(|c| c.as_str()),
                e.get("restarts").and_then(|t| t.as_u64()),
            ) else {
                continue;
            };
            let task = e.get("task").and_then(|t| t.as_i64());
            out.push((name.as_str(), connector.to_owned(), task, total));
        }
    }
    out
}

/// What each `kafka-connect` check among `names` last observed: `(check, observations)`.
pub(super) fn observed<'a>(
    health: &Health,
    names: &'a [String],
) -> Vec<(&'a str, Vec<Observation>)> {
    names
        .iter()
        .filter_map(|name| {
            let report = health.latest(name)?;
            let result = report
                .attachment
                .as_ref()?
                .downcast_ref::<Result<Verdict, ConnectError>>()?;
            let verdict = result.as_ref().ok()?;
            let shown = verdict
                .observations
                .iter()
                .take(MAX_SHOWN)
                .cloned()
                .collect();
            Some((name.as_str(), shown))
        })
        .collect()
}

/// Writes `probe_kafka_connect_connector_state` and `probe_kafka_connect_task_state`.
pub(super) fn encode(
    encoder: &mut DescriptorEncoder<'_>,
    checks: &[(&str, Vec<Observation>)],
) -> std::fmt::Result {
    if checks.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(
        "probe_kafka_connect_connector_state",
        "The state of each Kafka Connect connector, as the check's last run saw it: 1 for its state, 0 for the others",
        None,
        MetricType::Gauge,
    )?;
    for (check, seen) in checks {
        for o in seen.iter().filter(|o| o.task.is_none()) {
            for state in STATES {
                let labels = [
                    ("check", *check),
                    ("connector", o.connector.as_str()),
                    ("state", state),
                ];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&i64::from(o.state.eq_ignore_ascii_case(state)))?;
            }
        }
    }
    let mut family = encoder.encode_descriptor(
        "probe_kafka_connect_task_state",
        "The state of each Kafka Connect task, as the check's last run saw it: 1 for its state, 0 for the others",
        None,
        MetricType::Gauge,
    )?;
    for (check, seen) in checks {
        for o in seen {
            let Some(task) = o.task else { continue };
            let task = task.to_string();
            for state in STATES {
                let labels = [
                    ("check", *check),
                    ("connector", o.connector.as_str()),
                    ("task", task.as_str()),
                    ("state", state),
                ];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&i64::from(o.state.eq_ignore_ascii_case(state)))?;
            }
        }
    }
    Ok(())
}

/// Writes `probe_kafka_connect_restarts_total`: the restarts of each connector (no `task`
/// label) and task, counted since the sidecar started.
pub(super) fn encode_restarts(
    encoder: &mut DescriptorEncoder<'_>,
    restarts: &[Restarts<'_>],
) -> std::fmt::Result {
    if restarts.is_empty() {
        return Ok(());
    }
    let mut family = encoder.encode_descriptor(
        "probe_kafka_connect_restarts",
        "Restarts of each Kafka Connect connector and task by the restarter since the process started",
        None,
        MetricType::Counter,
    )?;
    for (check, connector, task, total) in restarts {
        let counter = prometheus_client::metrics::counter::ConstCounter::new(*total);
        match task {
            Some(task) => {
                let task = task.to_string();
                let labels = [
                    ("check", *check),
                    ("connector", connector.as_str()),
                    ("task", task.as_str()),
                ];
                prometheus_client::encoding::EncodeMetric::encode(
                    &counter,
                    family.encode_family(&labels)?,
                )?;
            }
            None => {
                let labels = [("check", *check), ("connector", connector.as_str())];
                prometheus_client::encoding::EncodeMetric::encode(
                    &counter,
                    family.encode_family(&labels)?,
                )?;
            }
        }
    }
    Ok(())
}
