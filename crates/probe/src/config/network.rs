//! The check types that look at a network endpoint: `tcp` (a connection) and `http` (a
//! request and its status).

use probe_core::checks::{HttpCheck, TcpCheck};

use super::built::Built;
use super::{tls, ConfigError, Fields};

/// `tcp`: `address` (required), `host:port`.
pub(super) fn tcp(f: &mut Fields) -> Result<Built, ConfigError> {
    Ok(Built::one(TcpCheck::new(f.required_string("address")?)))
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
