//! The `probe serve` configuration: a TOML file, or the embedded default.
//!
//! Every key is checked: an unknown key, a bad value or an impossible combination is a
//! [`ConfigError`] naming the file, the key and the problem, and the process exits 64.

mod access;
pub mod built;
mod celery;
mod check_table;
mod databases;
pub mod duration;
mod fields;
mod files;
pub mod kafka;
mod kafka_connect;
mod metrics;
mod network;
#[cfg(test)]
mod testing;
pub mod tls;
pub mod types;

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use probe_core::{BuildError, Builder, Check, Health, Policy, Probe};
use probe_http::{AllowedHosts, ClientAllowList, Details};

use crate::background::Background;

pub use self::fields::Fields;

/// The dialects `probe serve` can serve.
pub const DIALECTS: &[&str] = &["kubernetes", "kpow", "open-klant", "connect"];

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
    /// One line, whatever the file held: control characters are written escaped (`\n`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            one_line(f, file)?;
            f.write_str(": ")?;
        }
        if let Some(key) = &self.key {
            one_line(f, key)?;
            f.write_str(": ")?;
        }
        one_line(f, &self.problem)
    }
}

fn one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    use fmt::Write as _;
    for c in text.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
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
    /// The networks clients may come from (`None`: every client).
    pub allow_clients: Option<ClientAllowList>,
    /// The host names requests may be addressed to (`None`: any host).
    pub allowed_hosts: Option<AllowedHosts>,
    /// Whether the port also answers gRPC health (`grpc.health.v1`, HTTP/2).
    pub grpc: bool,
    /// Whether `/metrics` is served.
    pub metrics: bool,
    /// The networks that may scrape `/metrics` (`None`: every client that may ask).
    pub metrics_clients: Option<ClientAllowList>,
    /// How many of its last runs each check keeps for `/statusz` (0 to [`MAX_HISTORY`]).
    pub history: usize,
}

/// The most runs `[server] history` may keep per check.
pub const MAX_HISTORY: usize = 1024;

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
            allow_clients: None,
            allowed_hosts: None,
            grpc: false,
            metrics: false,
            metrics_clients: None,
            history: probe_core::DEFAULT_HISTORY,
        }
    }
}

/// One check to register; a `[[check]]` table gives one or more.
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
    pub connect: Option<probe_core::checks::KafkaConnectCheck>,
    /// What the `open-klant` dialect shows instead of the name (`label`).
    pub label: Option<String>,
    /// Which of django-health-check's checks it stands for in the `open-klant` dialect.
    pub stands_for: probe_http::StandsFor,
}

impl CheckSpec {
    /// Registers the check with the engine: with
    /// [`dependency_in_liveness`](probe_core::Builder::dependency_in_liveness) when the
    /// table opted in, else with [`check`](probe_core::Builder::check). The engine decides
    /// what it accepts.
    pub fn register(&self, b: Builder) -> Result<Builder, BuildError> {
        let (name, check, probes) = (self.name.clone(), self.check.clone(), self.probes.clone());
        if self.liveness_dependency {
            b.dependency_in_liveness(name, check, probes, self.policy.clone())
        } else {
            b.check(name, check, probes, self.policy.clone())
        }
    }
}

/// A whole configuration.
#[derive(Default)]
pub struct Config {
    /// The `[server]` table.
    pub server: ServerSettings,
    /// The checks the `[[check]]` tables register, in order.
    pub checks: Vec<CheckSpec>,
    /// Work some checks need running beside the engine; started by [`Config::health`].
    pub background: Vec<Arc<dyn Background>>,
}

impl Config {
    /// Reads and checks `path`: a regular file of at most [`MAX_FILE_SIZE`] bytes (a FIFO,
    /// a device or a directory is refused before it is opened, so it can neither block
    /// nor flood memory).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_bounded(path).map_err(|e| e.in_file(path))?;
        Config::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Parses and checks a configuration text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| syntax_error(text, &e))?;
        // Before anything is checked, so that no error about a value, and nothing a
        // server echoes later, can show a secret the file holds.
        register_secrets(&table);
        let mut top = Fields::new(table, "");
        let server = match top_table(&mut top, "server")? {
            Some(t) => parse_server(Fields::new(t, "server"))?,
            None => ServerSettings::default(),
        };
        let mut checks: Vec<CheckSpec> = Vec::new();
        let mut background = Vec::new();
        // The engine is the judge of its own rules (names, probes, a dependency in
        // liveness): every check is registered with a throwaway builder now, so a refusal
        // is a configuration error at load, not when serving starts.
        let mut engine = Health::builder();
        for (i, t) in top_tables(&mut top, "check")?.into_iter().enumerate() {
            let table = check_table::parse(t, i)?;
            for spec in &table.specs {
                engine = spec.register(engine).map_err(|e| table.refusal(e))?;
            }
            checks.extend(table.specs);
            background.extend(table.background);
        }
        top.finish().map_err(|e| {
            ConfigError::key(e.key.unwrap_or_default().trim_start_matches('.'), e.problem)
        })?;
        let config = Config {
            server,
            checks,
            background,
        };
        if config.server.dialects.iter().any(|d| d == "connect") && config.connect().is_none() {
            return Err(ConfigError::key(
                "server.dialects",
                "the connect dialect serves a Kafka Connect check: add a [[check]] with type = \"kafka-connect\"",
            ));
        }
        Ok(config)
    }

    /// The check the `connect` dialect serves: the first `kafka-connect` check, with its name.
    pub fn connect(&self) -> Option<(&str, &probe_core::checks::KafkaConnectCheck)> {
        self.checks
            .iter()
            .find_map(|c| c.connect.as_ref().map(|k| (c.name.as_str(), k)))
    }

    /// Builds the health engine, then starts background checks and the
    /// [`background`](Config::background) work: call inside a runtime.
    pub fn health(&self) -> Result<Health, ConfigError> {
        let mut b = Health::builder().history(self.server.history);
        for (i, c) in self.checks.iter().enumerate() {
            b = c.register(b).map_err(|e| {
                ConfigError::key(format!("check[{i}] \"{}\"", c.name), e.to_string())
            })?;
        }
        let health = b.build().map_err(|e| ConfigError::general(e.to_string()))?;
        for work in &self.background {
            work.start();
        }
        Ok(health)
    }
}

/// Registers with [`probe_core::secrets`] every secret `table` holds: passwords in URLs,
/// connection strings and bootstrap lists, `basic_auth` values, and any key naming a
/// password.
fn register_secrets(table: &toml::Table) {
    fn walk(key: &str, value: &toml::Value) {
        match value {
            toml::Value::String(s) => {
                probe_core::secrets::register_in(s);
                let key = key.to_ascii_lowercase();
                if key == "basic_auth" {
                    if let Some((user, password)) = s.split_once(':') {
                        probe_core::secrets::register_basic(user, password);
                    }
                } else if key.contains("password")
                    || key.contains("secret")
                    || key.contains("token")
                {
                    probe_core::secrets::register(s);
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| walk(key, v)),
            toml::Value::Table(t) => t.iter().for_each(|(k, v)| walk(k, v)),
            _ => {}
        }
    }
    table.iter().for_each(|(k, v)| walk(k, v));
}

/// The largest configuration file read: 1 MiB.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// The text of `path`, if it is a regular UTF-8 file of at most [`MAX_FILE_SIZE`] bytes;
/// at most one byte more is ever read.
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| {
        ConfigError::general(format!("cannot read: {}", probe_core::text::io_reason(&e)))
    };
    // `metadata` follows symbolic links and never opens the file: a FIFO would block.
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(ConfigError::general(
            "not a regular file (a FIFO, device or directory cannot be a configuration)",
        ));
    }
    let too_large = || ConfigError::general("larger than 1 MiB (the largest configuration read)");
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| ConfigError::general("cannot read: not UTF-8 text"))
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
    check_path_prefix(&path_prefix).map_err(|p| f.error("path_prefix", p))?;
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
    let (allow_clients, allowed_hosts) = access::parse(&mut f)?;
    let grpc = f.bool("grpc")?.unwrap_or(d.grpc);
    let (metrics, metrics_clients) = metrics::parse(&mut f)?;
    let history = f.u32("history")?.map_or(d.history, |n| n as usize);
    if history > MAX_HISTORY {
        return Err(f.error("history", format!("at most {MAX_HISTORY} runs")));
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
        allow_clients,
        allowed_hosts,
        grpc,
        metrics,
        metrics_clients,
        history,
    })
}

/// A route prefix: empty, or `/` and segments of unreserved characters (letters, digits,
/// `-`, `.`, `_`, `~`), a trailing `/` allowed. Anything else (`/a?b`, `/a b`, `//`) could
/// never match a request path, and every route would answer 404.
pub fn check_path_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix == "/" {
        return Ok(());
    }
    let Some(rest) = prefix.strip_prefix('/') else {
        return Err(format!("{prefix:?} must start with `/`"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    };
    if rest.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(format!(
            "{prefix:?} is not a path prefix (write `/` and segments of letters, digits, `-`, `.`, `_`, `~`, e.g. \"/kpow\")"
        ))
    }
}

/// `0.0.0.0:8080`, `[::]:8080`, `localhost:8080`, or `:8080` (all IPv4 interfaces).
pub fn parse_listen(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let (host, port) = s.rsplit_once(':')?;
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    match host {
        "" => Some(SocketAddr::from(([0, 0, 0, 0], port))),
        "localhost" => Some(SocketAddr::from(([127, 0, 0, 1], port))),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_ports_are_digits() {
        assert_eq!(
            parse_listen(":8080"),
            Some(SocketAddr::from(([0, 0, 0, 0], 8080)))
        );
        for bad in [":+8080", "localhost:+80", ":-1", ":65536", "127.0.0.1:+80"] {
            assert_eq!(parse_listen(bad), None, "{bad}");
        }
    }

    #[test]
    fn history_is_a_bounded_count_and_reaches_the_engine() {
        use crate::config::testing::server;
        assert_eq!(server("").unwrap().history, probe_core::DEFAULT_HISTORY);
        assert_eq!(server("history = 0").unwrap().history, 0);
        assert_eq!(server("history = 1024").unwrap().history, 1024);
        let err = server("history = 1025").unwrap_err();
        assert!(err.starts_with("server.history: at most 1024"), "{err}");
        let err = server("history = -1").unwrap_err();
        assert!(err.starts_with("server.history: "), "{err}");

        let config = Config::parse(
            "[server]\nhistory = 2\n[[check]]\nname = \"f\"\ntype = \"file-exists\"\npath = \"/\"\nprobes = [\"readiness\"]\n",
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let health = config.health().unwrap();
            for _ in 0..3 {
                health
                    .evaluate(probe_core::Probe::Readiness, &probe_core::Select::All)
                    .await;
            }
            assert_eq!(health.history("f").unwrap().len(), 2);
        });
    }

    #[test]
    fn path_prefixes_are_slash_and_plain_segments() {
        for good in ["", "/", "/kpow", "/kpow/", "/a/b-c.d_e~f", "/v1"] {
            assert_eq!(check_path_prefix(good), Ok(()), "{good}");
        }
        for bad in [
            "/a?b", "/a b", "//", "/a//b", "/a#b", "/%2e", "kpow", "/a\r\n",
        ] {
            assert!(check_path_prefix(bad).is_err(), "{bad}");
        }
        let e = Config::parse("[server]\npath_prefix = \"/a?b\"")
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("server.path_prefix: \"/a?b\" is not a path prefix"),
            "{e}"
        );
    }
}
