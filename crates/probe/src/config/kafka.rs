//! The `kafka` and `kafka-streams` check types, and the bootstrap list they share with
//! `probe kpow`.
//!
//! ```toml
//! [[check]]
//! name = "kafka"
//! type = "kafka"
//! bootstrap = ["kafka-0:9092", "kafka-1:9092"]
//! broker_timeout = "700ms"
//!
//! [[check]]
//! name = "streams"                 # registers streams, streams:ready, streams:started
//! type = "kafka-streams"
//! bootstrap = ["kafka-0:9092"]
//! session_timeout = "45s"
//! heartbeat_interval = "3s"
//! error_strategy = "LOG_EXCEPTION"  # or LOG_AND_EXIT
//! rebalance_grace = "0s"
//! debounce = { REBALANCING = "30s" } # a state counts once it has held this long
//! stuck_after = "15m"               # or "never"
//! stuck_liveness = false
//! required_for_readiness = true
//! ```

use std::sync::Arc;
use std::time::Duration;

use probe_core::checks::KafkaCheck;
use probe_core::evaluators::cluster::ClusterTimeouts;
use probe_core::evaluators::streams::{State, StreamsRules};
use probe_core::Check;

use super::built::{Built, Part};
use super::{ConfigError, Fields};
use crate::cli::KpowArgs;
use crate::kafka_streams::{StreamsSettings, StreamsSidecar, PARTS};

/// Splits and checks a bootstrap list: entries separated by commas (in one string or
/// several), trimmed, empty ones skipped; each `host:port` (an IPv6 host in brackets).
/// The error says which entry is wrong and why.
///
/// ```
/// use probe::config::kafka::bootstrap;
///
/// assert_eq!(bootstrap([" kafka-0:9092, kafka-1:9092 ,"]).unwrap(),
///            ["kafka-0:9092", "kafka-1:9092"]);
/// assert!(bootstrap(["kafka-0"]).is_err());
/// ```
pub fn bootstrap<'a>(lists: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for entry in lists.into_iter().flat_map(|l| l.split(',')) {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        if let Some((_, host)) = entry.rsplit_once('@') {
            // `user:password@host:port`: Kafka takes credentials from SASL settings, not
            // from the address; the entry is named without them.
            probe_core::secrets::register_in(entry);
            return Err(format!(
                "`***@{}` is not host:port: credentials do not belong in a broker address",
                probe_core::text::escape_control(host)
            ));
        }
        let shown = probe_core::text::escape_control(entry);
        check_address(entry).map_err(|why| format!("`{shown}` is not host:port: {why}"))?;
        out.push(entry.to_owned());
    }
    if out.is_empty() {
        return Err("no broker address (write host:port, several separated by commas)".into());
    }
    Ok(out)
}

fn check_address(entry: &str) -> Result<(), &'static str> {
    if entry.contains("://") {
        return Err("leave out the listener name (PLAINTEXT://...)");
    }
    let (host, port) = entry.rsplit_once(':').ok_or("no port")?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => {}
        _ => return Err("the port must be a number from 1 to 65535"),
    }
    let valid_name = |h: &str| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    let valid = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => valid_name(host),
    };
    if valid {
        Ok(())
    } else if host.is_empty() {
        Err("no host")
    } else if host.contains(':') && !host.starts_with('[') {
        Err("write an IPv6 address in brackets, e.g. [::1]:9092")
    } else {
        Err("the host has characters a host name cannot have")
    }
}

/// `bootstrap`, required.
fn bootstrap_key(f: &mut Fields) -> Result<Vec<String>, ConfigError> {
    let lists = f.strings("bootstrap")?.ok_or_else(|| {
        f.error(
            "bootstrap",
            "missing (required): the brokers, host:port each",
        )
    })?;
    bootstrap(lists.iter().map(String::as_str)).map_err(|e| f.error("bootstrap", e))
}

/// A duration key that must be greater than zero when given.
fn positive_duration(f: &mut Fields, key: &'static str) -> Result<Option<Duration>, ConfigError> {
    match f.duration(key)? {
        Some(d) if d.is_zero() => Err(f.error(key, "must be greater than zero")),
        other => Ok(other),
    }
}

/// `type = "kafka"`: ApiVersions to each broker; passes when any answers.
pub(super) fn kafka(f: &mut Fields) -> Result<Built, ConfigError> {
    let bootstrap = bootstrap_key(f)?;
    let timeout = positive_duration(f, "broker_timeout")?.unwrap_or(KafkaCheck::DEFAULT_TIMEOUT);
    Ok(Built::one(KafkaCheck::new(bootstrap).timeout(timeout)))
}

/// `type = "kafka-streams"`: a Streams stand-in driven by the cluster; three checks.
pub(super) fn kafka_streams(f: &mut Fields) -> Result<Built, ConfigError> {
    let sidecar = StreamsSidecar::new(streams_settings(f)?);
    Ok(streams_parts(Arc::new(sidecar)))
}

/// The keys of a `kafka-streams` table.
fn streams_settings(f: &mut Fields) -> Result<StreamsSettings, ConfigError> {
    let d = StreamsSettings::default();
    let bootstrap = bootstrap_key(f)?;
    let broker_timeout = positive_duration(f, "broker_timeout")?.unwrap_or(d.broker_timeout);
    let timeouts = ClusterTimeouts {
        session_timeout: positive_duration(f, "session_timeout")?
            .unwrap_or(d.timeouts.session_timeout),
        heartbeat_interval: positive_duration(f, "heartbeat_interval")?
            .unwrap_or(d.timeouts.heartbeat_interval),
    };
    let strategy = match f.string("error_strategy")? {
        Some(s) => s
            .parse()
            .map_err(|e: probe_core::ParseError| f.error("error_strategy", e.to_string()))?,
        None => d.strategy,
    };
    let mut rules = d.rules;
    if let Some(grace) = f.duration("rebalance_grace")? {
        rules = rules.rebalance_grace(grace);
    }
    if let Some(table) = f.inner_table("debounce")? {
        for (state, value) in table {
            let key = format!("debounce.{state}");
            let value = match value {
                toml::Value::String(v) => v,
                other => {
                    return Err(f.error(
                        &key,
                        format!("expected a string, found {}", other.type_str()),
                    ))
                }
            };
            let (state, hold) = debounce_entry(&state, &value).map_err(|e| f.error(&key, e))?;
            rules = rules.debounce(state, hold);
        }
    }
    if let Some(v) = f.string("stuck_after")? {
        rules = rules.stuck_after(stuck_after(&v).map_err(|e| f.error("stuck_after", e))?);
    }
    if let Some(on) = f.bool("stuck_liveness")? {
        rules = rules.stuck_liveness(on);
    }
    if let Some(required) = f.bool("required_for_readiness")? {
        rules = rules.required_for_readiness(required);
    }
    Ok(StreamsSettings {
        bootstrap,
        broker_timeout,
        timeouts,
        strategy,
        rules,
    })
}

/// One debounce entry: a state name (any case) other than PENDING_ERROR and ERROR, and
/// a duration.
pub fn debounce_entry(state: &str, value: &str) -> Result<(State, Duration), String> {
    let state: State = state
        .parse()
        .map_err(|e: probe_core::ParseError| e.to_string())?;
    if state.is_error() {
        return Err(format!(
            "{state} counts at once and cannot be debounced (a client in error must fail liveness without delay)"
        ));
    }
    let hold = super::duration::bounded(value, super::duration::MAX)?;
    Ok((state, hold))
}

/// A stuck limit: a duration greater than zero, or `never`.
pub fn stuck_after(value: &str) -> Result<Option<Duration>, String> {
    if value.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    match super::duration::bounded(value, super::duration::MAX)? {
        d if d.is_zero() => {
            Err("must be greater than zero (write \"never\" to turn it off)".into())
        }
        d => Ok(Some(d)),
    }
}

/// The rules `probe kpow`'s flags give: `--debounce STATE=DURATION` (repeatable),
/// `--stuck-after`, `--stuck-liveness`.
pub(crate) fn kpow_rules(args: &KpowArgs) -> Result<StreamsRules, ConfigError> {
    let mut rules = StreamsRules::default();
    for entry in &args.debounce {
        let (state, value) = entry.split_once('=').ok_or_else(|| {
            ConfigError::key(
                "--debounce",
                format!("{entry:?} is not STATE=DURATION (e.g. REBALANCING=30s)"),
            )
        })?;
        let (state, hold) =
            debounce_entry(state.trim(), value).map_err(|e| ConfigError::key("--debounce", e))?;
        rules = rules.debounce(state, hold);
    }
    if let Some(v) = &args.stuck_after {
        rules =
            rules.stuck_after(stuck_after(v).map_err(|e| ConfigError::key("--stuck-after", e))?);
    }
    Ok(rules.stuck_liveness(args.stuck_liveness))
}

/// The three checks of `sidecar`, with `sidecar` as the work to start.
pub(crate) fn streams_parts(sidecar: Arc<StreamsSidecar>) -> Built {
    let parts = PARTS
        .into_iter()
        .zip(sidecar.checks())
        .map(|((suffix, probe), check)| Part {
            suffix,
            check: Arc::new(check) as Arc<dyn Check>,
            probes: Some(vec![probe]),
        })
        .collect();
    Built {
        parts,
        background: Some(sidecar),
        own_time: None,
        connect: None,
        stands_for: probe_http::StandsFor::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_lists_are_trimmed_and_split() {
        assert_eq!(
            bootstrap(["a:1", " b.example.com:9092 ,c_d:9093", "[::1]:9094"]).unwrap(),
            ["a:1", "b.example.com:9092", "c_d:9093", "[::1]:9094"]
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let cases = [
            ("kafka", "`kafka` is not host:port: no port"),
            ("kafka:0", "`kafka:0` is not host:port: the port must be a number from 1 to 65535"),
            ("kafka:99999", "`kafka:99999` is not host:port: the port must be a number from 1 to 65535"),
            ("kafka:+9092", "`kafka:+9092` is not host:port: the port must be a number from 1 to 65535"),
            (":9092", "`:9092` is not host:port: no host"),
            ("::1:9092", "`::1:9092` is not host:port: write an IPv6 address in brackets, e.g. [::1]:9092"),
            ("PLAINTEXT://k:9092", "`PLAINTEXT://k:9092` is not host:port: leave out the listener name (PLAINTEXT://...)"),
            (" , ", "no broker address (write host:port, several separated by commas)"),
            ("u:kafka-pw1@k:9092", "`***@k:9092` is not host:port: credentials do not belong in a broker address"),
            ("SASL://u:kafka-pw1@k:9092", "`***@k:9092` is not host:port: credentials do not belong in a broker address"),
        ];
        for (input, expected) in cases {
            assert_eq!(bootstrap([input]).unwrap_err(), expected, "{input}");
        }
        assert!(bootstrap(["ok:1", "bad"]).is_err());
        assert_eq!(
            bootstrap(["ka fka:9092"]).unwrap_err(),
            "`ka fka:9092` is not host:port: the host has characters a host name cannot have"
        );
    }

    fn settings(toml: &str) -> Result<StreamsSettings, String> {
        let mut f = Fields::new(toml.parse().unwrap(), "check[0]");
        let s = streams_settings(&mut f).map_err(|e| e.to_string())?;
        f.finish().map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn kafka_streams_defaults_are_kafkas() {
        let s = settings(r#"bootstrap = "k:9092""#).unwrap();
        assert_eq!(
            s,
            StreamsSettings {
                bootstrap: vec!["k:9092".into()],
                ..StreamsSettings::default()
            }
        );
        assert_eq!(s.broker_timeout, Duration::from_millis(700));
        assert_eq!(s.timeouts.session_timeout, Duration::from_secs(45));
        assert_eq!(s.timeouts.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(s.rules, StreamsRules::default());
    }

    #[test]
    fn kafka_streams_keys_are_read() {
        let s = settings(
            r#"
            bootstrap = ["a:1", "b:2,c:3"]
            broker_timeout = "250ms"
            session_timeout = "10s"
            heartbeat_interval = "1s"
            error_strategy = "log_and_exit"
            rebalance_grace = "30s"
            debounce = { rebalancing = "30s", RUNNING = "1s" }
            stuck_after = "5m"
            stuck_liveness = true
            required_for_readiness = false
            "#,
        )
        .unwrap();
        assert_eq!(s.bootstrap, ["a:1", "b:2", "c:3"]);
        assert_eq!(s.broker_timeout, Duration::from_millis(250));
        assert_eq!(s.timeouts.limit(), Duration::from_secs(11));
        assert_eq!(
            s.strategy,
            probe_core::evaluators::error_strategy::ErrorStrategy::LogAndExit
        );
        let r = s.rules;
        assert_eq!(r.rebalance_grace, Duration::from_secs(30));
        assert_eq!(r.debounce_of(State::Rebalancing), Duration::from_secs(30));
        assert_eq!(r.debounce_of(State::Running), Duration::from_secs(1));
        assert_eq!(r.debounce_of(State::Created), Duration::ZERO);
        assert_eq!(r.stuck_after, Some(Duration::from_secs(300)));
        assert!(r.stuck_liveness && !r.required_for_readiness);
        let never = settings("bootstrap = \"k:1\"\nstuck_after = \"Never\"").unwrap();
        assert_eq!(never.rules.stuck_after, None);
    }

    #[test]
    fn kafka_streams_mistakes_are_named() {
        let cases = [
            ("", "check[0].bootstrap: missing (required)"),
            (
                r#"bootstrap = "k""#,
                "check[0].bootstrap: `k` is not host:port: no port",
            ),
            (
                "bootstrap = \"k:1\"\nerror_strategy = \"retry\"",
                "check[0].error_strategy: unknown streams error strategy `retry`",
            ),
            (
                "bootstrap = \"k:1\"\nsession_timeout = \"0s\"",
                "check[0].session_timeout: must be greater than zero",
            ),
            (
                "bootstrap = \"k:1\"\nheartbeat = \"3s\"",
                "check[0].heartbeat: unknown key",
            ),
            (
                "bootstrap = \"k:1\"\ndebounce = { ERROR = \"5s\" }",
                "check[0].debounce.ERROR: ERROR counts at once and cannot be debounced",
            ),
            (
                "bootstrap = \"k:1\"\ndebounce = { STARTING = \"5s\" }",
                "check[0].debounce.STARTING: unknown kafka streams state `STARTING`",
            ),
            (
                "bootstrap = \"k:1\"\ndebounce = { RUNNING = 5 }",
                "check[0].debounce.RUNNING: expected a string, found integer",
            ),
            (
                "bootstrap = \"k:1\"\ndebounce = \"30s\"",
                "check[0].debounce: expected a table, found string",
            ),
            (
                "bootstrap = \"k:1\"\nstuck_after = \"0s\"",
                "check[0].stuck_after: must be greater than zero (write \"never\" to turn it off)",
            ),
            (
                "bootstrap = \"k:1\"\nstuck_liveness = \"yes\"",
                "check[0].stuck_liveness: expected true or false, found string",
            ),
        ];
        for (toml, expected) in cases {
            let err = settings(toml).unwrap_err();
            assert!(err.starts_with(expected), "{toml}: {err}");
        }
    }
}
