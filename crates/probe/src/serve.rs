//! `probe serve` (and `probe kpow`, a fixed configuration of it): the configuration, the
//! service it describes, and serving it on the [`sidecar`](crate::sidecar) loop.

use std::path::PathBuf;

use probe_core::Health;
use probe_http::{Connect, Dialect, Kpow, Kubernetes, OpenKlant, ProbeService, ServerConfig};

use crate::cli::ServeArgs;
use crate::config::{parse_listen, Config, ConfigError, ServerSettings};
use crate::env::Env;
use crate::sidecar::{self, RunError, Sidecar};

/// Reads the configuration `probe serve` runs with: the file named by `--config` or
/// `PROBE_CONFIG`, or the embedded default; then `--listen` / `PROBE_LISTEN`.
pub fn config(args: &ServeArgs, env: &dyn Env) -> Result<Config, ConfigError> {
    let path = args.config.clone().or_else(|| {
        env.var("PROBE_CONFIG")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    let mut config = match path {
        Some(p) => Config::load(&p)?,
        None => Config::default(),
    };
    let (flag, listen) = match (&args.listen, env.var("PROBE_LISTEN")) {
        (Some(l), _) => ("--listen", Some(l.clone())),
        (None, Some(l)) if !l.is_empty() => ("PROBE_LISTEN", Some(l)),
        _ => ("", None),
    };
    if let Some(l) = listen {
        config.server.listen = parse_listen(&l).ok_or_else(|| {
            ConfigError::key(
                flag,
                format!("invalid address {l:?} (write e.g. \"0.0.0.0:8080\")"),
            )
        })?;
    }
    Ok(config)
}

/// The dialect called `name`, serving `health` with `settings`.
pub fn dialect(
    name: &str,
    health: &Health,
    settings: &ServerSettings,
) -> Result<Box<dyn Dialect>, ConfigError> {
    match name {
        "kubernetes" => Ok(Box::new(
            Kubernetes::new(health.clone()).details(settings.details),
        )),
        "kpow" => Ok(Box::new(
            Kpow::new(health.clone()).details(settings.details),
        )),
        "open-klant" => Ok(Box::new(
            OpenKlant::new(health.clone())
                .details(settings.details)
                .trust_forwarded(settings.trust_forwarded),
        )),
        "connect" => Err(ConfigError::key(
            "server.dialects",
            "the connect dialect is built with its Kafka Connect check by serve::service",
        )),
        other => Err(ConfigError::key(
            "server.dialects",
            format!("unknown dialect `{other}`"),
        )),
    }
}

/// Builds the service for `config` (inside a runtime: background checks start here).
pub fn service(config: &Config) -> Result<(Health, ProbeService), ConfigError> {
    let health = config.health()?;
    let mut b = ProbeService::builder().path_prefix(&config.server.path_prefix);
    for name in &config.server.dialects {
        if name == "connect" {
            // It answers every path, so it is asked after the other dialects wherever it
            // is listed: the service's fallback.
            b = b.fallback(connect_dialect(config, &health)?);
        } else {
            b = b.boxed_dialect(dialect(name, &health, &config.server)?);
        }
    }
    if let Some(clients) = &config.server.allow_clients {
        b = b.allow_clients(clients.clone());
    }
    if let Some(hosts) = &config.server.allowed_hosts {
        b = b.allowed_hosts(hosts.clone());
    }
    Ok((health, b.build()))
}

/// The `connect` dialect over the configuration's first `kafka-connect` check; task traces
/// follow `server.details` (`local`, the default, shows them to loopback clients only).
fn connect_dialect(config: &Config, health: &Health) -> Result<Connect, ConfigError> {
    let (name, check) = config.connect().ok_or_else(|| {
        ConfigError::key(
            "server.dialects",
            "the connect dialect needs a [[check]] with type = \"kafka-connect\"",
        )
    })?;
    Connect::new(health.clone(), name, check)
        .map(|c| c.traces(config.server.details))
        .map_err(|e| ConfigError::key("server.dialects", e.to_string()))
}

/// Serves `config` until SIGTERM/SIGINT and the drain after it: builds the engine
/// (starting its background work), then runs the [`sidecar`](crate::sidecar) loop,
/// announcing `probe listening on http://ADDR (dialects: …)`. Call inside a runtime.
pub async fn run(config: Config) -> Result<(), RunError> {
    let (health, service) = service(&config).map_err(RunError::Config)?;
    let dialects = config.server.dialects.join(", ");
    sidecar::run(Sidecar {
        listen: config.server.listen,
        server: ServerConfig {
            max_connections: config.server.max_connections,
            ..ServerConfig::default()
        },
        service,
        health,
        drain: config.server.drain,
        announce: Box::new(move |addr| {
            tracing::info!("probe listening on http://{addr} (dialects: {dialects})")
        }),
        signal_line: None,
    })
    .await
    .map_err(RunError::Bind)?;
    tracing::info!("stopped");
    Ok(())
}
