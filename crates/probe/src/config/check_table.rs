//! One `[[check]]` table: its name, type, probes and policy, and the checks its type builds.

use std::sync::Arc;
use std::time::Duration;

use probe_core::{BuildError, Policy, Probe, Schedule};

use super::types;
use super::{CheckSpec, ConfigError, Fields};
use crate::background::Background;

/// What one `[[check]]` table registers.
pub(super) struct CheckTable {
    /// Its place among the `[[check]]` tables.
    index: usize,
    /// Its `name`.
    name: String,
    /// Its `type`.
    kind: String,
    /// The checks, the main one first.
    pub(super) specs: Vec<CheckSpec>,
    /// The work they need running beside the engine.
    pub(super) background: Option<Arc<dyn Background>>,
}

/// Reads the `[[check]]` table at `index`.
pub(super) fn parse(table: toml::Table, index: usize) -> Result<CheckTable, ConfigError> {
    let name_hint = table
        .get("name")
        .and_then(|v| v.as_str())
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default();
    let mut f = Fields::new(table, format!("check[{index}]{name_hint}"));
    let name = f.required_string("name")?;
    let kind = f.required_string("type")?;
    let probes = match f.strings("probes")? {
        Some(list) => Some(
            list.iter()
                .map(|p| {
                    p.parse::<Probe>()
                        .map_err(|e| f.error("probes", e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    // The check's own keys first: a `file-age` check's `max_age` is the file's, not the
    // policy's staleness limit.
    let built = types::build(&kind, &mut f)?;
    let d = Policy::default();
    let cache = f.duration("cache")?.unwrap_or(d.cache_pass);
    let timeout = match (f.duration("timeout")?, built.own_time) {
        (Some(t), Some(own)) if t <= own => {
            return Err(f.error(
                "timeout",
                format!(
                    "{} must be longer than the check's own time limit ({}), or the engine cuts it off before it can report",
                    probe_core::time::human(t),
                    probe_core::time::human(own)
                ),
            ))
        }
        (Some(t), _) => t,
        (None, Some(own)) => own + Duration::from_secs(1),
        (None, None) => d.timeout,
    };
    let policy = Policy {
        timeout,
        cache_pass: cache,
        cache_fail: f.duration("cache_fail")?.unwrap_or(cache),
        failure_threshold: positive(&mut f, "failure_threshold")?.unwrap_or(d.failure_threshold),
        success_threshold: positive(&mut f, "success_threshold")?.unwrap_or(d.success_threshold),
        max_age: f.duration("max_age")?,
        critical: f.bool("critical")?.unwrap_or(d.critical),
        schedule: match f.duration("interval")? {
            Some(p) if p.is_zero() => return Err(f.error("interval", "must be greater than zero")),
            Some(p) => Schedule::Every(p),
            None => Schedule::OnDemand,
        },
    };
    if policy.timeout.is_zero() {
        return Err(f.error("timeout", "must be greater than zero"));
    }
    let liveness_dependency = f.bool("liveness_dependency")?.unwrap_or(false);
    let mut label = label(&mut f)?;
    let mut stands_for = Some(built.stands_for);
    f.finish()?;
    let mut specs = Vec::with_capacity(built.parts.len());
    let mut connect = built.connect;
    for part in built.parts {
        let part_probes = match (part.probes, &probes) {
            (Some(_), Some(_)) => {
                return Err(f_error(index, &name, "probes", format!(
                    "a `{kind}` check puts its checks in liveness, readiness and startup itself (remove probes)"
                )))
            }
            (Some(fixed), None) => fixed,
            (None, Some(given)) => given.clone(),
            (None, None) => vec![Probe::Readiness],
        };
        let part_name = format!("{name}{}", part.suffix);
        specs.push(CheckSpec {
            name: part_name,
            check: part.check,
            probes: part_probes,
            policy: policy.clone(),
            liveness_dependency,
            // The main check (the first part) carries them.
            connect: connect.take(),
            label: label.take(),
            stands_for: stands_for.take().unwrap_or_default(),
        });
    }
    Ok(CheckTable {
        index,
        name,
        kind,
        specs,
        background: built.background,
    })
}

/// `label`: what the `open-klant` dialect shows instead of the name, such as
/// `Cache(alias='default')`. One line of printable characters, at most 200 bytes.
fn label(f: &mut Fields) -> Result<Option<String>, ConfigError> {
    let Some(label) = f.string("label")? else {
        return Ok(None);
    };
    if label.trim().is_empty() {
        return Err(f.error("label", "empty (leave it out to show the name)"));
    }
    if label.len() > 200 || label.chars().any(char::is_control) {
        return Err(f.error(
            "label",
            "must be one line of printable characters, at most 200 bytes",
        ));
    }
    Ok(Some(label))
}

impl CheckTable {
    /// The engine's refusal of one of this table's checks, in the configuration's words:
    /// the key to change and, for a dependency in liveness, how to opt in.
    pub(super) fn refusal(&self, e: BuildError) -> ConfigError {
        let (index, name, kind) = (self.index, &self.name, &self.kind);
        match e {
            BuildError::DependencyInLiveness(_) => f_error(index, name, "probes", format!(
                "a `{kind}` check looks at a dependency and cannot be in liveness: an outage would restart every instance (set liveness_dependency = true to opt in)"
            )),
            // The name the engine saw twice: a part of this table may collide.
            BuildError::DuplicateName(part) => {
                f_error(index, &part, "name", "used by an earlier check".to_owned())
            }
            BuildError::BadName(_) => f_error(index, name, "name", e.to_string()),
            BuildError::NoProbes(_) => f_error(index, name, "probes", e.to_string()),
            other => ConfigError::key(format!("check[{index}] \"{name}\""), other.to_string()),
        }
    }
}

fn f_error(index: usize, name: &str, key: &str, problem: String) -> ConfigError {
    ConfigError::key(format!("check[{index}] \"{name}\".{key}"), problem)
}

fn positive(f: &mut Fields, key: &'static str) -> Result<Option<u32>, ConfigError> {
    match f.u32(key)? {
        Some(0) => Err(f.error(key, "must be at least 1")),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use probe_core::{Probe, Scope};

    fn names(c: &Config) -> Vec<(&str, Vec<Probe>)> {
        c.checks
            .iter()
            .map(|s| (s.name.as_str(), s.probes.clone()))
            .collect()
    }

    #[test]
    fn a_kafka_streams_table_registers_three_checks_and_one_driver() {
        let c = Config::parse(
            r#"
            [server]
            dialects = ["kpow", "kubernetes"]
            path_prefix = "/kpow"

            [[check]]
            name = "streams"
            type = "kafka-streams"
            bootstrap = ["127.0.0.1:9092"]
            timeout = "100ms"
            "#,
        )
        .unwrap();
        assert_eq!(
            names(&c),
            [
                ("streams", vec![Probe::Liveness]),
                ("streams:ready", vec![Probe::Readiness]),
                ("streams:started", vec![Probe::Startup]),
            ]
        );
        assert!(c.checks.iter().all(|s| s.check.scope() == Scope::Local));
        assert!(c.checks.iter().all(|s| s.policy.timeout.as_millis() == 100));
        assert_eq!(c.background.len(), 1);
        assert_eq!(c.server.dialects, ["kpow", "kubernetes"]);
    }

    #[test]
    fn a_kafka_table_is_one_dependency_check() {
        let c = Config::parse(
            r#"
            [[check]]
            name = "kafka"
            type = "kafka"
            bootstrap = "a:9092, b:9092"
            broker_timeout = "300ms"
            "#,
        )
        .unwrap();
        assert_eq!(names(&c), [("kafka", vec![Probe::Readiness])]);
        assert_eq!(c.checks[0].check.scope(), Scope::Dependency);
        assert!(c.background.is_empty());
    }

    #[test]
    fn mistakes_are_configuration_errors() {
        let cases = [
            (
                "[[check]]\nname = \"s\"\ntype = \"kafka-streams\"\nbootstrap = \"k:1\"\nprobes = [\"readiness\"]",
                "check[0] \"s\".probes: a `kafka-streams` check puts its checks in liveness, readiness and startup itself (remove probes)",
            ),
            (
                "[[check]]\nname = \"s:ready\"\ntype = \"tcp\"\naddress = \"k:1\"\n\n[[check]]\nname = \"s\"\ntype = \"kafka-streams\"\nbootstrap = \"k:1\"",
                "check[1] \"s:ready\".name: used by an earlier check",
            ),
            (
                "[[check]]\nname = \"k\"\ntype = \"kafka\"\nbootstrap = \"k:1\"\nprobes = [\"liveness\"]",
                "check[0] \"k\".probes: a `kafka` check looks at a dependency and cannot be in liveness",
            ),
            (
                "[[check]]\nname = \"k\"\ntype = \"kafka\"\nbootstrap = \"k:1\"\nbroker_timeout = \"0s\"",
                "check[0] \"k\".broker_timeout: must be greater than zero",
            ),
            (
                "[server]\ndialects = [\"kpow\", \"connect-ish\"]",
                "server.dialects: unknown dialect `connect-ish` (available: kubernetes, kpow",
            ),
        ];
        for (toml, expected) in cases {
            let err = Config::parse(toml).err().expect(toml).to_string();
            assert!(err.starts_with(expected), "{toml}\n{err}");
        }
    }

    #[test]
    fn a_dependency_in_liveness_loads_only_with_the_opt_in() {
        let table = "[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"h:1\"\nprobes = [\"liveness\"]\n";
        let err = Config::parse(table).err().expect("refused").to_string();
        assert_eq!(
            err,
            "check[0] \"db\".probes: a `tcp` check looks at a dependency and cannot be in liveness: an outage would restart every instance (set liveness_dependency = true to opt in)"
        );
        let c = Config::parse(&format!("{table}liveness_dependency = true\n")).unwrap();
        assert_eq!(names(&c), [("db", vec![Probe::Liveness])]);
        assert!(c.checks[0].liveness_dependency);
        assert!(c.health().is_ok());
    }

    #[test]
    fn every_engine_rule_is_checked_at_load() {
        let cases = [
            (
                "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\nprobes = []",
                "check[0] \"a\".probes: check `a` is not assigned to any probe",
            ),
            (
                "[[check]]\nname = \"startup\"\ntype = \"tcp\"\naddress = \"h:1\"",
                "check[0] \"startup\".name: check name `startup` is not allowed",
            ),
            (
                "[[check]]\nname = \"s\"\ntype = \"file-exists\"\npath = \"/tmp/r\"\n\n[[check]]\nname = \"s\"\ntype = \"kafka-streams\"\nbootstrap = \"k:1\"",
                "check[1] \"s\".name: used by an earlier check",
            ),
        ];
        for (toml, expected) in cases {
            let err = Config::parse(toml).err().expect(toml).to_string();
            assert!(err.starts_with(expected), "{toml}\n{err}");
        }
    }
}
