//! The check types that look at a network endpoint: `tcp` (a connection) and `http` (a
//! request and its status).

use probe_core::checks::{HttpCheck, TcpCheck};

use super::built::Built;
use super::{tls, ConfigError, Fields};

/// `tcp`: `address` (required), `host:port` with a port of 1 to 65535 (`[::1]:80` for IPv6).
pub(super) fn tcp(f: &mut Fields) -> Result<Built, ConfigError> {
    let address = f.required_string("address")?;
    probe_core::endpoint::parse_address(&address).map_err(|e| f.error("address", e))?;
    Ok(Built::one(TcpCheck::new(address)))
}

/// `http`: `url` (required) and `ca_file` (for `https://`).
pub(super) fn http(f: &mut Fields) -> Result<Built, ConfigError> {
    let url = f.required_string("url")?;
    let mut check = HttpCheck::new(&url).map_err(|e| f.error("url", e.to_string()))?;
    if let Some(tls) = tls::ca_file(f, &url)? {
        check = check.tls(tls);
    }
    Ok(Built::one(check))
}

#[cfg(test)]
mod tests {
    use crate::config::testing::refused;

    #[test]
    fn tcp_addresses_and_http_ports_are_checked_at_load() {
        for (address, why) in [
            ("", "empty"),
            ("host", "no port in \"host\""),
            (":65536", "no host"),
            ("[::1", "an IPv6 address lacks its closing `]`"),
            ("h:99999", "invalid port \"99999\" (expected 1 to 65535)"),
        ] {
            let e = refused(&format!("type = \"tcp\"\naddress = {address:?}"));
            assert!(e.starts_with("check[0] \"c\".address: "), "{address}: {e}");
            assert!(e.contains(why), "{address}: {e}");
        }
        for port in ["99999", "65536", "-1", "abc"] {
            let e = refused(&format!(
                "type = \"http\"\nurl = \"http://127.0.0.1:{port}/\""
            ));
            assert_eq!(
                e,
                format!("check[0] \"c\".url: invalid port \"{port}\" (expected 1 to 65535) in URL http://127.0.0.1:{port}/")
            );
            let e = refused(&format!(
                "type = \"kafka-connect\"\nurl = \"http://127.0.0.1:{port}\""
            ));
            assert!(e.starts_with("check[0] \"c\".url: "), "{e}");
            assert!(e.contains(&format!("invalid port \"{port}\"")), "{e}");
        }
    }
}
