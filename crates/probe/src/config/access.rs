//! `[server]` keys for who may ask: `allow_clients` (networks) and `allowed_hosts`
//! (Django's `ALLOWED_HOSTS`).

use probe_http::{AllowedHosts, Cidr, ClientAllowList};

use super::{ConfigError, Fields};

/// Reads `allow_clients` and `allowed_hosts`; absent keys allow everyone, an empty list
/// is refused (it would answer nobody).
pub(super) fn parse(
    f: &mut Fields,
) -> Result<(Option<ClientAllowList>, Option<AllowedHosts>), ConfigError> {
    let clients = networks(f, "allow_clients", "ask")?;
    let hosts = match f.strings("allowed_hosts")? {
        Some(list) if list.is_empty() => {
            return Err(f.error(
                "allowed_hosts",
                "empty: no request could be answered (leave the key out to allow any host)",
            ))
        }
        Some(list) => {
            Some(AllowedHosts::new(&list).map_err(|e| f.error("allowed_hosts", e.to_string()))?)
        }
        None => None,
    };
    Ok((clients, hosts))
}

/// Reads the list of networks `key` (`["127.0.0.0/8", "::1/128"]`): absent is `None`
/// (everyone), an empty list is refused (no client could `act`), each entry must be a CIDR.
pub(super) fn networks(
    f: &mut Fields,
    key: &'static str,
    act: &str,
) -> Result<Option<ClientAllowList>, ConfigError> {
    match f.strings(key)? {
        Some(list) if list.is_empty() => Err(f.error(
            key,
            format!("empty: no client could {act} (leave the key out to allow every client)"),
        )),
        Some(list) => {
            let nets = list
                .iter()
                .map(|s| s.parse::<Cidr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| f.error(key, e.to_string()))?;
            Ok(Some(ClientAllowList::new(nets)))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use crate::config::testing::server;

    #[test]
    fn allow_lists_are_read_from_the_server_table() {
        let s = server(
            "allow_clients = [\"127.0.0.1/32\", \"::1/128\"]\nallowed_hosts = [\"localhost\", \".example.org\"]",
        )
        .unwrap();
        let clients = s.allow_clients.unwrap();
        let at = |a: &str| Some(a.parse::<SocketAddr>().unwrap());
        assert!(clients.allows(at("127.0.0.1:1")) && clients.allows(at("[::1]:1")));
        assert!(!clients.allows(at("10.0.0.1:1")));
        let hosts = s.allowed_hosts.unwrap();
        assert!(hosts.allows(Some("a.example.org:8080")) && !hosts.allows(Some("evil.example")));
        let none = server("").unwrap();
        assert!(none.allow_clients.is_none() && none.allowed_hosts.is_none());
    }

    #[test]
    fn bad_or_empty_lists_name_their_key() {
        let e = server("allow_clients = [\"10.0.0.0/33\"]").unwrap_err();
        assert!(
            e.starts_with("server.allow_clients: invalid network \"10.0.0.0/33\""),
            "{e}"
        );
        let e = server("allow_clients = []").unwrap_err();
        assert!(e.starts_with("server.allow_clients: empty"), "{e}");
        let e = server("allowed_hosts = [\"localhost:8000\"]").unwrap_err();
        assert!(
            e.starts_with("server.allowed_hosts: invalid host pattern"),
            "{e}"
        );
        let e = server("allowed_hosts = []").unwrap_err();
        assert!(e.starts_with("server.allowed_hosts: empty"), "{e}");
        let e = server("allow_clients = 3").unwrap_err();
        assert!(e.starts_with("server.allow_clients: expected"), "{e}");
    }
}
