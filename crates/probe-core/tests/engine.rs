//! The engine's semantics, on a paused clock: parallelism, timeouts, the deadline, reuse,
//! single-flight, thresholds, staleness, criticality, panics and the application handles.

use std::time::Duration;

use probe_core::testing::{Runs, Scripted, Step};
use probe_core::{from_fn, BuildError, Health, Outcome, Policy, Probe, Scope, Select, Status};
use tokio::time::{advance, Instant};

const R: [Probe; 1] = [Probe::Readiness];

/// A check that counts its runs and answers from a script (the last entry repeats).
fn scripted(runs: &Runs, script: &'static [Status], delay: Duration) -> Scripted {
    let steps = script.iter().enumerate().map(|(n, s)| {
        match s {
            Status::Pass => Step::pass(),
            Status::Warn => Step::warn("degraded"),
            Status::Fail => Step::fail(format!("run {n} failed")),
        }
        .after(delay)
    });
    Scripted::local(steps).counted_by(runs)
}

fn counter() -> Runs {
    Runs::default()
}

async fn ready(h: &Health) -> probe_core::Report {
    h.evaluate(Probe::Readiness, &Select::All).await
}

#[tokio::test(start_paused = true)]
async fn checks_of_a_probe_run_in_parallel() {
    let (a, b) = (counter(), counter());
    let h = Health::builder()
        .check(
            "a",
            scripted(&a, &[Status::Pass], Duration::from_millis(300)),
            R,
            Policy::default(),
        )
        .unwrap()
        .check(
            "b",
            scripted(&b, &[Status::Pass], Duration::from_millis(300)),
            R,
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let start = Instant::now();
    let report = ready(&h).await;
    assert_eq!(report.status, Status::Pass);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(300),
        "two 300 ms checks took the time of one"
    );
}

#[tokio::test(start_paused = true)]
async fn a_check_that_never_answers_fails_at_its_timeout() {
    let hang = from_fn(Scope::Local, std::future::pending::<Outcome>);
    let h = Health::builder()
        .check("hung", hang, R, Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let start = Instant::now();
    let report = ready(&h).await;
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(800),
        "the default timeout fits in the kubelet's 1 s"
    );
    let c = report.get("hung").unwrap();
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.message.as_deref(), Some("timed out after 800ms"));
}

#[tokio::test(start_paused = true)]
async fn the_whole_evaluation_is_bounded_by_the_deadline() {
    let hang = from_fn(Scope::Local, std::future::pending::<Outcome>);
    let h = Health::builder()
        .check(
            "hung",
            hang,
            R,
            Policy::default().timeout(Duration::from_secs(30)),
        )
        .unwrap()
        .deadline(Duration::from_millis(250))
        .build()
        .unwrap();
    let start = Instant::now();
    let report = ready(&h).await;
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(report.status, Status::Fail);
    assert_eq!(
        report.get("hung").unwrap().message.as_deref(),
        Some("no result within the deadline of 250ms")
    );
}

#[tokio::test(start_paused = true)]
async fn results_are_reused_within_the_window_and_failures_have_their_own() {
    let runs = counter();
    let policy = Policy::default()
        .cache(Duration::from_secs(1))
        .cache_fail(Duration::from_millis(100));
    let script = &[Status::Pass, Status::Fail, Status::Fail, Status::Pass];
    let h = Health::builder()
        .check("c", scripted(&runs, script, Duration::ZERO), R, policy)
        .unwrap()
        .build()
        .unwrap();

    assert!(!ready(&h).await.checks[0].cached);
    let again = ready(&h).await;
    assert!(again.checks[0].cached, "a pass is reused within cache = 1s");
    assert_eq!(runs.count(), 1);

    advance(Duration::from_secs(1)).await;
    assert_eq!(
        ready(&h).await.status,
        Status::Fail,
        "after the window the check runs again"
    );
    advance(Duration::from_millis(50)).await;
    assert_eq!(ready(&h).await.status, Status::Fail);
    assert_eq!(
        runs.count(),
        2,
        "a failure is reused for cache_fail = 100ms"
    );
    advance(Duration::from_millis(60)).await;
    ready(&h).await;
    assert_eq!(runs.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn concurrent_probes_share_one_run() {
    let runs = counter();
    let h = Health::builder()
        .check(
            "slow",
            scripted(&runs, &[Status::Pass], Duration::from_millis(200)),
            R,
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let h = h.clone();
        tasks.spawn(async move { ready(&h).await.status });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), Status::Pass);
    }
    assert_eq!(
        runs.count(),
        1,
        "1000 concurrent probes, no reuse window: one run"
    );
}

/// `(raw, effective, consecutive failures)` over one evaluation of `probe` per entry of
/// `script`, for one check in `probe` alone with thresholds (3, 2).
async fn trace(probe: Probe, script: &'static [Status]) -> Vec<(Status, Status, u32)> {
    let (name, n) = ("c", script.len());
    let h = Health::builder()
        .check(
            name,
            scripted(&counter(), script, Duration::ZERO),
            [probe],
            Policy::default().thresholds(3, 2),
        )
        .unwrap()
        .build()
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..n {
        let r = h.evaluate(probe, &Select::All).await;
        let c = r.get(name).unwrap();
        seen.push((c.raw, c.status, c.consecutive_failures));
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn thresholds_delay_the_fall_from_passing_and_the_rise_from_failing() {
    use Status::*;
    assert_eq!(
        trace(
            Probe::Readiness,
            &[Pass, Pass, Fail, Fail, Fail, Pass, Pass]
        )
        .await,
        vec![
            (Pass, Fail, 0),
            (Pass, Pass, 0),
            (Fail, Pass, 1),
            (Fail, Pass, 2),
            (Fail, Fail, 3),
            (Pass, Fail, 0),
            (Pass, Pass, 0)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn liveness_starts_green_so_a_restart_takes_the_whole_failure_threshold() {
    use Status::*;
    assert_eq!(
        trace(Probe::Liveness, &[Fail, Fail, Fail, Pass, Pass]).await,
        vec![
            (Fail, Pass, 1),
            (Fail, Pass, 2),
            (Fail, Fail, 3),
            (Pass, Fail, 0),
            (Pass, Pass, 0)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_check_that_never_passed_fails_readiness_and_startup_whatever_its_threshold() {
    let db = Scripted::dependency([
        Step::fail("connection refused"),
        Step::fail("connection refused"),
        Step::fail("connection refused"),
        Step::fail("connection refused"),
        Step::pass(),
    ]);
    let h = Health::builder()
        .check(
            "db",
            db,
            [Probe::Readiness, Probe::Startup],
            Policy::default().thresholds(3, 1),
        )
        .unwrap()
        .build()
        .unwrap();
    for probe in [Probe::Startup, Probe::Readiness] {
        for _ in 0..2 {
            let r = h.evaluate(probe, &Select::All).await;
            assert_eq!(r.status, Status::Fail, "{probe} before any success");
            assert!(!h.startup().has_passed(), "the latch stays open");
        }
    }
    let r = ready(&h).await;
    let db = r.get("db").unwrap();
    assert_eq!((db.raw, db.status), (Status::Pass, Status::Pass));
    assert!(
        h.startup().has_passed(),
        "the first success closes the latch"
    );
    assert_eq!(r.status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn the_first_rise_also_takes_the_success_threshold() {
    use Status::*;
    assert_eq!(
        trace(Probe::Readiness, &[Pass, Pass]).await,
        vec![(Pass, Fail, 0), (Pass, Pass, 0)]
    );
}

#[tokio::test(start_paused = true)]
async fn before_startup_latches_readiness_answers_within_one_deadline() {
    let slow = |runs: &Runs| {
        Scripted::dependency([Step::pass().after(Duration::from_millis(700))]).counted_by(runs)
    };
    let (warm, dep) = (counter(), counter());
    let policy = Policy::default().timeout(Duration::from_millis(900));
    let h = Health::builder()
        .check("warm", slow(&warm), [Probe::Startup], policy.clone())
        .unwrap()
        .check("dep", slow(&dep), R, policy)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(h.deadline(Probe::Readiness), Duration::from_millis(1000));
    let start = Instant::now();
    let r = ready(&h).await;
    assert_eq!(r.status, Status::Pass, "{r:?}");
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(700),
        "the startup and readiness checks ran side by side"
    );
    assert_eq!((warm.count(), dep.count()), (1, 1));

    // A startup check that hangs: readiness still answers at its one deadline.
    let h = Health::builder()
        .check(
            "warm",
            Scripted::local([Step::hang()]),
            [Probe::Startup],
            Policy::default().timeout(Duration::from_millis(900)),
        )
        .unwrap()
        .check(
            "dep",
            Scripted::local([Step::pass().after(Duration::from_millis(700))]),
            R,
            Policy::default().timeout(Duration::from_millis(900)),
        )
        .unwrap()
        .build()
        .unwrap();
    let start = Instant::now();
    let r = ready(&h).await;
    assert!(
        start.elapsed() <= Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(r.status, Status::Fail);
    assert_eq!(r.get("startup").unwrap().status, Status::Fail);
    assert_eq!(r.get("dep").unwrap().status, Status::Pass);
}

#[test]
fn a_run_lost_with_its_runtime_is_started_again() {
    let check = Scripted::local([Step::hang(), Step::pass()]);
    let runs = check.runs();
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = Health::builder()
        .check(
            "c",
            check,
            R,
            Policy::default().timeout(Duration::from_secs(3600)),
        )
        .unwrap()
        .build()
        .unwrap();
    let h1 = h.clone();
    first.block_on(async move {
        let eval = tokio::spawn(async move { ready(&h1).await });
        while runs.count() == 0 {
            tokio::task::yield_now().await;
        }
        drop(eval);
    });
    // The run's task dies with its runtime, without reporting.
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = second.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), ready(&h))
            .await
            .expect("answers")
    });
    let c = r.get("c").unwrap();
    assert_eq!(c.status, Status::Pass, "{:?}", c.message);
    assert_eq!(r.status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn non_critical_failures_warn_and_the_probe_still_passes() {
    let runs = counter();
    let h = Health::builder()
        .check(
            "optional",
            scripted(&runs, &[Status::Fail], Duration::ZERO),
            R,
            Policy::default().non_critical(),
        )
        .unwrap()
        .build()
        .unwrap();
    let r = ready(&h).await;
    assert_eq!(r.status, Status::Warn);
    assert!(r.status.is_passing());
    assert_eq!(r.checks[0].raw, Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_is_a_failed_check() {
    let boom = from_fn(Scope::Local, || async { panic!("boom") });
    let h = Health::builder()
        .check("boom", boom, R, Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let r = ready(&h).await;
    assert_eq!(r.status, Status::Fail);
    assert_eq!(r.checks[0].message.as_deref(), Some("check panicked: boom"));
    // and the engine keeps serving
    assert_eq!(ready(&h).await.status, Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn background_checks_run_on_their_schedule_and_go_stale() {
    let runs = counter();
    // Answers quickly twice, then hangs forever: the last result ages until it is stale.
    let check = Scripted::local([Step::pass(), Step::pass(), Step::hang()]).counted_by(&runs);
    let policy = Policy::default()
        .every(Duration::from_secs(1))
        .timeout(Duration::from_secs(60))
        .max_age(Duration::from_secs(3));
    let h = Health::builder()
        .check("bg", check, R, policy)
        .unwrap()
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let r = ready(&h).await;
    assert_eq!(r.status, Status::Pass);
    assert!(r.checks[0].cached, "probes read the background result");
    let before = runs.count();
    ready(&h).await;
    assert_eq!(
        runs.count(),
        before,
        "reading does not run a background check"
    );
    // Run 2 at t=1s passes; run 3 at t=2s hangs. At t=4.1s the last result is 3.1s old.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let r = ready(&h).await;
    assert!(r.checks[0].stale);
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.checks[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("stale: last result is 3.1"),
        "{:?}",
        r.checks[0].message
    );
}

#[tokio::test(start_paused = true)]
async fn dependencies_stay_out_of_liveness_unless_opted_in() {
    let dep = || from_fn(Scope::Dependency, || async { Outcome::pass() });
    let refused = Health::builder()
        .check("db", dep(), [Probe::Liveness], Policy::default())
        .err();
    assert_eq!(refused, Some(BuildError::DependencyInLiveness("db".into())));
    assert!(refused.unwrap().to_string().contains("liveness"));
    let h = Health::builder()
        .dependency_in_liveness("db", dep(), [Probe::Liveness], Policy::default())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        h.evaluate(Probe::Liveness, &Select::All).await.status,
        Status::Pass
    );
}

#[tokio::test(start_paused = true)]
async fn builder_refuses_bad_names_and_duplicates() {
    let ok = || from_fn(Scope::Local, || async { Outcome::pass() });
    assert!(matches!(
        Health::builder().check("a/b", ok(), R, Policy::default()),
        Err(BuildError::BadName(_))
    ));
    assert!(matches!(
        Health::builder().check("shutdown", ok(), R, Policy::default()),
        Err(BuildError::BadName(_))
    ));
    let dup = Health::builder()
        .check("a", ok(), R, Policy::default())
        .unwrap()
        .check("a", ok(), R, Policy::default());
    assert!(matches!(dup, Err(BuildError::DuplicateName(_))));
    assert!(matches!(
        Health::builder().check("a", ok(), [], Policy::default()),
        Err(BuildError::NoProbes(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn readiness_waits_for_startup_and_startup_is_a_latch() {
    let runs = counter();
    let script = &[Status::Fail, Status::Pass, Status::Fail];
    let h = Health::builder()
        .check(
            "warmup",
            scripted(&runs, script, Duration::ZERO),
            [Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let r = ready(&h).await;
    assert_eq!(r.status, Status::Fail);
    assert_eq!(
        r.get("startup").unwrap().message.as_deref(),
        Some("startup has not completed")
    );
    assert_eq!(
        ready(&h).await.status,
        Status::Pass,
        "startup passed on its second run"
    );
    assert!(h.startup().has_passed());
    let s = h.evaluate(Probe::Startup, &Select::All).await;
    assert_eq!(s.status, Status::Pass, "once passed, stays passed");
    assert_eq!(runs.count(), 2, "a closed latch runs no startup checks");
}

#[tokio::test(start_paused = true)]
async fn manual_startup_waits_for_the_application() {
    let h = Health::builder().manual_startup().build().unwrap();
    assert_eq!(
        h.evaluate(Probe::Startup, &Select::All).await.status,
        Status::Fail
    );
    assert_eq!(ready(&h).await.status, Status::Fail);
    h.startup().done();
    assert_eq!(
        h.evaluate(Probe::Startup, &Select::All).await.status,
        Status::Pass
    );
    assert_eq!(ready(&h).await.status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn shutdown_fails_readiness_at_once_and_liveness_stays_green() {
    let h = Health::builder().build().unwrap();
    assert_eq!(ready(&h).await.status, Status::Pass);
    h.shutdown().begin();
    let r = ready(&h).await;
    assert_eq!(r.status, Status::Fail);
    assert_eq!(
        r.get("shutdown").unwrap().message.as_deref(),
        Some("shutting down")
    );
    assert_eq!(
        h.evaluate(Probe::Liveness, &Select::All).await.status,
        Status::Pass
    );
    tokio::time::timeout(Duration::from_secs(1), h.shutdown().begun())
        .await
        .expect("begun() resolves");
}

#[tokio::test(start_paused = true)]
async fn the_readiness_toggle_takes_the_service_out_and_back() {
    let h = Health::builder().build().unwrap();
    h.readiness().set(false);
    assert_eq!(ready(&h).await.get("ready").unwrap().status, Status::Fail);
    h.readiness().set(true);
    assert_eq!(ready(&h).await.status, Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn select_evaluates_one_check_alone_or_excludes_some() {
    let (a, b) = (counter(), counter());
    let h = Health::builder()
        .check(
            "a",
            scripted(&a, &[Status::Pass], Duration::ZERO),
            R,
            Policy::default(),
        )
        .unwrap()
        .check(
            "b",
            scripted(&b, &[Status::Fail], Duration::ZERO),
            R,
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let only = h
        .evaluate(Probe::Readiness, &Select::Only("a".into()))
        .await;
    assert_eq!((only.status, only.checks.len()), (Status::Pass, 1));
    let excl = h
        .evaluate(
            Probe::Readiness,
            &Select::Exclude(vec!["b".into(), "nope".into()]),
        )
        .await;
    assert_eq!((excl.status, excl.checks.len()), (Status::Pass, 1));
    assert_eq!(ready(&h).await.status, Status::Fail);
    assert!(h.contains(Probe::Readiness, "b") && !h.contains(Probe::Liveness, "b"));
    assert_eq!(b.count(), 1, "excluded and unselected checks do not run");
}

#[tokio::test(start_paused = true)]
async fn an_attachment_reaches_every_caller_of_its_run_and_the_reuse_window() {
    // Each run attaches its own number: callers of one run see the same one.
    let numbered = Scripted::dependency((0..3u32).map(|n| {
        Step::answer(Outcome::pass().with_attachment(n)).after(Duration::from_millis(100))
    }));
    let h = Health::builder()
        .check(
            "numbered",
            numbered,
            R,
            Policy::default().cache(Duration::from_secs(1)),
        )
        .unwrap()
        .build()
        .unwrap();
    let attached = |r: &probe_core::Report| {
        let a = r.get("numbered").and_then(|c| c.attachment.clone());
        a.and_then(|a| a.downcast_ref::<u32>().copied())
    };
    let only = Select::Only("numbered".into());
    let (first, second) = tokio::join!(
        h.evaluate(Probe::Readiness, &only),
        h.evaluate(Probe::Readiness, &only)
    );
    assert_eq!((attached(&first), attached(&second)), (Some(0), Some(0)));
    let reused = h.evaluate(Probe::Readiness, &only).await;
    assert!(reused.checks[0].cached);
    assert_eq!(attached(&reused), Some(0), "the reuse window keeps it");
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        attached(&h.evaluate(Probe::Readiness, &only).await),
        Some(1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_off_by_its_timeout_has_no_attachment() {
    let slow = from_fn(Scope::Local, || async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Outcome::pass().with_attachment("late")
    });
    let h = Health::builder()
        .check("slow", slow, R, Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let report = ready(&h).await;
    assert_eq!(report.status, Status::Fail);
    assert!(report.checks[0].attachment.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_endless_timeout_still_ends_the_evaluation() {
    // `Duration::MAX` as a check's timeout or as the whole deadline: adding it to the
    // clock must neither panic nor wait forever; the deadline is capped, and a hanging
    // check is reported as missing its deadline.
    let h = Health::builder()
        .check(
            "hangs",
            Scripted::local([Step::hang()]),
            R,
            Policy::default().timeout(Duration::MAX),
        )
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(h.deadline(Probe::Readiness), Duration::MAX);
    let report = tokio::time::timeout(Duration::from_secs(86_400 * 365 * 31), ready(&h))
        .await
        .expect("the evaluation returns");
    assert_eq!(report.status, Status::Fail);
    let h = Health::builder()
        .deadline(Duration::MAX)
        .check(
            "hangs",
            Scripted::local([Step::hang()]),
            R,
            Policy::default().timeout(Duration::MAX),
        )
        .unwrap()
        .build()
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(86_400 * 365 * 31), ready(&h))
        .await
        .expect("the evaluation returns");
    assert_eq!(report.status, Status::Fail);
}

#[tokio::test]
async fn a_registered_secret_never_reaches_a_report_whatever_a_check_says() {
    probe_core::secrets::register_in("redis://:engine-s3cret-pw@cache:6379/0");
    let echo = probe_core::from_fn(probe_core::Scope::Dependency, || async {
        probe_core::Outcome::fail("ERR invalid password engine-s3cret-pw")
            .with_details(serde_json::json!({ "sent": ["AUTH", "engine-s3cret-pw"] }))
    });
    let health = probe_core::Health::builder()
        .check(
            "cache",
            echo,
            [probe_core::Probe::Readiness],
            probe_core::Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let report = health
        .evaluate(probe_core::Probe::Readiness, &probe_core::Select::All)
        .await;
    let shown = serde_json::to_string(&report).unwrap();
    assert!(shown.contains("ERR invalid password ***"), "{shown}");
    assert!(!shown.contains("engine-s3cret-pw"), "{shown}");
    let history = health.history("cache").unwrap();
    let message = history[0].message.as_deref().unwrap_or_default();
    assert!(!message.contains("engine-s3cret-pw"), "{message}");
}
