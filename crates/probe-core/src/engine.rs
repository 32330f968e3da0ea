//! Running one check: reuse, single-flight, timeout, panics, thresholds, staleness.
//!
//! Every run happens in its own task, so a caller that gives up (its request was
//! cancelled, its deadline passed) never cancels a run other callers share, and a
//! panicking check only fails its own run.
//!
//! Thresholds are applied in two views that differ only in where they start, as the
//! kubelet's probes do: the liveness view starts passing, the gate view (readiness and
//! startup) starts failing. From a check's first rise both views agree for good.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::publish::Hook;
use crate::report::{CheckReport, HistoryEntry, ReportKind, Trend};
use crate::{Attachment, Check, Outcome, Policy, Probe, Schedule, Scope, Status};

/// Which threshold state a probe reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// Liveness: starts passing, so a restart needs `failure_threshold` failures.
    Liveness,
    /// Readiness and startup: start failing, so nothing passes before a first success.
    Gate,
}

impl View {
    pub(crate) fn of(probe: Probe) -> View {
        match probe {
            Probe::Liveness => View::Liveness,
            Probe::Readiness | Probe::Startup => View::Gate,
        }
    }

    fn index(self) -> usize {
        match self {
            View::Liveness => 0,
            View::Gate => 1,
        }
    }
}

/// A registered check: what to run, its rules, and what it last found.
pub(crate) struct Entry {
    pub(crate) name: Arc<str>,
    pub(crate) check: Arc<dyn Check>,
    pub(crate) policy: Policy,
    pub(crate) probes: [bool; 3],
    pub(crate) scope: Scope,
    slot: Mutex<Slot>,
    /// The latest report in the check's own view, sent when its status changes.
    published: watch::Sender<Option<CheckReport>>,
    history_len: usize,
    hook: Hook,
}

struct Slot {
    last: Option<Arc<Run>>,
    inflight: Option<watch::Receiver<Option<Arc<Run>>>>,
    /// The effective status in each [`View`].
    effective: [Status; 2],
    failures: u32,
    successes: u32,
    history: VecDeque<HistoryEntry>,
    /// The statuses (per view) the last published probe statuses were computed with.
    announced: Option<[Status; 2]>,
}

/// One finished run, with the effective statuses the thresholds gave it.
pub(crate) struct Run {
    raw: Status,
    effective: [Status; 2],
    message: Option<Arc<str>>,
    details: Option<Arc<Value>>,
    attachment: Option<Attachment>,
    duration: Duration,
    finished: Instant,
    observed_at: SystemTime,
    consecutive_failures: u32,
    consecutive_successes: u32,
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
        history_len: usize,
        hook: Hook,
    ) -> Self {
        let scope = check.scope();
        Entry {
            name,
            check,
            policy,
            probes,
            scope,
            slot: Mutex::new(Slot {
                last: None,
                inflight: None,
                effective: [Status::Pass, Status::Fail],
                failures: 0,
                successes: 0,
                history: VecDeque::with_capacity(history_len),
                announced: None,
            }),
            published: watch::channel(None).0,
            history_len,
            hook,
        }
    }

    pub(crate) fn in_probe(&self, probe: Probe) -> bool {
        self.probes[probe.index()]
    }

    /// The view a check is seen in on its own (a stream, its history): the gate view
    /// when it gates readiness or startup, else liveness.
    pub(crate) fn own_view(&self) -> View {
        if self.in_probe(Probe::Readiness) || self.in_probe(Probe::Startup) {
            View::Gate
        } else {
            View::Liveness
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A poisoned lock only means a panic elsewhere while holding it; the slot's
        // fields are each valid on their own, so keep serving.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns a reusable result, joins the run in flight, or starts one.
    ///
    /// `force` ignores the reuse window (the background schedule uses it). A run whose
    /// task ended without reporting (its runtime shut down) is not joined: a new one
    /// starts.
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
            if rx.has_changed().is_ok() {
                return Pending::Wait(rx.clone());
            }
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
        // Nothing a check says leaves the process with a secret in it: not its message,
        // not its details, whatever the server it asked sent back.
        let mut outcome = outcome;
        if let Some(m) = &outcome.message {
            if let std::borrow::Cow::Owned(clean) = crate::secrets::scrub(m) {
                outcome.message = Some(clean);
            }
        }
        if let Some(d) = &mut outcome.details {
            crate::secrets::scrub_json(d);
        }
        let finished = Instant::now();
        let duration = finished.saturating_duration_since(started);
        let raw = outcome.status;
        let (run, changed) = self.record(outcome, duration, finished);
        self.hook.ran(&self.name, raw, duration);
        tx.send_replace(Some(run.clone()));
        self.announce(&run, finished);
        // The probes' statuses can only have moved if this check's did: a run that left it
        // as it was costs no recomputation.
        if changed {
            self.hook.fire();
        }
    }

    /// Applies the thresholds to a finished run and stores it; true when the check's
    /// status in either view differs from the one last published.
    fn record(&self, outcome: Outcome, duration: Duration, finished: Instant) -> (Arc<Run>, bool) {
        let mut slot = self.slot();
        let failed = outcome.status == Status::Fail;
        if failed {
            slot.failures = slot.failures.saturating_add(1);
            slot.successes = 0;
        } else {
            slot.successes = slot.successes.saturating_add(1);
            slot.failures = 0;
        }
        let (failures, successes) = (slot.failures, slot.successes);
        for effective in &mut slot.effective {
            if failed {
                if failures >= self.policy.failure_threshold {
                    *effective = Status::Fail;
                }
            } else if *effective != Status::Fail || successes >= self.policy.success_threshold {
                *effective = outcome.status;
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
            consecutive_failures: failures,
            consecutive_successes: successes,
        });
        if self.history_len > 0 {
            if slot.history.len() == self.history_len {
                slot.history.pop_front();
            }
            let status = self.status_of(&run, finished, self.own_view()).0;
            slot.history.push_back(HistoryEntry {
                status,
                raw: run.raw,
                observed_at: run.observed_at,
                duration,
                message: run.message.clone(),
            });
        }
        let statuses = [View::Liveness, View::Gate].map(|v| self.status_of(&run, finished, v).0);
        let changed = slot.announced != Some(statuses);
        slot.announced = Some(statuses);
        slot.last = Some(run.clone());
        slot.inflight = None;
        (run, changed)
    }

    /// Publishes the check's report in its own view if its status changed.
    fn announce(&self, run: &Run, now: Instant) {
        let view = self.own_view();
        let status = self.status_of(run, now, view).0;
        let same = |old: &Option<CheckReport>| {
            old.as_ref()
                .is_some_and(|o| o.status == status && o.raw == run.raw)
        };
        if same(&self.published.borrow()) {
            return;
        }
        let report = self.report(run, now, false, view);
        self.published.send_if_modified(|old| {
            let changed = !same(old);
            if changed {
                *old = Some(report);
            }
            changed
        });
    }

    /// The status of `run` read at `now` in `view`, and whether it is stale.
    fn status_of(&self, run: &Run, now: Instant, view: View) -> (Status, bool) {
        let age = now.saturating_duration_since(run.finished);
        let stale = self.policy.effective_max_age().is_some_and(|max| age > max);
        let status = if stale {
            Status::Fail
        } else {
            run.effective[view.index()]
        };
        (self.soften(status), stale)
    }

    /// A failure of a non-critical check is a warning.
    fn soften(&self, status: Status) -> Status {
        if status == Status::Fail && !self.policy.critical {
            Status::Warn
        } else {
            status
        }
    }

    /// The check's status now in `view`, from its latest result; a check that has not
    /// finished a run yet passes in the liveness view and fails in the gate view.
    pub(crate) fn current_status(&self, now: Instant, view: View) -> Status {
        let last = self.slot().last.clone();
        match last {
            Some(run) => self.status_of(&run, now, view).0,
            None => self.soften(match view {
                View::Liveness => Status::Pass,
                View::Gate => Status::Fail,
            }),
        }
    }

    /// The report entry for `run`, read at `now` in `view`.
    pub(crate) fn report(&self, run: &Run, now: Instant, cached: bool, view: View) -> CheckReport {
        let (status, stale) = self.status_of(run, now, view);
        let effective = run.effective[view.index()];
        let trend = match (run.raw == Status::Fail, effective == Status::Fail) {
            _ if stale => Trend::Steady,
            (true, false) => Trend::Failing,
            (false, true) => Trend::Recovering,
            _ => Trend::Steady,
        };
        let message = if stale {
            let age = now.saturating_duration_since(run.finished);
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
            kind: ReportKind::Check,
            status,
            raw: run.raw,
            message,
            details: run.details.clone(),
            duration: run.duration,
            observed_at: run.observed_at,
            cached,
            stale,
            consecutive_failures: run.consecutive_failures,
            consecutive_successes: run.consecutive_successes,
            failure_threshold: self.policy.failure_threshold,
            success_threshold: self.policy.success_threshold,
            trend,
            scope: self.scope,
            attachment: run.attachment.clone(),
        }
    }

    /// The report entry for a run that did not finish before the deadline.
    fn missed(&self, deadline: Duration) -> CheckReport {
        self.unfinished(&format!(
            "no result within the deadline of {}",
            crate::time::human(deadline)
        ))
    }

    /// A failed entry for this check with `message`, when no run gave a result.
    fn unfinished(&self, message: &str) -> CheckReport {
        let mut r = CheckReport::condition(&self.name, self.soften(Status::Fail), message);
        r.kind = ReportKind::Check;
        r.raw = Status::Fail;
        r.scope = self.scope;
        r.failure_threshold = self.policy.failure_threshold;
        r.success_threshold = self.policy.success_threshold;
        r
    }

    /// Waits for the result of `pending` until `deadline`, and reports it in `view`.
    ///
    /// A run lost before it reported (its task died with its runtime) is started again
    /// once, within the same deadline.
    pub(crate) async fn finish(
        self: &Arc<Self>,
        pending: Pending,
        deadline: Instant,
        budget: Duration,
        view: View,
    ) -> CheckReport {
        let mut pending = pending;
        for attempt in 0..2 {
            let mut rx = match pending {
                Pending::Ready(run) => return self.report(&run, Instant::now(), true, view),
                Pending::Wait(rx) => rx,
            };
            let waited = tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some)).await;
            match waited {
                Ok(Ok(run)) => {
                    let run = run
                        .clone()
                        .expect("wait_for returned a value matching is_some");
                    return self.report(&run, Instant::now(), false, view);
                }
                Ok(Err(_lost)) if attempt == 0 => pending = self.begin(Instant::now(), false),
                Ok(Err(_lost)) => break,
                Err(_deadline) => return self.missed(budget),
            }
        }
        self.unfinished("the check's run was lost before it reported")
    }

    /// A receiver of the check's report, sent whenever its status changes.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<CheckReport>> {
        self.published.subscribe()
    }

    /// The last runs, oldest first.
    pub(crate) fn history(&self) -> Vec<HistoryEntry> {
        self.slot().history.iter().cloned().collect()
    }

    /// The report of the latest finished run, read now in the check's own view.
    pub(crate) fn latest(&self) -> Option<CheckReport> {
        let last = self.slot().last.clone()?;
        Some(self.report(&last, Instant::now(), true, self.own_view()))
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
