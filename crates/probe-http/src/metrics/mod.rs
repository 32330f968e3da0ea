//! Prometheus metrics of a [`Health`] (feature `metrics`), with the official
//! `prometheus-client` crate: no global registry.
//!
//! [`Metrics::new`] registers, in a [`Registry`] of its own:
//!
//! | series | type | labels |
//! |---|---|---|
//! | `probe_check_status` | gauge, one-hot: 1 for the current state, 0 for the others | `check`, `state` (`pass`, `warn`, `fail`) |
//! | `probe_checks_total` | counter: finished runs by raw result | `check`, `result` |
//! | `probe_check_duration_seconds` | histogram of run durations, buckets 1 ms × 2ⁿ up to 8.192 s | `check` |
//! | `probe_status` | gauge, one-hot | `probe` (`liveness`, `readiness`, `startup`), `state` |
//! | `probe_evaluations_total` | counter: evaluations by the status they answered | `probe`, `result` |
//! | `probe_build_info` | gauge, always 1 | `version` |
//! | `probe_kafka_streams_state` | gauge, one-hot over the seven Kafka Streams states, for each client whose liveness check has run | `client` (the liveness check's name), `state` (`CREATED` ... `ERROR`) |
//! | `probe_kafka_connect_connector_state` | gauge, one-hot over Connect's six states, for each connector the last run of a `kafka-connect` check saw (feature `kafka-connect`) | `check`, `connector`, `state` (`UNASSIGNED`, `RUNNING`, `PAUSED`, `STOPPED`, `FAILED`, `RESTARTING`) |
//! | `probe_kafka_connect_task_state` | the same for each task | `check`, `connector`, `task`, `state` |
//! | `probe_kafka_connect_restarts_total` | counter: restarts by the task restarter since the process started, for each connector and task restarted at least once | `check`, `connector`, `task` (none for a connector) |
//!
//! Statuses are read at scrape time from what the [`Health`] last published; counts and
//! durations come from a [`probe_core::Observer`]. A scrape runs no check. Every label
//! value is a registered check name or a fixed word, so the number of series is bounded
//! by the configuration; Kafka Connect's connector names come from the worker, at most
//! 1,000 connectors and tasks per check.
//!
//! [`Metrics::route`] serves the registry at `/metrics` ([`MetricsRoute`]), in the format
//! the client's `Accept` asks for ([`Format`]).
//!
//! ```
//! use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope, Select};
//! use probe_http::metrics::{Format, Metrics};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let health = Health::builder()
//!     .check("db", from_fn(Scope::Dependency, || async { Outcome::fail("refused") }),
//!            [Probe::Readiness], Policy::default())
//!     .unwrap()
//!     .build()
//!     .unwrap();
//! let metrics = Metrics::new(&health);
//! health.evaluate(Probe::Readiness, &Select::All).await;
//! let text = metrics.render(Format::Prometheus);
//! assert!(text.contains("probe_check_status{check=\"db\",state=\"fail\"} 1\n"));
//! assert!(text.contains("probe_checks_total{check=\"db\",result=\"fail\"} 1\n"));
//! # });
//! ```

#[cfg(feature = "kafka-connect")]
mod connect;
mod format;
mod route;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use probe_core::evaluators::streams::State;
use probe_core::{Health, Observer, Probe, Status};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

pub use format::Format;
/// The `prometheus-client` crate these metrics are built with, for an embedder's own metrics
/// and registry.
pub use prometheus_client;
pub use route::MetricsRoute;

/// The three states, in the order their series are written.
const STATES: [Status; 3] = [Status::Pass, Status::Warn, Status::Fail];

/// Labels of a per-check counter: `check`, `result`.
type CheckResult = [(&'static str, String); 2];
/// Labels of a per-check histogram: `check`.
type CheckOnly = [(&'static str, String); 1];
/// Labels of a per-probe counter: `probe`, `result`.
type ProbeResult = [(&'static str, &'static str); 2];

fn duration_histogram() -> Histogram {
    // 1 ms, 2 ms, … 8.192 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// The metrics of one [`Health`]: a registry, and the series in it.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    series: Series,
}

/// Every series, cheap to clone (the metrics share their values), so they register into
/// more than one registry.
#[derive(Clone, Debug)]
struct Series {
    checks: Family<CheckResult, Counter>,
    durations: Family<CheckOnly, Histogram, fn() -> Histogram>,
    evaluations: Family<ProbeResult, Counter>,
    build_info: Family<[(&'static str, &'static str); 1], Gauge>,
    statuses: Arc<Statuses>,
}

impl Metrics {
    /// The metrics of `health`, in a registry of their own. Every series of every
    /// registered check and probe exists from the start (counters at 0), and `health` tells
    /// these metrics of each run and evaluation from now on.
    pub fn new(health: &Health) -> Self {
        let names = all_names(health);
        let series = Series {
            checks: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            evaluations: Family::default(),
            build_info: Family::default(),
            statuses: Arc::new(Statuses {
                health: health.clone(),
                names: names.clone(),
            }),
        };
        series
            .build_info
            .get_or_create(&[("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        let mut per_check = HashMap::with_capacity(names.len());
        for name in &names {
            let counters = STATES.map(|s| {
                series
                    .checks
                    .get_or_create_owned(&[("check", name.clone()), ("result", s.as_str().into())])
            });
            let histogram = series
                .durations
                .get_or_create_owned(&[("check", name.clone())]);
            per_check.insert(name.clone(), (counters, histogram));
        }
        let per_probe = Probe::ALL.map(|p| {
            STATES.map(|s| {
                series
                    .evaluations
                    .get_or_create_owned(&[("probe", p.as_str()), ("result", s.as_str())])
            })
        });
        health.observe(Counting {
            per_check,
            per_probe,
        });
        let mut registry = Registry::default();
        series.register(&mut registry);
        Metrics { registry, series }
    }

    /// The registry, to read or encode.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry, to add the application's own metrics beside these.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Registers the same series (sharing their values) in `registry` too, for an
    /// application that serves a registry of its own.
    pub fn register_into(&self, registry: &mut Registry) {
        self.series.register(registry);
    }

    /// The registry in `format`.
    pub fn render(&self, format: Format) -> String {
        format.render(&self.registry)
    }

    /// A `/metrics` route serving this registry, to add to a
    /// [`ProbeService`](crate::ProbeService) as a dialect.
    pub fn route(self) -> MetricsRoute {
        MetricsRoute::new(self.registry)
    }
}

impl Series {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "probe_checks",
            "Finished runs of each check, by raw result",
            self.checks.clone(),
        );
        registry.register(
            "probe_check_duration_seconds",
            "How long each run of a check took",
            self.durations.clone(),
        );
        registry.register(
            "probe_evaluations",
            "Evaluations of each probe, by the status they answered",
            self.evaluations.clone(),
        );
        registry.register(
            "probe_build_info",
            "The version of probe serving these metrics",
            self.build_info.clone(),
        );
        registry.register_collector(Box::new(self.statuses.clone()));
    }
}

/// Every check's name once, in registration order.
fn all_names(health: &Health) -> Vec<String> {
    health.check_names().map(str::to_owned).collect()
}

// === impl Counting ===

/// Counts runs and evaluations, and records durations: the observer [`Metrics`] registers.
struct Counting {
    per_check: HashMap<String, ([Counter; 3], Histogram)>,
    per_probe: [[Counter; 3]; 3],
}

fn state_index(s: Status) -> usize {
    match s {
        Status::Pass => 0,
        Status::Warn => 1,
        Status::Fail => 2,
    }
}

impl Observer for Counting {
    fn on_run(&self, check: &str, raw: Status, duration: Duration) {
        if let Some((counters, histogram)) = self.per_check.get(check) {
            counters[state_index(raw)].inc();
            histogram.observe(duration.as_secs_f64());
        }
    }

    fn on_evaluation(&self, probe: Probe, status: Status) {
        let p = Probe::ALL.iter().position(|x| *x == probe).unwrap_or(0);
        self.per_probe[p][state_index(status)].inc();
    }
}

// === impl Statuses ===

/// Writes the current status of each check and probe at scrape time, one-hot.
struct Statuses {
    health: Health,
    names: Vec<String>,
}

impl fmt::Debug for Statuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Statuses")
            .field("checks", &self.names)
            .finish()
    }
}

impl Collector for Statuses {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        {
            let mut family = encoder.encode_descriptor(
                "probe_check_status",
                "The current status of each check: 1 for its state, 0 for the others",
                None,
                MetricType::Gauge,
            )?;
            for name in &self.names {
                let now = self.health.check_status(name).unwrap_or(Status::Fail);
                for state in STATES {
                    let labels = [("check", name.as_str()), ("state", state.as_str())];
                    family
                        .encode_family(&labels)?
                        .encode_gauge(&i64::from(now == state))?;
                }
            }
        }
        // A Kafka Streams client's liveness check attaches its state to each outcome.
        let clients: Vec<(&str, State)> = self
            .names
            .iter()
            .filter_map(|name| {
                let report = self.health.latest(name)?;
                let state = *report.attachment.as_ref()?.downcast_ref::<State>()?;
                Some((name.as_str(), state))
            })
            .collect();
        if !clients.is_empty() {
            let mut family = encoder.encode_descriptor(
                "probe_kafka_streams_state",
                "The state of each Kafka Streams client, as its last liveness run saw it: 1 for its state, 0 for the others",
                None,
                MetricType::Gauge,
            )?;
            for (client, now) in clients {
                for state in State::ALL {
                    let labels = [("client", client), ("state", state.as_str())];
                    family
                        .encode_family(&labels)?
                        .encode_gauge(&i64::from(now == state))?;
                }
            }
        }
        #[cfg(feature = "kafka-connect")]
        {
            connect::encode(&mut encoder, &connect::observed(&self.health, &self.names))?;
            connect::encode_restarts(&mut encoder, &connect::restarts(&self.health, &self.names))?;
        }
        let mut family = encoder.encode_descriptor(
            "probe_status",
            "The current status of each probe: 1 for its state, 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for probe in Probe::ALL {
            let now = self.health.status(probe);
            for state in STATES {
                let labels = [("probe", probe.as_str()), ("state", state.as_str())];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&i64::from(now == state))?;
            }
        }
        Ok(())
    }
}
