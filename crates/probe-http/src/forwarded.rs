//! The origin a client used to reach this server (scheme and host), for absolute redirect
//! locations.
//!
//! Without trust, the origin is `http://` and the request's own `Host` header: the server
//! only speaks plain HTTP, and a client-supplied forwarding header could otherwise point a
//! redirect anywhere. With trust (a proxy in front that sets these headers and strips what
//! clients send), the origin comes from, in order of preference:
//!
//! - scheme: `Forwarded: proto=` (RFC 7239), then `X-Forwarded-Proto`, then `http`;
//! - host: `Forwarded: host=`, then `X-Forwarded-Host`, then `Host`.
//!
//! When several proxies appended to a header, the first element wins: it was written by
//! the proxy the client talked to. A value that is not a plain `http`/`https` scheme or a
//! plain host name (letters, digits, `-`, `.`, `_`, an optional port, or a bracketed IPv6
//! address) is ignored, so a header can never inject text into a `Location`.
//!
//! ```
//! use probe_http::forwarded::external_origin;
//!
//! let req = http::Request::get("/_healthz/livez")
//!     .header("host", "10.0.0.7:8080")
//!     .header("x-forwarded-proto", "https")
//!     .header("x-forwarded-host", "klant.example.org")
//!     .body(())
//!     .unwrap();
//! let (parts, ()) = req.into_parts();
//! let trusted = external_origin(&parts, true).unwrap();
//! assert_eq!(trusted.url("/_healthz/livez/"), "https://klant.example.org/_healthz/livez/");
//! let untrusted = external_origin(&parts, false).unwrap();
//! assert_eq!(untrusted.url("/_healthz/livez/"), "http://10.0.0.7:8080/_healthz/livez/");
//! ```

use http::header::{HeaderName, HOST};
use http::request::Parts;

/// `Forwarded` (RFC 7239).
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
/// `X-Forwarded-Proto`.
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Scheme and host of the URL a client used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The host, with its port if one was given (`example.org`, `10.0.0.7:8080`, `[::1]:80`).
    pub host: String,
}

impl Origin {
    /// The absolute URL of `path_and_query` (which starts with `/`) at this origin.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}://{}{path_and_query}", self.scheme, self.host)
    }
}

/// The origin of the request in `parts`, believing forwarding headers only when
/// `trust_forwarded`; `None` when no usable host is known (then only a relative
/// location can be given).
pub fn external_origin(parts: &Parts, trust_forwarded: bool) -> Option<Origin> {
    let own_host = own_host(parts);
    if !trust_forwarded {
        return own_host.map(|host| Origin {
            scheme: "http",
            host,
        });
    }
    let forwarded = first_value(parts, &FORWARDED).map(|v| forwarded_pair(&v));
    let (f_proto, f_host) = forwarded.unwrap_or((None, None));
    let scheme = f_proto
        .as_deref()
        .and_then(scheme)
        .or_else(|| first_value(parts, &X_FORWARDED_PROTO).and_then(|v| scheme(&v)))
        .unwrap_or("http");
    let host = f_host
        .filter(|h| valid_host(h))
        .or_else(|| first_value(parts, &X_FORWARDED_HOST).filter(|h| valid_host(h)))
        .or(own_host)?;
    Some(Origin { scheme, host })
}

/// The location to send a client to for `path_and_query`: absolute at the request's
/// origin when one is known, otherwise `path_and_query` itself.
pub fn location(parts: &Parts, trust_forwarded: bool, path_and_query: &str) -> String {
    match external_origin(parts, trust_forwarded) {
        Some(origin) => origin.url(path_and_query),
        None => path_and_query.to_owned(),
    }
}

/// The request's own host: the `Host` header, or the authority of an absolute-form
/// request target.
pub(crate) fn own_host(parts: &Parts) -> Option<String> {
    let raw = match parts.headers.get(HOST) {
        Some(v) => v.to_str().ok()?.trim().to_owned(),
        None => parts.uri.authority()?.as_str().to_owned(),
    };
    valid_host(&raw).then_some(raw)
}

/// The first comma-separated element of the first `name` header, trimmed.
fn first_value(parts: &Parts, name: &HeaderName) -> Option<String> {
    let raw = parts.headers.get(name)?.to_str().ok()?;
    let first = split_outside_quotes(raw, ',').next()?.trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// `proto` and `host` of one `Forwarded` element (`for=…;proto=https;host=a.example`).
fn forwarded_pair(element: &str) -> (Option<String>, Option<String>) {
    let (mut proto, mut host) = (None, None);
    for pair in split_outside_quotes(element, ';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match name.trim().to_ascii_lowercase().as_str() {
            "proto" if proto.is_none() => proto = Some(value),
            "host" if host.is_none() => host = Some(value),
            _ => {}
        }
    }
    (proto, host)
}

/// Splits `s` at `sep`, except inside a quoted string (with `\` escapes).
fn split_outside_quotes(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter()
}

/// A token as is; a quoted string without its quotes and escapes.
fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if c == '\\' && !escaped {
                    escaped = true;
                } else {
                    out.push(c);
                    escaped = false;
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

fn scheme(v: &str) -> Option<&'static str> {
    if v.eq_ignore_ascii_case("https") {
        Some("https")
    } else if v.eq_ignore_ascii_case("http") {
        Some("http")
    } else {
        None
    }
}

/// A host name or address with an optional port, and nothing else.
pub(crate) fn valid_host(h: &str) -> bool {
    let (name, port) = split_port(h);
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    };
    port_ok && name_ok
}

/// `host:port` into its parts; a bracketed IPv6 address keeps its brackets.
pub(crate) fn split_port(h: &str) -> (&str, Option<&str>) {
    if h.starts_with('[') {
        return match h.find(']') {
            Some(end) => {
                let (name, rest) = h.split_at(end + 1);
                match rest.strip_prefix(':') {
                    Some(port) => (name, Some(port)),
                    None if rest.is_empty() => (name, None),
                    None => (h, None),
                }
            }
            None => (h, None),
        };
    }
    match h.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (h, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::get("/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn origin(headers: &[(&str, &str)], trust: bool) -> Option<String> {
        external_origin(&parts(headers), trust).map(|o| o.url(""))
    }

    #[test]
    fn untrusted_requests_use_their_own_host_and_plain_http() {
        let h = [
            ("host", "web:8000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "proto=https;host=evil.example"),
        ];
        assert_eq!(origin(&h, false).as_deref(), Some("http://web:8000"));
        assert_eq!(origin(&[], false), None);
    }

    #[test]
    fn trusted_x_forwarded_headers_replace_scheme_and_host() {
        let h = [
            ("host", "web:8000"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "klant.example.org, web"),
        ];
        assert_eq!(
            origin(&h, true).as_deref(),
            Some("https://klant.example.org")
        );
        // The proto alone: the host stays the request's own.
        let h = [("host", "web:8000"), ("x-forwarded-proto", "HTTPS")];
        assert_eq!(origin(&h, true).as_deref(), Some("https://web:8000"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_and_reads_quoted_values() {
        let h = [
            ("host", "web:8000"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "other.example"),
            (
                "forwarded",
                "for=\"[2001:db8::1]:4711\";Proto=https;host=\"klant.example.org:8443\", for=10.0.0.1;proto=http",
            ),
        ];
        assert_eq!(
            origin(&h, true).as_deref(),
            Some("https://klant.example.org:8443")
        );
        // Forwarded without host= falls back to X-Forwarded-Host.
        let h = [
            ("host", "web"),
            ("forwarded", "for=1.2.3.4;proto=https"),
            ("x-forwarded-host", "a.example"),
        ];
        assert_eq!(origin(&h, true).as_deref(), Some("https://a.example"));
    }

    #[test]
    fn unusable_forwarded_values_are_ignored() {
        let h = [
            ("host", "web:8000"),
            ("x-forwarded-proto", "javascript"),
            ("x-forwarded-host", "evil.example/path?x"),
            ("forwarded", "host=\"a b\";proto=ftp"),
        ];
        assert_eq!(origin(&h, true).as_deref(), Some("http://web:8000"));
        assert_eq!(origin(&[("host", "a\"b")], false), None);
    }

    #[test]
    fn hosts_are_names_or_addresses_with_an_optional_port() {
        for ok in [
            "localhost",
            "a.example:8080",
            "10.0.0.7:80",
            "[::1]",
            "[::1]:8080",
            "my_host",
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "", "a b", "a/b", "a@b", "a:", "a:x", "[::1", "[]", "a:123456", "[::1]x",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
        assert_eq!(split_port("[::1]:80"), ("[::1]", Some("80")));
        assert_eq!(split_port("a.example"), ("a.example", None));
    }

    #[test]
    fn a_location_without_a_known_origin_is_relative() {
        assert_eq!(location(&parts(&[]), true, "/a/?q=1"), "/a/?q=1");
        assert_eq!(
            location(&parts(&[("host", "h:1")]), false, "/a/"),
            "http://h:1/a/"
        );
    }
}
