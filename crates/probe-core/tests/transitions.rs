//! Transition logs: a check that fails ten times in a row and recovers logs two lines, with
//! the reason and how long it failed; runs that change nothing log nothing. On a paused
//! clock, with the events caught by a test subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use probe_core::testing::{Scripted, Step};
use probe_core::{log_transitions, Health, Policy, Probe, Select, Status};
use tokio::time::timeout;

/// Log lines, caught.
#[derive(Clone, Default)]
struct Caught(Arc<Mutex<Vec<u8>>>);

impl Write for Caught {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Caught {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

const BUDGET: Duration = Duration::from_secs(30);

/// Lets the logger's tasks see what was published.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn ten_failures_in_a_row_then_a_recovery_log_two_lines_for_the_check() {
    let caught = Caught::default();
    let writer = caught.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut steps = vec![Step::pass(), Step::pass()];
    steps.extend((0..10).map(|_| Step::fail("connection refused")));
    steps.push(Step::pass());
    let db = Scripted::dependency(steps);
    let h = Health::builder()
        .check("db", db, [Probe::Readiness], Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let logger = tokio::spawn(log_transitions(&h));
    settle().await;
    let mut seen = Vec::new();
    for _ in 0..15 {
        let report = timeout(BUDGET, h.evaluate(Probe::Readiness, &Select::All))
            .await
            .unwrap();
        seen.push(report.status);
        settle().await;
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(seen.iter().filter(|s| **s == Status::Fail).count(), 10);

    let lines = caught.lines();
    let checks: Vec<&String> = lines.iter().filter(|l| l.contains("check db:")).collect();
    assert_eq!(checks.len(), 2, "{lines:#?}");
    assert!(
        checks[0].starts_with(" WARN check db: pass → fail: connection refused"),
        "{}",
        checks[0]
    );
    assert!(
        checks[0].contains("reason=\"connection refused\""),
        "{}",
        checks[0]
    );
    assert!(
        checks[0].contains("from=\"pass\"") && checks[0].contains("to=\"fail\""),
        "{}",
        checks[0]
    );
    assert!(
        checks[1].starts_with(" INFO check db: fail → pass"),
        "{}",
        checks[1]
    );
    assert!(
        checks[1].contains("duration_ms=10000"),
        "failed for ten runs a second apart: {}",
        checks[1]
    );
    assert!(!checks[1].contains("reason="), "{}", checks[1]);

    let probes: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("probe readiness:"))
        .collect();
    assert_eq!(
        probes.len(),
        3,
        "ready at the first run, then down, then up: {lines:#?}"
    );
    assert!(
        probes[1].contains("probe readiness: pass → fail"),
        "{}",
        probes[1]
    );
    assert_eq!(lines.len(), 5, "nothing else: {lines:#?}");

    drop(h);
    timeout(BUDGET, logger)
        .await
        .expect("the logger ends with the Health")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_check_whose_first_result_fails_logs_it_once() {
    let caught = Caught::default();
    let writer = caught.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let h = Health::builder()
        .check(
            "db",
            Scripted::dependency([Step::fail("no route to host")]),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let _logger = tokio::spawn(log_transitions(&h));
    settle().await;
    for _ in 0..5 {
        timeout(BUDGET, h.evaluate(Probe::Readiness, &Select::All))
            .await
            .unwrap();
        settle().await;
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    let lines = caught.lines();
    assert_eq!(
        lines.len(),
        1,
        "readiness failed from the start: {lines:#?}"
    );
    assert!(
        lines[0].contains("check db: unknown → fail: no route to host"),
        "{}",
        lines[0]
    );
}
