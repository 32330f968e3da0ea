//! A small HTTP/1.1 client on hyper: one GET (or bodiless POST) per connection, a bounded
//! body, plain errors.
//!
//! Used by the `http` check and the Kafka Connect check, and by `probe check`; built with
//! the cargo feature `http`. Speaks `http://` and, with the cargo feature `tls`,
//! `https://` (see [`TlsConfig`] for what is trusted). Callers bound the time with `tokio::time::timeout`;
//! everything here is cancel-safe.

use std::fmt;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, HOST, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::text::{base64, io_reason, percent_decode, redact};

mod proxy;
mod tls;

pub use self::proxy::Proxy;
pub use self::tls::{TlsConfig, TlsConfigError, TlsOptions};

/// The default cap on a response body read by a check: 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Why a GET did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL does not parse, or has no host.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL's host or port is not usable: a port out of 1 to 65535 or not in digits,
    /// no host, unbalanced IPv6 brackets.
    #[error("{reason} in URL {url}")]
    Address {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What is wrong: `invalid port "99999" (expected 1 to 65535)`.
        reason: String,
    },
    /// Only `http://` and `https://` are spoken here.
    #[error("unsupported scheme `{0}` (only http and https)")]
    UnsupportedScheme(String),
    /// An `https://` URL, and this build has no TLS (cargo feature `tls`).
    #[error("https needs TLS, which this build leaves out (probe-core feature `tls`)")]
    TlsUnavailable,
    /// The TCP connection failed.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// A plain reason: connection refused, host not found, ...
        reason: String,
    },
    /// The TLS handshake failed: an untrusted or mismatched certificate, a server that
    /// does not speak TLS...
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls {
        /// `host:port`.
        addr: String,
        /// What went wrong, in rustls's words.
        reason: String,
    },
    /// The server broke the HTTP exchange.
    #[error("HTTP error from {addr}: {reason}")]
    Protocol {
        /// `host:port`.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The body was larger than allowed.
    #[error("response body from {addr} is larger than {limit} bytes")]
    BodyTooLarge {
        /// `host:port`.
        addr: String,
        /// The cap.
        limit: usize,
    },
}

/// A response: status, headers and the (bounded) body.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body, at most the cap given to [`get`].
    pub body: Bytes,
}

/// A parsed `http://` or `https://` target, ready to GET.
///
/// ```
/// use probe_core::http_client::Target;
///
/// let t = Target::parse("http://admin:secret@connect.internal/connect").unwrap();
/// assert_eq!(t.to_string(), "http://connect.internal:80/connect");
/// # #[cfg(feature = "tls")] {
/// let t = Target::parse("https://admin:secret@connect.internal/connect").unwrap();
/// assert_eq!(t.to_string(), "https://connect.internal:443/connect");
/// assert!(t.is_https());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Target {
    https: bool,
    host: String,
    port: u16,
    authority: HeaderValue,
    path: Uri,
    basic: Option<HeaderValue>,
    /// Extra headers sent with every request (a bearer token, a gateway's key), each
    /// marked sensitive.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// For `https://`: what to trust (the system's store unless replaced).
    tls: Option<TlsConfig>,
    /// The proxy it is reached through, if any.
    proxy: Option<Proxy>,
}

impl Target {
    /// Parses an absolute `http(s)://[user:pass@]host[:port]/path?query` URL. Credentials in
    /// the URL become HTTP basic authentication. An `https://` target trusts the system's
    /// certificate store ([`TlsConfig::system`]) until [`Target::with_tls`] says otherwise.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        crate::secrets::register_in(url);
        let uri: Uri = url
            .parse()
            .map_err(|_| HttpError::InvalidUrl(redact(url)))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") if cfg!(feature = "tls") => true,
            Some("https") => return Err(HttpError::TlsUnavailable),
            Some(other) => return Err(HttpError::UnsupportedScheme(other.to_owned())),
            None => return Err(HttpError::InvalidUrl(redact(url))),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| HttpError::InvalidUrl(redact(url)))?;
        // A host that cannot be a certificate name is refused before any connection.
        #[cfg(feature = "tls")]
        if https
            && tls::server_name(auth.host().trim_start_matches('[').trim_end_matches(']')).is_none()
        {
            return Err(HttpError::InvalidUrl(redact(url)));
        }
        let host_port = auth.as_str().rsplit('@').next().unwrap_or(auth.as_str());
        let (host, port) =
            crate::endpoint::split_host_port(host_port).map_err(|reason| HttpError::Address {
                url: redact(url),
                reason,
            })?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        let authority =
            HeaderValue::from_str(host_port).map_err(|_| HttpError::InvalidUrl(redact(url)))?;
        let basic = match auth.as_str().rsplit_once('@') {
            Some((userinfo, _)) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let (user, pass) = (percent_decode(user), percent_decode(pass));
                crate::secrets::register_basic(&user, &pass);
                Some(basic_auth(&user, &pass))
            }
            None => None,
        };
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let path = path
            .parse()
            .map_err(|_| HttpError::InvalidUrl(redact(url)))?;
        let tls = if https {
            let system = TlsConfig::system().map_err(|e| HttpError::Tls {
                addr: format!("{host}:{port}"),
                reason: e.to_string(),
            })?;
            Some(system)
        } else {
            None
        };
        Ok(Target {
            https,
            host,
            port,
            authority,
            path,
            basic,
            headers: Vec::new(),
            tls,
            proxy: None,
        })
    }

    /// The same target reached through `proxy`: an `http://` request goes to the proxy in
    /// absolute form, an `https://` one through a `CONNECT` tunnel (TLS end to end).
    pub fn via(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The host name or address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The same target sending `name: value` with every request, in addition to (or, for
    /// `Authorization`, instead of) basic authentication. The value is marked sensitive and
    /// never shown.
    pub fn with_header(mut self, name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        // An upstream may echo the header back: its value (and a token after its scheme,
        // `Bearer <token>`) is masked in every message from now on.
        if let Ok(text) = value.to_str() {
            crate::secrets::register(text);
            if let Some((_, token)) = text.split_once(' ') {
                crate::secrets::register(token.trim());
            }
        }
        if name == AUTHORIZATION {
            self.basic = None;
        }
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        self
    }

    /// The same target trusting what `tls` trusts when it is `https://` (an `http://`
    /// target keeps it unused). Build `tls` once and share it: it is an `Arc`.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether this target is `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The same target with HTTP basic authentication.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        crate::secrets::register_basic(user, password);
        self.basic = Some(basic_auth(user, password));
        self
    }

    /// The same target with another path (and query), e.g. `/connectors`.
    pub fn with_path(&self, path_and_query: &str) -> Result<Self, HttpError> {
        let mut t = self.clone();
        t.path = path_and_query
            .parse()
            .map_err(|_| HttpError::InvalidUrl(crate::text::escape_control(path_and_query)))?;
        Ok(t)
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The path and query this target asks for.
    pub fn path(&self) -> &str {
        self.path
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    }
}

/// GETs `target` over a fresh connection (with a TLS handshake for `https://`) and reads
/// at most `max_body` bytes of the body.
pub async fn get(target: &Target, max_body: usize) -> Result<Response, HttpError> {
    request(Method::GET, target, max_body).await
}

/// POSTs to `target` with an empty body over a fresh connection, reading at most
/// `max_body` bytes of the answer (Kafka Connect's restart endpoints take no body).
pub async fn post(target: &Target, max_body: usize) -> Result<Response, HttpError> {
    request(Method::POST, target, max_body).await
}

async fn request(method: Method, target: &Target, max_body: usize) -> Result<Response, HttpError> {
    let addr = target.addr();
    let stream = match &target.proxy {
        Some(proxy) if target.https => proxy.tunnel(&addr).await?,
        Some(proxy) => proxy.connect().await?,
        None => {
            let stream = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|e| HttpError::Connect {
                    addr: addr.clone(),
                    reason: io_reason(&e),
                })?;
            let _ = stream.set_nodelay(true);
            stream
        }
    };
    if !target.https {
        return exchange(TokioIo::new(stream), method, target, max_body, addr).await;
    }
    #[cfg(feature = "tls")]
    {
        let config = match &target.tls {
            Some(config) => config.clone(),
            None => TlsConfig::system().map_err(|e| HttpError::Tls {
                addr: addr.clone(),
                reason: e.to_string(),
            })?,
        };
        let stream = tls::handshake(&config, &target.host, &addr, stream).await?;
        exchange(TokioIo::new(stream), method, target, max_body, addr).await
    }
    #[cfg(not(feature = "tls"))]
    Err(HttpError::TlsUnavailable)
}

/// One request and its bounded answer over an established connection.
async fn exchange<S>(
    io: S,
    method: Method,
    target: &Target,
    max_body: usize,
    addr: String,
) -> Result<Response, HttpError>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| HttpError::Protocol {
            addr: addr.clone(),
            reason: e.to_string(),
        })?;
    let conn = tokio::spawn(conn);
    // Through a proxy, plain HTTP asks for the whole URL (RFC 9112 §3.2.2).
    let uri = match (&target.proxy, target.https) {
        (Some(_), false) => format!(
            "http://{}{}",
            target.authority.to_str().unwrap_or(""),
            target.path()
        )
        .parse::<Uri>()
        .map_err(|e| HttpError::InvalidUrl(e.to_string()))?,
        _ => target.path.clone(),
    };
    let is_post = method == Method::POST;
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(HOST, target.authority.clone())
        .header(USER_AGENT, concat!("probe/", env!("CARGO_PKG_VERSION")))
        .body(Empty::<Bytes>::new())
        .map_err(|e| HttpError::InvalidUrl(e.to_string()))?;
    if is_post {
        req.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    if let Some(basic) = &target.basic {
        req.headers_mut().insert(AUTHORIZATION, basic.clone());
    }
    if let (Some(proxy), false) = (&target.proxy, target.https) {
        if let Some(auth) = proxy.authorization() {
            req.headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth.clone());
        }
    }
    for (name, value) in &target.headers {
        req.headers_mut().insert(name.clone(), value.clone());
    }
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| HttpError::Protocol {
                addr: addr.clone(),
                reason: hyper_reason(&e),
            })?;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, max_body).collect().await.map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                HttpError::BodyTooLarge {
                    addr: addr.clone(),
                    limit: max_body,
                }
            } else {
                HttpError::Protocol {
                    addr: addr.clone(),
                    reason: e.to_string(),
                }
            }
        })?;
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: body.to_bytes(),
        })
    }
    .await;
    conn.abort();
    result
}

fn hyper_reason(e: &hyper::Error) -> String {
    if e.is_incomplete_message() {
        "connection closed before a complete response".into()
    } else if e.is_parse() {
        "invalid HTTP response".into()
    } else {
        e.to_string()
    }
}

fn basic_auth(user: &str, password: &str) -> HeaderValue {
    let mut v = HeaderValue::from_str(&format!(
        "Basic {}",
        base64(format!("{user}:{password}").as_bytes())
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    v.set_sensitive(true);
    v
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.addr(), self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_credentials() {
        let t = Target::parse("http://admin:s3cret@connect.internal/").unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains(&base64(b"admin:s3cret")), "{shown}");
    }

    #[test]
    fn an_extra_header_is_a_secret_an_echo_cannot_show() {
        let _t = Target::parse("http://connect.internal/")
            .unwrap()
            .with_header(
                AUTHORIZATION,
                HeaderValue::from_static("Bearer tok-9f8e7d6c"),
            );
        let echoed = "401: invalid token tok-9f8e7d6c in Bearer tok-9f8e7d6c";
        let shown = crate::secrets::scrub(echoed);
        assert!(!shown.contains("tok-9f8e7d6c"), "{shown}");
    }

    #[test]
    fn targets_parse_credentials_into_basic_auth() {
        let t = Target::parse("http://user:p%40ss@127.0.0.1:8083/x?y").unwrap();
        assert_eq!(t.addr(), "127.0.0.1:8083");
        assert_eq!(t.path(), "/x?y");
        assert_eq!(
            t.basic.unwrap().to_str().unwrap(),
            format!("Basic {}", base64(b"user:p@ss"))
        );
        assert!(matches!(
            Target::parse("ftp://h/"),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Target::parse("h:1"),
            Err(HttpError::InvalidUrl(_)) | Err(HttpError::UnsupportedScheme(_))
        ));
        assert_eq!(Target::parse("http://[::1]:9/").unwrap().addr(), "[::1]:9");
    }

    #[test]
    fn bad_ports_and_hosts_are_refused_never_defaulted() {
        for (url, reason) in [
            (
                "http://127.0.0.1:99999/",
                "invalid port \"99999\" (expected 1 to 65535)",
            ),
            (
                "http://127.0.0.1:65536/",
                "invalid port \"65536\" (expected 1 to 65535)",
            ),
            (
                "http://127.0.0.1:-1/",
                "invalid port \"-1\" (expected 1 to 65535)",
            ),
            (
                "http://127.0.0.1:abc/",
                "invalid port \"abc\" (expected 1 to 65535)",
            ),
            (
                "http://127.0.0.1:0/",
                "invalid port \"0\" (expected 1 to 65535)",
            ),
            (
                "http://127.0.0.1:+80/",
                "invalid port \"+80\" (expected 1 to 65535)",
            ),
            (
                "http://u:s3cret@h:99999/",
                "invalid port \"99999\" (expected 1 to 65535)",
            ),
        ] {
            let err = Target::parse(url).unwrap_err().to_string();
            assert_eq!(err, format!("{reason} in URL {}", redact(url)));
            assert!(!err.contains("s3cret"), "{err}");
        }
        assert!(Target::parse("http://[::1/").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert_eq!(Target::parse("http://h:65535/").unwrap().addr(), "h:65535");
        assert_eq!(Target::parse("http://h:/").unwrap().addr(), "h:80");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn https_targets_default_to_port_443_and_the_system_store() {
        let t = Target::parse("https://u:pw@h/x").unwrap();
        assert!(t.is_https());
        assert_eq!(t.addr(), "h:443");
        assert_eq!(t.to_string(), "https://h:443/x");
        assert!(t.tls.is_some());
        assert_eq!(
            Target::parse("https://[::1]:8443/").unwrap().addr(),
            "[::1]:8443"
        );
        assert!(!Target::parse("http://h/").unwrap().is_https());
        // A host that cannot be a certificate name is refused before any connection.
        assert!(matches!(
            Target::parse("https://bad_host!/"),
            Err(HttpError::InvalidUrl(_))
        ));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_is_refused_plainly_without_tls() {
        let err = Target::parse("https://h/").unwrap_err();
        assert_eq!(
            err.to_string(),
            "https needs TLS, which this build leaves out (probe-core feature `tls`)"
        );
    }
}
