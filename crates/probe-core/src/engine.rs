//! Running one check: reuse, single-flight, timeout, panics, thresholds, staleness.
//!
//! Every run happens in its own task, so a caller that gives up (its request was
//! cancelled, its deadline passed) never cancels a run other callers share, and a
//! panicking check only fails its own run.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::report::CheckReport;
use crate::{Attachment, Check, Outcome, Policy, Probe, Schedule, Scope, Status};

/// A registered check: what to run, its rules, and what it last found.
pub(crate) struct Entry {
    pub(crate) name: Arc<str>,
    pub(crate) check: Arc<dyn Check>,
    pub(crate) policy: Policy,
    pub(crate) probes: [bool; 3],
    pub(crate) scope: Scope,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    last: Option<Arc<Run>>,
    inflight: Option<watch::Receiver<Option<Arc<Run>>>>,
    effective: Status,
    failures: u32,
    successes: u32,
}

/// One finished run, with the effective status the thresholds gave it.
pub(crate) struct Run {
    raw: Status,
    effective: Status,
    message: Option<Arc<str>>,
    details: Option<Arc<Value>>,
    attachment: Option<Attachment>,
    duration: Duration,
    finished: Instant,
    observed_at: SystemTime,
    consecutive_failures: u32,
}

/// Either a result to use now, or a run to wait for.
pub(crate) enum Pending {
    Ready(Arc<Run>),
    Wait(watch::Receiver<Option<Arc<Run>>>),
}

impl Entry {
    pub(crate) fn new(
        name: Arc<str>,
        check: Arc<dyn Check>,
        policy: Policy,
        probes: [bool; 3],
    ) -> Self {
        let scope = check.scope();
        Entry {
            name,
            check,
            policy,
            probes,
            scope,
            slot: Mutex::new(Slot::default()),
        }
    }

    pub(crate) fn in_probe(&self, probe: Probe) -> bool {
        self.probes[probe.index()]
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A poisoned lock only means a panic elsewhere while holding it; the slot's
        // fields are each valid on their own, so keep serving.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns a reusable result, joins the run in flight, or starts one.
    ///
    /// `force` ignores the reuse window (the background schedule uses it).
    pub(crate) fn begin(self: &Arc<Self>, now: Instant, force: bool) -> Pending {
        let mut slot = self.slot();
        if let (Some(last), false) = (&slot.last, force) {
            let window = match self.policy.schedule {
                Schedule::Every(_) => Duration::MAX,
                Schedule::OnDemand if last.raw == Status::Fail => self.policy.cache_fail,
                Schedule::OnDemand => self.policy.cache_pass,
            };
            if now.saturating_duration_since(last.finished) < window {
                return Pending::Ready(last.clone());
            }
        }
        if let Some(rx) = &slot.inflight {
            return Pending::Wait(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        slot.inflight = Some(rx.clone());
        drop(slot);
        tokio::spawn(self.clone().run(tx));
        Pending::Wait(rx)
    }

    async fn run(self: Arc<Self>, tx: watch::Sender<Option<Arc<Run>>>) {
        let started = Instant::now();
        let check = self.check.clone();
        let timeout = self.policy.timeout;
        let outcome =
            match tokio::spawn(async move { tokio::time::timeout(timeout, check.check()).await })
                .await
            {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_elapsed)) => {
                    Outcome::fail(format!("timed out after {}", crate::time::human(timeout)))
                }
                Err(e) if e.is_panic() => {
                    Outcome::fail(format!("check panicked: {}", panic_message(e.into_panic())))
                }
                Err(_) => Outcome::fail("check was cancelled"),
            };
        let finished = Instant::now();
        let run = self.record(
            outcome,
            finished.saturating_duration_since(started),
            finished,
        );
        tx.send_replace(Some(run));
    }

    /// Applies the thresholds to a finished run and stores it.
    fn record(&self, outcome: Outcome, duration: Duration, finished: Instant) -> Arc<Run> {
        let mut slot = self.slot();
        if outcome.status == Status::Fail {
            slot.failures = slot.failures.saturating_add(1);
            slot.successes = 0;
            if slot.failures >= self.policy.failure_threshold {
                slot.effective = Status::Fail;
            }
        } else {
            slot.successes = slot.successes.saturating_add(1);
            slot.failures = 0;
            if slot.effective != Status::Fail || slot.successes >= self.policy.success_threshold {
                slot.effective = outcome.status;
            }
        }
        let run = Arc::new(Run {
            raw: outcome.status,
            effective: slot.effective,
            message: outcome.message.map(Arc::from),
            details: outcome.details.map(Arc::new),
            attachment: outcome.attachment,
            duration,
            finished,
            observed_at: SystemTime::now(),
            consecutive_failures: slot.failures,
        });
        slot.last = Some(run.clone());
        slot.inflight = None;
        run
    }

    /// The report entry for `run`, read at `now`.
    pub(crate) fn report(&self, run: &Run, now: Instant, cached: bool) -> CheckReport {
        let age = now.saturating_duration_since(run.finished);
        let stale = self.policy.effective_max_age().is_some_and(|max| age > max);
        let mut status = if stale { Status::Fail } else { run.effective };
        if status == Status::Fail && !self.policy.critical {
            status = Status::Warn;
        }
        let message = if stale {
            Some(Arc::from(format!(
                "stale: last result is {} old (max_age {})",
                crate::time::human(age),
                crate::time::human(self.policy.effective_max_age().unwrap_or_default())
            )))
        } else {
            run.message.clone()
        };
        CheckReport {
            name: self.name.clone(),
            status,
            raw: run.raw,
            message,
            details: run.details.clone(),
            duration: run.duration,
            observed_at: run.observed_at,
            cached,
            stale,
            consecutive_failures: run.consecutive_failures,
            scope: self.scope,
            attachment: run.attachment.clone(),
        }
    }

    /// The report entry for a run that did not finish before the deadline.
    pub(crate) fn missed(&self, deadline: Duration) -> CheckReport {
        let mut r = CheckReport::condition(
            &self.name,
            if self.policy.critical {
                Status::Fail
            } else {
                Status::Warn
            },
            &format!(
                "no result within the deadline of {}",
                crate::time::human(deadline)
            ),
        );
        r.raw = Status::Fail;
        r.scope = self.scope;
        r
    }

    /// Waits for the result of `pending` until `deadline`.
    pub(crate) async fn finish(
        &self,
        pending: Pending,
        deadline: Instant,
        budget: Duration,
    ) -> CheckReport {
        match pending {
            Pending::Ready(run) => self.report(&run, Instant::now(), true),
            Pending::Wait(mut rx) => {
                let waited = tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some)).await;
                match waited {
                    Ok(Ok(run)) => {
                        let run = run
                            .clone()
                            .expect("wait_for returned a value matching is_some");
                        self.report(&run, Instant::now(), false)
                    }
                    Ok(Err(_closed)) => {
                        CheckReport::condition(&self.name, Status::Fail, "the check's run was lost")
                    }
                    Err(_deadline) => self.missed(budget),
                }
            }
        }
    }
}

/// Runs `entry` every `period` until it is dropped.
pub(crate) async fn background(entry: Weak<Entry>, period: Duration) {
    loop {
        let Some(e) = entry.upgrade() else { return };
        if let Pending::Wait(mut rx) = e.begin(Instant::now(), true) {
            drop(e);
            let _ = rx.wait_for(Option::is_some).await;
        }
        tokio::time::sleep(period).await;
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
