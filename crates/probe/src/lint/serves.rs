//! What a `probe` container serves: read from its command line, environment and
//! configuration with the binary's own readers, into the engine the process would build.
//!
//! Nothing runs: checks are registered in a [`Health`] that is never evaluated (no
//! background schedule, no connection), so the endpoints' checks, scopes, reuse windows
//! and deadlines ([`Health::deadline`]) are exactly those of the running process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use probe_core::{Health, Policy, Schedule, Scope};

use crate::cli::{Cli, Command};
use crate::config::{Config, ConfigError};
use crate::env::MapEnv;
use crate::{connect_cmd, kpow, serve};

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
            label: spec.label.clone(),
            stands_for: spec.stands_for,
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
