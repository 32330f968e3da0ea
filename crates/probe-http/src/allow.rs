//! Who may ask at all: a client allow-list of networks (nginx's `allow 127.0.0.1; deny
//! all;`) and a Host allow-list (Django's `ALLOWED_HOSTS`). Pure rules; the service
//! applies them to every request before any dialect sees it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::forwarded::split_port;

/// A network in CIDR notation: `10.0.0.0/8`, `::1/128`; a bare address is a network of one.
///
/// ```
/// use probe_http::Cidr;
///
/// let net: Cidr = "10.0.0.0/8".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("192.168.0.1".parse().unwrap()));
/// // A client seen on a dual-stack socket as ::ffff:10.1.2.3 is the same client.
/// assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A network that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid network {input:?}: {reason} (write e.g. \"10.0.0.0/8\" or \"::1/128\")")]
pub struct CidrError {
    input: String,
    reason: &'static str,
}

impl Cidr {
    /// The network of `addr` with `prefix` leading bits; the bits after the prefix are
    /// cleared (`10.1.2.3/8` is `10.0.0.0/8`, as nginx reads it).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(CidrError {
                input: format!("{addr}/{prefix}"),
                reason: if max == 32 {
                    "an IPv4 prefix is at most 32"
                } else {
                    "an IPv6 prefix is at most 128"
                },
            });
        }
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask32(prefix)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask128(prefix)).into()),
        };
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
    /// counts as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| CidrError {
            input: s.to_owned(),
            reason,
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err("not an IP address"))?;
        let prefix = match prefix {
            None => {
                if addr.is_ipv4() {
                    32
                } else {
                    128
                }
            }
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse()
                .map_err(|_| err("the prefix length is too long"))?,
            Some(_) => return Err(err("the prefix length is not a number")),
        };
        Cidr::new(addr, prefix).map_err(|e| CidrError {
            input: s.to_owned(),
            ..e
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The networks clients may come from; everyone else gets 403.
///
/// A request whose client address is unknown (no [`ClientAddr`](crate::ClientAddr)
/// extension) is not allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientAllowList(Vec<Cidr>);

impl ClientAllowList {
    /// Allows clients in any of `networks` (none at all: nobody is allowed).
    pub fn new(networks: impl IntoIterator<Item = Cidr>) -> Self {
        ClientAllowList(networks.into_iter().collect())
    }

    /// Whether `client` may ask.
    pub fn allows(&self, client: Option<SocketAddr>) -> bool {
        client.is_some_and(|c| self.0.iter().any(|net| net.contains(c.ip())))
    }
}

/// The host names a request may be addressed to, with Django's `ALLOWED_HOSTS`
/// semantics; any other `Host` (or none) gets 400.
///
/// A pattern is an exact name or address (`localhost`, `10.0.0.7`, `[::1]`), a name with
/// a leading dot for the domain and all its subdomains (`.example.org` matches
/// `example.org` and `a.b.example.org`), or `*` for any well-formed host. Names compare
/// case-insensitively, a trailing dot of the host is ignored, and so is its port. As in
/// Django, a `Host` that is not a well-formed host name (letters, digits, `-` and `.`, or
/// a bracketed IPv6 address, and an optional port) is never allowed, not even by `*`.
///
/// ```
/// use probe_http::AllowedHosts;
///
/// let hosts = AllowedHosts::new(["localhost", ".example.org"]).unwrap();
/// assert!(hosts.allows(Some("localhost:8000")));
/// assert!(hosts.allows(Some("klant.example.org")));
/// assert!(!hosts.allows(Some("example.com")));
/// assert!(!hosts.allows(None));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

/// A host pattern that can never match.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid host pattern {0:?}: write a name (\"localhost\"), a domain with its subdomains (\".example.org\"), an address, or \"*\"; without a port")]
pub struct HostPatternError(String);

impl AllowedHosts {
    /// The allow-list of `patterns`.
    pub fn new<S: AsRef<str>>(
        patterns: impl IntoIterator<Item = S>,
    ) -> Result<Self, HostPatternError> {
        patterns
            .into_iter()
            .map(|p| {
                let p = p.as_ref().trim().to_ascii_lowercase();
                let name = p.strip_prefix('.').unwrap_or(&p);
                if p == "*" || well_formed_name(name) {
                    Ok(p)
                } else {
                    Err(HostPatternError(p))
                }
            })
            .collect::<Result<_, _>>()
            .map(AllowedHosts)
    }

    /// Whether a request with the `Host` header `host` is allowed.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        let (name, port) = split_port(host.trim());
        if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        let name = name.to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name);
        if !well_formed_name(name) {
            return false;
        }
        self.0.iter().any(|p| {
            p == "*"
                || p == name
                || p.strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(p.as_str()))
        })
    }
}

/// Django's host grammar without the port: `[a-z0-9.-]+` or a bracketed IPv6 address.
fn well_formed_name(name: &str) -> bool {
    if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return v6.contains(':')
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let lo: Cidr = "127.0.0.1/32".parse().unwrap();
        assert!(lo.contains(ip("127.0.0.1")));
        assert!(!lo.contains(ip("127.0.0.2")));
        assert!(lo.contains(ip("::ffff:127.0.0.1")));
        assert!(!lo.contains(ip("::1")));
        let v6: Cidr = "::1/128".parse().unwrap();
        assert!(v6.contains(ip("::1")));
        assert!(!v6.contains(ip("127.0.0.1")));
        let ten: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(ten.contains(ip("10.255.0.1")) && !ten.contains(ip("11.0.0.1")));
        let docs: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(docs.contains(ip("2001:db8:1::5")) && !docs.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("2001:db8::1")));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
    }

    #[test]
    fn networks_parse_like_nginx_writes_them() {
        assert_eq!(
            "127.0.0.1".parse::<Cidr>().unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        assert_eq!(
            "10.1.2.3/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/-1",
            "10.0.0.0/99999",
        ] {
            let e = bad.parse::<Cidr>().unwrap_err().to_string();
            assert!(e.starts_with("invalid network"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_client_list_needs_a_known_client_in_a_listed_network() {
        let list =
            ClientAllowList::new(["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()]);
        let at = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert!(list.allows(at("127.0.0.1:5000")));
        assert!(list.allows(at("[::1]:5000")));
        assert!(list.allows(at("[::ffff:127.0.0.1]:5000")));
        assert!(!list.allows(at("127.0.0.2:5000")));
        assert!(!list.allows(None));
        assert!(!ClientAllowList::new([]).allows(at("127.0.0.1:1")));
    }

    #[test]
    fn hosts_follow_django_allowed_hosts() {
        let h = AllowedHosts::new(["localhost", ".Example.org", "10.0.0.7", "[::1]"]).unwrap();
        for ok in [
            "localhost",
            "LOCALHOST:8000",
            "localhost.",
            "example.org",
            "a.b.example.org:443",
            "10.0.0.7:8080",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(h.allows(Some(ok)), "{ok}");
        }
        for bad in [
            "example.com",
            "badexample.org",
            "localhost.example.com",
            "10.0.0.8",
            "[::2]",
            "",
            "local host",
            "localhost:x",
            "localhost:",
        ] {
            assert!(!h.allows(Some(bad)), "{bad}");
        }
        assert!(!h.allows(None));
    }

    #[test]
    fn the_wildcard_allows_every_well_formed_host_only() {
        let any = AllowedHosts::new(["*"]).unwrap();
        assert!(any.allows(Some("anything.example:1")));
        assert!(!any.allows(Some("under_score")));
        assert!(!any.allows(Some("a/b")));
        assert!(!any.allows(None));
    }

    #[test]
    fn patterns_that_cannot_match_are_refused() {
        for bad in ["localhost:8000", "", "a b", "*.example.org", "http://x"] {
            assert!(AllowedHosts::new([bad]).is_err(), "{bad}");
        }
    }
}
