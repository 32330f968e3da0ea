//! `probe serve` (and `probe kpow`, a fixed configuration of it): the configuration, the
//! service it describes, and serving it on the [`sidecar`](crate::sidecar) loop.

use std::path::PathBuf;

use probe_core::Health;
use probe_http::metrics::Metrics;
use probe_http::{
    Connect, Dialect, Kpow, Kubernetes, OpenKlant, ProbeService, ServerConfig, Shown,
};

use crate::cli::ServeArgs;
use crate::config::{duration, parse_listen, Config, ConfigError, ServerSettings};
use crate::env::Env;
use crate::sidecar::{self, RunError, Sidecar};

/// Reads the configuration `probe serve` runs with: the file named by `--config` or
/// `PROBE_CONFIG`, or the embedded default; then `--listen` / `PROBE_LISTEN` and
/// `--drain` / `PROBE_DRAIN` over the file's `server.listen` and `server.drain`.
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
    if let Some((l, from)) = flag_or_var(&args.listen, "--listen", env, "PROBE_LISTEN") {
        config.server.listen = parse_listen(&l).ok_or_else(|| {
            ConfigError::key(
                from,
                format!("invalid address {l:?} (write e.g. \"0.0.0.0:8080\")"),
            )
        })?;
    }
    if let Some((d, from)) = flag_or_var(&args.drain, "--drain", env, "PROBE_DRAIN") {
        config.server.drain = duration::option(&d, from)?;
    }
    Ok(config)
}

/// The flag's value, else the variable's (an empty one counts as unset), with the name of
/// the one it came from, for messages.
fn flag_or_var(
    value: &Option<String>,
    flag: &'static str,
    env: &dyn Env,
    var: &'static str,
) -> Option<(String, &'static str)> {
    match value {
        Some(v) => Some((v.clone(), flag)),
        None => env.var(var).filter(|v| !v.is_empty()).map(|v| (v, var)),
    }
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

/// The `open-klant` dialect for `config`: every check under its `label`, failing in the
/// words of the django-health-check check its type stands for.
fn open_klant(config: &Config, health: &Health) -> OpenKlant {
    let mut d = OpenKlant::new(health.clone()).details(config.server.details);
    for spec in &config.checks {
        let mut shown = Shown::new()
            .standing_for(spec.stands_for)
            .with_timeout(spec.policy.timeout);
        if let Some(label) = &spec.label {
            shown = shown.with_label(label.clone());
        }
        d = d.show(spec.name.clone(), shown);
    }
    d
}

/// Builds the service for `config` (inside a runtime: background checks start here).
pub fn service(config: &Config) -> Result<(Health, ProbeService), ConfigError> {
    let health = config.health()?;
    let mut b = ProbeService::builder().path_prefix(&config.server.path_prefix);
    if config.server.metrics {
        // Before the dialects, so the connect dialect's catch-all does not take the path.
        let mut route = Metrics::new(&health).route();
        if let Some(clients) = &config.server.metrics_clients {
            route = route.clients(clients.clone());
        }
        b = b.dialect(route);
    }
    for name in &config.server.dialects {
        if name == "connect" {
            // It answers every path, so it is asked after the other dialects wherever it
            // is listed: the service's fallback.
            b = b.fallback(connect_dialect(config, &health)?);
        } else {
            b = b.boxed_dialect(if name == "open-klant" {
                Box::new(open_klant(config, &health))
            } else {
                dialect(name, &health, &config.server)?
            });
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

/// The `connect` dialect over the configuration's first `kafka-connect` check; error texts,
/// worker ids and task traces follow `server.details` (`local`, the default, shows them to
/// loopback clients only; others get the same documents with them withheld).
fn connect_dialect(config: &Config, health: &Health) -> Result<Connect, ConfigError> {
    let (name, check) = config.connect().ok_or_else(|| {
        ConfigError::key(
            "server.dialects",
            "the connect dialect needs a [[check]] with type = \"kafka-connect\"",
        )
    })?;
    Connect::new(health.clone(), name, check)
        .map(|c| c.details(config.server.details))
        .map_err(|e| ConfigError::key("server.dialects", e.to_string()))
}

/// Serves `config` until SIGTERM/SIGINT and the drain after it: builds the engine
/// (starting its background work), then runs the [`sidecar`](crate::sidecar) loop,
/// announcing `probe listening on http://ADDR (dialects: …)`, followed by ` and gRPC
/// health` when `server.grpc` has it answer on the same port, and logging each change of
/// a check's or a probe's status ([`probe_core::log_transitions`]). Call inside a runtime.
pub async fn run(config: Config) -> Result<(), RunError> {
    let (health, service) = service(&config).map_err(RunError::Config)?;
    // Each change of a check or a probe, logged once from the status stream; it ends
    // with the last clone of `health`.
    tokio::spawn(probe_core::log_transitions(&health));
    let dialects = config.server.dialects.join(", ");
    let grpc = if config.server.grpc {
        " and gRPC health"
    } else {
        ""
    };
    sidecar::run(Sidecar {
        listen: config.server.listen,
        server: ServerConfig {
            max_connections: config.server.max_connections,
            ..ServerConfig::default()
        },
        service,
        grpc: config.server.grpc,
        health,
        drain: config.server.drain,
        announce: Box::new(move |addr| {
            tracing::info!("probe listening on http://{addr} (dialects: {dialects}){grpc}")
        }),
        signal_line: None,
    })
    .await
    .map_err(RunError::Bind)?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::env::MapEnv;

    fn drain(flags: &[&str], vars: &[(&str, &str)]) -> Result<Duration, String> {
        let argv = ["probe", "serve"].iter().chain(flags);
        let Command::Serve(args) = Cli::parse_from(argv).command else {
            unreachable!("parsed as serve")
        };
        config(&args, &MapEnv::of(vars))
            .map(|c| c.server.drain)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_drain_flag_wins_over_probe_drain_over_the_default() {
        let s = Duration::from_secs;
        assert_eq!(drain(&[], &[]), Ok(s(5)));
        assert_eq!(
            drain(&[], &[("PROBE_DRAIN", "")]),
            Ok(s(5)),
            "empty is unset"
        );
        assert_eq!(drain(&[], &[("PROBE_DRAIN", "30s")]), Ok(s(30)));
        assert_eq!(
            drain(&["--drain", "1m30s"], &[("PROBE_DRAIN", "bogus")]),
            Ok(s(90))
        );
        assert_eq!(drain(&["--drain", "0s"], &[]), Ok(Duration::ZERO));
    }

    #[test]
    fn a_bad_drain_names_where_it_came_from() {
        let err = drain(&["--drain", "5"], &[]).unwrap_err();
        assert_eq!(
            err,
            "--drain: invalid duration \"5\" (write e.g. \"800ms\", \"2s\", \"1m\")"
        );
        let err = drain(&[], &[("PROBE_DRAIN", "soon")]).unwrap_err();
        assert!(
            err.starts_with("PROBE_DRAIN: invalid duration \"soon\""),
            "{err}"
        );
    }
}
