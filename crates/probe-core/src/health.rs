//! `Health`: the registered checks, the application's handles, `evaluate`, and the
//! status stream.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::engine::{self, Entry, Pending, View};
use crate::publish::{Hook, Publish};
use crate::report::{CheckReport, HistoryEntry, Report};
use crate::{
    Check, Observer, Policy, Probe, Readiness, Schedule, Scope, Shutdown, Startup, Status,
};

/// How many runs of each check [`Health::history`] keeps unless
/// [`Builder::history`] says otherwise.
pub const DEFAULT_HISTORY: usize = 16;

/// Names the engine uses for the conditions the application sets; checks cannot take them.
const RESERVED: [&str; 3] = ["startup", "shutdown", "ready"];

/// Which checks of a probe to evaluate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Select {
    /// Every check of the probe, and the application's conditions.
    #[default]
    All,
    /// One check alone (no conditions): `/readyz/<name>`.
    Only(String),
    /// Every check but these: `?exclude=<name>`. Unknown names are ignored.
    Exclude(Vec<String>),
}

impl Select {
    fn admits(&self, name: &str) -> bool {
        match self {
            Select::All => true,
            Select::Only(only) => only == name,
            Select::Exclude(names) => !names.iter().any(|n| n == name),
        }
    }
}

/// A check the builder refused, or a build that cannot start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// A dependency-scoped check was put in liveness without the explicit opt-in.
    #[error("check `{0}` looks at a dependency and cannot be in liveness (a dependency outage would restart every instance); use dependency_in_liveness to opt in")]
    DependencyInLiveness(String),
    /// Two checks share a name.
    #[error("check name `{0}` is used twice")]
    DuplicateName(String),
    /// The name is empty, reserved, or has characters that cannot appear in a path.
    #[error("check name `{0}` is not allowed: use letters, digits, `-`, `_`, `.` and `:` (and not startup, shutdown or ready)")]
    BadName(String),
    /// The check is not assigned to any probe.
    #[error("check `{0}` is not assigned to any probe")]
    NoProbes(String),
    /// A zero timeout or period.
    #[error("check `{0}`: timeout and period must be greater than zero")]
    ZeroDuration(String),
    /// Background checks need a Tokio runtime to run in.
    #[error("background checks need a Tokio runtime: call build() inside one")]
    NoRuntime,
}

// === impl Builder ===

/// Assigns checks to probes; see [`Health::builder`].
pub struct Builder {
    entries: Vec<Entry>,
    /// The names in `entries`: a duplicate is found in one look-up, so registering n
    /// checks is linear in n.
    names: HashSet<Arc<str>>,
    deadline: Option<Duration>,
    manual_startup: bool,
    history: usize,
    hook: Hook,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            entries: Vec::new(),
            names: HashSet::new(),
            deadline: None,
            manual_startup: false,
            history: DEFAULT_HISTORY,
            hook: Hook::default(),
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field(
                "checks",
                &self.entries.iter().map(|e| &*e.name).collect::<Vec<_>>(),
            )
            .field("deadline", &self.deadline)
            .field("manual_startup", &self.manual_startup)
            .field("history", &self.history)
            .finish()
    }
}

/// Whether a check may sit in liveness although it looks at a dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LivenessDependency {
    Refused,
    Allowed,
}

impl Builder {
    /// Registers `check` as `name` in `probes`, run under `policy`.
    ///
    /// A [`Scope::Dependency`] check in [`Probe::Liveness`] is refused: use
    /// [`Builder::dependency_in_liveness`] to say you mean it. A check already behind an
    /// `Arc<dyn Check>` registers as it is (`Arc<C>` is a `Check`).
    pub fn check<C: Check>(
        self,
        name: impl Into<String>,
        check: C,
        probes: impl IntoIterator<Item = Probe>,
        policy: Policy,
    ) -> Result<Self, BuildError> {
        self.add(
            name.into(),
            Arc::new(check),
            probes,
            policy,
            LivenessDependency::Refused,
        )
    }

    /// Like [`Builder::check`], but allows a dependency in liveness: a deliberate choice,
    /// since a dependency outage then restarts every instance at once.
    pub fn dependency_in_liveness<C: Check>(
        self,
        name: impl Into<String>,
        check: C,
        probes: impl IntoIterator<Item = Probe>,
        policy: Policy,
    ) -> Result<Self, BuildError> {
        self.add(
            name.into(),
            Arc::new(check),
            probes,
            policy,
            LivenessDependency::Allowed,
        )
    }

    fn add(
        mut self,
        name: String,
        check: Arc<dyn Check>,
        probes: impl IntoIterator<Item = Probe>,
        policy: Policy,
        liveness_dependency: LivenessDependency,
    ) -> Result<Self, BuildError> {
        if !is_valid_name(&name) {
            return Err(BuildError::BadName(name));
        }
        if self.names.contains(name.as_str()) {
            return Err(BuildError::DuplicateName(name));
        }
        let mut set = [false; 3];
        for p in probes {
            set[p.index()] = true;
        }
        if set == [false; 3] {
            return Err(BuildError::NoProbes(name));
        }
        if set[Probe::Liveness.index()]
            && check.scope() == Scope::Dependency
            && liveness_dependency == LivenessDependency::Refused
        {
            return Err(BuildError::DependencyInLiveness(name));
        }
        let zero_period = matches!(policy.schedule, Schedule::Every(p) if p.is_zero());
        if policy.timeout.is_zero() || zero_period {
            return Err(BuildError::ZeroDuration(name));
        }
        let name: Arc<str> = Arc::from(name);
        self.names.insert(name.clone());
        let entry = Entry::new(name, check, policy, set, self.history, self.hook.clone());
        self.entries.push(entry);
        Ok(self)
    }

    /// Bounds a whole evaluation. By default: the longest timeout of the checks the
    /// evaluation runs, plus 100 ms.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Startup also waits for the application to call [`Startup::done`].
    pub fn manual_startup(mut self) -> Self {
        self.manual_startup = true;
        self
    }

    /// Keeps the last `runs` runs of each check registered after this call (default
    /// [`DEFAULT_HISTORY`]; 0 keeps none).
    pub fn history(mut self, runs: usize) -> Self {
        self.history = runs;
        self
    }

    /// Builds the [`Health`] and starts background checks (which needs a Tokio runtime).
    pub fn build(self) -> Result<Health, BuildError> {
        let needs_runtime = self
            .entries
            .iter()
            .any(|e| matches!(e.policy.schedule, Schedule::Every(_)));
        let runtime = match needs_runtime {
            true => Some(tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?),
            false => None,
        };
        let entries: Vec<Arc<Entry>> = self.entries.into_iter().map(Arc::new).collect();
        let deadlines = Probe::ALL.map(|p| {
            self.deadline.unwrap_or_else(|| {
                let longest = entries
                    .iter()
                    .filter(|e| e.in_probe(p))
                    .map(|e| e.policy.timeout)
                    .max();
                longest
                    .unwrap_or_default()
                    .saturating_add(Duration::from_millis(100))
            })
        });
        let hook = self.hook;
        let inner = Arc::new(Inner {
            entries,
            deadlines,
            readiness: Readiness::new(hook.clone()),
            startup: Startup::new(self.manual_startup, hook.clone()),
            shutdown: Shutdown::new(hook.clone()),
            background: Mutex::new(Vec::new()),
            statuses: Probe::ALL.map(|_| watch::channel(Status::Fail).0),
            publishing: Mutex::new(()),
            hook: hook.clone(),
        });
        let weak: Weak<dyn Publish> = Arc::downgrade(&inner) as Weak<dyn Publish>;
        hook.bind(weak);
        inner.publish();
        if let Some(rt) = runtime {
            let mut tasks = lock(&inner.background);
            for e in &inner.entries {
                if let Schedule::Every(period) = e.policy.schedule {
                    tasks.push(rt.spawn(engine::background(Arc::downgrade(e), period)));
                }
            }
        }
        Ok(Health(inner))
    }
}

/// Whether `name` may name a check: letters, digits, `-`, `_`, `.` and `:`, not empty,
/// not one of the reserved condition names. Such a name is safe in a path, a log line
/// and every output format.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !RESERVED.contains(&name)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// === impl Health ===

/// The registered checks and the application's handles. Cheap to clone.
#[derive(Clone)]
pub struct Health(Arc<Inner>);

struct Inner {
    entries: Vec<Arc<Entry>>,
    deadlines: [Duration; 3],
    readiness: Readiness,
    startup: Startup,
    shutdown: Shutdown,
    background: Mutex<Vec<JoinHandle<()>>>,
    /// Each probe's status, published when it changes.
    statuses: [watch::Sender<Status>; 3],
    /// Publications happen one at a time, so the last one sent is the newest state.
    publishing: Mutex<()>,
    /// Shared with the entries: where runs and evaluations are told to observers.
    hook: Hook,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in lock(&self.background).iter() {
            task.abort();
        }
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses = Probe::ALL.map(|p| (p, *self.0.statuses[p.index()].borrow()));
        f.debug_struct("Health")
            .field(
                "checks",
                &self.0.entries.iter().map(|e| &*e.name).collect::<Vec<_>>(),
            )
            .field("statuses", &statuses)
            .field("startup_passed", &self.0.startup.has_passed())
            .field("shutting_down", &self.0.shutdown.has_begun())
            .finish()
    }
}

impl Inner {
    /// The worst status, now, of `probe`'s checks from their latest results.
    fn worst(&self, probe: Probe, now: Instant) -> Status {
        self.entries
            .iter()
            .filter(|e| e.in_probe(probe))
            .map(|e| e.current_status(now, View::of(probe)))
            .max()
            .unwrap_or(Status::Pass)
    }
}

impl Publish for Inner {
    fn publish(&self) {
        let _one_at_a_time = lock(&self.publishing);
        let now = Instant::now();
        let live = self.worst(Probe::Liveness, now);
        let startup = if self.startup.has_passed() {
            Status::Pass
        } else if !self.startup.app_done() {
            Status::Fail
        } else {
            let s = self.worst(Probe::Startup, now);
            if s.is_passing() {
                self.startup.latch();
            }
            s
        };
        let ready = if self.shutdown.has_begun()
            || !self.readiness.is_ready()
            || !self.startup.has_passed()
        {
            Status::Fail
        } else {
            self.worst(Probe::Readiness, now)
        };
        for (probe, status) in [
            (Probe::Liveness, live),
            (Probe::Startup, startup),
            (Probe::Readiness, ready),
        ] {
            self.statuses[probe.index()].send_if_modified(|old| {
                let changed = *old != status;
                *old = status;
                changed
            });
        }
    }
}

impl Health {
    /// Starts registering checks.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The readiness toggle.
    pub fn readiness(&self) -> &Readiness {
        &self.0.readiness
    }

    /// The startup latch.
    pub fn startup(&self) -> &Startup {
        &self.0.startup
    }

    /// The shutdown signal.
    pub fn shutdown(&self) -> &Shutdown {
        &self.0.shutdown
    }

    /// Whether `probe` has a check called `name`.
    pub fn contains(&self, probe: Probe, name: &str) -> bool {
        self.0
            .entries
            .iter()
            .any(|e| e.in_probe(probe) && *e.name == *name)
    }

    /// Names of the checks of `probe`, in registration order.
    pub fn names(&self, probe: Probe) -> impl Iterator<Item = &str> + '_ {
        self.0
            .entries
            .iter()
            .filter(move |e| e.in_probe(probe))
            .map(|e| &*e.name)
    }

    /// Names of every check, in registration order.
    pub fn check_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.entries.iter().map(|e| &*e.name)
    }

    /// Whether `probe` has no checks at all.
    pub fn is_empty(&self, probe: Probe) -> bool {
        !self.0.entries.iter().any(|e| e.in_probe(probe))
    }

    /// The longest an evaluation of `probe` can take: the longest timeout of the checks
    /// it runs plus 100 ms (before startup has passed, readiness also runs the startup
    /// checks, under the same one deadline).
    pub fn deadline(&self, probe: Probe) -> Duration {
        let own = self.0.deadlines[probe.index()];
        if probe == Probe::Readiness && !self.0.startup.has_passed() {
            own.max(self.0.deadlines[Probe::Startup.index()])
        } else {
            own
        }
    }

    /// The current status of `probe`, as last published: no check runs.
    ///
    /// It follows every finished run (on demand or in the background) and every change of
    /// the handles. A check that has not finished a run yet counts as passing in liveness
    /// and failing in readiness and startup.
    pub fn status(&self, probe: Probe) -> Status {
        *self.0.statuses[probe.index()].borrow()
    }

    /// A receiver of `probe`'s status: it holds the current one, and
    /// [`changed`](watch::Receiver::changed) wakes once per change (never for a run that
    /// left the status as it was). Subscribing runs no check and costs nothing per probe.
    ///
    /// ```
    /// use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope, Select, Status};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let health = Health::builder()
    ///     .check("db", from_fn(Scope::Dependency, || async { Outcome::pass() }),
    ///            [Probe::Readiness], Policy::default())
    ///     .unwrap()
    ///     .build()
    ///     .unwrap();
    /// let mut ready = health.subscribe(Probe::Readiness);
    /// assert_eq!(*ready.borrow(), Status::Fail); // nothing has run yet
    /// health.evaluate(Probe::Readiness, &Select::All).await;
    /// ready.changed().await.unwrap();
    /// assert_eq!(*ready.borrow_and_update(), Status::Pass);
    /// # });
    /// ```
    pub fn subscribe(&self, probe: Probe) -> watch::Receiver<Status> {
        self.0.statuses[probe.index()].subscribe()
    }

    /// A receiver of the check `name`'s report, sent each time its status (effective or
    /// raw) changes; `None` until its first run. `None` if there is no such check.
    ///
    /// The report is read in the check's own view: a check in readiness or startup
    /// starts failing, a liveness-only check starts passing (see [`Health::status`]).
    pub fn subscribe_check(&self, name: &str) -> Option<watch::Receiver<Option<CheckReport>>> {
        self.entry(name).map(|e| e.subscribe())
    }

    /// The last runs of the check `name`, oldest first (at most [`Builder::history`]).
    /// `None` if there is no such check.
    pub fn history(&self, name: &str) -> Option<Vec<HistoryEntry>> {
        self.entry(name).map(|e| e.history())
    }

    /// The check `name`'s status now, in its own view (as [`Health::subscribe_check`]
    /// reads it), from its latest result: no check runs. Before its first run a check in
    /// readiness or startup fails and a liveness-only check passes (a non-critical check
    /// warns instead of failing). `None` if there is no such check.
    pub fn check_status(&self, name: &str) -> Option<Status> {
        self.entry(name)
            .map(|e| e.current_status(Instant::now(), e.own_view()))
    }

    /// The report of the check `name`'s latest finished run, read now in its own view
    /// (staleness applied, `cached` true): no check runs. Unlike the stream, which sends a
    /// report only when the status changes, it follows every run (its message, duration,
    /// consecutive failures). `None` before the first run or if there is no such check.
    pub fn latest(&self, name: &str) -> Option<CheckReport> {
        self.entry(name).and_then(|e| e.latest())
    }

    /// Whether the check `name` looks at this process or at another system; `None` if there
    /// is no such check. Tools that judge an endpoint (`probe lint`) read it from here.
    pub fn scope(&self, name: &str) -> Option<Scope> {
        self.entry(name).map(|e| e.scope)
    }

    /// The policy the check `name` runs under; `None` if there is no such check.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.entry(name).map(|e| &e.policy)
    }

    /// Tells `observer` of every run that finishes and every evaluation that answers from
    /// now on (see [`Observer`]). It runs no check and is never removed.
    pub fn observe(&self, observer: impl Observer) {
        self.0.hook.observe(Arc::new(observer));
    }

    fn entry(&self, name: &str) -> Option<&Arc<Entry>> {
        self.0.entries.iter().find(|e| *e.name == *name)
    }

    /// Evaluates `probe`: runs (or reuses) the selected checks in parallel, each under its
    /// timeout, and never takes longer than one deadline, whatever it runs.
    ///
    /// Before startup has passed, readiness runs the startup checks alongside its own,
    /// under that same deadline, and fails with the condition `startup` unless they pass.
    pub async fn evaluate(&self, probe: Probe, select: &Select) -> Report {
        let inner = &self.0;
        let whole = !matches!(select, Select::Only(_));
        if probe == Probe::Startup && whole && inner.startup.has_passed() {
            let report = self.finish(probe, Vec::new());
            inner.hook.evaluated(probe, report.status);
            return report;
        }
        let gated = probe == Probe::Readiness && whole && !inner.startup.has_passed();
        let budget = self.deadline(probe);
        let now = Instant::now();
        let deadline = crate::time::deadline_after(now, budget);
        let own = self.begin(probe, select, now);
        let startup_runs = if gated {
            self.begin(Probe::Startup, &Select::All, now)
        } else {
            Vec::new()
        };
        let mut checks = Vec::with_capacity(own.len() + 3);
        if whole {
            match probe {
                Probe::Liveness => {}
                Probe::Readiness => {
                    if inner.shutdown.has_begun() {
                        checks.push(CheckReport::condition(
                            "shutdown",
                            Status::Fail,
                            "shutting down",
                        ));
                    }
                    if !inner.readiness.is_ready() {
                        checks.push(CheckReport::condition(
                            "ready",
                            Status::Fail,
                            "marked not ready by the application",
                        ));
                    }
                }
                Probe::Startup => {
                    if !inner.startup.app_done() {
                        checks.push(CheckReport::condition(
                            "startup",
                            Status::Fail,
                            "the application has not finished starting",
                        ));
                    }
                }
            }
        }
        let mut startup_passes = inner.startup.app_done();
        for (entry, p) in startup_runs {
            let r = entry.finish(p, deadline, budget, View::Gate).await;
            startup_passes &= r.status.is_passing();
        }
        if gated {
            if startup_passes {
                self.latch();
            } else {
                checks.push(CheckReport::condition(
                    "startup",
                    Status::Fail,
                    "startup has not completed",
                ));
            }
        }
        // Every run is already going in its own task: awaiting them in turn takes as long
        // as the slowest, not the sum.
        for (entry, p) in own {
            checks.push(entry.finish(p, deadline, budget, View::of(probe)).await);
        }
        let report = self.finish(probe, checks);
        if probe == Probe::Startup && *select == Select::All && report.status.is_passing() {
            self.latch();
        }
        inner.hook.evaluated(probe, report.status);
        report
    }

    /// Closes the startup latch, publishing the change.
    fn latch(&self) {
        if self.0.startup.latch() {
            self.0.publish();
        }
    }

    /// Starts (or reuses) the runs of `probe`'s checks that `select` admits.
    fn begin(&self, probe: Probe, select: &Select, now: Instant) -> Vec<(&Arc<Entry>, Pending)> {
        self.0
            .entries
            .iter()
            .filter(|e| e.in_probe(probe) && select.admits(&e.name))
            .map(|e| (e, e.begin(now, false)))
            .collect()
    }

    fn finish(&self, probe: Probe, checks: Vec<CheckReport>) -> Report {
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass);
        Report {
            probe,
            status,
            checks,
            time: SystemTime::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_fn, Outcome};

    #[test]
    fn twenty_thousand_checks_register_with_a_name_index() {
        let check = || from_fn(Scope::Local, || async { Outcome::pass() });
        let mut b = Health::builder();
        for i in 0..20_000 {
            b = b
                .check(
                    format!("c{i}"),
                    check(),
                    [Probe::Readiness],
                    Policy::default(),
                )
                .unwrap();
        }
        // Every name is in the set the duplicate test looks up, not only in the list.
        assert_eq!((b.entries.len(), b.names.len()), (20_000, 20_000));
        let err = b
            .check("c19999", check(), [Probe::Readiness], Policy::default())
            .unwrap_err();
        assert!(matches!(err, BuildError::DuplicateName(n) if n == "c19999"));
    }
}
