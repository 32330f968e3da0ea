//! Which proxy `probe check` goes through: `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` (the
//! lower-case forms first, as Python's requests reads them), for targets that are not
//! loopback.
//!
//! Loopback targets (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) never go through a
//! proxy. An exec probe asks the container it runs in; a proxy elsewhere cannot reach that
//! container's loopback, so a proxy variable meant for the application's outgoing traffic
//! would turn every probe into a failure (maykin-common's `health-check` has exactly that
//! problem unless `NO_PROXY` lists localhost).

use std::net::IpAddr;

use probe_core::http_client::{Proxy, Target};
use probe_http::Cidr;

use crate::config::ConfigError;
use crate::env::Env;

/// The proxies the environment names.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Vec<String>,
}

impl Proxies {
    /// Reads the variables; a proxy URL that does not parse exits 64 naming it.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let read = |name: &str| -> Result<Option<Proxy>, ConfigError> {
            let upper = name.to_ascii_uppercase();
            let (key, value) = match env.var(name).filter(|v| !v.is_empty()) {
                Some(v) => (name.to_owned(), v),
                None => match env.var(&upper).filter(|v| !v.is_empty()) {
                    Some(v) => (upper, v),
                    None => return Ok(None),
                },
            };
            Proxy::parse(&value)
                .map(Some)
                .map_err(|e| ConfigError::key(&key, e.to_string()))
        };
        let no_proxy = env
            .var("no_proxy")
            .or_else(|| env.var("NO_PROXY"))
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Proxies {
            http: read("http_proxy")?,
            https: read("https_proxy")?,
            no_proxy,
        })
    }

    /// `target` as it is to be reached: through the proxy for its scheme, unless it is
    /// loopback or `NO_PROXY` names it.
    pub fn route(&self, target: Target) -> Target {
        let proxy = if target.is_https() {
            &self.https
        } else {
            &self.http
        };
        match proxy {
            Some(p) if !is_loopback(target.host()) && !self.bypassed(target.host()) => {
                target.via(p.clone())
            }
            _ => target,
        }
    }

    /// Whether `NO_PROXY` names `host`: `*`, the host, a parent domain (`example.org` and
    /// `.example.org` both cover `klant.example.org`), or a network holding its address.
    fn bypassed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.no_proxy.iter().any(|entry| {
            let entry = entry.as_str();
            if entry == "*" {
                return true;
            }
            if let (Some(ip), Ok(net)) = (ip, entry.parse::<Cidr>()) {
                return net.contains(ip);
            }
            // `host:port` entries: the port is not compared.
            let name = match entry.rsplit_once(':') {
                Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
                _ => entry,
            };
            let name = name.trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
    }
}

/// `localhost`, a name under `.localhost`, or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;

    fn routed(env: &[(&str, &str)], url: &str) -> bool {
        let p = Proxies::from_env(&MapEnv::of(env)).unwrap();
        let t = p.route(Target::parse(url).unwrap());
        format!("{t:?}").contains("proxy: Some")
    }

    #[test]
    fn loopback_targets_never_go_through_a_proxy() {
        let env = [
            ("HTTP_PROXY", "http://proxy:3128"),
            ("HTTPS_PROXY", "http://proxy:3128"),
        ];
        for url in [
            "http://localhost:8000/",
            "http://LOCALHOST/",
            "http://web.localhost/",
            "http://127.0.0.1:8000/",
            "http://127.8.9.10/",
            "http://[::1]:8000/",
        ] {
            assert!(!routed(&env, url), "{url}");
        }
        assert!(routed(&env, "http://web:8000/"));
        assert!(routed(&env, "http://10.0.0.7/"));
    }

    #[test]
    fn each_scheme_has_its_variable_the_lower_case_one_first() {
        assert!(routed(&[("HTTP_PROXY", "proxy:3128")], "http://web/"));
        assert!(!routed(&[("HTTP_PROXY", "proxy:3128")], "https://web/"));
        assert!(routed(&[("https_proxy", "proxy:3128")], "https://web/"));
        let p = Proxies::from_env(&MapEnv::of(&[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
        ]))
        .unwrap();
        let t = p.route(Target::parse("http://web/").unwrap());
        assert!(format!("{t:?}").contains("lower"), "{t:?}");
        let e = Proxies::from_env(&MapEnv::of(&[("HTTPS_PROXY", "socks5://p:1")])).unwrap_err();
        assert!(e.to_string().starts_with("HTTPS_PROXY: "), "{e}");
    }

    #[test]
    fn no_proxy_names_hosts_domains_and_networks() {
        let env = |no: &'static str| vec![("HTTP_PROXY", "proxy:3128"), ("NO_PROXY", no)];
        assert!(!routed(&env("*"), "http://web/"));
        assert!(!routed(&env("web"), "http://web:8000/"));
        assert!(!routed(&env("example.org"), "http://klant.example.org/"));
        assert!(!routed(&env(".example.org"), "http://example.org/"));
        assert!(routed(&env("example.org"), "http://badexample.org/"));
        assert!(!routed(&env("10.0.0.0/8, other"), "http://10.1.2.3/"));
        assert!(!routed(&env("web:8000"), "http://web/"));
        assert!(routed(&env("db"), "http://web/"));
    }
}
