//! The full chain: reachability observations → the cluster watch → the Streams state →
//! the liveness probe and the error strategy.

mod support;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use probe_core::checks::KafkaCheck;
use probe_core::drivers::cluster::spawn_driver;
use probe_core::evaluators::cluster::{ClusterTimeouts, ClusterWatch};
use probe_core::evaluators::error_strategy::ErrorStrategy;
use probe_core::evaluators::streams::{State, StreamsState};
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope, Select, Status};
use probe_testkit::kafka::FakeBroker;
use support::within;
use tokio::time::Instant;

/// An exit hook that counts its calls and keeps the last status.
#[derive(Clone, Default)]
struct Exits {
    calls: Arc<AtomicUsize>,
    status: Arc<AtomicI32>,
}

impl Exits {
    fn hook(&self) -> impl Fn(i32) + Send + Sync + 'static {
        let this = self.clone();
        move |status| {
            this.calls.fetch_add(1, Ordering::SeqCst);
            this.status.store(status, Ordering::SeqCst);
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A stand-in for the kafka check whose answer the test switches, so the clock can be paused.
fn switchable() -> (Arc<AtomicBool>, impl probe_core::Check) {
    let up = Arc::new(AtomicBool::new(true));
    let u = up.clone();
    let check = from_fn(Scope::Dependency, move || {
        let up = u.load(Ordering::SeqCst);
        async move {
            match up {
                true => Outcome::pass(),
                false => Outcome::fail("connection refused"),
            }
        }
    });
    (up, check)
}

async fn reach(streams: &StreamsState, state: State, secs: u64) {
    let mut rx = streams.subscribe();
    within(secs, rx.wait_for(|s| *s == state))
        .await
        .expect("the state handle lives");
}

fn liveness(streams: &StreamsState) -> Health {
    Health::builder()
        .check(
            "kafka-streams",
            streams.liveness(),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap()
}

async fn live(health: &Health) -> (Status, String) {
    let report = within(2, health.evaluate(Probe::Liveness, &Select::All)).await;
    let message = report.checks[0]
        .message
        .as_deref()
        .unwrap_or_default()
        .to_owned();
    (report.status, message)
}

#[tokio::test(start_paused = true)]
async fn with_kafkas_defaults_an_outage_ends_in_error_48s_later_and_stays_there() {
    let (up, check) = switchable();
    let streams = StreamsState::new();
    let exits = Exits::default();
    ErrorStrategy::LogAndExit.attach_with_exit(&streams, exits.hook());
    let timeouts = ClusterTimeouts::default();
    let watch = ClusterWatch::new(streams.clone(), timeouts);
    let driver = spawn_driver(check, watch, timeouts.poll_interval());
    let health = liveness(&streams);

    reach(&streams, State::Running, 5).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(live(&health).await.0, Status::Pass);

    up.store(false, Ordering::SeqCst);
    let gone = Instant::now();
    tokio::time::sleep(Duration::from_secs(47)).await;
    assert_eq!(streams.state(), State::Running, "47s is within 45s + 3s");
    reach(&streams, State::Error, 60).await;
    let took = gone.elapsed();
    println!("ERROR {took:?} (paused clock) after the cluster went away (limit 48s)");
    assert!(
        took >= Duration::from_secs(48) && took <= Duration::from_secs(50),
        "ERROR {took:?} after the cluster went away"
    );
    assert_eq!(exits.calls(), 1);
    assert_eq!(exits.status.load(Ordering::SeqCst), 1);

    up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (status, message) = live(&health).await;
    assert_eq!(
        status,
        Status::Fail,
        "a returning cluster does not heal ERROR"
    );
    assert!(
        message.contains("kafka cluster unreachable for 48s"),
        "{message}"
    );
    assert_eq!(exits.calls(), 1);
    within(5, driver)
        .await
        .expect("the driver ends once ERROR is reached");
}

#[tokio::test(start_paused = true)]
async fn an_outage_shorter_than_the_limit_changes_nothing() {
    let (up, check) = switchable();
    let streams = StreamsState::new();
    let timeouts = ClusterTimeouts::default();
    let driver = spawn_driver(
        check,
        ClusterWatch::new(streams.clone(), timeouts),
        timeouts.poll_interval(),
    );
    reach(&streams, State::Running, 5).await;
    for _ in 0..3 {
        up.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(40)).await;
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert_eq!(streams.state(), State::Running);
    driver.abort();
}

#[tokio::test(start_paused = true)]
async fn a_cluster_never_reached_ends_in_error_after_the_limit() {
    let (up, check) = switchable();
    up.store(false, Ordering::SeqCst);
    let streams = StreamsState::new();
    let timeouts = ClusterTimeouts {
        session_timeout: Duration::from_secs(10),
        heartbeat_interval: Duration::from_secs(3),
    };
    let start = Instant::now();
    let _driver = spawn_driver(
        check,
        ClusterWatch::new(streams.clone(), timeouts),
        timeouts.poll_interval(),
    );
    reach(&streams, State::Error, 30).await;
    assert_eq!(start.elapsed(), Duration::from_secs(13));
    assert!(!streams.snapshot().reached_running);
}

/// The chain over real sockets with short timeouts: returns how long after the broker
/// stopped ERROR came, and the exit hook's calls.
async fn chain_with_a_fake_broker(strategy: ErrorStrategy) -> (Duration, usize) {
    let mut broker = within(5, FakeBroker::start())
        .await
        .expect("start the fake broker");
    let streams = StreamsState::new();
    let exits = Exits::default();
    strategy.attach_with_exit(&streams, exits.hook());
    let timeouts = ClusterTimeouts {
        session_timeout: Duration::from_secs(1),
        heartbeat_interval: Duration::from_millis(200),
    };
    let kafka = KafkaCheck::new(vec![broker.address()]).timeout(Duration::from_millis(500));
    let watch = ClusterWatch::new(streams.clone(), timeouts);
    let _driver = spawn_driver(kafka, watch, timeouts.poll_interval());
    let health = liveness(&streams);

    reach(&streams, State::Running, 5).await;
    assert_eq!(live(&health).await.0, Status::Pass);

    within(5, broker.stop()).await;
    let gone = Instant::now();
    reach(&streams, State::Error, 10).await;
    let took = gone.elapsed();
    println!("{strategy}: ERROR {took:?} after the broker stopped (limit 1.2s)");
    let (status, message) = live(&health).await;
    assert_eq!(status, Status::Fail);
    assert!(
        message.contains(&format!(
            "at least session timeout 1s + heartbeat interval 200ms; last error: no Kafka broker answered ApiVersions: {}: cannot connect: connection refused",
            broker.address()
        )),
        "{message}"
    );

    within(5, broker.restart())
        .await
        .expect("restart the broker on its port");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        live(&health).await.0,
        Status::Fail,
        "sticky after the broker returns"
    );
    assert_eq!(streams.state(), State::Error);
    (took, exits.calls())
}

#[tokio::test]
async fn log_exception_over_real_sockets_stays_unhealthy_without_exiting() {
    let (took, exits) = chain_with_a_fake_broker(ErrorStrategy::LogException).await;
    assert_eq!(exits, 0);
    assert!(
        took >= Duration::from_millis(1200) && took < Duration::from_millis(3000),
        "ERROR {took:?} after the broker stopped (limit 1.2s)"
    );
}

#[tokio::test]
async fn log_and_exit_over_real_sockets_calls_the_exit_hook_once() {
    let (took, exits) = chain_with_a_fake_broker(ErrorStrategy::LogAndExit).await;
    assert_eq!(exits, 1);
    assert!(
        took >= Duration::from_millis(1200) && took < Duration::from_millis(3000),
        "ERROR {took:?} after the broker stopped (limit 1.2s)"
    );
}
