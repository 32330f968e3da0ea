//! `probe connect`'s options beyond the peer's: upstream authentication (mTLS, headers),
//! the worker id `auto`, state grace periods, expected connectors and the restarter.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use probe_core::checks::kafka_connect::{Expected, RestartPolicy, StateGrace};
use probe_core::evaluators::connect::{ConnectState, RestartRules};
use probe_core::http_client::{Target, TlsConfig, TlsOptions};
use regex::Regex;

use super::{duration_option, pick, switch};
use crate::cli::ConnectArgs;
use crate::config::{duration, ConfigError};
use crate::env::Env;

/// The largest header file read (a few headers, not a dump).
const MAX_HEADER_FILE: u64 = 64 * 1024;

/// `--connect-worker-id auto`: the worker's advertised `host:port`, from the variables the
/// Connect images read (CONNECT_REST_ADVERTISED_HOST_NAME, CONNECT_REST_PORT), else POD_IP
/// and the port of the Connect URL.
pub(super) fn auto_worker_id(env: &dyn Env, url: &str, from: &str) -> Result<String, ConfigError> {
    let var = |k: &str| {
        env.var(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let host = var("CONNECT_REST_ADVERTISED_HOST_NAME")
        .or_else(|| var("POD_IP"))
        .ok_or_else(|| {
            ConfigError::key(
                from,
                "auto needs CONNECT_REST_ADVERTISED_HOST_NAME or POD_IP in the environment",
            )
        })?;
    let port = match var("CONNECT_REST_PORT") {
        Some(p) => {
            if !p.parse::<u16>().is_ok_and(|p| p != 0) {
                return Err(ConfigError::key(
                    "CONNECT_REST_PORT",
                    format!("invalid port {p:?} (expected 1 to 65535)"),
                ));
            }
            p
        }
        None => {
            let addr = Target::parse(url)
                .map(|t| t.addr())
                .map_err(|e| ConfigError::key(from, e.to_string()))?;
            addr.rsplit(':').next().unwrap_or("8083").to_owned()
        }
    };
    Ok(format!("{host}:{port}"))
}

/// The headers of `--header-file` (`Name: value` per line; blank lines and `#` comments
/// skipped) and `HEALTHCHECK_BEARER_TOKEN`. Values are never echoed in messages.
pub(super) fn headers(
    args: &ConnectArgs,
    env: &dyn Env,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let mut out = Vec::new();
    if let Some((path, from)) = pick(
        env,
        &args.header_file,
        "--header-file",
        "HEALTHCHECK_HEADER_FILE",
    ) {
        let text = read_small(&path).map_err(|p| ConfigError::key(from, p))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| ConfigError::key(from, format!("{path} line {}: {what}", i + 1));
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad("expected `Name: value`"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| bad("invalid header name"))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| bad("invalid header value (control characters or non-ASCII)"))?;
            out.push((name, value));
        }
    }
    if let Some(token) = env
        .var("HEALTHCHECK_BEARER_TOKEN")
        .filter(|t| !t.trim().is_empty())
    {
        let value = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
            ConfigError::key(
                "HEALTHCHECK_BEARER_TOKEN",
                "invalid token (control characters or non-ASCII)",
            )
        })?;
        out.push((AUTHORIZATION, value));
    }
    Ok(out)
}

fn read_small(path: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{path} is not a regular file"));
    }
    if meta.len() > MAX_HEADER_FILE {
        return Err(format!("{path} is larger than {MAX_HEADER_FILE} bytes"));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// The TLS configuration for `--ca-file`, `--client-cert` and `--client-key`, or `None`
/// when none is given.
pub(super) fn tls(
    args: &ConnectArgs,
    env: &dyn Env,
    https: bool,
    url_from: &str,
) -> Result<Option<TlsConfig>, ConfigError> {
    let ca = pick(env, &args.ca_file, "--ca-file", "HEALTHCHECK_CA_FILE");
    let cert = pick(
        env,
        &args.client_cert,
        "--client-cert",
        "HEALTHCHECK_CLIENT_CERT",
    );
    let key = pick(
        env,
        &args.client_key,
        "--client-key",
        "HEALTHCHECK_CLIENT_KEY",
    );
    if ca.is_none() && cert.is_none() && key.is_none() {
        return Ok(None);
    }
    if let Some((_, from)) = ca.as_ref().or(cert.as_ref()).or(key.as_ref()) {
        if !https {
            return Err(ConfigError::key(
                *from,
                format!("only applies to an https:// Connect URL (see {url_from})"),
            ));
        }
    }
    let mut options = TlsOptions::new();
    let mut from = "--ca-file";
    if let Some((path, f)) = &ca {
        options = options.ca_file(path.trim());
        from = f;
    }
    match (cert, key) {
        (Some((cert, f)), Some((key, _))) => {
            options = options.client_identity(cert.trim(), key.trim());
            from = f;
        }
        (Some((_, f)), None) => {
            return Err(ConfigError::key(
                f,
                "needs --client-key (HEALTHCHECK_CLIENT_KEY) too",
            ))
        }
        (None, Some((_, f))) => {
            return Err(ConfigError::key(
                f,
                "needs --client-cert (HEALTHCHECK_CLIENT_CERT) too",
            ))
        }
        (None, None) => {}
    }
    TlsConfig::new(&options)
        .map(Some)
        .map_err(|e| ConfigError::key(from, e.to_string()))
}

/// `--state-grace UNASSIGNED=30s,RESTARTING=30s`.
pub(super) fn grace(args: &ConnectArgs, env: &dyn Env) -> Result<Option<StateGrace>, ConfigError> {
    let Some((text, from)) = pick(
        env,
        &args.state_grace,
        "--state-grace",
        "HEALTHCHECK_STATE_GRACE",
    ) else {
        return Ok(None);
    };
    let mut periods = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let bad = |p: String| ConfigError::key(from, p);
        let (state, d) = item.split_once('=').ok_or_else(|| {
            bad(format!(
                "`{item}`: expected STATE=DURATION, e.g. UNASSIGNED=30s"
            ))
        })?;
        let state: ConnectState = state.parse().map_err(|e| bad(format!("{e}")))?;
        if state == ConnectState::Failed {
            return Err(bad(
                "FAILED takes no grace period (it is not a transient state)".into(),
            ));
        }
        let d = duration::option(d.trim(), from)?;
        periods.push((state, d));
    }
    if periods.is_empty() {
        return Err(ConfigError::key(
            from,
            "the list is empty (expected STATE=DURATION,...)",
        ));
    }
    Ok(Some(StateGrace::new(periods)))
}

/// `--expect-connector NAME` (repeatable) or `HEALTHCHECK_EXPECT_CONNECTORS` (comma-separated);
/// `/REGEX/` matches names.
pub(super) fn expected(args: &ConnectArgs, env: &dyn Env) -> Result<Vec<Expected>, ConfigError> {
    let (values, from): (Vec<String>, &str) = if args.expect_connector.is_empty() {
        match env.var("HEALTHCHECK_EXPECT_CONNECTORS") {
            Some(v) => (
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                "HEALTHCHECK_EXPECT_CONNECTORS",
            ),
            None => (Vec::new(), ""),
        }
    } else {
        (args.expect_connector.clone(), "--expect-connector")
    };
    values
        .into_iter()
        .map(|v| {
            let v = v.trim();
            if v.is_empty() {
                return Err(ConfigError::key(from, "empty connector name"));
            }
            match v.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
                Some(pattern) if v.len() >= 2 => regex(pattern, from).map(Expected::Pattern),
                _ => Ok(Expected::Name(v.to_owned())),
            }
        })
        .collect()
}

fn regex(pattern: &str, from: &str) -> Result<Regex, ConfigError> {
    Regex::new(pattern).map_err(|e| {
        let first = e
            .to_string()
            .lines()
            .last()
            .unwrap_or("invalid")
            .trim()
            .to_owned();
        ConfigError::key(
            from,
            format!("invalid regular expression /{pattern}/: {first}"),
        )
    })
}

/// `--restart-failed` and the options that shape it; `None` when it is off.
pub(super) fn restart(
    args: &ConnectArgs,
    env: &dyn Env,
) -> Result<Option<RestartPolicy>, ConfigError> {
    let on = switch(env, args.restart_failed, "HEALTHCHECK_RESTART_FAILED")?;
    let dry_run = switch(env, args.dry_run, "HEALTHCHECK_RESTART_DRY_RUN")?;
    if !on {
        if args.dry_run {
            return Err(ConfigError::key(
                "--dry-run",
                "only applies with --restart-failed",
            ));
        }
        return Ok(None);
    }
    let mut rules = RestartRules::default();
    if let Some((v, from)) = pick(
        env,
        &args.restart_max,
        "--restart-max",
        "HEALTHCHECK_RESTART_MAX",
    ) {
        let v = v.trim();
        rules.max_restarts = if v.eq_ignore_ascii_case("unlimited") {
            None
        } else {
            Some(v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::key(
                    from,
                    format!("invalid count {v:?} (expected a whole number from 1, or unlimited)"),
                )
            })?)
        };
    }
    if let Some((d, _)) = duration_option(
        env,
        &args.restart_reset_after,
        "--restart-reset-after",
        "HEALTHCHECK_RESTART_RESET_AFTER",
    )? {
        rules.reset_after = d;
    }
    let interval = match duration_option(
        env,
        &args.restart_interval,
        "--restart-interval",
        "HEALTHCHECK_RESTART_INTERVAL",
    )? {
        Some((d, from)) if d < Duration::from_secs(1) => {
            return Err(ConfigError::key(from, "must be at least 1s"))
        }
        Some((d, _)) => d,
        None => Duration::from_secs(30),
    };
    let connectors = match pick(
        env,
        &args.restart_connectors,
        "--restart-connectors",
        "HEALTHCHECK_RESTART_CONNECTORS",
    ) {
        Some((v, from)) => Some(regex(&v, from)?),
        None => None,
    };
    let traces = match pick(
        env,
        &args.restart_trace,
        "--restart-trace",
        "HEALTHCHECK_RESTART_TRACE",
    ) {
        Some((v, from)) => Some(regex(&v, from)?),
        None => None,
    };
    Ok(Some(RestartPolicy {
        rules,
        interval,
        connectors,
        traces,
        dry_run,
    }))
}
