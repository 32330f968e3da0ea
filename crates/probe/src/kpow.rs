//! `probe kpow`: Kpow's health surface, as a sidecar, from Kpow's own environment variables.
//!
//! It is a fixed configuration of `probe serve`: one `kafka-streams` stand-in called
//! `kafka-streams` (the checks `kafka-streams`, `kafka-streams:ready`,
//! `kafka-streams:started`) watching `BOOTSTRAP`, served in the `kpow` dialect (`/healthy`,
//! `/up`) and the `kubernetes` one (`/livez`, `/readyz`, `/startupz`) on `0.0.0.0:$PORT`.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `PORT` | the port to listen on, all interfaces | 3000 |
//! | `BOOTSTRAP` | the brokers, `host:port` separated by commas | required |
//! | `STREAMS_ERROR_STRATEGY` | `LOG_EXCEPTION` or `LOG_AND_EXIT`, any case | `LOG_EXCEPTION` |
//! | `HTTP_FORWARDED` | `true`: believe `Forwarded` / `X-Forwarded-*` for redirects | `false` |
//!
//! An empty variable counts as unset. A bad value is a configuration error (exit 64).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use probe_core::evaluators::cluster::ClusterTimeouts;
use probe_core::evaluators::error_strategy::ErrorStrategy;
use probe_core::Policy;

use crate::cli::KpowArgs;
use crate::config::kafka::{bootstrap, streams_parts};
use crate::config::{duration, parse_listen, CheckSpec, Config, ConfigError, ServerSettings};
use crate::env::Env;
use crate::kafka_streams::{StreamsSettings, StreamsSidecar};

/// The port Kpow listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 3000;

/// The name the Streams checks are registered under.
pub const CHECK_NAME: &str = "kafka-streams";

/// The dialects served, in order.
pub const DIALECTS: [&str; 2] = ["kpow", "kubernetes"];

/// What `probe kpow`'s environment and flags say.
#[derive(Clone, Debug)]
pub struct KpowSettings {
    /// Where and how to serve.
    pub server: ServerSettings,
    /// What the Streams stand-in watches, and how it reacts.
    pub streams: StreamsSettings,
}

impl KpowSettings {
    /// The configuration `probe serve` would run for these settings.
    pub fn into_config(self) -> Config {
        let sidecar = Arc::new(StreamsSidecar::new(self.streams));
        let built = streams_parts(sidecar);
        let checks = built
            .parts
            .into_iter()
            .map(|p| CheckSpec {
                name: format!("{CHECK_NAME}{}", p.suffix),
                check: p.check,
                probes: p.probes.unwrap_or_default(),
                policy: Policy::default(),
                liveness_dependency: false,
                connect: None,
                label: None,
                stands_for: probe_http::StandsFor::Other,
            })
            .collect();
        Config {
            server: self.server,
            checks,
            background: built.background.into_iter().collect(),
        }
    }
}

/// Reads `probe kpow`'s environment and flags into a configuration.
pub fn config(args: &KpowArgs, env: &dyn Env) -> Result<Config, ConfigError> {
    settings(args, env).map(KpowSettings::into_config)
}

/// Reads `probe kpow`'s environment and flags.
pub fn settings(args: &KpowArgs, env: &dyn Env) -> Result<KpowSettings, ConfigError> {
    let var = |key: &str| env.var(key).filter(|v| !v.trim().is_empty());
    let strategy = match var("STREAMS_ERROR_STRATEGY") {
        Some(s) => s
            .parse::<ErrorStrategy>()
            .map_err(|e| ConfigError::key("STREAMS_ERROR_STRATEGY", e.to_string()))?,
        None => ErrorStrategy::default(),
    };
    let brokers = match var("BOOTSTRAP") {
        Some(list) => bootstrap([list.as_str()]).map_err(|e| ConfigError::key("BOOTSTRAP", e))?,
        None => {
            return Err(ConfigError::key(
                "BOOTSTRAP",
                "missing: set it to the Kafka brokers to watch, host:port separated by commas",
            ))
        }
    };
    let trust_forwarded = match var("HTTP_FORWARDED") {
        None => false,
        Some(v) if v.trim().eq_ignore_ascii_case("true") => true,
        Some(v) if v.trim().eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ConfigError::key(
                "HTTP_FORWARDED",
                format!("{v:?} is neither true nor false"),
            ))
        }
    };
    let listen = listen(args, var("PORT"))?;
    let timeouts = ClusterTimeouts {
        session_timeout: positive(&args.session_timeout, "--session-timeout")?,
        heartbeat_interval: positive(&args.heartbeat_interval, "--heartbeat-interval")?,
    };
    let broker_timeout = positive(&args.broker_timeout, "--broker-timeout")?;
    let drain = duration::option(&args.drain, "--drain")?;
    let path_prefix = args.path_prefix.trim().to_owned();
    crate::config::check_path_prefix(&path_prefix)
        .map_err(|p| ConfigError::key("--path-prefix", p))?;
    let details = args
        .details
        .parse()
        .map_err(|e: probe_core::ParseError| ConfigError::key("--details", e.to_string()))?;
    Ok(KpowSettings {
        server: ServerSettings {
            listen,
            dialects: DIALECTS.map(str::to_owned).to_vec(),
            path_prefix,
            trust_forwarded,
            details,
            drain,
            ..ServerSettings::default()
        },
        streams: StreamsSettings {
            bootstrap: brokers,
            broker_timeout,
            timeouts,
            strategy,
            rules: crate::config::kafka::kpow_rules(args)?,
        },
    })
}

/// `--listen`, else `0.0.0.0:$PORT`, else `0.0.0.0:3000`.
fn listen(args: &KpowArgs, port: Option<String>) -> Result<SocketAddr, ConfigError> {
    if let Some(l) = &args.listen {
        return parse_listen(l).ok_or_else(|| {
            ConfigError::key(
                "--listen",
                format!("invalid address {l:?} (write e.g. \"0.0.0.0:3000\")"),
            )
        });
    }
    let port = match port {
        Some(p) => crate::connect_cmd::listen_port(&p).ok_or_else(|| {
            ConfigError::key("PORT", format!("{p:?} is not a port number (0 to 65535)"))
        })?,
        None => DEFAULT_PORT,
    };
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}

fn positive(value: &str, flag: &str) -> Result<Duration, ConfigError> {
    match duration::option(value, flag)? {
        d if d.is_zero() => Err(ConfigError::key(flag, "must be greater than zero")),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::env::MapEnv;
    use clap::Parser;
    use probe_core::evaluators::streams::State;
    use probe_core::Probe;
    use probe_http::Details;

    const BROKER: (&str, &str) = ("BOOTSTRAP", "kafka:9092");

    fn args(flags: &[&str]) -> KpowArgs {
        let argv = ["probe", "kpow"].iter().chain(flags);
        match Cli::parse_from(argv).command {
            Command::Kpow(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn read(flags: &[&str], vars: &[(&str, &str)]) -> Result<KpowSettings, String> {
        settings(&args(flags), &MapEnv::of(vars)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_kpows() {
        let s = read(&[], &[BROKER]).unwrap();
        assert_eq!(s.server.listen, "0.0.0.0:3000".parse().unwrap());
        assert_eq!(s.server.dialects, ["kpow", "kubernetes"]);
        assert_eq!(s.server.path_prefix, "");
        assert_eq!(s.server.details, Details::Local);
        assert_eq!(s.server.drain, Duration::from_secs(5));
        assert!(!s.server.trust_forwarded);
        assert_eq!(
            s.streams,
            StreamsSettings {
                bootstrap: vec!["kafka:9092".into()],
                ..StreamsSettings::default()
            }
        );
        assert_eq!(s.streams.timeouts.limit(), Duration::from_secs(48));
        assert_eq!(s.streams.strategy, ErrorStrategy::LogException);
    }

    #[test]
    fn the_environment_and_flags_are_read() {
        let s = read(
            &[
                "--session-timeout",
                "10s",
                "--heartbeat-interval",
                "500ms",
                "--path-prefix",
                "/kpow",
                "--broker-timeout",
                "300ms",
                "--drain",
                "0s",
                "--details",
                "never",
                "--debounce",
                "rebalancing=30s",
                "--debounce",
                "RUNNING=1s",
                "--stuck-after",
                "5m",
                "--stuck-liveness",
            ],
            &[
                ("BOOTSTRAP", " a:9092 , b:9093,"),
                ("PORT", "8081"),
                ("STREAMS_ERROR_STRATEGY", "log_and_exit"),
                ("HTTP_FORWARDED", "TRUE"),
            ],
        )
        .unwrap();
        assert_eq!(s.server.listen, "0.0.0.0:8081".parse().unwrap());
        assert_eq!(s.server.path_prefix, "/kpow");
        assert_eq!(s.server.details, Details::Never);
        assert_eq!(s.server.drain, Duration::ZERO);
        assert!(s.server.trust_forwarded);
        assert_eq!(s.streams.bootstrap, ["a:9092", "b:9093"]);
        assert_eq!(s.streams.strategy, ErrorStrategy::LogAndExit);
        assert_eq!(s.streams.broker_timeout, Duration::from_millis(300));
        assert_eq!(s.streams.timeouts.limit(), Duration::from_millis(10_500));
        let rules = s.streams.rules;
        assert_eq!(
            rules.debounce_of(State::Rebalancing),
            Duration::from_secs(30)
        );
        assert_eq!(rules.debounce_of(State::Running), Duration::from_secs(1));
        assert_eq!(rules.stuck_after, Some(Duration::from_secs(300)));
        assert!(rules.stuck_liveness);
        let listen = read(&["--listen", "127.0.0.1:0"], &[BROKER, ("PORT", "1")]).unwrap();
        assert_eq!(listen.server.listen, "127.0.0.1:0".parse().unwrap());
        let empty = read(&[], &[BROKER, ("PORT", ""), ("STREAMS_ERROR_STRATEGY", "")]).unwrap();
        assert_eq!(empty.server.listen.port(), 3000);
        assert_eq!(empty.streams.strategy, ErrorStrategy::LogException);
    }

    #[test]
    fn bad_values_name_the_variable_or_flag() {
        type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case<'_>; 18] = [
            (&[], &[], "BOOTSTRAP: missing: set it to the Kafka brokers to watch, host:port separated by commas"),
            (&[], &[("BOOTSTRAP", " ")], "BOOTSTRAP: missing"),
            (&[], &[("BOOTSTRAP", "kafka")], "BOOTSTRAP: `kafka` is not host:port: no port"),
            (&[], &[BROKER, ("STREAMS_ERROR_STRATEGY", "bogus")],
             "STREAMS_ERROR_STRATEGY: unknown streams error strategy `bogus` (expected one of: LOG_EXCEPTION, LOG_AND_EXIT)"),
            (&[], &[BROKER, ("PORT", "http")], "PORT: \"http\" is not a port number (0 to 65535)"),
            (&[], &[BROKER, ("PORT", "+3000")], "PORT: \"+3000\" is not a port number (0 to 65535)"),
            (&[], &[BROKER, ("HTTP_FORWARDED", "yes")], "HTTP_FORWARDED: \"yes\" is neither true nor false"),
            (&["--session-timeout", "45000"], &[BROKER], "--session-timeout: invalid duration \"45000\""),
            (&["--heartbeat-interval", "0s"], &[BROKER], "--heartbeat-interval: must be greater than zero"),
            (&["--path-prefix", "kpow"], &[BROKER], "--path-prefix: \"kpow\" must start with `/`"),
            (&["--heartbeat-interval", "99999999999999h"], &[BROKER],
             "--heartbeat-interval: \"99999999999999h\" is longer than the maximum of 24h"),
            (&["--session-timeout", "-1s"], &[BROKER], "--session-timeout: invalid duration \"-1s\""),
            (&["--drain", "-5s"], &[BROKER], "--drain: invalid duration \"-5s\""),
            (&["--path-prefix", "/a b"], &[BROKER], "--path-prefix: \"/a b\" is not a path prefix"),
            (&["--debounce", "30s"], &[BROKER], "--debounce: \"30s\" is not STATE=DURATION (e.g. REBALANCING=30s)"),
            (&["--debounce", "error=30s"], &[BROKER], "--debounce: ERROR counts at once and cannot be debounced"),
            (&["--debounce", "RUNNING=soon"], &[BROKER], "--debounce: invalid duration \"soon\""),
            (&["--stuck-after", "0s"], &[BROKER], "--stuck-after: must be greater than zero (write \"never\" to turn it off)"),
        ];
        for (flags, vars, expected) in cases {
            let err = read(flags, vars).unwrap_err();
            assert!(err.starts_with(expected), "{flags:?} {vars:?}: {err}");
        }
    }

    #[test]
    fn the_configuration_registers_the_three_streams_checks() {
        let c = read(&[], &[BROKER]).unwrap().into_config();
        let names: Vec<(&str, &[Probe])> = c
            .checks
            .iter()
            .map(|s| (s.name.as_str(), s.probes.as_slice()))
            .collect();
        assert_eq!(
            names,
            [
                ("kafka-streams", &[Probe::Liveness][..]),
                ("kafka-streams:ready", &[Probe::Readiness][..]),
                ("kafka-streams:started", &[Probe::Startup][..]),
            ]
        );
        assert_eq!(c.background.len(), 1);
    }
}
