//! Observers: every finished run and every evaluation is told, once, with the run's raw
//! status and duration; results reused from the reuse window are no run. On a paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Observer, Policy, Probe, Select, Status};
use tokio::time::timeout;

#[derive(Default)]
struct Seen {
    runs: Mutex<Vec<(String, Status, Duration)>>,
    evaluations: Mutex<Vec<(Probe, Status)>>,
}

impl Observer for Seen {
    fn on_run(&self, check: &str, raw: Status, duration: Duration) {
        self.runs
            .lock()
            .unwrap()
            .push((check.to_owned(), raw, duration));
    }

    fn on_evaluation(&self, probe: Probe, status: Status) {
        self.evaluations.lock().unwrap().push((probe, status));
    }
}

const BUDGET: Duration = Duration::from_secs(30);

#[tokio::test(start_paused = true)]
async fn each_run_is_told_once_with_its_raw_status_and_duration_and_reuse_is_no_run() {
    let db = Scripted::dependency([
        Step::pass().after(Duration::from_millis(40)),
        Step::fail("connection refused").after(Duration::from_millis(70)),
        Step::hang(),
    ]);
    let policy = Policy::default()
        .timeout(Duration::from_millis(500))
        .cache(Duration::from_secs(1))
        .thresholds(3, 1);
    let h = Health::builder()
        .check("db", db, [Probe::Readiness], policy)
        .unwrap()
        .build()
        .unwrap();
    let seen = Arc::new(Seen::default());
    h.observe(seen.clone());
    let ready = || timeout(BUDGET, h.evaluate(Probe::Readiness, &Select::All));

    assert_eq!(ready().await.unwrap().status, Status::Pass);
    assert_eq!(ready().await.unwrap().status, Status::Pass, "reused");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        ready().await.unwrap().status,
        Status::Pass,
        "one failure is inside the threshold"
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    ready().await.unwrap();

    let runs = seen.runs.lock().unwrap().clone();
    let ms = Duration::from_millis;
    assert_eq!(
        runs,
        [
            ("db".to_owned(), Status::Pass, ms(40)),
            ("db".to_owned(), Status::Fail, ms(70)),
            ("db".to_owned(), Status::Fail, ms(500)),
        ],
        "a timeout is a failed run as long as the timeout"
    );
    let evaluations = seen.evaluations.lock().unwrap().clone();
    assert_eq!(
        evaluations.len(),
        4,
        "a reused result is still an evaluation"
    );
    assert!(evaluations.iter().all(|(p, _)| *p == Probe::Readiness));
    assert_eq!(
        evaluations[3].1,
        Status::Pass,
        "two failures of three allowed"
    );
}
