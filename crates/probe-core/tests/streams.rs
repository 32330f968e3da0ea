//! The Kafka Streams state table through the handle, and what each probe answers over time.

mod support;

use std::time::Duration;

use probe_core::evaluators::streams::{InvalidTransition, State, StreamsRules, StreamsState};
use probe_core::{Check, Health, Outcome, Policy, Probe, Select, Status};
use support::within;

use State::*;

/// The reference table, written out pair by pair.
const ALLOWED: [(State, State); 11] = [
    (Created, Rebalancing),
    (Created, PendingShutdown),
    (Rebalancing, Running),
    (Rebalancing, PendingShutdown),
    (Rebalancing, PendingError),
    (Running, Rebalancing),
    (Running, Running),
    (Running, PendingShutdown),
    (Running, PendingError),
    (PendingShutdown, NotRunning),
    (PendingError, Error),
];

/// A handle brought to `state` through allowed transitions.
fn in_state(state: State) -> StreamsState {
    let path: &[State] = match state {
        Created => &[],
        Rebalancing => &[Rebalancing],
        Running => &[Rebalancing, Running],
        PendingShutdown => &[PendingShutdown],
        NotRunning => &[PendingShutdown, NotRunning],
        PendingError => &[Rebalancing, PendingError],
        Error => &[Rebalancing, PendingError, Error],
    };
    let s = StreamsState::new();
    for &next in path {
        s.transition(next)
            .expect("a path through allowed transitions");
    }
    assert_eq!(s.state(), state);
    s
}

#[test]
fn every_pair_of_states_is_allowed_or_refused_as_the_table_says() {
    let mut allowed = 0;
    for from in State::ALL {
        for to in State::ALL {
            let s = in_state(from);
            let result = s.transition(to);
            if ALLOWED.contains(&(from, to)) {
                allowed += 1;
                assert_eq!(result, Ok(from), "{from} -> {to} must be allowed");
                assert_eq!(s.state(), to);
                assert_eq!(s.snapshot().refused, None);
            } else {
                let refused = InvalidTransition { from, to };
                assert_eq!(result, Err(refused), "{from} -> {to} must be refused");
                assert_eq!(s.state(), from, "a refused transition changes nothing");
                let live = s.snapshot().outcome(
                    Probe::Liveness,
                    tokio::time::Instant::now(),
                    &StreamsRules::default(),
                );
                assert!(
                    live.message.unwrap().contains(&format!(
                        "refused a transition: kafka streams cannot go from {from} to {to}"
                    )),
                    "{from} -> {to}: the refusal shows in the probe message"
                );
            }
        }
    }
    assert_eq!(allowed, ALLOWED.len());
}

#[test]
fn error_is_terminal_and_reached_only_through_pending_error() {
    for from in State::ALL {
        assert_eq!(
            in_state(from).transition(Error).is_ok(),
            from == PendingError,
            "{from}"
        );
    }
    let s = in_state(Error);
    for to in State::ALL {
        assert!(s.transition(to).is_err(), "ERROR -> {to}");
    }
}

async fn status(check: &impl Check) -> (Status, String) {
    let out: Outcome = within(1, check.check()).await;
    (out.status, out.message.unwrap_or_default())
}

#[tokio::test(start_paused = true)]
async fn liveness_fails_on_error_and_stays_failed() {
    let s = in_state(Running);
    let live = s.liveness();
    assert_eq!(status(&live).await.0, Status::Pass);
    s.fail("the global thread died").unwrap();
    tokio::time::advance(Duration::from_secs(120)).await;
    let (st, message) = status(&live).await;
    assert_eq!(st, Status::Fail);
    assert_eq!(
        message,
        "kafka streams ERROR for 2m: the global thread died"
    );
    assert!(s.transition(Running).is_err());
    assert_eq!(status(&live).await.0, Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn stopping_on_purpose_is_alive_but_not_ready() {
    let s = in_state(Running);
    s.transition(PendingShutdown).unwrap();
    assert_eq!(status(&s.liveness()).await.0, Status::Pass);
    s.transition(NotRunning).unwrap();
    let (st, message) = status(&s.liveness()).await;
    assert_eq!(st, Status::Pass);
    assert!(message.ends_with("(stopping, not an error)"), "{message}");
    assert_eq!(status(&s.readiness()).await.0, Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn a_short_rebalance_stays_ready_within_the_grace_and_a_long_one_fails() {
    let s = in_state(Running);
    let ready = s.readiness().rebalance_grace(Duration::from_secs(10));
    assert_eq!(status(&ready).await.0, Status::Pass);

    s.transition(Rebalancing).unwrap();
    tokio::time::advance(Duration::from_secs(4)).await;
    let (st, message) = status(&ready).await;
    assert_eq!(st, Status::Warn, "{message}");
    assert_eq!(
        message,
        "kafka streams REBALANCING for 4s, ready for up to 10s"
    );

    s.transition(Running).unwrap();
    s.transition(Rebalancing).unwrap();
    tokio::time::advance(Duration::from_secs(11)).await;
    let (st, message) = status(&ready).await;
    assert_eq!(st, Status::Fail);
    assert_eq!(
        message,
        "kafka streams REBALANCING for 11s, longer than the 10s grace"
    );

    // Without a grace, any rebalance fails readiness at once.
    assert_eq!(status(&s.readiness()).await.0, Status::Fail);
    s.transition(Running).unwrap();
    assert_eq!(status(&ready).await.0, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn startup_passes_once_running_was_reached_and_stays_passed() {
    let s = StreamsState::new();
    let startup = s.startup();
    let (st, message) = status(&startup).await;
    assert_eq!(st, Status::Fail);
    assert_eq!(
        message,
        "kafka streams CREATED for 0ms, has not reached RUNNING yet"
    );
    s.transition(Rebalancing).unwrap();
    assert_eq!(status(&startup).await.0, Status::Fail);
    s.transition(Running).unwrap();
    s.transition(Rebalancing).unwrap();
    assert_eq!(
        status(&startup).await,
        (Status::Pass, "kafka streams has reached RUNNING".into())
    );
}

#[tokio::test(start_paused = true)]
async fn registered_in_health_the_probes_answer_as_mapped() {
    let s = StreamsState::new();
    let health = Health::builder()
        .check(
            "streams",
            s.liveness(),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .check(
            "streams-ready",
            s.readiness(),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .check(
            "streams-started",
            s.startup(),
            [Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let eval = |probe| {
        let health = health.clone();
        async move { within(1, health.evaluate(probe, &Select::All)).await.status }
    };
    assert_eq!(eval(Probe::Liveness).await, Status::Pass);
    assert_eq!(eval(Probe::Startup).await, Status::Fail);
    assert_eq!(eval(Probe::Readiness).await, Status::Fail);
    s.transition(Rebalancing).unwrap();
    s.transition(Running).unwrap();
    assert_eq!(eval(Probe::Startup).await, Status::Pass);
    assert_eq!(eval(Probe::Readiness).await, Status::Pass);
    s.fail("boom").unwrap();
    assert_eq!(eval(Probe::Liveness).await, Status::Fail);
    assert_eq!(eval(Probe::Readiness).await, Status::Fail);
    assert_eq!(eval(Probe::Startup).await, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn with_a_running_debounce_startup_waits_until_running_has_held() {
    let rules = StreamsRules::default().debounce(Running, Duration::from_secs(5));
    let s = StreamsState::new();
    let started = s.startup().rules(rules);
    let ready = s.readiness().rules(rules);
    s.transition(Rebalancing).unwrap();
    s.transition(Running).unwrap();
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(status(&started).await.0, Status::Fail, "RUNNING 4s of 5s");
    let (st, message) = status(&ready).await;
    assert_eq!(st, Status::Fail);
    assert!(
        message.contains("REBALANCING for 4s (RUNNING for 4s, counts after 5s)"),
        "{message}"
    );
    // A short RUNNING that ended does not count either.
    s.transition(Rebalancing).unwrap();
    s.transition(Running).unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(status(&started).await.0, Status::Pass);
    assert_eq!(status(&ready).await.0, Status::Pass);
    s.transition(Rebalancing).unwrap();
    assert_eq!(status(&started).await.0, Status::Pass, "a latch");
    let log = s.transitions();
    assert_eq!(log.len(), 5);
    assert_eq!((log[0].from, log[0].to), (Created, Rebalancing));
    assert_eq!((log[4].from, log[4].to), (Running, Rebalancing));
}
