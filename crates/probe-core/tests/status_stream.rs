//! The status as a stream: each probe's status and each check's report are published when
//! they change, fed by on-demand runs, background schedules and the handles, without
//! polling; and a bounded history of each check's runs. On a paused clock.

use std::time::Duration;

use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Policy, Probe, ReportKind, Select, Status};
use tokio::time::{timeout, Instant};

const R: [Probe; 1] = [Probe::Readiness];

async fn ready(h: &Health) -> probe_core::Report {
    h.evaluate(Probe::Readiness, &Select::All).await
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_sees_a_change_within_10ms_and_nothing_when_the_status_stays() {
    let db = {
        let steps = [
            Step::pass().after(Duration::from_millis(50)),
            Step::pass().after(Duration::from_millis(50)),
            Step::fail("connection refused").after(Duration::from_millis(50)),
        ];
        Scripted::dependency(steps)
    };
    let h = Health::builder()
        .check("db", db, R, Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let mut rx = h.subscribe(Probe::Readiness);
    assert_eq!(*rx.borrow_and_update(), Status::Fail, "nothing has run yet");
    let seen = {
        let mut rx = rx.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while rx.changed().await.is_ok() {
                seen.push((*rx.borrow_and_update(), Instant::now()));
                if seen.len() == 2 {
                    break;
                }
            }
            seen
        })
    };
    let mut ends = Vec::new();
    for _ in 0..3 {
        let r = ready(&h).await;
        ends.push((r.status, Instant::now()));
    }
    let seen = timeout(Duration::from_secs(1), seen)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        [Status::Pass, Status::Fail],
        "the second pass changed nothing, so nothing was sent"
    );
    // Each change arrived within 10 ms of the evaluation whose run caused it.
    assert!(seen[0].1.duration_since(ends[0].1) <= Duration::from_millis(10));
    assert!(seen[1].1 <= ends[2].1 + Duration::from_millis(10));
    assert!(
        seen[1].1 > ends[1].1,
        "nothing arrived for the run that kept pass"
    );
    assert_eq!(*rx.borrow_and_update(), Status::Fail);
    ready(&h).await;
    assert!(!rx.has_changed().unwrap(), "fail after fail: no duplicate");
    assert_eq!(h.status(Probe::Readiness), Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn background_runs_feed_the_stream_with_nobody_asking() {
    let check = Scripted::local([Step::pass(), Step::pass(), Step::fail("stuck")]);
    let runs = check.runs();
    let h = Health::builder()
        .check(
            "loop",
            check,
            [Probe::Liveness, Probe::Readiness],
            Policy::default().every(Duration::from_secs(1)),
        )
        .unwrap()
        .build()
        .unwrap();
    let mut live = h.subscribe(Probe::Liveness);
    let mut rx = h.subscribe(Probe::Readiness);
    timeout(Duration::from_millis(10), rx.changed())
        .await
        .expect("the first background run is published")
        .unwrap();
    assert_eq!(*rx.borrow_and_update(), Status::Pass);
    timeout(Duration::from_secs(3), rx.changed())
        .await
        .expect("the third run's failure is published")
        .unwrap();
    assert_eq!(*rx.borrow_and_update(), Status::Fail);
    assert_eq!(
        runs.count(),
        3,
        "one run per period, none for the subscriber"
    );
    assert_eq!(*live.borrow_and_update(), Status::Fail);
}

#[tokio::test(start_paused = true)]
async fn the_handles_feed_the_stream() {
    let h = Health::builder().build().unwrap();
    let mut ready = h.subscribe(Probe::Readiness);
    let live = h.subscribe(Probe::Liveness);
    assert_eq!(*ready.borrow_and_update(), Status::Pass);
    h.readiness().set(false);
    assert!(ready.has_changed().unwrap());
    assert_eq!(*ready.borrow_and_update(), Status::Fail);
    h.readiness().set(true);
    assert_eq!(*ready.borrow_and_update(), Status::Pass);
    h.shutdown().begin();
    assert_eq!(*ready.borrow_and_update(), Status::Fail);
    assert_eq!(*live.borrow(), Status::Pass, "liveness stays green");

    let h = Health::builder().manual_startup().build().unwrap();
    let mut startup = h.subscribe(Probe::Startup);
    assert_eq!(*startup.borrow_and_update(), Status::Fail);
    h.startup().done();
    assert_eq!(*startup.borrow_and_update(), Status::Pass);
    assert!(
        h.startup().has_passed(),
        "the latch closed with nobody asking"
    );
    assert_eq!(h.status(Probe::Readiness), Status::Pass);
}

#[tokio::test(start_paused = true)]
async fn a_check_stream_sends_its_report_when_its_status_changes() {
    let check = Scripted::dependency([
        Step::fail("refused"),
        Step::fail("refused again"),
        Step::pass(),
    ]);
    let h = Health::builder()
        .check("db", check, R, Policy::default())
        .unwrap()
        .build()
        .unwrap();
    assert!(h.subscribe_check("nosuch").is_none());
    let mut rx = h.subscribe_check("db").unwrap();
    assert!(rx.borrow_and_update().is_none(), "no run yet");
    ready(&h).await;
    let first = rx.borrow_and_update().clone().unwrap();
    assert_eq!(
        (first.status, first.kind),
        (Status::Fail, ReportKind::Check)
    );
    assert_eq!(first.message.as_deref(), Some("refused"));
    ready(&h).await;
    assert!(!rx.has_changed().unwrap(), "fail after fail sends nothing");
    ready(&h).await;
    assert_eq!(
        rx.borrow_and_update().as_ref().unwrap().status,
        Status::Pass
    );
}

#[tokio::test(start_paused = true)]
async fn the_history_keeps_the_last_runs_raw_and_effective() {
    let steps = (0..5).map(|n| Step::fail(format!("run {n}")));
    let h = Health::builder()
        .history(3)
        .check(
            "db",
            Scripted::dependency([Step::pass()].into_iter().chain(steps)),
            R,
            Policy::default().thresholds(2, 1),
        )
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(h.history("db").unwrap(), []);
    for _ in 0..4 {
        ready(&h).await;
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    let history = h.history("db").unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|e| (e.raw, e.status, e.message.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        seen,
        [
            (Status::Fail, Status::Pass, "run 0"),
            (Status::Fail, Status::Fail, "run 1"),
            (Status::Fail, Status::Fail, "run 2"),
        ],
        "the oldest run fell out; the first failure was inside the threshold"
    );
    assert!(h.history("nosuch").is_none());
}

#[tokio::test(start_paused = true)]
async fn reports_serialize_with_their_documented_field_names() {
    let h = Health::builder()
        .check(
            "db",
            Scripted::dependency([Step::fail("refused")]),
            R,
            Policy::default().thresholds(3, 1),
        )
        .unwrap()
        .build()
        .unwrap();
    h.readiness().set(false);
    let v = serde_json::to_value(ready(&h).await).unwrap();
    assert_eq!(v["probe"], "readiness");
    assert_eq!(v["status"], "fail");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    let ready_condition = &v["checks"][0];
    assert_eq!(ready_condition["name"], "ready");
    assert_eq!(ready_condition["kind"], "condition");
    let db = &v["checks"][1];
    for (key, want) in [
        ("name", serde_json::json!("db")),
        ("kind", "check".into()),
        ("status", "fail".into()),
        ("raw", "fail".into()),
        ("message", "refused".into()),
        ("details", serde_json::Value::Null),
        ("cached", false.into()),
        ("stale", false.into()),
        ("consecutive_failures", 1.into()),
        ("consecutive_successes", 0.into()),
        ("failure_threshold", 3.into()),
        ("success_threshold", 1.into()),
        ("trend", "steady".into()),
        ("scope", "dependency".into()),
    ] {
        assert_eq!(db[key], want, "{key} in {db}");
    }
    assert!(db["duration_ms"].is_number());
    assert!(db["observed_at"].is_string());
    let history = serde_json::to_value(h.history("db").unwrap()).unwrap();
    assert_eq!(history[0]["raw"], "fail");
    assert_eq!(history[0]["message"], "refused");
}

#[test]
fn every_public_handle_debugs() {
    let h = probe_core::testing::run_paused(async {
        Health::builder()
            .check("db", Scripted::local([]), R, Policy::default())
            .unwrap()
            .build()
            .unwrap()
    });
    let shown = format!("{h:?} {:?}", Health::builder());
    assert!(shown.contains("\"db\""), "{shown}");
}
