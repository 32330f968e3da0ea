//! The small vocabulary every other module speaks: status, probe kind, scope.

use std::fmt;
use std::str::FromStr;

/// The result of a check or a probe. Ordered: the worst one wins (`Pass < Warn < Fail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    #[default]
    Pass,
    /// Degraded but still serving: probes answer 2xx.
    Warn,
    /// Unhealthy.
    Fail,
}

impl Status {
    /// `pass`, `warn` or `fail`, as in the IETF health-check draft.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// Whether a probe with this status answers as passing (`warn` included).
    pub fn is_passing(self) -> bool {
        self != Status::Fail
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three questions an orchestrator asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// Is the process itself broken? A failure gets it restarted.
    Liveness,
    /// Can it take traffic now? A failure takes it out of rotation.
    Readiness,
    /// Has it finished starting? A one-way latch: once passed, stays passed.
    Startup,
}

impl Probe {
    /// Every probe kind, in a fixed order.
    pub const ALL: [Probe; 3] = [Probe::Liveness, Probe::Readiness, Probe::Startup];

    /// `liveness`, `readiness` or `startup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Liveness => "liveness",
            Probe::Readiness => "readiness",
            Probe::Startup => "startup",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Probe::Liveness => 0,
            Probe::Readiness => 1,
            Probe::Startup => 2,
        }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the accepted words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct ParseError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl ParseError {
    /// A parse error for `value`, which is not one of `expected` (a list of accepted words).
    pub fn new(what: &'static str, value: &str, expected: &'static str) -> Self {
        ParseError {
            what,
            value: value.to_owned(),
            expected,
        }
    }
}

impl FromStr for Probe {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "liveness" | "livez" => Ok(Probe::Liveness),
            "readiness" | "readyz" => Ok(Probe::Readiness),
            "startup" | "startupz" => Ok(Probe::Startup),
            _ => Err(ParseError::new("probe", s, "liveness, readiness, startup")),
        }
    }
}

/// What a check looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only this process: an event loop, a state machine, a heartbeat.
    Local,
    /// Another system: a database, a cache, a broker, an HTTP service.
    ///
    /// A dependency in liveness turns one outage into a restart storm, so the builder
    /// refuses it there unless the caller opts in.
    Dependency,
}

impl Scope {
    /// `local` or `dependency`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::Dependency => "dependency",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_status_wins() {
        let worst = [Status::Pass, Status::Fail, Status::Warn].into_iter().max();
        assert_eq!(worst, Some(Status::Fail));
        assert!(Status::Warn.is_passing());
        assert!(!Status::Fail.is_passing());
    }

    #[test]
    fn probe_names_parse_case_insensitively() {
        assert_eq!("Readiness".parse::<Probe>(), Ok(Probe::Readiness));
        assert_eq!("livez".parse::<Probe>(), Ok(Probe::Liveness));
        let err = "ready".parse::<Probe>().unwrap_err().to_string();
        assert!(err.contains("`ready`"), "{err}");
    }
}
