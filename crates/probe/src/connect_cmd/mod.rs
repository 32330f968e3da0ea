//! `probe connect`: a drop-in for kafka-connect-healthcheck 0.3.0.
//!
//! Reads the peer's eight options from flags, then `HEALTHCHECK_*` variables, then the
//! peer's defaults, plus our own; every bad value is a [`ConfigError`] naming the flag or
//! variable it came from (exit 64), found before anything is logged or bound. Serves the
//! `kubernetes` dialect (`/livez` the worker, `/startupz` the worker started, `/readyz` the
//! worker and its connectors) and, asked last, the `connect` dialect (`/`, `/ping`, 404
//! elsewhere, HEAD anywhere). With `--restart-failed` it also runs the task restarter.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use probe_core::checks::kafka_connect::{
    ConnectWorkerCheck, Expected, ExpectedConnectorsCheck, RestartPolicy, Restarter, WorkerNeed,
};
use probe_core::checks::KafkaConnectCheck;
use probe_core::evaluators::connect::{
    parse_containers, parse_states, ConnectRules, RestartBook, RulesError,
};
use probe_core::{Health, Policy, Probe};
use probe_http::{Connect, Details, Kubernetes, ProbeService, ServerConfig};
use tracing_subscriber::filter::LevelFilter;

use crate::cli::ConnectArgs;
use crate::config::{duration, ConfigError};
use crate::env::Env;
use crate::sidecar::{self, RunError, Sidecar};

mod extras;

/// The name the Connect check is registered under (in `/readyz/kafka-connect`).
pub const CHECK_NAME: &str = "kafka-connect";
/// The worker's liveness (in `/livez/connect-worker`).
pub const WORKER_CHECK: &str = "connect-worker";
/// The worker started (in `/startupz/connect-worker-started` and readiness).
pub const STARTED_CHECK: &str = "connect-worker-started";
/// The expected connectors (in `/readyz/connect-expected`).
pub const EXPECTED_CHECK: &str = "connect-expected";

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
    /// Who sees error texts, worker ids and traces.
    pub details: Details,
    /// After SIGTERM: how long readiness fails before the server stops (the peer's: none).
    pub drain: Duration,
    /// Whether a failed connector fails liveness too.
    pub liveness_includes_connectors: bool,
    /// Connectors readiness waits for.
    pub expected: Vec<Expected>,
    /// The restarter, when `--restart-failed` asks for it, with the book it shares with
    /// the check.
    pub restart: Option<(RestartPolicy, Arc<Mutex<RestartBook>>)>,
}

/// An option's value: the flag's, else the variable's (an empty one counts as unset), with
/// the name of the one it came from, for messages.
pub(crate) fn pick(
    env: &dyn Env,
    flag_value: &Option<String>,
    flag: &'static str,
    var: &'static str,
) -> Option<(String, &'static str)> {
    match flag_value {
        // Given without a value, as argparse's `nargs="?"`: the default, whatever the
        // variable says.
        Some(v) if v.is_empty() => None,
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
            &args.log_level.clone().or(log_level.map(str::to_owned)),
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
        let (url, url_from) = pick(
            env,
            &args.connect_url,
            "--connect-url",
            "HEALTHCHECK_CONNECT_URL",
        )
        .unwrap_or_else(|| ("http://localhost:8083".to_owned(), "--connect-url"));
        let mut rules = rules(args, env)?;
        if let Some(id) = &rules.worker_id {
            if id.eq_ignore_ascii_case("auto") {
                let from = if args.connect_worker_id.is_some() {
                    "--connect-worker-id"
                } else {
                    "HEALTHCHECK_CONNECT_WORKER_ID"
                };
                rules.worker_id = Some(extras::auto_worker_id(env, url.trim(), from)?);
            }
        }
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
        let https = crate::config::tls::is_https(&url);
        if let Some(tls) = extras::tls(args, env, https, url_from)? {
            check = check.tls(tls);
        }
        for (name, value) in extras::headers(args, env)? {
            check = check.header(name, value);
        }
        if let Some(grace) = extras::grace(args, env)? {
            check = check.grace(grace);
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
        let liveness_includes_connectors = switch(
            env,
            args.liveness_includes_connectors,
            "HEALTHCHECK_LIVENESS_INCLUDES_CONNECTORS",
        )?;
        let details = match pick(env, &args.details, "--details", "HEALTHCHECK_DETAILS") {
            Some((v, from)) => v.trim().parse::<Details>().map_err(|_| {
                ConfigError::key(
                    from,
                    format!("expected never, local or always, found {v:?}"),
                )
            })?,
            None => Details::Local,
        };
        let expected = extras::expected(args, env)?;
        let restart = extras::restart(args, env)?.map(|policy| {
            let book = Arc::new(Mutex::new(RestartBook::new()));
            check = check.clone().restart_book(book.clone());
            (policy, book)
        });
        Ok(ConnectOptions {
            listen: SocketAddr::new(bind, port),
            check: check
                .request_timeout(request_timeout)
                .worker_health(worker_health),
            request_timeout,
            log_level,
            cache,
            redact_traces,
            details,
            drain,
            liveness_includes_connectors,
            expected,
            restart,
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

pub(crate) fn duration_option(
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
pub(crate) fn switch(env: &dyn Env, flag: bool, var: &'static str) -> Result<bool, ConfigError> {
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

/// The engine `probe connect` serves, which `probe lint` reads too to learn what each
/// endpoint runs. `/livez` is the worker (plus the connectors with
/// `--liveness-includes-connectors`), `/startupz` the worker started, `/readyz` the worker
/// started, the connectors under the rules and the expected connectors.
pub fn engine(options: &ConnectOptions) -> Result<Health, ConfigError> {
    let worker_policy = Policy::default()
        .timeout(options.request_timeout * 2 + EVALUATION_MARGIN)
        .cache(options.cache);
    let mut builder = Health::builder()
        .check(
            WORKER_CHECK,
            ConnectWorkerCheck::new(&options.check, WorkerNeed::Alive),
            [Probe::Liveness],
            worker_policy.clone(),
        )
        .and_then(|b| {
            b.check(
                STARTED_CHECK,
                ConnectWorkerCheck::new(&options.check, WorkerNeed::Started),
                [Probe::Startup, Probe::Readiness],
                worker_policy,
            )
        });
    builder = builder.and_then(|b| {
        if options.liveness_includes_connectors {
            b.dependency_in_liveness(
                CHECK_NAME,
                options.check.clone(),
                [Probe::Readiness, Probe::Liveness],
                options.policy(),
            )
        } else {
            b.check(
                CHECK_NAME,
                options.check.clone(),
                [Probe::Readiness],
                options.policy(),
            )
        }
    });
    if !options.expected.is_empty() {
        builder = builder.and_then(|b| {
            b.check(
                EXPECTED_CHECK,
                ExpectedConnectorsCheck::new(&options.check, options.expected.clone()),
                [Probe::Readiness],
                options.policy(),
            )
        });
    }
    builder
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
        options.details
    };
    let connect = Connect::new(health.clone(), CHECK_NAME, &options.check)
        .map_err(|e| ConfigError::general(e.to_string()))?
        .details(options.details)
        .traces(traces);
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()).details(options.details))
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
    // The first full poll, at startup: a worker id that appears in no status is warned
    // about now, not at the first probe.
    let _first_poll = options.check.rules().worker_id.as_ref().map(|_| {
        let check = options.check.clone();
        AbortOnDrop(tokio::spawn(async move {
            check.verify_worker_id().await;
        }))
    });
    let _restarter = options.restart.as_ref().map(|(policy, book)| {
        let mode = if policy.dry_run {
            " (dry run: nothing is restarted)"
        } else {
            ""
        };
        tracing::info!("Server will restart FAILED connectors and tasks{mode}");
        let restarter =
            Restarter::with_book(policy.clone(), options.check.rules().clone(), book.clone());
        AbortOnDrop(tokio::spawn(restarter.run(options.check.clone())))
    });
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

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
