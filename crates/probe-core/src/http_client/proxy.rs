//! Reaching a target through an HTTP proxy: `http://` requests in absolute form,
//! `https://` through a `CONNECT` tunnel, as curl and Python's requests do.

use http::header::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{basic_auth, HttpError};
use crate::text::{io_reason, percent_decode, redact};

/// The most of a proxy's answer to `CONNECT` that is read before the tunnel.
const MAX_CONNECT_ANSWER: usize = 8 * 1024;

/// An HTTP proxy, `http://[user:password@]host[:port]` (port 80 by default, as curl's
/// is 1080 and requests' 80; a proxy URL without a scheme reads as `http://`).
/// Credentials become `Proxy-Authorization: Basic`.
///
/// ```
/// use probe_core::http_client::Proxy;
/// let p = Proxy::parse("http://proxy.internal:3128").unwrap();
/// assert_eq!(p.addr(), "proxy.internal:3128");
/// assert!(Proxy::parse("socks5://proxy:1080").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Proxy {
    host: String,
    port: u16,
    basic: Option<HeaderValue>,
}

impl Proxy {
    /// Parses a proxy URL, as `HTTP_PROXY` holds it.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let rest = match url.split_once("://") {
            Some((s, r)) if s.eq_ignore_ascii_case("http") => r,
            Some(_) => {
                return Err(HttpError::InvalidUrl(format!(
                    "{} (a proxy is asked over plain http://)",
                    redact(url)
                )))
            }
            None => url,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if host_port.is_empty() {
            return Err(HttpError::InvalidUrl(redact(url)));
        }
        let (host, port) =
            crate::endpoint::split_host_port(host_port).map_err(|reason| HttpError::Address {
                url: redact(url),
                reason,
            })?;
        let basic = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            let mut v = basic_auth(&percent_decode(user), &percent_decode(pass));
            v.set_sensitive(true);
            v
        });
        Ok(Proxy {
            host,
            port: port.unwrap_or(80),
            basic,
        })
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `Proxy-Authorization`, when the URL had credentials.
    pub(super) fn authorization(&self) -> Option<&HeaderValue> {
        self.basic.as_ref()
    }

    /// A connection to the proxy itself.
    pub(super) async fn connect(&self) -> Result<TcpStream, HttpError> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| HttpError::Connect {
                addr: format!("the proxy {}", self.addr()),
                reason: io_reason(&e),
            })?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// A tunnel to `authority` (`host:port`) through the proxy: `CONNECT`, then the
    /// stream once the proxy answered 2xx.
    pub(super) async fn tunnel(&self, authority: &str) -> Result<TcpStream, HttpError> {
        let mut stream = self.connect().await?;
        let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(auth) = self.basic.as_ref().and_then(|v| v.to_str().ok()) {
            req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        req.push_str("\r\n");
        let failed = |reason: String| HttpError::Protocol {
            addr: format!("the proxy {}", self.addr()),
            reason,
        };
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| failed(io_reason(&e)))?;
        // Read byte by byte up to the blank line: nothing of the tunnel may be consumed.
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= MAX_CONNECT_ANSWER {
                return Err(failed(format!(
                    "its answer to CONNECT is longer than {MAX_CONNECT_ANSWER} bytes"
                )));
            }
            let byte = stream.read_u8().await.map_err(|e| {
                failed(format!(
                    "it closed the connection before answering CONNECT ({})",
                    io_reason(&e)
                ))
            })?;
            head.push(byte);
        }
        let line = String::from_utf8_lossy(&head);
        let line = line.lines().next().unwrap_or("");
        match line.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok()) {
            Some(200..=299) => Ok(stream),
            Some(code) => Err(failed(format!(
                "it refused CONNECT {authority} with {code}"
            ))),
            None => Err(failed(format!(
                "its answer to CONNECT is not HTTP: {}",
                crate::text::escape_control(line)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_strictly_and_hide_their_password() {
        let p = Proxy::parse("http://user:s3cret@proxy:3128/").unwrap();
        assert_eq!(p.addr(), "proxy:3128");
        assert!(p.authorization().is_some());
        assert!(!format!("{p:?}").contains("s3cret"));
        assert!(!format!("{p:?}").contains("czNjcmV0"), "{p:?}");
        assert_eq!(
            Proxy::parse("proxy.internal").unwrap().addr(),
            "proxy.internal:80"
        );
        assert_eq!(
            Proxy::parse("HTTP://[::1]:8080").unwrap().addr(),
            "[::1]:8080"
        );
        for bad in [
            "https://proxy:443",
            "socks5://p:1",
            "http://",
            "http://p:99999",
        ] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
    }
}
