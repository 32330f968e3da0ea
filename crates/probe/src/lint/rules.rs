//! The rules, applied to each pod template: every probe of every container is followed to
//! what answers it (a `probe` container of the same pod, found by port), and what the
//! kubelet will do is compared with what that endpoint does.

use std::path::PathBuf;
use std::time::Duration;

use probe_core::time::human;
use probe_core::Scope;

use super::exec_probe::{self, Local};
use super::manifest::{Container, Handler, Kind, PortRef, ProbeSpec, Workload};
use super::serves::{self, Endpoint, Reading, Served, Target};
use super::{Finding, Rule};

/// A liveness probe that waits at least this long asks for a startup probe instead.
pub const LONG_INITIAL_DELAY: u32 = 30;

/// Where a finding is, before its rule and text.
#[derive(Clone)]
pub struct Place {
    /// The file.
    pub file: String,
    /// The document, from 1.
    pub document: usize,
    /// The line.
    pub line: usize,
    /// `Kind/name`.
    pub object: String,
    /// The container.
    pub container: String,
    /// The probe's field name.
    pub probe: String,
}

impl Place {
    /// A finding of `rule` at this place.
    pub fn finding(&self, rule: Rule, problem: String, fix: String) -> Finding {
        Finding {
            rule,
            file: self.file.clone(),
            document: self.document,
            line: self.line,
            object: self.object.clone(),
            container: self.container.clone(),
            probe: self.probe.clone(),
            problem,
            fix,
        }
    }
}

fn secs(d: Duration) -> u64 {
    // The whole seconds a timeoutSeconds must be for `d` to fit.
    d.as_millis().div_ceil(1000) as u64
}

/// The findings of one pod template.
pub fn pod(file: &str, w: &Workload, configs: &[PathBuf], out: &mut Vec<Finding>) {
    let here = |c: &Container, probe: &str, line: usize| Place {
        file: file.to_owned(),
        document: w.document,
        line,
        object: w.object.clone(),
        container: c.name.clone(),
        probe: probe.to_owned(),
    };
    // Each probe container's server, by container index.
    let mut servers: Vec<Option<Served>> = Vec::new();
    for c in &w.containers {
        let mut served = None;
        if let Some(argv) = serves::probe_argv(&c.image, &c.command, &c.args) {
            match serves::read(&argv, &c.env, configs) {
                Reading::Serves(s) => served = Some(*s),
                Reading::NotAServer => {}
                Reading::Broken(line) => out.push(here(c, "args", w.line).finding(
                    Rule::ConfigInvalid,
                    line,
                    "fix the container's command line or configuration (probe lint checks it as the binary would)".into(),
                )),
                Reading::UnknownConfig(path) => out.push(here(c, "args", w.line).finding(
                    Rule::ConfigUnknown,
                    format!("the container serves the configuration {path}, which probe lint was not given"),
                    format!("run probe lint --config <local copy of {path}> to check its probes"),
                )),
            }
        }
        servers.push(served);
    }
    for (ci, c) in w.containers.iter().enumerate() {
        let mut targets: Vec<(Kind, String, Endpoint)> = Vec::new();
        let has_startup = c.probes.iter().any(|p| p.kind == Kind::Startup);
        for p in &c.probes {
            let place = here(c, p.kind.field(), p.line);
            if p.success != 1 && matches!(p.kind, Kind::Liveness | Kind::Startup) {
                out.push(place.finding(
                    Rule::SuccessThreshold,
                    format!(
                        "successThreshold is {}; Kubernetes accepts only 1 for {}",
                        p.success,
                        p.kind.field()
                    ),
                    "set successThreshold: 1 (or remove it)".into(),
                ));
            }
            if p.kind == Kind::Liveness && !has_startup && p.initial_delay >= LONG_INITIAL_DELAY {
                out.push(place.finding(
                    Rule::StartupMissing,
                    format!("liveness waits initialDelaySeconds {} with no startup probe: a slow start is still killed, a fast one still waits", p.initial_delay),
                    "add a startupProbe on the startup endpoint and drop initialDelaySeconds".into(),
                ));
            }
            if let Some((server, endpoint)) = follow(p, c, ci, &servers, &place, out) {
                judge(p, &place, server, &endpoint, out);
                targets.push((p.kind, endpoint_key(ci, server, &endpoint), endpoint));
            }
        }
        // Liveness and readiness on one endpoint that has dependencies.
        for (kind, key, endpoint) in &targets {
            if *kind != Kind::Liveness {
                continue;
            }
            let shared = targets
                .iter()
                .any(|(k, other, _)| *k == Kind::Readiness && other == key);
            let deps = dependencies(endpoint, true);
            if shared && !deps.is_empty() {
                let line = c
                    .probes
                    .iter()
                    .find(|p| p.kind == Kind::Liveness)
                    .map_or(w.line, |p| p.line);
                out.push(here(c, Kind::Liveness.field(), line).finding(
                    Rule::SharedEndpoint,
                    format!("liveness and readiness both probe {}, which checks dependencies ({}): an outage of one restarts the container instead of only taking it out of service", endpoint.label, deps.join(", ")),
                    "give liveness an endpoint of its own with local checks only, and keep the dependency in readiness".into(),
                ));
            }
        }
    }
}

fn endpoint_key(ci: usize, server: &Served, e: &Endpoint) -> String {
    format!("{ci}:{}:{}", server.port, e.label)
}

/// The dependency checks of an endpoint (all of them, or those not opted in to liveness).
fn dependencies(e: &Endpoint, all: bool) -> Vec<String> {
    e.checks
        .iter()
        .filter(|(_, scope, _)| *scope == Scope::Dependency)
        .filter(|(name, _, _)| all || !e.liveness_names.iter().any(|n| n == name))
        .map(|(n, _, _)| n.clone())
        .collect()
}

/// The server container listening on `port`, preferring the probe's own container.
fn server_at(port: u16, ci: usize, servers: &[Option<Served>]) -> Option<&Served> {
    servers[ci]
        .as_ref()
        .filter(|s| s.port == port)
        .or_else(|| servers.iter().flatten().find(|s| s.port == port))
}

fn resolve_port(port: &PortRef, c: &Container) -> Result<u16, String> {
    match port {
        PortRef::Number(n) => Ok(*n),
        PortRef::Name(name) => c
            .ports
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                format!(
                    "the named port {name:?} is not among container {}'s ports",
                    c.name
                )
            }),
    }
}

/// The server and endpoint a probe reaches, when a `probe` container answers it; findings
/// for a port or path it does not serve, and for exec commands that cannot run.
fn follow<'a>(
    p: &ProbeSpec,
    c: &Container,
    ci: usize,
    servers: &'a [Option<Served>],
    place: &Place,
    out: &mut Vec<Finding>,
) -> Option<(&'a Served, Endpoint)> {
    let own = servers[ci].as_ref();
    // The server on `number`, or a finding that the port is not served.
    let served_at = |number: u16, out: &mut Vec<Finding>| {
        let found = server_at(number, ci, servers);
        if let (None, Some(s)) = (found, own) {
            out.push(place.finding(
                Rule::PortNotServed,
                format!(
                    "port {number} is not served: the container listens on {}",
                    s.port
                ),
                format!("probe port {}", s.port),
            ));
        }
        found
    };
    let (server, target) = match &p.handler {
        Handler::Http { path, port } => {
            let number = match resolve_port(port, c) {
                Ok(n) => n,
                Err(problem) => {
                    out.push(place.finding(
                        Rule::PortNotServed,
                        problem,
                        "declare the port in the container's ports, or use its number".into(),
                    ));
                    return None;
                }
            };
            let server = served_at(number, out)?;
            (server, server.http(path))
        }
        Handler::Grpc { port, service } => {
            let number = match port {
                PortRef::Number(n) => *n,
                PortRef::Name(name) => {
                    out.push(place.finding(
                        Rule::GrpcNamedPort,
                        format!("the gRPC probe names its port {name:?}; Kubernetes takes only a number here"),
                        format!("write the port number{}", resolve_port(port, c).map(|n| format!(": port: {n}")).unwrap_or_default()),
                    ));
                    return None;
                }
            };
            let server = served_at(number, out)?;
            (server, server.grpc(service))
        }
        Handler::Exec { command } => {
            let plan = match exec_probe::plan(command, &c.env)? {
                Ok(plan) => plan,
                Err(line) => {
                    out.push(place.finding(
                        Rule::ConfigInvalid,
                        line,
                        "fix the exec command's flags".into(),
                    ));
                    return None;
                }
            };
            let timeout = Duration::from_secs(p.timeout.into());
            if timeout < plan.deadline() {
                out.push(place.finding(
                    Rule::TimeoutBelowDeadline,
                    format!("timeoutSeconds {} is shorter than {} may take ({} and process start): the kubelet gives up before it reports", p.timeout, plan.what, human(plan.limit)),
                    format!("set timeoutSeconds: {} (or lower {})", secs(plan.deadline()), plan.flag),
                ));
            }
            let (server, target) = match &plan.local {
                Some(Local::Http(port, path)) => {
                    let s = server_at(*port, ci, servers)?;
                    (s, s.http(path))
                }
                Some(Local::Grpc(port, service)) => {
                    let s = server_at(*port, ci, servers)?;
                    (s, s.grpc(service))
                }
                None => return None,
            };
            if let Target::Endpoint(e) = &target {
                if plan.limit < e.deadline {
                    out.push(place.finding(
                        Rule::TimeoutBelowDeadline,
                        format!(
                            "{} gives up before {} answers (its evaluation deadline is {})",
                            plan.what,
                            e.label,
                            human(e.deadline)
                        ),
                        format!(
                            "set {} {} and timeoutSeconds: {}",
                            plan.flag,
                            secs(e.deadline),
                            secs(e.deadline + exec_probe::EXEC_MARGIN)
                        ),
                    ));
                }
                return Some((server, e.clone()));
            }
            (server, target)
        }
        Handler::Other => return None,
    };
    match target {
        Target::Endpoint(e) => Some((server, e)),
        Target::Fixed(_) => None,
        Target::Missing(problem, fix) => {
            let rule = match &p.handler {
                Handler::Grpc { .. } if server.grpc => Rule::GrpcUnknownService,
                Handler::Grpc { .. } => Rule::PortNotServed,
                _ => Rule::PathNotServed,
            };
            out.push(place.finding(rule, problem, fix));
            None
        }
    }
}

/// The rules that compare a probe with the endpoint it reaches.
fn judge(p: &ProbeSpec, place: &Place, server: &Served, e: &Endpoint, out: &mut Vec<Finding>) {
    let timeout = Duration::from_secs(p.timeout.into());
    if !matches!(p.handler, Handler::Exec { .. }) && timeout < e.deadline {
        out.push(place.finding(
            Rule::TimeoutBelowDeadline,
            format!("timeoutSeconds {} is shorter than {}'s evaluation deadline {}: a slow check is seen as a failed probe, not as the check's own answer", p.timeout, e.label, human(e.deadline)),
            format!("set timeoutSeconds: {} (or shorten the checks' timeouts)", secs(e.deadline)),
        ));
    }
    if p.kind == Kind::Liveness {
        let deps = dependencies(e, false);
        if !deps.is_empty() {
            out.push(place.finding(
                Rule::LivenessOnDependency,
                format!("liveness probes {}, which checks dependencies ({}): an outage of a dependency restarts every replica", e.label, deps.join(", ")),
                "probe liveness on /livez (local checks only); keep dependencies in readiness".into(),
            ));
        }
    }
    if p.kind == Kind::Startup {
        let budget = Duration::from_secs(
            u64::from(p.initial_delay) + u64::from(p.failure) * u64::from(p.period),
        );
        let (need, why) = match &server.startup_needs {
            Some((d, why)) if *d > e.deadline => (*d, why.clone()),
            _ => (
                e.deadline,
                format!(
                    "one evaluation of {} may take {}",
                    e.label,
                    human(e.deadline)
                ),
            ),
        };
        if budget < need {
            out.push(place.finding(
                Rule::StartupBudget,
                format!("the startup budget (initialDelaySeconds + failureThreshold × periodSeconds = {}) is shorter than {}: {why}", human(budget), human(need)),
                format!("raise failureThreshold to {}", secs(need).div_ceil(u64::from(p.period.max(1))).max(1)),
            ));
        }
    }
    let decision = u64::from(p.period) * u64::from(p.failure.max(1));
    for (name, _, policy) in &e.checks {
        let window = policy.cache_pass.max(policy.cache_fail);
        if window.is_zero() {
            continue;
        }
        if window > Duration::from_secs(decision) {
            out.push(place.finding(
                Rule::ReuseOverDecision,
                format!("check {name} reuses a result for {}, longer than the probe's decision window (periodSeconds × failureThreshold = {decision}s): the kubelet decides on answers older than its own rule", human(window)),
                format!("set the check's cache to at most {decision}s, or raise periodSeconds"),
            ));
        } else if window > Duration::from_secs(p.period.into()) {
            out.push(place.finding(
                Rule::PeriodUnderReuse,
                format!("periodSeconds {} is shorter than check {name}'s reuse window {}: consecutive probes read the same result and never see a fresh one", p.period, human(window)),
                format!("set periodSeconds to at least {}, or shorten the check's cache", secs(window)),
            ));
        }
    }
}
