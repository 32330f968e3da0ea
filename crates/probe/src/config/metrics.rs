//! `[server]` keys for `/metrics`: `metrics` (serve it) and `metrics_clients` (the networks
//! that may scrape it).

use probe_http::ClientAllowList;

use super::{ConfigError, Fields};

/// Reads `metrics` (default false) and `metrics_clients` (default: every client that may
/// reach the port). An empty list is refused (nobody could scrape), and so is a list with
/// `metrics` off (it would guard nothing).
pub(super) fn parse(f: &mut Fields) -> Result<(bool, Option<ClientAllowList>), ConfigError> {
    let on = f.bool("metrics")?.unwrap_or(false);
    let clients = super::access::networks(f, "metrics_clients", "scrape")?;
    if clients.is_some() && !on {
        return Err(f.error(
            "metrics_clients",
            "set, but /metrics is off: add metrics = true, or leave the key out",
        ));
    }
    Ok((on, clients))
}

#[cfg(test)]
mod tests {

    use crate::config::testing::server;

    #[test]
    fn metrics_are_off_unless_asked_and_their_clients_are_checked() {
        let off = server("").unwrap();
        assert!(!off.metrics);
        assert!(off.metrics_clients.is_none());
        let on = server("metrics = true\nmetrics_clients = [\"127.0.0.0/8\"]").unwrap();
        assert!(on.metrics);
        let local = "127.0.0.9:1".parse().ok();
        let remote = "10.0.0.1:1".parse().ok();
        let clients = on.metrics_clients.unwrap();
        assert!(clients.allows(local) && !clients.allows(remote));

        let err = server("metrics = true\nmetrics_clients = []").unwrap_err();
        assert!(err.starts_with("server.metrics_clients: empty"), "{err}");
        let err = server("metrics_clients = [\"127.0.0.0/8\"]").unwrap_err();
        assert!(
            err.starts_with("server.metrics_clients: set, but /metrics is off"),
            "{err}"
        );
        let err = server("metrics = true\nmetrics_clients = [\"nowhere\"]").unwrap_err();
        assert!(err.starts_with("server.metrics_clients: "), "{err}");
        let err = server("metrics = \"yes\"").unwrap_err();
        assert!(err.starts_with("server.metrics: "), "{err}");
    }
}
