//! `probe check grpc://HOST:PORT[?service=NAME]`: one gRPC health `Check`, the way the
//! kubelet's `grpc` probe asks it (plain HTTP/2, no TLS), with `probe check`'s one line.

use std::fmt::Write as _;
use std::time::Duration;

use probe_grpc::client::{self, CheckError};
use probe_grpc::pb::health_check_response::ServingStatus;

use crate::check_cmd::Verdict;
use crate::config::ConfigError;

/// Where to ask, and for which service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcTarget {
    /// `host:port`, as connected to.
    pub addr: String,
    /// The `service` of the request (`""`: the server's overall health).
    pub service: String,
}

/// Reads a `grpc://` URL strictly: a host and a port, an optional `/`, and no query but
/// one `service=NAME` (percent-encoding allowed). Anything else is a [`ConfigError`]
/// (exit 64).
pub fn parse(url: &str) -> Result<GrpcTarget, ConfigError> {
    let bad = |problem: String| ConfigError::key("URL", problem);
    let Some(rest) = url.strip_prefix("grpc://") else {
        return Err(bad("a gRPC target starts with grpc://".into()));
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.strip_suffix('/').unwrap_or(before_query);
    if authority.contains('/') {
        return Err(bad(
            "a grpc:// URL has no path: name the service with ?service=NAME".into(),
        ));
    }
    if authority.contains('@') {
        return Err(bad("a grpc:// URL takes no user or password".into()));
    }
    let addr = host_port(authority).ok_or_else(|| {
        bad("grpc:// needs HOST:PORT (write e.g. grpc://127.0.0.1:8080?service=readiness)".into())
    })?;
    let mut service = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "service" {
            return Err(bad(format!(
                "unknown query parameter {:?} (grpc:// takes only ?service=NAME)",
                bounded(key)
            )));
        }
        if service.is_some() {
            return Err(bad("service= given twice".into()));
        }
        service = Some(
            percent_decode(value)
                .ok_or_else(|| bad("service= is not valid percent-encoded UTF-8".into()))?,
        );
    }
    Ok(GrpcTarget {
        addr,
        service: service.unwrap_or_default(),
    })
}

/// `host:port` with a non-zero port; an IPv6 host in brackets.
fn host_port(authority: &str) -> Option<String> {
    let (host, port) = authority.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_';
    let ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => !host.is_empty() && host.chars().all(plain),
    };
    ok.then(|| format!("{host}:{port}"))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// At most 64 characters of `s` on one line: text from the command line or the server.
fn bounded(s: &str) -> String {
    let short: String = s.chars().take(64).collect();
    let mut out = one_line(&short);
    if short.len() < s.len() {
        out.push_str("...");
    }
    out
}

/// `line` with control characters escaped (a server's message may hold any).
fn one_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Asks `target` within `timeout`: up when it answers `SERVING`.
pub async fn check(target: &GrpcTarget, timeout: Duration) -> Verdict {
    match client::check(&target.addr, &target.service, timeout).await {
        Ok(ServingStatus::Serving) => Verdict::Up("UP, status: SERVING".to_owned()),
        Ok(other) => Verdict::Down(format!("DOWN, status: {}", other.as_str_name())),
        Err(CheckError::UnknownService(name)) => {
            Verdict::Down(format!("DOWN (unknown service {:?})", bounded(&name)))
        }
        Err(e) => Verdict::Down(format!("DOWN ({})", one_line(&e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(addr: &str, service: &str) -> Result<GrpcTarget, String> {
        Ok(GrpcTarget {
            addr: addr.to_owned(),
            service: service.to_owned(),
        })
    }

    fn parsed(url: &str) -> Result<GrpcTarget, String> {
        parse(url).map_err(|e| e.to_string())
    }

    #[test]
    fn grpc_urls_name_a_port_and_at_most_a_service() {
        assert_eq!(
            parsed("grpc://127.0.0.1:8080"),
            target("127.0.0.1:8080", "")
        );
        assert_eq!(parsed("grpc://web:8080/"), target("web:8080", ""));
        assert_eq!(
            parsed("grpc://[::1]:9000?service=liveness"),
            target("[::1]:9000", "liveness")
        );
        assert_eq!(
            parsed("grpc://h:1/?service=my.pkg.Svc"),
            target("h:1", "my.pkg.Svc")
        );
        assert_eq!(parsed("grpc://h:1?service="), target("h:1", ""));
        assert_eq!(parsed("grpc://h:1?service=a%2Fb"), target("h:1", "a/b"));
    }

    #[test]
    fn anything_else_in_a_grpc_url_is_refused() {
        for (url, says) in [
            ("grpc://", "needs HOST:PORT"),
            ("grpc://h", "needs HOST:PORT"),
            ("grpc://h:", "needs HOST:PORT"),
            ("grpc://h:0", "needs HOST:PORT"),
            ("grpc://h:70000", "needs HOST:PORT"),
            ("grpc://:80", "needs HOST:PORT"),
            ("grpc://h:+80", "needs HOST:PORT"),
            ("grpc://[::1:80", "needs HOST:PORT"),
            ("grpc://h h:80", "needs HOST:PORT"),
            ("grpc://u:p@h:80", "no user or password"),
            ("grpc://h:80/readiness", "has no path"),
            ("grpc://h:80?svc=x", "unknown query parameter \"svc\""),
            ("grpc://h:80?service=a&service=b", "given twice"),
            ("grpc://h:80?service=%zz", "percent-encoded"),
            ("grpc://h:80?service=%ff", "percent-encoded"),
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(e.starts_with("URL: ") && e.contains(says), "{url}: {e}");
        }
    }

    #[test]
    fn shown_text_stays_on_one_short_line() {
        assert_eq!(bounded("a\nb"), "a\\nb");
        assert_eq!(bounded(&"x".repeat(100)), format!("{}...", "x".repeat(64)));
        assert_eq!(one_line("bad\r\nline"), "bad\\r\\nline");
    }
}
