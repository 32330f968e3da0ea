//! `probe connect`: a drop-in for kafka-connect-healthcheck 0.3.0.
//!
//! Reads the peer's eight options from flags, then `HEALTHCHECK_*` variables, then the
//! peer's defaults, plus our own; every bad value is a [`ConfigError`] naming the flag or
//! variable it came from (exit 64), found before anything is logged or bound. Serves the
//! `kubernetes` dialect (`/livez`, `/readyz` with the Connect check in readiness) and,
//! asked last, the `connect` dialect (`/`, `/ping`, 404 elsewhere, HEAD anywhere).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use probe_core::checks::KafkaConnectCheck;
use probe_core::evaluators::connect::{parse_containers, parse_states, ConnectRules, RulesError};
use probe_core::{Health, Policy, Probe};
use probe_http::{Connect, Details, Kubernetes, ProbeService, ServerConfig};
use tracing_subscriber::filter::LevelFilter;

use crate::cli::ConnectArgs;
use crate::config::{duration, tls, ConfigError};
use crate::env::Env;
use crate::sidecar::{self, RunError, Sidecar};

/// The name the Connect check is registered under (in `/readyz/kafka-connect`).
pub const CHECK_NAME: &str = "kafka-connect";

/// The peer's log separator, written after startup and after every evaluation.
const LINE_BREAK: &str = "------------------------------------------------";

/// How much longer than one request to Connect the whole evaluation may take before the
/// engine cuts it off: enough for the request's own timeout to fire first and name the URL.
const EVALUATION_MARGIN: Duration = Duration::from_millis(100);

/// Everything `probe connect` runs with, validated.
#[derive(Debug)]
pub struct ConnectOptions {
    /// Where to listen (`--bind` and `--port`).
    pub listen: SocketAddr,
    /// The check of the worker, with its rules, authentication and request timeout.
    pub check: KafkaConnectCheck,
    /// The time allowed for each request to Connect.
    pub request_timeout: Duration,
    /// The log level.
    pub log_level: LevelFilter,
    /// How long a verdict is reused (zero: every `GET /` asks Connect, concurrent ones
    /// share one evaluation).
    pub cache: Duration,
    /// Task traces only for clients on loopback.
    pub redact_traces: bool,
    /// After SIGTERM: how long readiness fails before the server stops (the peer's: none).
    pub drain: Duration,
}

/// An option's value: the flag's, else the variable's (an empty one counts as unset), with
/// the name of the one it came from, for messages.
fn pick(
    env: &dyn Env,
    flag_value: &Option<String>,
    flag: &'static str,
    var: &'static str,
) -> Option<(String, &'static str)> {
    match flag_value {
        Some(v) => Some((v.clone(), flag)),
        None => env.var(var).filter(|v| !v.is_empty()).map(|v| (v, var)),
    }
}

impl ConnectOptions {
    /// Reads `args` (and `log_level`, the global `--log-level` flag) over the variables of
    /// `env`.
    pub fn read(
        args: &ConnectArgs,
        log_level: Option<&str>,
        env: &dyn Env,
    ) -> Result<Self, ConfigError> {
        let log_level = match pick(
            env,
            &log_level.map(str::to_owned),
            "--log-level",
            "HEALTHCHECK_LOG_LEVEL",
        ) {
            Some((v, from)) => level(&v).map_err(|p| ConfigError::key(from, p))?,
            None => LevelFilter::INFO,
        };
        let port = match pick(env, &args.port, "--port", "HEALTHCHECK_PORT") {
            Some((v, from)) => listen_port(&v).ok_or_else(|| {
                ConfigError::key(from, format!("invalid port {v:?} (expected 0 to 65535)"))
            })?,
            None => 18083,
        };
        let bind = match pick(env, &args.bind, "--bind", "HEALTHCHECK_BIND") {
            Some((v, from)) => v
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| {
                    ConfigError::key(
                        from,
                        format!("invalid address {v:?} (write e.g. 0.0.0.0, ::, 127.0.0.1)"),
                    )
                })?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let rules = rules(args, env)?;
        let (url, url_from) = pick(
            env,
            &args.connect_url,
            "--connect-url",
            "HEALTHCHECK_CONNECT_URL",
        )
        .unwrap_or_else(|| ("http://localhost:8083".to_owned(), "--connect-url"));
        let mut check = KafkaConnectCheck::new(url.trim(), rules)
            .map_err(|e| ConfigError::key(url_from, e.to_string()))?;
        if let Some((auth, from)) = pick(
            env,
            &args.basic_auth,
            "--basic-auth",
            "HEALTHCHECK_BASIC_AUTH",
        ) {
            check = check
                .basic_auth(&auth)
                .map_err(|e| ConfigError::key(from, e.to_string()))?;
        }
        if let Some((path, from)) = pick(env, &args.ca_file, "--ca-file", "HEALTHCHECK_CA_FILE") {
            if !tls::is_https(&url) {
                return Err(ConfigError::key(
                    from,
                    format!(
                        "only applies to an https:// Connect URL ({url_from} is {})",
                        check.url()
                    ),
                ));
            }
            check = check.tls(tls::trusting(&path).map_err(|p| ConfigError::key(from, p))?);
        }
        let request_timeout = match duration_option(
            env,
            &args.request_timeout,
            "--request-timeout",
            "HEALTHCHECK_REQUEST_TIMEOUT",
        )? {
            Some((d, from)) if d.is_zero() => {
                return Err(ConfigError::key(from, "must be greater than zero"))
            }
            Some((d, _)) => d,
            None => probe_core::checks::kafka_connect::DEFAULT_REQUEST_TIMEOUT,
        };
        let cache = duration_option(env, &args.cache, "--cache", "HEALTHCHECK_CACHE")?
            .map_or(Duration::ZERO, |(d, _)| d);
        let drain = duration_option(env, &args.drain, "--drain", "HEALTHCHECK_DRAIN")?
            .map_or(Duration::ZERO, |(d, _)| d);
        let redact_traces = switch(env, args.redact_traces, "HEALTHCHECK_REDACT_TRACES")?;
        let worker_health = switch(env, args.worker_health, "HEALTHCHECK_WORKER_HEALTH")?;
        Ok(ConnectOptions {
            listen: SocketAddr::new(bind, port),
            check: check
                .request_timeout(request_timeout)
                .worker_health(worker_health),
            request_timeout,
            log_level,
            cache,
            redact_traces,
            drain,
        })
    }

    /// The engine's policy for the check: the whole evaluation bounded a little above one
    /// request's timeout, the reuse window, single-flight always.
    pub fn policy(&self) -> Policy {
        Policy::default()
            .timeout(self.request_timeout + EVALUATION_MARGIN)
            .cache(self.cache)
    }
}

/// The peer's rule options.
fn rules(args: &ConnectArgs, env: &dyn Env) -> Result<ConnectRules, ConfigError> {
    let d = ConnectRules::default();
    let unhealthy_states = match pick(
        env,
        &args.unhealthy_states,
        "--unhealthy-states",
        "HEALTHCHECK_UNHEALTHY_STATES",
    ) {
        Some((v, from)) => parse_states(&v).map_err(|e| rules_error(from, e))?,
        None => d.unhealthy_states,
    };
    let considered_containers = match pick(
        env,
        &args.considered_containers,
        "--considered-containers",
        "HEALTHCHECK_CONSIDERED_CONTAINERS",
    ) {
        Some((v, from)) => parse_containers(&v).map_err(|e| rules_error(from, e))?,
        None => d.considered_containers,
    };
    let failure_threshold_percentage = match pick(
        env,
        &args.failure_threshold_percentage,
        "--failure-threshold-percentage",
        "HEALTHCHECK_FAILURE_THRESHOLD_PERCENTAGE",
    ) {
        Some((v, from)) => v.trim().parse::<u32>().map_err(|_| {
            ConfigError::key(
                from,
                format!("invalid percentage {v:?} (expected a whole number from 0)"),
            )
        })?,
        None => 0,
    };
    let worker_id = pick(
        env,
        &args.connect_worker_id,
        "--connect-worker-id",
        "HEALTHCHECK_CONNECT_WORKER_ID",
    )
    .map(|(v, _)| v.trim().to_owned())
    .filter(|v| !v.is_empty());
    Ok(ConnectRules {
        unhealthy_states,
        considered_containers,
        worker_id,
        failure_threshold_percentage,
    })
}

fn rules_error(from: &str, e: RulesError) -> ConfigError {
    let problem = match e {
        RulesError::State(e) => e.to_string(),
        RulesError::Container(e) => e.to_string(),
        RulesError::Empty(_) => "the list is empty".to_owned(),
    };
    ConfigError::key(from, problem)
}

fn duration_option(
    env: &dyn Env,
    flag: &Option<String>,
    name: &'static str,
    var: &'static str,
) -> Result<Option<(Duration, &'static str)>, ConfigError> {
    match pick(env, flag, name, var) {
        None => Ok(None),
        Some((v, from)) => duration::option(&v, from).map(|d| Some((d, from))),
    }
}

/// A boolean flag, or its variable (`true`/`false`, `1`/`0`, `yes`/`no`).
fn switch(env: &dyn Env, flag: bool, var: &'static str) -> Result<bool, ConfigError> {
    if flag {
        return Ok(true);
    }
    match env.var(var).filter(|v| !v.is_empty()) {
        None => Ok(false),
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::key(
                var,
                format!("expected true or false, found {v:?}"),
            )),
        },
    }
}

/// The peer's log levels, in any case (`WARN` and `CRITICAL` as Python also takes them).
pub fn level(name: &str) -> Result<LevelFilter, String> {
    match name.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Ok(LevelFilter::TRACE),
        "DEBUG" => Ok(LevelFilter::DEBUG),
        "INFO" => Ok(LevelFilter::INFO),
        "WARNING" | "WARN" => Ok(LevelFilter::WARN),
        "ERROR" | "CRITICAL" => Ok(LevelFilter::ERROR),
        _ => Err(format!(
            "unknown log level {name:?} (expected TRACE, DEBUG, INFO, WARNING or ERROR)"
        )),
    }
}

/// A port to listen on, `0` (any free port) to 65535, in digits only (`+80` is refused).
pub fn listen_port(text: &str) -> Option<u16> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The engine `probe connect` serves: the Connect check in readiness. `probe lint` reads
/// the same engine to learn what each endpoint runs.
pub fn engine(options: &ConnectOptions) -> Result<Health, ConfigError> {
    Health::builder()
        .check(
            CHECK_NAME,
            options.check.clone(),
            [Probe::Readiness],
            options.policy(),
        )
        .and_then(|b| b.build())
        .map_err(|e| ConfigError::general(e.to_string()))
}

/// The engine ([`engine`]) and the service: `kubernetes` first, `connect` as the
/// fallback. Call inside a runtime.
pub fn service(options: &ConnectOptions) -> Result<(Health, ProbeService), ConfigError> {
    let health = engine(options)?;
    let traces = if options.redact_traces {
        Details::Local
    } else {
        Details::Always
    };
    let connect = Connect::new(health.clone(), CHECK_NAME, &options.check)
        .map_err(|e| ConfigError::general(e.to_string()))?
        .traces(traces);
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .fallback(connect)
        .build();
    Ok((health, service))
}

/// Logs the peer's startup lines, then serves on the [`sidecar`](crate::sidecar) loop with
/// the peer's announcement and exit line. No drain delay unless `--drain` asks for one:
/// the peer exits at once.
pub async fn run(options: ConnectOptions) -> Result<(), RunError> {
    tracing::info!("Initializing healthcheck server...");
    options.check.log_configuration();
    let (health, service) = service(&options).map_err(RunError::Config)?;
    sidecar::run(Sidecar {
        listen: options.listen,
        server: ServerConfig::default(),
        service,
        grpc: false,
        health,
        drain: options.drain,
        announce: Box::new(|addr| {
            tracing::info!(
                "Healthcheck server started at: http://localhost:{}",
                addr.port()
            );
            tracing::info!("{LINE_BREAK}");
        }),
        signal_line: Some("SIGINT/SIGTERM; exiting..."),
    })
    .await
    .map_err(RunError::Bind)
}
