//! Who is asking: the client's address, and how much of the truth it may see.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The client's socket address, put in a request's extensions by the server.
///
/// An embedder mounting the service elsewhere inserts it to get the loopback privileges
/// of the [`Details::Local`] policy; without it a client counts as remote. With the `axum`
/// feature, axum's `ConnectInfo<SocketAddr>` (an application served with
/// `into_make_service_with_connect_info::<SocketAddr>()`) does the same when this one is
/// absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The client's address from a request's extensions: [`ClientAddr`], or else (with the
/// `axum` feature) axum's `ConnectInfo<SocketAddr>`.
pub(crate) fn client_addr(extensions: &http::Extensions) -> Option<SocketAddr> {
    if let Some(ClientAddr(addr)) = extensions.get::<ClientAddr>() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<::axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0);
    }
    None
}

/// Which clients see check messages (the reason a check failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Details {
    /// Nobody: every message reads `reason withheld`.
    Never,
    /// Clients on loopback (127.0.0.0/8, ::1) see messages; others see `reason withheld`.
    #[default]
    Local,
    /// Everybody.
    Always,
}

impl Details {
    /// Whether a client at `client` sees messages.
    pub fn shows(self, client: Option<SocketAddr>) -> bool {
        match self {
            Details::Never => false,
            Details::Always => true,
            Details::Local => client.is_some_and(|c| is_loopback(c.ip())),
        }
    }
}

impl FromStr for Details {
    type Err = probe_core::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "never" => Ok(Details::Never),
            "local" => Ok(Details::Local),
            "always" => Ok(Details::Always),
            _ => Err(probe_core::ParseError::new(
                "details policy",
                s,
                "never, local, always",
            )),
        }
    }
}

/// Loopback, including IPv4-mapped IPv6 loopback (`::ffff:127.0.0.1`).
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "axum")]
    #[test]
    fn axum_connect_info_is_the_client_unless_a_client_addr_is_there() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        let mut ext = http::Extensions::new();
        assert_eq!(client_addr(&ext), None);
        ext.insert(::axum::extract::ConnectInfo(at("127.0.0.1:40000")));
        assert_eq!(client_addr(&ext), Some(at("127.0.0.1:40000")));
        ext.insert(ClientAddr(at("10.0.0.7:1")));
        assert_eq!(client_addr(&ext), Some(at("10.0.0.7:1")));
    }

    #[test]
    fn only_loopback_clients_see_details_by_default() {
        let at = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        assert!(Details::Local.shows(at("127.0.0.1:1")));
        assert!(Details::Local.shows(at("127.8.9.1:1")));
        assert!(Details::Local.shows(at("[::1]:1")));
        assert!(Details::Local.shows(at("[::ffff:127.0.0.1]:1")));
        assert!(!Details::Local.shows(at("10.0.0.7:1")));
        assert!(!Details::Local.shows(None));
        assert!(!Details::Never.shows(at("127.0.0.1:1")));
        assert!(Details::Always.shows(at("10.0.0.7:1")));
        assert_eq!("LOCAL".parse::<Details>(), Ok(Details::Local));
        assert!("some".parse::<Details>().is_err());
    }
}
