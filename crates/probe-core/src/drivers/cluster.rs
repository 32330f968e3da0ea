//! The background task that feeds a [`ClusterWatch`] from a check, and plays the part of
//! a Kafka Streams topology for a process that has none (the `probe kpow` sidecar).
//!
//! The task runs the check every interval (each run in its own task, so a panic is an
//! unreachable observation, not a dead driver), hands the result to the watch, moves
//! CREATED → REBALANCING → RUNNING the first time the cluster answers, and stops once the
//! state is terminal (ERROR or NOT_RUNNING).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::evaluators::cluster::ClusterWatch;
use crate::evaluators::streams::State;
use crate::time::human;
use crate::Check;

/// The longest one run of the check may take before it counts as unreachable. The `kafka`
/// check bounds each broker itself, well below this; it guards against a check that never
/// returns.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(5);

/// Spawns the driver on the current Tokio runtime: runs `check` every `interval` (use
/// [`ClusterTimeouts::poll_interval`](crate::evaluators::cluster::ClusterTimeouts::poll_interval) so
/// ERROR comes within about one interval of the limit) and feeds `watch`.
///
/// The task ends by itself once the state is terminal; abort the handle to stop it sooner.
/// Must be called inside a Tokio runtime.
///
/// ```no_run
/// use probe_core::checks::KafkaCheck;
/// use probe_core::evaluators::cluster::{ClusterTimeouts, ClusterWatch};
/// use probe_core::drivers::cluster::spawn_driver;
/// use probe_core::evaluators::error_strategy::ErrorStrategy;
/// use probe_core::evaluators::streams::StreamsState;
///
/// # async fn run() {
/// let streams = StreamsState::new();
/// ErrorStrategy::LogException.attach(&streams);
/// let timeouts = ClusterTimeouts::default();
/// let watch = ClusterWatch::new(streams.clone(), timeouts);
/// let kafka = KafkaCheck::new(vec!["127.0.0.1:9092".into()]);
/// let driver = spawn_driver(kafka, watch, timeouts.poll_interval());
/// # }
/// ```
pub fn spawn_driver<C: Check>(check: C, watch: ClusterWatch, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(drive(Arc::new(check), watch, interval))
}

async fn drive<C: Check>(check: Arc<C>, watch: ClusterWatch, interval: Duration) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let streams = watch.streams().clone();
    loop {
        ticker.tick().await;
        if streams.state().is_terminal() {
            tracing::debug!(state = %streams.state(), "kafka cluster driver stopped");
            return;
        }
        let started = Instant::now();
        let observation = run_once(&check).await;
        let reachable = observation.is_ok();
        watch.observe_at(started, observation);
        if reachable {
            // The simulated topology starts once the cluster first answers.
            for (from, to) in [
                (State::Created, State::Rebalancing),
                (State::Rebalancing, State::Running),
            ] {
                if streams.state() == from {
                    let _ = streams.transition(to);
                }
            }
        }
    }
}

/// One run of the check: `Ok` when it passes (or warns), `Err(reason)` otherwise.
async fn run_once<C: Check>(check: &Arc<C>) -> Result<(), String> {
    let c = Arc::clone(check);
    let mut task = tokio::spawn(async move { c.check().await });
    match tokio::time::timeout(RUN_TIMEOUT, &mut task).await {
        Ok(Ok(outcome)) if outcome.status.is_passing() => Ok(()),
        Ok(Ok(outcome)) => Err(outcome
            .message
            .unwrap_or_else(|| "the check failed".to_owned())),
        Ok(Err(_)) => Err("the check panicked".to_owned()),
        Err(_) => {
            task.abort();
            Err(format!(
                "the check gave no answer within {}",
                human(RUN_TIMEOUT)
            ))
        }
    }
}
