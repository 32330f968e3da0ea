//! What a `probe` container serves: read from its command line, environment and
//! configuration with the binary's own readers, into the engine the process would build.
//!
//! Nothing runs: checks are registered in a [`Health`] that is never evaluated (no
//! background schedule, no connection), so the endpoints' checks, scopes, reuse windows
//! and deadlines ([`Health::deadline`]) are exactly those of the running process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use probe_core::{Health, Policy, Probe, Schedule, Scope};

use crate::cli::{Cli, Command};
use crate::config::{Config, ConfigError};
use crate::env::MapEnv;
use crate::{connect_cmd, kpow, serve};

/// The margin added to a check's own timeout when it is evaluated alone (as the engine
/// adds it to a probe's longest timeout).
const ONE_CHECK_MARGIN: Duration = Duration::from_millis(100);

/// A container running `probe` as a server.
pub struct Served {
    /// The port it listens on.
    pub port: u16,
    /// Its dialects, in order.
    pub dialects: Vec<String>,
    /// Its path prefix (normalised: empty or `/segment...`).
    pub prefix: String,
    /// Whether the port also answers gRPC health.
    pub grpc: bool,
    /// Whether `/metrics` is served.
    pub metrics: bool,
    /// The engine, never evaluated.
    pub health: Health,
    /// The name of the check the `connect` dialect's `/` serves.
    pub connect_check: Option<String>,
    /// How long startup may take by the configuration's own rules.
    pub startup_needs: Option<(Duration, String)>,
}

/// What a probe's request reaches.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// How to name it: `/readyz`, `gRPC service "liveness"`.
    pub label: String,
    /// The checks it evaluates, with their scope and policy.
    pub checks: Vec<(String, Scope, Policy)>,
    /// The longest it can take to answer.
    pub deadline: Duration,
    /// The checks of the server's liveness probe (a dependency among them was opted in).
    pub liveness_names: Vec<String>,
}

/// Where a request lands.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// An endpoint that evaluates checks (possibly none).
    Endpoint(Endpoint),
    /// A route that answers without evaluating anything (`/up`, `/ping`, `/metrics`).
    Fixed(String),
    /// Nothing: the problem and the fix.
    Missing(String, String),
}

/// The probe command line of a container: `command` and `args` when `command` runs
/// `probe`, or `args` alone when the image is a `probe` image and no command is given.
pub fn probe_argv(image: &str, command: &[String], args: &[String]) -> Option<Vec<String>> {
    if let Some(first) = command.first() {
        if is_probe_program(first) {
            return Some(command[1..].iter().chain(args).cloned().collect());
        }
        return None;
    }
    is_probe_image(image).then(|| args.to_vec())
}

/// `probe`, `/usr/local/bin/probe`, ...
pub fn is_probe_program(arg: &str) -> bool {
    Path::new(arg).file_name().is_some_and(|n| n == "probe")
}

/// An image whose repository's last segment is `probe` (`probe:dev`,
/// `ghcr.io/acme/probe:0.1.0`, `registry:5000/probe@sha256:...`).
pub fn is_probe_image(image: &str) -> bool {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next() == Some("probe")
}

/// The outcome of reading a container's probe command line.
pub enum Reading {
    /// It serves.
    Serves(Box<Served>),
    /// It runs a command that serves nothing (`check`, `lint`...).
    NotAServer,
    /// It would exit with a usage or configuration error: the line it would print.
    Broken(String),
    /// `probe serve --config PATH` with no configuration given to the linter for PATH.
    UnknownConfig(String),
}

/// Reads `argv` (without the program) with `env`, taking configurations from `configs`
/// (files already read once, so they are known to load).
pub fn read(argv: &[String], env: &[(String, String)], configs: &[PathBuf]) -> Reading {
    let cli = match Cli::try_parse_from(
        std::iter::once("probe".to_owned()).chain(argv.iter().cloned()),
    ) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim();
            return Reading::Broken(format!("the command line would exit 2: {first}"));
        }
    };
    let mut env = MapEnv(env.iter().cloned().collect());
    match cli.command {
        Command::Serve(mut args) => {
            let wanted = args.config.clone().or_else(|| {
                env.0
                    .get("PROBE_CONFIG")
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
            });
            // The file the container reads is given to the linter under a path of its
            // own: serve::config reads that one, and applies the flags and variables over
            // it, as the process would.
            if let Some(path) = &wanted {
                match pick_config(path, configs) {
                    Some(local) => args.config = Some(local.clone()),
                    None => return Reading::UnknownConfig(path.display().to_string()),
                }
            }
            env.0.remove("PROBE_CONFIG");
            match serve::config(&args, &env) {
                Ok(c) => from_config(&c),
                Err(e) => broken(e),
            }
        }
        Command::Kpow(args) => match kpow::config(&args, &env) {
            Ok(c) => from_config(&c),
            Err(e) => broken(e),
        },
        Command::Connect(mut args) => {
            // The CA file is in the container, not here: its absence is not a finding.
            args.ca_file = None;
            env.0.remove("HEALTHCHECK_CA_FILE");
            let options = match connect_cmd::ConnectOptions::read(
                &args,
                cli.log.log_level.as_deref(),
                &env,
            ) {
                Ok(o) => o,
                Err(e) => return broken(e),
            };
            match connect_cmd::engine(&options) {
                Ok(health) => Reading::Serves(Box::new(Served {
                    port: options.listen.port(),
                    dialects: vec!["kubernetes".into(), "connect".into()],
                    prefix: String::new(),
                    grpc: false,
                    metrics: false,
                    health,
                    connect_check: Some(connect_cmd::CHECK_NAME.into()),
                    startup_needs: None,
                })),
                Err(e) => broken(e),
            }
        }
        _ => Reading::NotAServer,
    }
}

fn broken(e: ConfigError) -> Reading {
    Reading::Broken(format!("the container would exit 64: {e}"))
}

/// The configuration given for `path`: the one given under that same path, else the one
/// with the same file name, else the only one given.
fn pick_config<'a>(path: &Path, configs: &'a [PathBuf]) -> Option<&'a PathBuf> {
    configs
        .iter()
        .find(|p| *p == path)
        .or_else(|| configs.iter().find(|p| p.file_name() == path.file_name()))
        .or_else(|| (configs.len() == 1).then(|| &configs[0]))
}

/// The server a configuration describes, its engine built with every check on demand (a
/// schedule changes when a check runs, not how long it may take).
pub fn from_config(config: &Config) -> Reading {
    let mut b = Health::builder();
    for spec in &config.checks {
        let mut policy = spec.policy.clone();
        policy.schedule = Schedule::OnDemand;
        let on_demand = crate::config::CheckSpec {
            name: spec.name.clone(),
            check: spec.check.clone(),
            probes: spec.probes.clone(),
            policy,
            liveness_dependency: spec.liveness_dependency,
            connect: None,
        };
        b = match on_demand.register(b) {
            Ok(b) => b,
            Err(e) => return Reading::Broken(format!("the container would exit 64: {e}")),
        };
    }
    let health = match b.build() {
        Ok(h) => h,
        Err(e) => return Reading::Broken(format!("the container would exit 64: {e}")),
    };
    let s = &config.server;
    let trimmed = s.path_prefix.trim_matches('/');
    Reading::Serves(Box::new(Served {
        port: s.listen.port(),
        dialects: s.dialects.clone(),
        prefix: if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        },
        grpc: s.grpc,
        metrics: s.metrics,
        health,
        connect_check: config.connect().map(|(n, _)| n.to_owned()),
        startup_needs: config
            .background
            .iter()
            .filter_map(|b| b.startup_needs())
            .max_by_key(|(d, _)| *d),
    }))
}

impl Served {
    /// The whole evaluation of `probe`.
    fn probe(&self, probe: Probe, label: String) -> Endpoint {
        Endpoint {
            label,
            checks: self.checks_of(self.health.names(probe).map(str::to_owned).collect()),
            deadline: self.health.deadline(probe),
            liveness_names: self.liveness_names(),
        }
    }

    /// One check alone, in `probe`.
    fn one(&self, probe: Probe, name: &str, label: String) -> Endpoint {
        let timeout = self
            .health
            .policy(name)
            .map_or(Duration::ZERO, |p| p.timeout);
        Endpoint {
            label,
            checks: self.checks_of(vec![name.to_owned()]),
            deadline: (timeout + ONE_CHECK_MARGIN).min(self.health.deadline(probe)),
            liveness_names: self.liveness_names(),
        }
    }

    fn liveness_names(&self) -> Vec<String> {
        self.health
            .names(Probe::Liveness)
            .map(str::to_owned)
            .collect()
    }

    fn checks_of(&self, names: Vec<String>) -> Vec<(String, Scope, Policy)> {
        names
            .into_iter()
            .filter_map(|n| {
                let scope = self.health.scope(&n)?;
                let policy = self.health.policy(&n)?.clone();
                Some((n, scope, policy))
            })
            .collect()
    }

    /// Where a GET of `path_and_query` lands, dialect by dialect in the service's order
    /// (`connect`, which answers every path, last).
    pub fn http(&self, path_and_query: &str) -> Target {
        let full = path_and_query.split(['?', '#']).next().unwrap_or("");
        let served = || self.routes_hint();
        let rest = if self.prefix.is_empty() {
            Some(full)
        } else {
            full.strip_prefix(self.prefix.as_str())
                .filter(|p| p.is_empty() || p.starts_with('/'))
        };
        let Some(rest) = rest else {
            return Target::Missing(
                format!("{full} is outside the path prefix {}", self.prefix),
                served(),
            );
        };
        let path = if rest.is_empty() { "/" } else { rest };
        if self.metrics && path == "/metrics" {
            return Target::Fixed("/metrics".into());
        }
        let has = |d: &str| self.dialects.iter().any(|x| x == d);
        if has("kubernetes") {
            if path == "/statusz" {
                return Target::Fixed(full.into());
            }
            let rest = &path[1..];
            let (kind, check) = match rest.split_once('/') {
                Some((k, c)) => (k, Some(c)),
                None => (rest, None),
            };
            let probe = match kind {
                "livez" => Some(Probe::Liveness),
                "readyz" => Some(Probe::Readiness),
                "startupz" => Some(Probe::Startup),
                _ => None,
            };
            if let Some(p) = probe {
                return match check {
                    None => Target::Endpoint(self.probe(p, full.into())),
                    Some(c) if self.health.contains(p, c) => Target::Endpoint(self.one(p, c, full.into())),
                    Some(c) => Target::Missing(
                        format!("{full} names no check of {kind} (answers 404): `{c}` is not among [{}]", self.health.names(p).collect::<Vec<_>>().join(", ")),
                        format!("point it at /{kind} or at one of its checks"),
                    ),
                };
            }
        }
        if has("kpow") {
            match path {
                "/healthy" => return Target::Endpoint(self.probe(Probe::Liveness, full.into())),
                "/up" => return Target::Fixed(full.into()),
                _ => {}
            }
        }
        if has("open-klant") {
            match path {
                "/_healthz/livez/" => {
                    return Target::Endpoint(self.probe(Probe::Liveness, full.into()))
                }
                "/_healthz/readyz/" => {
                    return Target::Endpoint(self.probe(Probe::Readiness, full.into()))
                }
                "/_healthz/" => return Target::Endpoint(self.probe(Probe::Startup, full.into())),
                "/_healthz/livez" | "/_healthz/readyz" | "/_healthz" => {
                    return Target::Missing(
                        format!("{full} answers a redirect to {full}/, not a health answer"),
                        format!("write the path with its trailing slash: {full}/"),
                    )
                }
                _ => {}
            }
        }
        if has("connect") {
            match (path, &self.connect_check) {
                ("/ping", _) => return Target::Fixed(full.into()),
                ("/", Some(name)) => {
                    let probe = [Probe::Readiness, Probe::Liveness, Probe::Startup]
                        .into_iter()
                        .find(|p| self.health.contains(*p, name))
                        .unwrap_or(Probe::Readiness);
                    return Target::Endpoint(self.one(probe, name, full.into()));
                }
                _ => {}
            }
        }
        Target::Missing(format!("{full} is not served (answers 404)"), served())
    }

    /// Where a gRPC health `Check` for `service` lands.
    pub fn grpc(&self, service: &str) -> Target {
        if !self.grpc {
            return Target::Missing(
                format!("port {} answers HTTP only, not gRPC", self.port),
                "set [server] grpc = true, or use an httpGet probe".into(),
            );
        }
        let label = format!("gRPC service {service:?}");
        match probe_grpc::Target::resolve(&self.health, service) {
            Some(probe_grpc::Target::Probe(p)) => Target::Endpoint(self.probe(p, label)),
            Some(probe_grpc::Target::Check { probe, name }) => {
                Target::Endpoint(self.one(probe, &name, label))
            }
            None => Target::Missing(
                format!(
                    "the server does not know the gRPC service {service:?} (answers NOT_FOUND)"
                ),
                "use \"liveness\", \"readiness\", \"startup\", \"\" or a check's name".into(),
            ),
        }
    }

    fn routes_hint(&self) -> String {
        let p = &self.prefix;
        let mut routes = Vec::new();
        for d in &self.dialects {
            match d.as_str() {
                "kubernetes" => {
                    routes.extend(["/livez", "/readyz", "/startupz"].map(|r| format!("{p}{r}")))
                }
                "kpow" => routes.extend(["/healthy", "/up"].map(|r| format!("{p}{r}"))),
                "open-klant" => routes.extend(
                    ["/_healthz/livez/", "/_healthz/readyz/", "/_healthz/"]
                        .map(|r| format!("{p}{r}")),
                ),
                "connect" => routes.extend(["/", "/ping"].map(|r| format!("{p}{r}"))),
                _ => {}
            }
        }
        format!("use one of {}", routes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// What lint says of each path agrees with what the real service answers: a 404 (or the
    /// trailing-slash redirect) exactly where lint says the path is not served.
    #[tokio::test]
    async fn lint_routes_agree_with_the_service() {
        let cases = [
            ("[server]\ndialects = [\"kubernetes\", \"kpow\", \"open-klant\"]\npath_prefix = \"/p\"\n", None),
            ("[server]\ndialects = [\"kpow\", \"kubernetes\"]\n", None),
            ("[server]\ndialects = [\"open-klant\"]\n", None),
            (
                "[server]\ndialects = [\"connect\", \"kubernetes\"]\n",
                Some("[[check]]\nname = \"kc\"\ntype = \"kafka-connect\"\nurl = \"http://127.0.0.1:9\"\nprobes = [\"readiness\"]\n"),
            ),
        ];
        let paths = [
            "/livez",
            "/readyz",
            "/startupz",
            "/livez/beat",
            "/readyz/beat",
            "/livez/nope",
            "/statusz",
            "/healthy",
            "/up",
            "/_healthz/",
            "/_healthz/livez/",
            "/_healthz/readyz/",
            "/_healthz/livez",
            "/",
            "/ping",
            "/healthz",
            "/livez/",
            "/p",
            "/p/livez",
            "/p/healthy",
            "/p/_healthz/readyz/",
            "/p/livez/beat",
            "/px/livez",
            "/readyz?verbose",
        ];
        for (head, extra) in cases {
            let toml = format!(
                "{head}\n[[check]]\nname = \"beat\"\ntype = \"file-exists\"\npath = \"/nonexistent\"\nprobes = [\"liveness\"]\n{}",
                extra.unwrap_or("")
            );
            let config = Config::parse(&toml).unwrap();
            let Reading::Serves(served) = from_config(&config) else {
                panic!("not a server")
            };
            let (_, service) = crate::serve::service(&config).unwrap();
            for path in paths {
                let answer = service
                    .respond(http::Request::get(path).body(()).unwrap())
                    .await;
                let status = answer.status().as_u16();
                let served_here = !matches!(served.http(path), Target::Missing(..));
                assert_eq!(
                    served_here,
                    status != 404 && status != 301 && status != 308,
                    "{head:?} {path}: lint says {:?}, the service answers {status}",
                    served.http(path)
                );
            }
        }
    }
}
