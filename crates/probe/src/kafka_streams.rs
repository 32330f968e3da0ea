//! The Kafka Streams stand-in a sidecar runs: a [`StreamsState`] moved by the `kafka`
//! check, as Kpow's internal topology is moved by its cluster.
//!
//! The cluster driver looks at the brokers every half heartbeat interval (at most 1 s): the
//! first answer takes the state CREATED → REBALANCING → RUNNING; an outage longer than
//! session timeout + heartbeat interval takes it to ERROR, where it stays, and the error
//! strategy reacts (`LOG_AND_EXIT` ends the process with status 1). `probe kpow` and the
//! `kafka-streams` check type of `probe serve` both build one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use probe_core::checks::KafkaCheck;
use probe_core::drivers::cluster::spawn_driver;
use probe_core::evaluators::cluster::{ClusterTimeouts, ClusterWatch};
use probe_core::evaluators::error_strategy::ErrorStrategy;
use probe_core::evaluators::streams::{StreamsCheck, StreamsRules, StreamsState};
use probe_core::time::human;

use crate::background::Background;

/// What the stand-in watches and how it reacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamsSettings {
    /// The brokers asked for ApiVersions (`host:port` each).
    pub bootstrap: Vec<String>,
    /// How long each broker has to answer.
    pub broker_timeout: Duration,
    /// Session timeout and heartbeat interval: their sum bounds an outage.
    pub timeouts: ClusterTimeouts,
    /// What happens on ERROR.
    pub strategy: ErrorStrategy,
    /// Debounce, stuck limit, rebalance grace, and whether readiness is required.
    pub rules: StreamsRules,
}

impl Default for StreamsSettings {
    fn default() -> Self {
        StreamsSettings {
            bootstrap: Vec::new(),
            broker_timeout: KafkaCheck::DEFAULT_TIMEOUT,
            timeouts: ClusterTimeouts::default(),
            strategy: ErrorStrategy::default(),
            rules: StreamsRules::default(),
        }
    }
}

/// The suffixes of the three checks a stand-in registers under a name, and their probes:
/// `<name>` (liveness), `<name>:ready`, `<name>:started`.
pub use probe_core::evaluators::streams::PARTS;

/// A Kafka Streams state driven by the reachability of a cluster. Nothing runs until
/// [`start`](Background::start).
#[derive(Debug)]
pub struct StreamsSidecar {
    settings: StreamsSettings,
    streams: StreamsState,
    started: AtomicBool,
}

impl StreamsSidecar {
    /// A stand-in in CREATED, not yet watching.
    pub fn new(settings: StreamsSettings) -> Self {
        StreamsSidecar {
            settings,
            streams: StreamsState::new(),
            started: AtomicBool::new(false),
        }
    }

    /// The state it moves.
    pub fn streams(&self) -> &StreamsState {
        &self.streams
    }

    /// Its settings.
    pub fn settings(&self) -> &StreamsSettings {
        &self.settings
    }

    /// The check for each entry of [`PARTS`], in that order.
    pub fn checks(&self) -> [StreamsCheck; 3] {
        PARTS.map(|(_, probe)| {
            StreamsCheck::new(self.streams.clone(), probe).rules(self.settings.rules)
        })
    }

    /// Attaches the error strategy with `exit` as its exit hook and spawns the cluster
    /// driver, once; later calls do nothing. Must be called inside a Tokio runtime.
    pub fn start_with_exit(&self, exit: impl Fn(i32) + Send + Sync + 'static) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let s = &self.settings;
        s.strategy.attach_with_exit(&self.streams, exit);
        let kafka = KafkaCheck::new(s.bootstrap.clone()).timeout(s.broker_timeout);
        let watch = ClusterWatch::new(self.streams.clone(), s.timeouts);
        tracing::info!(
            bootstrap = %s.bootstrap.join(","),
            strategy = s.strategy.as_str(),
            "kafka streams stand-in started: ERROR once the cluster is unreachable for {} (session timeout {} + heartbeat interval {})",
            human(s.timeouts.limit()),
            human(s.timeouts.session_timeout),
            human(s.timeouts.heartbeat_interval),
        );
        // The driver ends by itself once the state is terminal.
        drop(spawn_driver(kafka, watch, poll_interval(s.timeouts)));
    }
}

/// How often the brokers are asked: half the heartbeat interval, between 10 ms and 1 s.
///
/// An outage is timed between observations, so ERROR comes up to two intervals after the
/// limit (the first failed observation, and one more when the timer runs late); half a
/// heartbeat keeps that within one heartbeat interval. With Kafka's defaults (3 s) it is
/// one ApiVersions exchange per broker per second.
pub fn poll_interval(timeouts: ClusterTimeouts) -> Duration {
    (timeouts.heartbeat_interval / 2).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

impl Background for StreamsSidecar {
    /// Starts with the process-ending exit hook: `LOG_AND_EXIT` flushes standard error and
    /// exits with status 1.
    fn start(&self) {
        self.start_with_exit(probe_core::evaluators::error_strategy::exit_process);
    }

    /// Session timeout + heartbeat interval: an outage shorter than that is not an error
    /// for Kafka Streams, so the startup budget must outlast it.
    fn startup_needs(&self) -> Option<(Duration, String)> {
        let t = self.settings.timeouts;
        Some((
            t.limit(),
            format!(
                "Kafka Streams tolerates an unreachable cluster for {} (session timeout {} + heartbeat interval {})",
                human(t.limit()),
                human(t.session_timeout),
                human(t.heartbeat_interval)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probe_core::evaluators::streams::State;
    use probe_core::{Check, Status};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn brokers_are_asked_every_half_heartbeat_at_most_every_second() {
        let at = |ms| {
            poll_interval(ClusterTimeouts {
                session_timeout: Duration::from_secs(45),
                heartbeat_interval: Duration::from_millis(ms),
            })
        };
        assert_eq!(at(3000), Duration::from_secs(1));
        assert_eq!(at(1000), Duration::from_millis(500));
        assert_eq!(at(200), Duration::from_millis(100));
        assert_eq!(at(1), Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_never_reached_ends_in_error_after_the_limit_and_exits_once() {
        // Nothing listens on port 1 of loopback: connection refused at once.
        let sidecar = StreamsSidecar::new(StreamsSettings {
            bootstrap: vec!["127.0.0.1:1".into()],
            strategy: ErrorStrategy::LogAndExit,
            timeouts: ClusterTimeouts {
                session_timeout: Duration::from_secs(2),
                heartbeat_interval: Duration::from_secs(1),
            },
            ..StreamsSettings::default()
        });
        let exits = Arc::new(AtomicUsize::new(0));
        let e = exits.clone();
        let hook = move |code| {
            assert_eq!(code, 1);
            e.fetch_add(1, Ordering::SeqCst);
        };
        sidecar.start_with_exit(hook.clone());
        sidecar.start_with_exit(hook);
        let mut rx = sidecar.streams().subscribe();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| *s == State::Error))
            .await
            .expect("ERROR within 10s")
            .unwrap();
        assert_eq!(exits.load(Ordering::SeqCst), 1);
        let [live, ready, started] = sidecar.checks();
        assert_eq!(live.check().await.status, Status::Fail);
        assert_eq!(ready.check().await.status, Status::Fail);
        assert_eq!(started.check().await.status, Status::Fail);
    }
}
