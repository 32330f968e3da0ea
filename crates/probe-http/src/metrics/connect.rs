//! The Kafka Connect series (feature `kafka-connect`): one-hot connector and task states,
//! as the last run of each `kafka-connect` check saw them.

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
