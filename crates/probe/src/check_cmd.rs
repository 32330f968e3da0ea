//! `probe check`: one request, one line, exit 0 (up) or 1 (down). An exec probe for
//! containers without curl, in the output format of maykin-common's `health-check`.

use std::time::Duration;

use probe_core::checks::TcpCheck;
use probe_core::http_client::{self, redact, Target};
use probe_core::{Check, Status};

use crate::cli::CheckArgs;
use crate::config::ConfigError;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;
/// Docker keeps 4,096 bytes of a health check's output; stay well under.
const MAX_REASON: usize = 1000;

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
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let authority = if authority.is_empty() {
        "localhost:8000"
    } else {
        authority
    };
    let path = if path.is_empty() {
        "/_healthz/livez/"
    } else {
        path
    };
    format!("{scheme}://{authority}{path}")
}

/// Validates the arguments (bad values exit 64).
pub fn target(args: &CheckArgs) -> Result<(String, Duration), ConfigError> {
    let timeout = args
        .timeout
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t > 0.0 && *t < 1e9)
        .ok_or_else(|| {
            ConfigError::key(
                "--timeout",
                format!("{:?} is not a positive number of seconds", args.timeout),
            )
        })?;
    let raw = args
        .url
        .as_deref()
        .or(args.endpoint.as_deref())
        .unwrap_or("http://localhost:8000/_healthz/livez/");
    Ok((normalize(raw), Duration::from_secs_f64(timeout)))
}

/// Checks `url` within `timeout`.
pub async fn run(url: &str, timeout: Duration) -> Verdict {
    let verdict = match tokio::time::timeout(timeout, check(url)).await {
        Ok(v) => v,
        Err(_) => Verdict::Down(format!(
            "DOWN (timed out after {})",
            probe_core::time::human(timeout)
        )),
    };
    match verdict {
        Verdict::Down(s) if s.len() > MAX_REASON => {
            let mut cut = MAX_REASON;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            Verdict::Down(format!("{}...)", &s[..cut]))
        }
        v => v,
    }
}

async fn check(url: &str) -> Verdict {
    if let Some(addr) = url.strip_prefix("tcp://") {
        let outcome = TcpCheck::new(addr.trim_end_matches('/')).check().await;
        let message = outcome.message.unwrap_or_default();
        return match outcome.status {
            Status::Fail => Verdict::Down(format!("DOWN ({message})")),
            _ => Verdict::Up(format!("UP, {message}")),
        };
    }
    let mut target = match Target::parse(url) {
        Ok(t) => t,
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
                Ok(next) => target = next,
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
    from.with_path(&path)
        .map_err(|e| format!("redirect to {location}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_endpoints_are_completed() {
        assert_eq!(normalize("127.0.0.1:9/x"), "http://127.0.0.1:9/x");
        assert_eq!(
            normalize("http://web:8000"),
            "http://web:8000/_healthz/livez/"
        );
        assert_eq!(normalize("/_healthz/"), "http://localhost:8000/_healthz/");
        assert_eq!(normalize("HTTP://h/"), "http://h/");
        assert_eq!(normalize("tcp://db:5432"), "tcp://db:5432");
    }

    #[test]
    fn relative_redirects_resolve_against_the_current_path() {
        let t = Target::parse("http://h:1/a/b?q").unwrap();
        assert_eq!(follow(&t, "/c").unwrap().path(), "/c");
        assert_eq!(follow(&t, "c/").unwrap().path(), "/a/c/");
        assert_eq!(follow(&t, "http://o:2/d").unwrap().addr(), "o:2");
    }
}
