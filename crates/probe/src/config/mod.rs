//! The `probe serve` configuration: a TOML file, or the embedded default.
//!
//! Every key is checked: an unknown key, a bad value or an impossible combination is a
//! [`ConfigError`] naming the file, the key and the problem, and the process exits 64.

pub mod checks;
pub mod duration;
mod fields;

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use probe_core::checks::KafkaConnectCheck;
use probe_core::{Check, Health, Policy, Probe, Schedule, Scope};
use probe_http::Details;

pub use self::fields::Fields;

/// The dialects `probe serve` can serve.
pub const DIALECTS: &[&str] = &["kubernetes", "connect"];

/// A configuration problem: where it is and what is wrong. Exit status 64.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    file: Option<String>,
    key: Option<String>,
    problem: String,
}

impl ConfigError {
    /// A problem with `key`.
    pub fn key(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            key: Some(key.into()),
            problem: problem.into(),
        }
    }

    /// A problem with no particular key.
    pub fn general(problem: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            key: None,
            problem: problem.into(),
        }
    }

    /// The same error, located in `file`.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.display().to_string());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.problem)
    }
}

/// The `[server]` table.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Which route families to serve, in order.
    pub dialects: Vec<String>,
    /// A prefix for every route (`/kpow`), or empty.
    pub path_prefix: String,
    /// Whether `X-Forwarded-*` / `Forwarded` headers are believed (for redirects).
    pub trust_forwarded: bool,
    /// Who sees check messages.
    pub details: Details,
    /// After SIGTERM: how long readiness fails while the server keeps answering.
    pub drain: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            dialects: vec!["kubernetes".to_owned()],
            path_prefix: String::new(),
            trust_forwarded: false,
            details: Details::Local,
            drain: Duration::from_secs(5),
            max_connections: 1024,
        }
    }
}

/// One `[[check]]`.
pub struct CheckSpec {
    /// Its name.
    pub name: String,
    /// The check itself.
    pub check: Arc<dyn Check>,
    /// Which probes it belongs to.
    pub probes: Vec<Probe>,
    /// How the engine runs it.
    pub policy: Policy,
    /// The explicit opt-in for a dependency in liveness.
    pub liveness_dependency: bool,
    /// For a `kafka-connect` check, the check itself, for the `connect` dialect.
    pub connect: Option<KafkaConnectCheck>,
}

/// A whole configuration.
#[derive(Default)]
pub struct Config {
    /// The `[server]` table.
    pub server: ServerSettings,
    /// The `[[check]]` tables.
    pub checks: Vec<CheckSpec>,
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::general(format!(
                "cannot read: {}",
                probe_core::http_client::io_reason(&e)
            ))
            .in_file(path)
        })?;
        Config::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses and checks a configuration text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| syntax_error(text, &e))?;
        let mut top = Fields::new(table, "");
        let server = match top_table(&mut top, "server")? {
            Some(t) => parse_server(Fields::new(t, "server"))?,
            None => ServerSettings::default(),
        };
        let mut checks: Vec<CheckSpec> = Vec::new();
        for (i, t) in top_tables(&mut top, "check")?.into_iter().enumerate() {
            let spec = parse_check(t, i)?;
            if checks.iter().any(|c| c.name == spec.name) {
                return Err(ConfigError::key(
                    format!("check[{i}] \"{}\".name", spec.name),
                    "used by an earlier check",
                ));
            }
            checks.push(spec);
        }
        top.finish().map_err(|e| {
            ConfigError::key(e.key.unwrap_or_default().trim_start_matches('.'), e.problem)
        })?;
        let config = Config { server, checks };
        if config.server.dialects.iter().any(|d| d == "connect") && config.connect().is_none() {
            return Err(ConfigError::key(
                "server.dialects",
                "the connect dialect serves a Kafka Connect check: add a [[check]] with type = \"kafka-connect\"",
            ));
        }
        Ok(config)
    }

    /// The check the `connect` dialect serves: the first `kafka-connect` check, with its name.
    pub fn connect(&self) -> Option<(&str, &KafkaConnectCheck)> {
        self.checks
            .iter()
            .find_map(|c| c.connect.as_ref().map(|k| (c.name.as_str(), k)))
    }

    /// Builds the health engine (starting background checks: call inside a runtime).
    pub fn health(&self) -> Result<Health, ConfigError> {
        let mut b = Health::builder();
        for (i, c) in self.checks.iter().enumerate() {
            b = b
                .shared(
                    c.name.clone(),
                    c.check.clone(),
                    c.probes.iter().copied(),
                    c.policy.clone(),
                    c.liveness_dependency,
                )
                .map_err(|e| {
                    ConfigError::key(format!("check[{i}] \"{}\"", c.name), e.to_string())
                })?;
        }
        b.build().map_err(|e| ConfigError::general(e.to_string()))
    }
}

fn top_table(top: &mut Fields, key: &'static str) -> Result<Option<toml::Table>, ConfigError> {
    top.table(key)
}

fn top_tables(top: &mut Fields, key: &'static str) -> Result<Vec<toml::Table>, ConfigError> {
    top.tables(key)
}

fn parse_server(mut f: Fields) -> Result<ServerSettings, ConfigError> {
    let d = ServerSettings::default();
    let listen = match f.string("listen")? {
        Some(s) => parse_listen(&s).ok_or_else(|| {
            f.error(
                "listen",
                format!("invalid address {s:?} (write e.g. \"0.0.0.0:8080\" or \"[::]:8080\")"),
            )
        })?,
        None => d.listen,
    };
    let dialects = f.strings("dialects")?.unwrap_or(d.dialects);
    if dialects.is_empty() {
        return Err(f.error("dialects", "empty (serve at least one dialect)"));
    }
    for name in &dialects {
        if !DIALECTS.contains(&name.as_str()) {
            return Err(f.error(
                "dialects",
                format!(
                    "unknown dialect `{name}` (available: {})",
                    DIALECTS.join(", ")
                ),
            ));
        }
    }
    let path_prefix = f.string("path_prefix")?.unwrap_or_default();
    if !path_prefix.is_empty() && !path_prefix.starts_with('/') {
        return Err(f.error(
            "path_prefix",
            format!("{path_prefix:?} must start with `/`"),
        ));
    }
    let trust_forwarded = f.bool("trust_forwarded")?.unwrap_or(d.trust_forwarded);
    let details = match f.string("details")? {
        Some(s) => s
            .parse()
            .map_err(|e: probe_core::ParseError| f.error("details", e.to_string()))?,
        None => d.details,
    };
    let drain = f.duration("drain")?.unwrap_or(d.drain);
    let max_connections = f
        .u32("max_connections")?
        .map_or(d.max_connections, |n| n as usize);
    if max_connections == 0 {
        return Err(f.error("max_connections", "must be at least 1"));
    }
    f.finish()?;
    Ok(ServerSettings {
        listen,
        dialects,
        path_prefix,
        trust_forwarded,
        details,
        drain,
        max_connections,
    })
}

/// `0.0.0.0:8080`, `[::]:8080`, `localhost:8080`, or `:8080` (all IPv4 interfaces).
pub fn parse_listen(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    match host {
        "" => Some(SocketAddr::from(([0, 0, 0, 0], port))),
        "localhost" => Some(SocketAddr::from(([127, 0, 0, 1], port))),
        _ => None,
    }
}

fn parse_check(table: toml::Table, index: usize) -> Result<CheckSpec, ConfigError> {
    let name_hint = table
        .get("name")
        .and_then(|v| v.as_str())
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default();
    let mut f = Fields::new(table, format!("check[{index}]{name_hint}"));
    let name = f.required_string("name")?;
    let kind = f.required_string("type")?;
    let probes = match f.strings("probes")? {
        Some(list) => list
            .iter()
            .map(|p| {
                p.parse::<Probe>()
                    .map_err(|e| f.error("probes", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![Probe::Readiness],
    };
    let d = Policy::default();
    let cache = f.duration("cache")?.unwrap_or(d.cache_pass);
    let policy = Policy {
        timeout: f.duration("timeout")?.unwrap_or(d.timeout),
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
    let (check, connect): (Arc<dyn Check>, _) = if kind == "kafka-connect" {
        let connect = checks::kafka_connect(&mut f)?;
        (Arc::new(connect.clone()), Some(connect))
    } else {
        (checks::build(&kind, &mut f)?, None)
    };
    f.finish()?;
    if probes.contains(&Probe::Liveness)
        && check.scope() == Scope::Dependency
        && !liveness_dependency
    {
        return Err(f_error(index, &name, "probes", format!(
            "a `{kind}` check looks at a dependency and cannot be in liveness: an outage would restart every instance (set liveness_dependency = true to opt in)"
        )));
    }
    if let Err(e) = Health::builder().shared(
        name.clone(),
        check.clone(),
        probes.iter().copied(),
        policy.clone(),
        true,
    ) {
        return Err(f_error(index, &name, "name", e.to_string()));
    }
    Ok(CheckSpec {
        name,
        check,
        probes,
        policy,
        liveness_dependency,
        connect,
    })
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

/// A TOML syntax error as one line: `line 3, column 7: <what>`.
fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            ConfigError::general(format!("line {line}, column {column}: {}", message.trim()))
        }
        None => ConfigError::general(message.trim().to_owned()),
    }
}
