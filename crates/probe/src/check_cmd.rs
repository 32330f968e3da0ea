//! `probe check`: one request, one line, exit 0 (up) or 1 (down). An exec probe for
//! containers without curl, in the output format of maykin-common's `health-check`.
//!
//! Targets: `http://` / `https://` URLs (redirects followed, up below 400; `https://`
//! trusts the system's certificate store and, with `--ca-file`, an internal CA),
//! `tcp://host:port` (a connection is accepted), `file://PATH` (the file exists, and with
//! `--max-age` was modified recently), `grpc://host:port[?service=NAME]` (gRPC health
//! answers `SERVING`; see [`check_grpc`](crate::check_grpc)).

use std::time::Duration;

use probe_core::checks::{FileAgeCheck, FileExistsCheck, TcpCheck};
use probe_core::http_client::{self, Target, TlsConfig};
use probe_core::text::redact;
use probe_core::{Check, Outcome, Status};

use crate::check_grpc::{self, GrpcTarget};
use crate::check_proxy::Proxies;
use crate::cli::CheckArgs;
use crate::config::{tls, ConfigError};
use crate::env::Env;
use crate::exec::{bounded, seconds};

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// The result of one check: the line to print, and where.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Printed on standard output; exit 0.
    Up(String),
    /// Printed on standard error; exit 1.
    Down(String),
}

/// Completes a partial endpoint: scheme `http://`, host `localhost:8000`, path
/// `/_healthz/livez/`.
pub fn normalize(endpoint: &str) -> String {
    let (scheme, rest) = match endpoint.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_owned(), endpoint),
    };
    if scheme != "http" && scheme != "https" {
        return format!("{scheme}://{rest}");
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(split);
    let authority = if authority.is_empty() {
        "localhost:8000"
    } else {
        authority
    };
    // As Python's urlparse splits it: a query (or fragment) with no path before it keeps
    // the default path (`127.0.0.1:8000?format=json`).
    let split = rest.find(['?', '#']).unwrap_or(rest.len());
    let (path, tail) = rest.split_at(split);
    let path = if path.is_empty() {
        "/_healthz/livez/"
    } else {
        path
    };
    format!("{scheme}://{authority}{path}{tail}")
}

/// What to check, and within which time.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The completed target URL.
    pub url: String,
    /// The whole check's time limit.
    pub timeout: Duration,
    /// For `file://`: how recently the file must have been modified.
    pub max_age: Option<Duration>,
    /// For `https://`, also after a redirect: the system's store plus `--ca-file`.
    pub tls: Option<TlsConfig>,
    /// For `grpc://`: where to ask, for which service.
    pub grpc: Option<GrpcTarget>,
    /// For `http://` and `https://` targets that are not loopback: the environment's
    /// proxies.
    pub proxies: Proxies,
}

/// Validates the arguments and the proxy variables of `env` (bad values exit 64).
pub fn plan(args: &CheckArgs, env: &dyn Env) -> Result<Plan, ConfigError> {
    let proxies = Proxies::from_env(env)?;
    let timeout = seconds("--timeout", &args.timeout, false)?;
    let raw = args
        .url
        .as_deref()
        .or(args.endpoint.as_deref())
        .unwrap_or("http://localhost:8000/_healthz/livez/");
    let url = normalize(raw);
    let file = url.strip_prefix("file://");
    if file == Some("") {
        return Err(ConfigError::key(
            "--endpoint",
            "file:// needs a path (write e.g. file:///app/tmp/worker.live)",
        ));
    }
    let grpc = if url.starts_with("grpc://") {
        Some(check_grpc::parse(&url)?)
    } else if url.starts_with("grpcs://") {
        return Err(ConfigError::key(
            "URL",
            "grpcs:// is not supported: gRPC health is checked over plain HTTP/2, as the kubelet does (write grpc://)",
        ));
    } else {
        None
    };
    let max_age = match (&args.max_age, file) {
        (Some(m), Some(_)) => Some(seconds("--max-age", m, true)?),
        (Some(_), None) => {
            return Err(ConfigError::key(
                "--max-age",
                "only applies to file:// targets",
            ))
        }
        (None, _) => None,
    };
    // The target parses once, here: a bad port or host is a usage error, never a probe
    // of some other address.
    let flag = if args.url.is_some() {
        "URL"
    } else {
        "--endpoint"
    };
    if let Some(addr) = url.strip_prefix("tcp://") {
        probe_core::endpoint::parse_address(addr.trim_end_matches('/')).map_err(|e| {
            ConfigError::key(flag, format!("{e} in {}", probe_core::text::redact(&url)))
        })?;
    } else if file.is_none() && grpc.is_none() {
        Target::parse(&url).map_err(|e| ConfigError::key(flag, e.to_string()))?;
    }
    let tls = match &args.ca_file {
        Some(_) if !url.starts_with("http://") && !url.starts_with("https://") => {
            return Err(ConfigError::key(
                "--ca-file",
                "only applies to http:// and https:// targets",
            ))
        }
        Some(path) => Some(tls::trusting(path).map_err(|p| ConfigError::key("--ca-file", p))?),
        None => None,
    };
    Ok(Plan {
        url,
        timeout,
        max_age,
        tls,
        grpc,
        proxies,
    })
}

/// Checks what `plan` names within its timeout.
pub async fn run(plan: &Plan) -> Verdict {
    let verdict = match tokio::time::timeout(plan.timeout, check(plan)).await {
        Ok(v) => v,
        Err(_) => Verdict::Down(format!(
            "DOWN (timed out after {})",
            probe_core::time::human(plan.timeout)
        )),
    };
    match verdict {
        Verdict::Up(s) => Verdict::Up(bounded(s)),
        Verdict::Down(s) => Verdict::Down(bounded(s)),
    }
}

/// `UP, <message>` or `DOWN (<message>)` for a check's outcome.
fn judged(outcome: Outcome) -> Verdict {
    let message = outcome.message.unwrap_or_default();
    match outcome.status {
        Status::Fail => Verdict::Down(format!("DOWN ({message})")),
        _ => Verdict::Up(format!("UP, {message}")),
    }
}

async fn check(plan: &Plan) -> Verdict {
    if let Some(target) = &plan.grpc {
        return check_grpc::check(target, plan.timeout).await;
    }
    let url = plan.url.as_str();
    if let Some(addr) = url.strip_prefix("tcp://") {
        return judged(TcpCheck::new(addr.trim_end_matches('/')).check().await);
    }
    if let Some(path) = url.strip_prefix("file://") {
        return judged(match plan.max_age {
            Some(max_age) => FileAgeCheck::new(path, max_age).check().await,
            None => FileExistsCheck::new(path).check().await,
        });
    }
    // Every hop is routed on its own: a redirect to another host may need the proxy
    // (or no longer need it).
    let trusting = |target: Target| {
        plan.proxies.route(match &plan.tls {
            Some(tls) => target.with_tls(tls.clone()),
            None => target,
        })
    };
    let mut target = match Target::parse(url) {
        Ok(t) => trusting(t),
        Err(e) => return Verdict::Down(format!("DOWN ({e})")),
    };
    for _ in 0..=MAX_REDIRECTS {
        let resp = match http_client::get(&target, http_client::DEFAULT_MAX_BODY).await {
            Ok(r) => r,
            // A body too large to read still came with a status line: the server is up,
            // but a probe endpoint answering megabytes is not one we can judge.
            Err(e) => return Verdict::Down(format!("DOWN ({e})")),
        };
        let code = resp.status.as_u16();
        let location = resp
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        match (resp.status.is_redirection(), location) {
            (true, Some(loc)) => match follow(&target, loc) {
                Ok(next) => target = trusting(next),
                Err(reason) => return Verdict::Down(format!("DOWN ({reason})")),
            },
            _ if code < 400 => return Verdict::Up(format!("UP, response status code: {code}")),
            _ => return Verdict::Down(format!("DOWN, response status code: {code}")),
        }
    }
    Verdict::Down(format!("DOWN (more than {MAX_REDIRECTS} redirects)"))
}

/// The target a `Location` points to, relative to `from`.
fn follow(from: &Target, location: &str) -> Result<Target, String> {
    if location.contains("://") {
        return Target::parse(location)
            .map_err(|e| format!("redirect to {}: {e}", redact(location)));
    }
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let base = from.path().split('?').next().unwrap_or("/");
        format!(
            "{}{location}",
            &base[..base.rfind('/').map_or(0, |i| i + 1)]
        )
    };
    from.with_path(&path).map_err(|e| {
        format!(
            "redirect to {}: {e}",
            probe_core::text::escape_control(location)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;

    #[test]
    fn partial_endpoints_are_completed() {
        assert_eq!(normalize("127.0.0.1:9/x"), "http://127.0.0.1:9/x");
        assert_eq!(
            normalize("http://web:8000"),
            "http://web:8000/_healthz/livez/"
        );
        assert_eq!(normalize("/_healthz/"), "http://localhost:8000/_healthz/");
        assert_eq!(normalize("HTTP://h/"), "http://h/");
        assert_eq!(
            normalize("127.0.0.1:8000?format=json"),
            "http://127.0.0.1:8000/_healthz/livez/?format=json"
        );
        assert_eq!(
            normalize("web:8000/_healthz/?format=json"),
            "http://web:8000/_healthz/?format=json"
        );
        assert_eq!(
            normalize("?format=text"),
            "http://localhost:8000/_healthz/livez/?format=text"
        );
        assert_eq!(normalize("tcp://db:5432"), "tcp://db:5432");
    }

    fn args(url: &str, max_age: Option<f64>) -> CheckArgs {
        CheckArgs {
            url: Some(url.to_owned()),
            endpoint: None,
            timeout: "3".to_owned(),
            max_age: max_age.map(|m| m.to_string()),
            ca_file: None,
        }
    }

    #[test]
    fn max_age_belongs_to_file_targets_only() {
        let p = plan(&args("file:///tmp/w.live", Some(70.0)), &MapEnv::default()).unwrap();
        assert_eq!(p.max_age, Some(Duration::from_secs(70)));
        assert_eq!(p.url, "file:///tmp/w.live");
        let e = plan(&args("http://h/", Some(70.0)), &MapEnv::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--max-age: only applies to file:// targets");
        let e = plan(&args("file:///tmp/x", Some(-1.0)), &MapEnv::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--max-age: "), "{e}");
        assert!(plan(&args("file://", None), &MapEnv::default()).is_err());
    }

    #[test]
    fn bad_ports_and_addresses_are_usage_errors() {
        for (url, expected) in [
            (
                "http://127.0.0.1:99999/",
                "URL: invalid port \"99999\" (expected 1 to 65535) in URL http://127.0.0.1:99999/",
            ),
            (
                "127.0.0.1:-1",
                "URL: invalid port \"-1\" (expected 1 to 65535) in URL http://127.0.0.1:-1/_healthz/livez/",
            ),
            (
                "tcp://127.0.0.1:99999",
                "URL: invalid port \"99999\" (expected 1 to 65535) in tcp://127.0.0.1:99999",
            ),
            ("tcp://db", "URL: no port in \"db\" (write host:port, e.g. db:5432) in tcp://db"),
            ("gopher://h/", "URL: unsupported scheme `gopher` (only http and https)"),
        ] {
            assert_eq!(plan(&args(url, None), &MapEnv::default()).unwrap_err().to_string(), expected);
        }
        assert!(plan(&args("tcp://127.0.0.1:1", None), &MapEnv::default()).is_ok());
    }

    #[test]
    fn relative_redirects_resolve_against_the_current_path() {
        let t = Target::parse("http://h:1/a/b?q").unwrap();
        assert_eq!(follow(&t, "/c").unwrap().path(), "/c");
        assert_eq!(follow(&t, "c/").unwrap().path(), "/a/c/");
        assert_eq!(follow(&t, "http://o:2/d").unwrap().addr(), "o:2");
        let e = follow(&t, "/a\tb\u{7f}").unwrap_err();
        assert!(!e.contains(['\t', '\u{7f}']), "{e}");
    }
}
