//! Transition logs: one `tracing` event per change of a check's or a probe's status, read
//! from the status stream, so the logs never disagree with the probes.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::report::CheckReport;
use crate::{Health, Probe, Status};

/// A future that logs every change of `health`'s checks and probes until `health` is
/// dropped; spawn it (`tokio::spawn(log_transitions(&health))`).
///
/// - A check: its effective status (as [`Health::subscribe_check`] publishes it), once per
///   change: `check db: pass → fail` with `reason` (the check's message), and
///   `check db: fail → pass` with `duration_ms` (how long it was in the state it left).
///   A check starts unknown: its first result is logged (`from = "unknown"`) only when it
///   does not pass, so a healthy start logs nothing.
/// - A probe: `probe readiness: fail → pass`, once per change from the status published
///   when logging began, with `duration_ms`.
///
/// A run that changes nothing logs nothing; a raw change inside the thresholds is no
/// change. Fields: `check` or `probe`, `from`, `to`, `reason` (a check whose new status is
/// not pass, when it has a message), `duration_ms`. Changes to `pass` are INFO, others
/// WARN. Changes closer together than the logger runs may be seen as one (the stream keeps
/// the latest), never as one that did not happen.
///
/// The future holds no [`Health`]: it ends when the `Health` and every clone of it are
/// dropped.
pub fn log_transitions(health: &Health) -> impl Future<Output = ()> + Send + 'static {
    let checks: Vec<_> = health
        .check_names()
        .filter_map(|n| health.subscribe_check(n).map(|rx| (n.to_owned(), rx)))
        .collect();
    let probes: Vec<_> = Probe::ALL
        .into_iter()
        .filter(|p| !health.is_empty(*p))
        .map(|p| (p, health.subscribe(p)))
        .collect();
    async move {
        let mut tasks = JoinSet::new();
        for (name, rx) in checks {
            tasks.spawn(follow_check(name, rx));
        }
        for (probe, rx) in probes {
            tasks.spawn(follow_probe(probe, rx));
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn follow_check(name: String, mut rx: watch::Receiver<Option<CheckReport>>) {
    // Before its first result a check is unknown.
    let mut last: Option<(Status, Instant)> = None;
    loop {
        let report = rx.borrow_and_update().clone();
        if let Some(report) = report {
            let to = report.status;
            let now = Instant::now();
            match last {
                Some((from, _)) if from == to => {}
                None if to == Status::Pass => last = Some((to, now)),
                _ => {
                    let (from, since) = match last {
                        Some((from, since)) => (from.as_str(), Some(since)),
                        None => ("unknown", None),
                    };
                    let duration_ms =
                        since.map(|s| now.saturating_duration_since(s).as_millis() as u64);
                    let reason = report.message.as_deref().filter(|_| to != Status::Pass);
                    log(Subject::Check(&name), from, to, reason, duration_ms);
                    last = Some((to, now));
                }
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn follow_probe(probe: Probe, mut rx: watch::Receiver<Status>) {
    let mut last = (*rx.borrow_and_update(), Instant::now());
    while rx.changed().await.is_ok() {
        let to = *rx.borrow_and_update();
        if to == last.0 {
            continue;
        }
        let now = Instant::now();
        let duration_ms = now.saturating_duration_since(last.1).as_millis() as u64;
        log(
            Subject::Probe(probe),
            last.0.as_str(),
            to,
            None,
            Some(duration_ms),
        );
        last = (to, now);
    }
}

enum Subject<'a> {
    Check(&'a str),
    Probe(Probe),
}

fn log(
    subject: Subject<'_>,
    from: &str,
    to: Status,
    reason: Option<&str>,
    duration_ms: Option<u64>,
) {
    let to_s = to.as_str();
    macro_rules! event {
        ($level:ident) => {
            match subject {
                Subject::Check(check) => tracing::$level!(
                    check,
                    from,
                    to = to_s,
                    reason,
                    duration_ms,
                    "check {check}: {from} → {to_s}{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
                Subject::Probe(probe) => tracing::$level!(
                    probe = probe.as_str(),
                    from,
                    to = to_s,
                    duration_ms,
                    "probe {}: {from} → {to_s}",
                    probe.as_str()
                ),
            }
        };
    }
    if to == Status::Pass {
        event!(info);
    } else {
        event!(warn);
    }
}
