//! `Health`: the registered checks, the application's handles, and `evaluate`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::engine::{self, Entry, Pending};
use crate::report::{CheckReport, Report};
use crate::{Check, Policy, Probe, Readiness, Schedule, Scope, Shutdown, Startup, Status};

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
#[derive(Default)]
pub struct Builder {
    entries: Vec<Entry>,
    deadline: Option<Duration>,
    manual_startup: bool,
}

impl Builder {
    /// Registers `check` as `name` in `probes`, run under `policy`.
    ///
    /// A [`Scope::Dependency`] check in [`Probe::Liveness`] is refused: use
    /// [`Builder::dependency_in_liveness`] to say you mean it.
    pub fn check<C: Check>(
        self,
        name: impl Into<String>,
        check: C,
        probes: impl IntoIterator<Item = Probe>,
        policy: Policy,
    ) -> Result<Self, BuildError> {
        self.add(name.into(), Arc::new(check), probes, policy, false)
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
        self.add(name.into(), Arc::new(check), probes, policy, true)
    }

    /// Registers an already shared check; `allow_dependency_in_liveness` is the opt-in of
    /// [`Builder::dependency_in_liveness`].
    pub fn shared(
        self,
        name: impl Into<String>,
        check: Arc<dyn Check>,
        probes: impl IntoIterator<Item = Probe>,
        policy: Policy,
        allow_dependency_in_liveness: bool,
    ) -> Result<Self, BuildError> {
        self.add(
            name.into(),
            check,
            probes,
            policy,
            allow_dependency_in_liveness,
        )
    }

    fn add(
        mut self,
        name: String,
        check: Arc<dyn Check>,
        probes: impl IntoIterator<Item = Probe>,
        policy: Policy,
        allow_dependency_in_liveness: bool,
    ) -> Result<Self, BuildError> {
        let valid = !name.is_empty()
            && !RESERVED.contains(&name.as_str())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !valid {
            return Err(BuildError::BadName(name));
        }
        if self.entries.iter().any(|e| *e.name == *name) {
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
            && !allow_dependency_in_liveness
        {
            return Err(BuildError::DependencyInLiveness(name));
        }
        let zero_period = matches!(policy.schedule, Schedule::Every(p) if p.is_zero());
        if policy.timeout.is_zero() || zero_period {
            return Err(BuildError::ZeroDuration(name));
        }
        self.entries
            .push(Entry::new(Arc::from(name), check, policy, set));
        Ok(self)
    }

    /// Bounds a whole evaluation. By default: the longest timeout of the probe's checks
    /// plus 100 ms.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Startup also waits for the application to call [`Startup::done`].
    pub fn manual_startup(mut self) -> Self {
        self.manual_startup = true;
        self
    }

    /// Builds the [`Health`] and starts background checks (which needs a Tokio runtime).
    pub fn build(self) -> Result<Health, BuildError> {
        let entries: Vec<Arc<Entry>> = self.entries.into_iter().map(Arc::new).collect();
        let mut background = Vec::new();
        for e in &entries {
            if let Schedule::Every(period) = e.policy.schedule {
                let rt =
                    tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
                background.push(rt.spawn(engine::background(Arc::downgrade(e), period)));
            }
        }
        let deadlines = Probe::ALL.map(|p| {
            self.deadline.unwrap_or_else(|| {
                let longest = entries
                    .iter()
                    .filter(|e| e.in_probe(p))
                    .map(|e| e.policy.timeout)
                    .max();
                longest.unwrap_or_default() + Duration::from_millis(100)
            })
        });
        Ok(Health(Arc::new(Inner {
            entries,
            deadlines,
            readiness: Readiness::new(),
            startup: Startup::new(self.manual_startup),
            shutdown: Shutdown::new(),
            background,
        })))
    }
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
    background: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
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

    /// Whether `probe` has no checks at all.
    pub fn is_empty(&self, probe: Probe) -> bool {
        !self.0.entries.iter().any(|e| e.in_probe(probe))
    }

    /// The longest an evaluation of `probe` can take.
    pub fn deadline(&self, probe: Probe) -> Duration {
        self.0.deadlines[probe.index()]
    }

    /// Evaluates `probe`: runs (or reuses) the selected checks in parallel, each under its
    /// timeout, and never takes longer than the probe's deadline.
    pub async fn evaluate(&self, probe: Probe, select: &Select) -> Report {
        let mut conditions = Vec::new();
        if matches!(select, Select::Only(_)) {
            // A single check is evaluated alone, as kube-apiserver does for /readyz/<name>.
        } else {
            match probe {
                Probe::Liveness => {}
                Probe::Readiness => {
                    if self.0.shutdown.has_begun() {
                        conditions.push(CheckReport::condition(
                            "shutdown",
                            Status::Fail,
                            "shutting down",
                        ));
                    }
                    if !self.0.readiness.is_ready() {
                        conditions.push(CheckReport::condition(
                            "ready",
                            Status::Fail,
                            "marked not ready by the application",
                        ));
                    }
                    if !self.0.startup.has_passed() && !self.startup_passes().await {
                        conditions.push(CheckReport::condition(
                            "startup",
                            Status::Fail,
                            "startup has not completed",
                        ));
                    }
                }
                Probe::Startup => {
                    if self.0.startup.has_passed() {
                        return self.finish(probe, Vec::new());
                    }
                    if !self.0.startup.app_done() {
                        conditions.push(CheckReport::condition(
                            "startup",
                            Status::Fail,
                            "the application has not finished starting",
                        ));
                    }
                }
            }
        }
        let mut checks = conditions;
        checks.extend(self.run(probe, select).await);
        let report = self.finish(probe, checks);
        if probe == Probe::Startup && *select == Select::All && report.status.is_passing() {
            self.0.startup.latch();
        }
        report
    }

    /// Evaluates the startup probe in full (closing the latch if it passes).
    async fn startup_passes(&self) -> bool {
        Box::pin(self.evaluate(Probe::Startup, &Select::All))
            .await
            .status
            .is_passing()
    }

    async fn run(&self, probe: Probe, select: &Select) -> Vec<CheckReport> {
        let budget = self.0.deadlines[probe.index()];
        let now = Instant::now();
        let deadline = now + budget;
        let pending: Vec<(&Arc<Entry>, Pending)> = self
            .0
            .entries
            .iter()
            .filter(|e| e.in_probe(probe) && select.admits(&e.name))
            .map(|e| (e, e.begin(now, false)))
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        // Every run is already going in its own task: awaiting them in turn takes as long
        // as the slowest, not the sum.
        for (entry, p) in pending {
            out.push(entry.finish(p, deadline, budget).await);
        }
        out
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
