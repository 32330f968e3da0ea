//! The URL of a dependency (`redis://user:pass@host:6379/0`), parsed once, shown redacted.
//!
//! The cache, database and broker checks all take a URL of the same shape:
//! `scheme://[user[:password]@]host[:port][/path][?query]`. The user and password are
//! percent-decoded; the password is kept apart and never printed: [`Endpoint`]'s `Debug`
//! and [`Endpoint::shown`] leave it out, and [`Endpoint::scrub`] removes it from any text a
//! server sent back. Parsing registers the URL's secrets (its password, a `password=`
//! parameter) with [`crate::secrets`], so every message leaving the process is scrubbed of them.

use std::fmt;

use crate::text::redact;

/// A URL that is not a usable address for a check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid URL `{url}`: {reason}")]
pub struct UrlError {
    /// The URL, with any password replaced by `***`.
    url: String,
    /// What is wrong with it.
    reason: String,
}

impl UrlError {
    pub(crate) fn new(url: &str, reason: impl Into<String>) -> Self {
        UrlError {
            url: redact(url),
            reason: reason.into(),
        }
    }
}

/// A parsed dependency URL: where to connect, as whom, and how to show it safely.
///
/// ```
/// use probe_core::endpoint::Endpoint;
///
/// let e = Endpoint::parse("redis://app:s3cret@127.0.0.1/2", &["redis"], 6379).unwrap();
/// assert_eq!(e.addr(), "127.0.0.1:6379");
/// assert_eq!(e.user(), Some("app"));
/// assert_eq!(e.password(), Some("s3cret"));
/// assert_eq!(e.path(), "2");
/// assert_eq!(e.shown(), "redis://app:***@127.0.0.1/2");
/// assert!(!format!("{e:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: String,
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    path: String,
    query: Vec<(String, String)>,
    shown: String,
}

impl Endpoint {
    /// Parses `url`, whose scheme must be one of `schemes`; `default_port` applies when
    /// the URL names none.
    pub fn parse(url: &str, schemes: &[&str], default_port: u16) -> Result<Self, UrlError> {
        let url = url.trim();
        crate::secrets::register_in(url);
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| UrlError::new(url, format!("expected {}://host", schemes[0])))?;
        let scheme = scheme.to_ascii_lowercase();
        if !schemes.contains(&scheme.as_str()) {
            return Err(UrlError::new(
                url,
                format!(
                    "unsupported scheme `{scheme}` (expected {})",
                    schemes.join(" or ")
                ),
            ));
        }
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(auth_end);
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (u, p) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let u = percent_decode(u).filter(|u| !u.is_empty());
                let p = match p {
                    Some(p) => Some(
                        percent_decode(p)
                            .ok_or_else(|| UrlError::new(url, "the password is not UTF-8"))?,
                    ),
                    None => None,
                };
                (u, p.filter(|p| !p.is_empty()))
            }
        };
        let (host, port) = split_host_port(hostport).map_err(|r| UrlError::new(url, r))?;
        let port = port.unwrap_or(default_port);
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, q),
            None => (tail, ""),
        };
        let path = path.strip_prefix('/').unwrap_or(path);
        let path =
            percent_decode(path).ok_or_else(|| UrlError::new(url, "the path is not UTF-8"))?;
        let query = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (
                    percent_decode(k).unwrap_or_default(),
                    percent_decode(v).unwrap_or_default(),
                )
            })
            .collect();
        Ok(Endpoint {
            scheme,
            host,
            port,
            user,
            password,
            path,
            query,
            shown: redact(url),
        })
    }

    /// The scheme, lower-case.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host name or IP literal (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` (`[::1]:6379` for IPv6), for connecting and for messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The user name, percent-decoded, if the URL has one.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password, percent-decoded, if the URL has one. Never print it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The path without its leading `/`, percent-decoded (a database name or number).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value of query parameter `key`, if present.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The URL as given, with the password replaced by `***`: safe for messages and logs.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` with every occurrence of the password replaced by `***`, for text that a
    /// server or a client library produced and that might echo it.
    /// Every other registered secret ([`crate::secrets`]) is removed too.
    pub fn scrub(&self, text: &str) -> String {
        let text = match self.password.as_deref() {
            Some(p) if !p.is_empty() => text.replace(p, "***"),
            _ => text.to_owned(),
        };
        crate::secrets::scrub(&text).into_owned()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Endpoint").field(&self.shown).finish()
    }
}

/// Splits `host[:port]` (`[v6]:port` for IPv6) strictly: a host must be present, made of
/// the characters a host name or IP literal may hold (IPv6 in balanced brackets), and a
/// port is 1 to 65535 written in digits only. `Ok((host, None))` when no port is given;
/// the error is the reason, quoting the input with control characters escaped.
///
/// ```
/// use probe_core::endpoint::split_host_port;
///
/// assert_eq!(split_host_port("[::1]:80").unwrap(), ("::1".to_owned(), Some(80)));
/// assert_eq!(split_host_port("db").unwrap(), ("db".to_owned(), None));
/// assert_eq!(split_host_port("db:99999").unwrap_err(), "invalid port \"99999\" (expected 1 to 65535)");
/// ```
pub fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address lacks its closing `]`")?;
        if !is_ipv6_literal(h) {
            return Err(format!("invalid IPv6 address {}", quoted(h)));
        }
        match after {
            "" => (h, None),
            p => (
                h,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("unexpected text {} after `]`", quoted(p)))?,
                ),
            ),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err("an IPv6 address must be written in brackets, e.g. [::1]:6379".into())
            }
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if host.contains(']') || (!hostport.starts_with('[') && !is_host_name(host)) {
        return Err(format!("invalid host {}", quoted(host)));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok((host.to_owned(), port))
}

/// A `host:port` address that must name its port, as a `tcp` check takes it; the error
/// is the reason, as [`split_host_port`] gives it.
///
/// ```
/// use probe_core::endpoint::parse_address;
///
/// assert_eq!(parse_address("db:5432").unwrap(), ("db".to_owned(), 5432));
/// assert!(parse_address("db").is_err());
/// assert!(parse_address("[::1").is_err());
/// ```
pub fn parse_address(address: &str) -> Result<(String, u16), String> {
    if address.is_empty() {
        return Err("empty (write host:port, e.g. db:5432 or [::1]:5432)".into());
    }
    match split_host_port(address)? {
        (host, Some(port)) => Ok((host, port)),
        (_, None) => Err(format!(
            "no port in {} (write host:port, e.g. db:5432)",
            quoted(address)
        )),
    }
}

/// A port: digits only, 1 to 65535.
fn parse_port(p: &str) -> Result<u16, String> {
    p.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| p.parse::<u16>().ok())
        .flatten()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("invalid port {} (expected 1 to 65535)", quoted(p)))
}

/// A registered name or IPv4 literal: unreserved characters, sub-delimiters being
/// refused because no resolver takes them; `%` for percent-escapes.
fn is_host_name(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%'))
}

/// An IPv6 address, with an optional zone (`fe80::1%eth0`).
fn is_ipv6_literal(h: &str) -> bool {
    let (addr, zone) = h.split_once('%').unwrap_or((h, ""));
    addr.parse::<std::net::Ipv6Addr>().is_ok()
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// `s` in double quotes, control characters escaped.
fn quoted(s: &str) -> String {
    format!("{:?}", s)
}

#[cfg(any(feature = "mysql", feature = "amqp", feature = "memcached"))]
impl Endpoint {
    /// A fresh TCP connection to the endpoint; the error is the check's failure message,
    /// `cannot connect to host:port: <reason>`.
    pub(crate) async fn connect(&self) -> Result<tokio::net::TcpStream, String> {
        tokio::net::TcpStream::connect((self.host(), self.port()))
            .await
            .map_err(|err| {
                format!(
                    "cannot connect to {}: {}",
                    self.addr(),
                    crate::text::io_reason(&err)
                )
            })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    String::from_utf8(crate::text::percent_decode_bytes(s)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_splits_into_its_parts() {
        let e = Endpoint::parse(
            "postgres://app:p%40ss%3Aw@db.internal:5433/my%20db?sslmode=disable",
            &["postgres", "postgresql"],
            5432,
        )
        .unwrap();
        assert_eq!(e.host(), "db.internal");
        assert_eq!(e.port(), 5433);
        assert_eq!(e.user(), Some("app"));
        assert_eq!(e.password(), Some("p@ss:w"));
        assert_eq!(e.path(), "my db");
        assert_eq!(e.query("sslmode"), Some("disable"));
        assert_eq!(
            e.shown(),
            "postgres://app:***@db.internal:5433/my%20db?sslmode=disable"
        );
    }

    #[test]
    fn defaults_and_ipv6_literals() {
        let e = Endpoint::parse("REDIS://[::1]", &["redis"], 6379).unwrap();
        assert_eq!(
            (e.host(), e.port(), e.addr().as_str()),
            ("::1", 6379, "[::1]:6379")
        );
        assert_eq!(e.user(), None);
        assert_eq!(e.path(), "");
        let e = Endpoint::parse("redis://:only-pass@h:1", &["redis"], 6379).unwrap();
        assert_eq!((e.user(), e.password()), (None, Some("only-pass")));
    }

    #[test]
    fn bad_urls_are_refused_without_leaking_the_password() {
        for (url, why) in [
            ("127.0.0.1:6379", "expected redis://"),
            ("http://h:1", "unsupported scheme `http`"),
            ("redis://u:pw-secret@h:99999", "invalid port \"99999\""),
            ("redis://u:pw-secret@:1", "no host"),
            ("redis://::1:6379", "brackets"),
            ("redis://[::1:6379", "closing"),
            ("redis://u:pw-secret@h:+1", "invalid port \"+1\""),
            ("redis://u:pw-secret@h:0", "invalid port \"0\""),
            ("redis://u:pw-secret@h:-1", "invalid port \"-1\""),
            ("redis://u:pw-secret@h:abc", "invalid port \"abc\""),
            ("redis://a b", "invalid host \"a b\""),
            ("redis://[zz]:1", "invalid IPv6 address"),
            ("redis://[::1]x", "unexpected text"),
            ("redis://h\r\n:1", "invalid host \"h\\r\\n\""),
        ] {
            let err = Endpoint::parse(url, &["redis"], 6379)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("pw-secret"), "{err}");
        }
    }

    #[test]
    fn addresses_need_a_host_and_a_port_in_range() {
        assert_eq!(
            parse_address("127.0.0.1:1").unwrap(),
            ("127.0.0.1".into(), 1)
        );
        assert_eq!(parse_address("[::1]:65535").unwrap(), ("::1".into(), 65535));
        for (bad, why) in [
            ("", "empty"),
            ("host", "no port"),
            (":65536", "no host"),
            ("h:65536", "invalid port \"65536\""),
            ("h:99999", "invalid port \"99999\""),
            ("[::1", "closing"),
            ("::1:80", "brackets"),
            ("h:", "no port"),
        ] {
            let err = parse_address(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn scrub_removes_the_password_from_server_text() {
        let e = Endpoint::parse("redis://u:hunter2@h", &["redis"], 6379).unwrap();
        assert_eq!(e.scrub("ERR hunter2 is wrong"), "ERR *** is wrong");
        let e = Endpoint::parse("redis://h", &["redis"], 6379).unwrap();
        assert_eq!(e.scrub("text"), "text");
    }
}
