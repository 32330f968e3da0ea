//! A minimal HTTP/1.1 server for the stand-ins: request heads in, complete responses out,
//! keep-alive, nothing else. It is written from RFC 9112 rather than taken from hyper so
//! that depending on the test support never pulls an HTTP server into `probe-core`.

use std::future::Future;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request head accepted; a longer one closes the connection.
const MAX_HEAD: usize = 64 * 1024;

/// What a server that speaks only plain HTTP answers to bytes that are not a request, such
/// as a TLS handshake, before it closes the connection (as nginx and most servers do).
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Serves requests on `stream` (plain TCP, or TLS from [`crate::tls`]) until the client
/// closes it, answering each with `handler`. Request bodies are read and dropped. Bytes
/// that cannot start a request (a TLS handshake sent to a plain port) get `400 Bad
/// Request` and the connection is closed.
pub async fn serve_connection<S, F, Fut>(mut stream: S, mut handler: F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Request<()>) -> Fut,
    Fut: Future<Output = Response<Full<Bytes>>>,
{
    let mut buf = Vec::with_capacity(1024);
    loop {
        let Some(end) = read_head(&mut stream, &mut buf).await else {
            if buf.first().is_some_and(|b| !b.is_ascii_uppercase()) {
                let _ = stream.write_all(BAD_REQUEST).await;
                let _ = stream.shutdown().await;
            }
            return;
        };
        let Some((req, body_len)) = parse_head(&buf[..end]) else {
            return;
        };
        buf.drain(..end);
        if !skip_body(&mut stream, &mut buf, body_len).await {
            return;
        }
        let close = req
            .headers()
            .get(http::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let head_only = req.method() == http::Method::HEAD;
        // While the answer is pending, notice a client that gives up and closes.
        let answer = handler(req);
        tokio::pin!(answer);
        let resp = loop {
            let mut chunk = [0u8; 1024];
            tokio::select! {
                resp = &mut answer => break resp,
                read = stream.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                },
            }
        };
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\n",
            parts.status.as_u16(),
            parts.status.canonical_reason().unwrap_or("")
        )
        .into_bytes();
        for (name, value) in &parts.headers {
            if name != http::header::CONTENT_LENGTH {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        if close {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(&body);
        }
        if stream.write_all(&out).await.is_err() || close {
            return;
        }
    }
}

/// Reads until `buf` holds a whole head; returns its length (with the blank line).
/// `None` when the client closes first, the head is too long, or the bytes cannot be one
/// (a request starts with an upper-case method name).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        if buf.len() > MAX_HEAD || buf.first().is_some_and(|b| !b.is_ascii_uppercase()) {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The request line and headers, and the declared body length.
fn parse_head(head: &[u8]) -> Option<(Request<()>, usize)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target, version) = (
        request_line.next()?,
        request_line.next()?,
        request_line.next()?,
    );
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut req = Request::builder().method(method).uri(target);
    let mut body_len = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        let (name, value) = (
            HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            value.trim(),
        );
        if name == http::header::CONTENT_LENGTH {
            body_len = value.parse().ok()?;
        }
        req = req.header(name, HeaderValue::from_str(value).ok()?);
    }
    Some((req.body(()).ok()?, body_len))
}

/// Drops `len` body bytes, some of which may already be in `buf`.
async fn skip_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    mut len: usize,
) -> bool {
    let buffered = len.min(buf.len());
    buf.drain(..buffered);
    len -= buffered;
    let mut chunk = [0u8; 4096];
    while len > 0 {
        match stream.read(&mut chunk[..len.min(4096)]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => len -= n,
        }
    }
    true
}
