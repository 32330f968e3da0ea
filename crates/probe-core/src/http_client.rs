//! A small HTTP/1.1 client on hyper: one GET per connection, a bounded body, plain errors.
//!
//! Used by the `http` check and the Kafka Connect check, and by `probe check`. Callers
//! bound the time with `tokio::time::timeout`; everything here is cancel-safe.

use std::fmt;
use std::io;

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, HOST, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The default cap on a response body read by a check: 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Why a GET did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL does not parse, or has no host.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// Only `http://` is spoken here.
    #[error("unsupported scheme `{0}` (only http)")]
    UnsupportedScheme(String),
    /// The TCP connection failed.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// A plain reason: connection refused, host not found, ...
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

/// A parsed `http://` target, ready to GET.
#[derive(Clone, Debug)]
pub struct Target {
    host: String,
    port: u16,
    authority: HeaderValue,
    path: Uri,
    basic: Option<HeaderValue>,
}

impl Target {
    /// Parses an absolute `http://[user:pass@]host[:port]/path?query` URL. Credentials in
    /// the URL become HTTP basic authentication.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| HttpError::InvalidUrl(redact(url)))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(HttpError::UnsupportedScheme(other.to_owned())),
            None => return Err(HttpError::InvalidUrl(redact(url))),
        }
        let auth = uri
            .authority()
            .ok_or_else(|| HttpError::InvalidUrl(redact(url)))?;
        let host = auth
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(HttpError::InvalidUrl(redact(url)));
        }
        let port = auth.port_u16().unwrap_or(80);
        let host_port = auth.as_str().rsplit('@').next().unwrap_or(auth.as_str());
        let authority =
            HeaderValue::from_str(host_port).map_err(|_| HttpError::InvalidUrl(redact(url)))?;
        let basic = match auth.as_str().rsplit_once('@') {
            Some((userinfo, _)) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Some(basic_auth(&percent_decode(user), &percent_decode(pass)))
            }
            None => None,
        };
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let path = path
            .parse()
            .map_err(|_| HttpError::InvalidUrl(redact(url)))?;
        Ok(Target {
            host,
            port,
            authority,
            path,
            basic,
        })
    }

    /// The same target with HTTP basic authentication.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        self.basic = Some(basic_auth(user, password));
        self
    }

    /// The same target with another path (and query), e.g. `/connectors`.
    pub fn with_path(&self, path_and_query: &str) -> Result<Self, HttpError> {
        let mut t = self.clone();
        t.path = path_and_query
            .parse()
            .map_err(|_| HttpError::InvalidUrl(path_and_query.to_owned()))?;
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

/// GETs `target` over a fresh connection and reads at most `max_body` bytes of the body.
pub async fn get(target: &Target, max_body: usize) -> Result<Response, HttpError> {
    let addr = target.addr();
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| HttpError::Connect {
            addr: addr.clone(),
            reason: io_reason(&e),
        })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| HttpError::Protocol {
            addr: addr.clone(),
            reason: e.to_string(),
        })?;
    let conn = tokio::spawn(conn);
    let mut req = Request::get(target.path.clone())
        .header(HOST, target.authority.clone())
        .header(USER_AGENT, concat!("probe/", env!("CARGO_PKG_VERSION")))
        .body(Empty::<Bytes>::new())
        .map_err(|e| HttpError::InvalidUrl(e.to_string()))?;
    if let Some(basic) = &target.basic {
        req.headers_mut().insert(AUTHORIZATION, basic.clone());
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

/// `url` with any password replaced by `***`, safe for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{}{masked}{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// A plain reason for an I/O error, without "(os error N)".
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::TimedOut => "timed out".into(),
        io::ErrorKind::UnexpectedEof => "connection closed".into(),
        io::ErrorKind::AddrNotAvailable => "address not available".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
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

/// Standard base64 with padding.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `s` with `%XX` escapes decoded, invalid UTF-8 replaced.
pub(crate) fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s)).into_owned()
}

/// The bytes `s` stands for once its `%XX` escapes are decoded; a `%` not followed by two
/// hex digits stands for itself.
pub(crate) fn percent_decode_bytes(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.addr(), self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact("http://u:s3cret@h:1/p?q=1"),
            "http://u:***@h:1/p?q=1"
        );
        assert_eq!(redact("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("http://token@h/"), "http://***@h/");
        assert_eq!(redact("http://h/a@b"), "http://h/a@b");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
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
            Target::parse("https://h/"),
            Err(HttpError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Target::parse("h:1"),
            Err(HttpError::InvalidUrl(_)) | Err(HttpError::UnsupportedScheme(_))
        ));
        assert_eq!(Target::parse("http://[::1]:9/").unwrap().addr(), "[::1]:9");
    }
}
