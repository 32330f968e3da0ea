//! `probe lint`: Kubernetes probes checked against what the endpoints they reach do.
//!
//! It reads manifests (multi-document YAML: workloads, Lists, rendered chart output), the
//! `probe` configurations the pods serve (`--config`, or what `probe connect` and
//! `probe kpow` build from their flags and environment), and Dockerfile `HEALTHCHECK`s,
//! and reports one line per finding. Exit status: 0 no error finding, 1 at least one,
//! 64 an input that cannot be read or parsed.
//!
//! YAML is read with `saphyr-parser` (see `docs/deployment.md` for why).

pub mod dockerfile;
pub mod exec_probe;
mod fields;
pub mod manifest;
pub mod routes;
pub mod rules;
pub mod serves;
pub mod yaml;

use std::fmt;
use std::io::Read as _;
use std::path::Path;

use probe_core::time::human;

use crate::cli::{LintArgs, LintFormat};
use crate::config::Config;

/// The largest manifest read: 64 MiB.
pub const MAX_MANIFEST: u64 = 64 * 1024 * 1024;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The probe cannot do its job: exit 1.
    Error,
    /// It works, but not the way its author meant.
    Warning,
}

macro_rules! rules {
    ($($variant:ident => $id:literal, $severity:ident, $doc:literal;)*) => {
        /// The rules, each with its id and severity.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Rule {
            $(#[doc = $doc] $variant,)*
        }

        impl Rule {
            /// Every rule.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The rule's id, as printed.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// How bad a finding of this rule is.
            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }
        }
    };
}

rules! {
    TimeoutBelowDeadline => "timeout-below-deadline", Error, "timeoutSeconds shorter than the endpoint's evaluation deadline (or the exec command's own limit).";
    LivenessOnDependency => "liveness-on-dependency", Error, "A liveness probe on an endpoint that checks dependencies.";
    SharedEndpoint => "shared-endpoint", Warning, "Liveness and readiness on the same endpoint, which has dependencies.";
    StartupMissing => "startup-missing", Warning, "A long liveness initialDelaySeconds and no startup probe.";
    StartupBudget => "startup-budget", Error, "A startup probe that gives up before the configuration can decide.";
    ReuseOverDecision => "reuse-over-decision", Warning, "A reuse window longer than periodSeconds × failureThreshold.";
    PeriodUnderReuse => "period-under-reuse", Warning, "periodSeconds shorter than a check's reuse window.";
    PortNotServed => "port-not-served", Error, "A probe port the probe server does not listen on (or that does not speak gRPC).";
    PathNotServed => "path-not-served", Error, "A path the server's dialects and prefix do not answer.";
    GrpcUnknownService => "grpc-unknown-service", Error, "A gRPC service name the server does not answer.";
    GrpcNamedPort => "grpc-named-port", Error, "A gRPC probe with a named port.";
    SuccessThreshold => "success-threshold", Error, "successThreshold other than 1 on a liveness or startup probe.";
    DockerfileTimeout => "dockerfile-timeout", Error, "A HEALTHCHECK --timeout shorter than its command's deadline.";
    ConfigInvalid => "config-invalid", Error, "A probe command line or configuration the binary would refuse.";
    ConfigUnknown => "config-unknown", Warning, "A configuration file probe lint was not given.";
}

/// One finding.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// The file.
    pub file: String,
    /// The document, from 1 (0 for a Dockerfile).
    pub document: usize,
    /// The line.
    pub line: usize,
    /// `Kind/name`.
    pub object: String,
    /// The container.
    pub container: String,
    /// The probe (`livenessProbe`, `HEALTHCHECK`, `args`).
    pub probe: String,
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

impl fmt::Display for Finding {
    /// `FILE:LINE: error[rule] Kind/name container c livenessProbe: problem; fix: fix`, on
    /// one line whatever the manifest held.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.rule.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let text = format!(
            "{}:{}: {severity}[{}] {} container {} {}: {}; fix: {}",
            self.file,
            self.line,
            self.rule.id(),
            self.object,
            self.container,
            self.probe,
            self.problem,
            self.fix
        );
        f.write_str(&text.replace(|c: char| c.is_control(), " "))
    }
}

impl Finding {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "rule": self.rule.id(),
            "severity": match self.rule.severity() { Severity::Error => "error", Severity::Warning => "warning" },
            "file": self.file,
            "document": self.document,
            "line": self.line,
            "object": self.object,
            "container": self.container,
            "probe": self.probe,
            "problem": self.problem,
            "fix": self.fix,
        })
    }
}

/// An input that cannot be read or parsed, named with its file (and document, line and
/// path where they apply): exit 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(String);

fn input_error(file: &str, problem: impl fmt::Display) -> InputError {
    InputError(format!("{file}: {problem}"))
}

/// Reads every input and applies every rule; the findings in input order.
pub fn lint(args: &LintArgs) -> Result<Vec<Finding>, InputError> {
    for c in &args.config {
        // The error names the file already.
        Config::load(c).map_err(|e| InputError(e.to_string()))?;
    }
    let mut findings = Vec::new();
    for path in &args.manifests {
        let name = path.display().to_string();
        let text = read(path).map_err(|p| input_error(&name, p))?;
        let docs = yaml::documents(&text).map_err(|e| input_error(&name, e.to_string()))?;
        for doc in &docs {
            let workloads =
                manifest::workloads(doc).map_err(|e| input_error(&name, e.to_string()))?;
            for w in &workloads {
                rules::pod(&name, w, &args.config, &mut findings);
            }
        }
    }
    for path in &args.dockerfile {
        let name = path.display().to_string();
        let text = read(path).map_err(|p| input_error(&name, p))?;
        let check = dockerfile::healthcheck(&text)
            .map_err(|(line, p)| input_error(&name, format!("line {line}: {p}")))?;
        if let Some(h) = check {
            dockerfile_rules(&name, &h, &mut findings);
        }
    }
    Ok(findings)
}

fn dockerfile_rules(file: &str, h: &dockerfile::HealthCheck, out: &mut Vec<Finding>) {
    let place = rules::Place {
        file: file.to_owned(),
        document: 0,
        line: h.line,
        object: "Dockerfile".into(),
        container: "-".into(),
        probe: "HEALTHCHECK".into(),
    };
    match exec_probe::plan(&h.command, &[]) {
        None => {}
        Some(Err(line)) => out.push(place.finding(
            Rule::ConfigInvalid,
            line,
            "fix the HEALTHCHECK command's flags".into(),
        )),
        Some(Ok(plan)) if h.timeout < plan.deadline() => out.push(place.finding(
            Rule::DockerfileTimeout,
            format!("--timeout={} is shorter than {} may take ({} and process start): the engine kills it before it reports", human(h.timeout), plan.what, human(plan.limit)),
            format!("set --timeout={}s, or lower {}", plan.deadline().as_millis().div_ceil(1000), plan.flag),
        )),
        Some(Ok(_)) => {}
    }
}

/// A file's text (`-`: standard input), at most [`MAX_MANIFEST`] bytes.
fn read(path: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_MANIFEST + 1)
            .read_to_end(&mut bytes)
    } else {
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read: {}", probe_core::text::io_reason(&e)))?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        std::fs::File::open(path).and_then(|f| f.take(MAX_MANIFEST + 1).read_to_end(&mut bytes))
    };
    result.map_err(|e| format!("cannot read: {}", probe_core::text::io_reason(&e)))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err("larger than 64 MiB".into());
    }
    String::from_utf8(bytes).map_err(|_| "cannot read: not UTF-8 text".into())
}

/// Runs `probe lint`: prints the findings, returns the exit status (0, 1 or 64).
pub fn run(args: &LintArgs) -> u8 {
    let findings = match lint(args) {
        Ok(f) => f,
        Err(e) => {
            crate::logging::complain(format_args!("probe lint: {e}"));
            return 64;
        }
    };
    let errors = findings
        .iter()
        .filter(|f| f.rule.severity() == Severity::Error)
        .count();
    match args.format {
        LintFormat::Text => {
            for f in &findings {
                crate::logging::say(f.to_string());
            }
        }
        LintFormat::Json => {
            let doc = serde_json::json!({
                "findings": findings.iter().map(Finding::json).collect::<Vec<_>>(),
                "errors": errors,
                "warnings": findings.len() - errors,
            });
            crate::logging::say(doc.to_string());
        }
    }
    u8::from(errors > 0)
}
