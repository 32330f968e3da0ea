//! The broker URL, as Celery's `broker_url` setting spells it for Redis.

use std::fmt;

use crate::text::{percent_decode, redact};

/// The broker URL could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BrokerUrlError {
    /// Not `redis://host[:port][/db]`.
    #[error("invalid broker URL {url}: {reason}")]
    Invalid {
        /// The URL, password masked.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A scheme this ping does not speak (`rediss`, `amqp`, `sentinel`, ...).
    #[error("unsupported broker URL scheme `{0}` (only redis:// is supported)")]
    Scheme(String),
}

/// A Redis broker: where it is, which database, and how to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisBroker {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) db: u32,
    pub(super) username: Option<String>,
    pub(super) password: Option<String>,
}

impl RedisBroker {
    /// Parses `redis://[[user]:password@]host[:port][/db]` (port 6379 and database 0 by
    /// default; a query string is ignored). The password is kept for `AUTH` and never
    /// shown.
    pub fn parse(url: &str) -> Result<RedisBroker, BrokerUrlError> {
        crate::secrets::register_in(url);
        let invalid = |reason| BrokerUrlError::Invalid {
            url: redact(url),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected redis://host:port/db"))?;
        if !scheme.eq_ignore_ascii_case("redis") {
            return Err(BrokerUrlError::Scheme(scheme.to_owned()));
        }
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| invalid("unclosed [ in the host"))?;
            if !after.is_empty() && !after.starts_with(':') {
                return Err(invalid("unexpected text after ] in the host"));
            }
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        // Celery reads `redis://` and `redis://:6379` as localhost; any other host must be
        // one a resolver can take.
        let host_ok = if hostport.starts_with('[') {
            host.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        };
        if !host_ok {
            return Err(invalid("the host has characters a host name cannot have"));
        }
        let host = if host.is_empty() { "localhost" } else { host };
        let port = match port {
            None | Some("") => 6379,
            Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(invalid("the port is not a number"))
            }
            Some(p) => p
                .parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))?,
        };
        let db = match path.trim_matches('/') {
            "" => 0,
            d => d
                .parse()
                .map_err(|_| invalid("the database is not a number"))?,
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (
                    Some(percent_decode(user)).filter(|s| !s.is_empty()),
                    Some(percent_decode(pass)),
                ),
                None => (None, Some(percent_decode(u))),
            },
        };
        Ok(RedisBroker {
            host: host.to_owned(),
            port,
            db,
            username,
            password,
        })
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The database number.
    pub fn db(&self) -> u32 {
        self.db
    }
}

/// Shows `redis://host:port/db`, never the credentials.
impl fmt::Display for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}/{}", self.addr(), self.db)
    }
}

impl fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_localhost_6379_database_0() {
        let b = RedisBroker::parse("redis://").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.db), ("localhost", 6379, 0));
        let b = RedisBroker::parse("redis://redis:6379/0").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.db), ("redis", 6379, 0));
    }

    #[test]
    fn database_port_and_ipv6_hosts_are_read() {
        let b = RedisBroker::parse("redis://[::1]:6380/9?socket_timeout=3").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.db), ("::1", 6380, 9));
        assert_eq!(b.addr(), "[::1]:6380");
        assert_eq!(b.to_string(), "redis://[::1]:6380/9");
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let b = RedisBroker::parse("redis://:s%40cret@h/1").unwrap();
        assert_eq!(
            (b.username.as_deref(), b.password.as_deref()),
            (None, Some("s@cret"))
        );
        let b = RedisBroker::parse("redis://app:pw@h").unwrap();
        assert_eq!(
            (b.username.as_deref(), b.password.as_deref()),
            (Some("app"), Some("pw"))
        );
        assert_eq!(format!("{b} {b:?}"), "redis://h:6379/0 redis://h:6379/0");
    }

    #[test]
    fn bad_urls_are_errors_that_hide_the_password() {
        let e = RedisBroker::parse("redis://:pw@h:port/0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid broker URL redis://:***@h:port/0: the port is not a number"
        );
        let e = RedisBroker::parse("redis://h/x").unwrap_err();
        assert!(e.to_string().ends_with("the database is not a number"));
        for (url, why) in [
            (
                "redis://h:99999/0",
                "the port is not a number from 1 to 65535",
            ),
            ("redis://h:0/0", "the port is not a number from 1 to 65535"),
            ("redis://h:+1/0", "the port is not a number"),
            (
                "redis://a b/0",
                "the host has characters a host name cannot have",
            ),
            (
                "redis://[zz]:1/0",
                "the host has characters a host name cannot have",
            ),
            ("redis://[::1]x/0", "unexpected text after ] in the host"),
        ] {
            let e = RedisBroker::parse(url).unwrap_err().to_string();
            assert!(e.ends_with(why), "{url}: {e}");
        }
        let e = RedisBroker::parse("amqp://guest:guest@h//").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported broker URL scheme `amqp` (only redis:// is supported)"
        );
        assert!(RedisBroker::parse("h:6379").is_err());
    }
}
