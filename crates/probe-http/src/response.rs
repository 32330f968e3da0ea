//! Building responses: the body type and the headers every probe answer carries.

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, StatusCode};
use http_body_util::Full;

/// The body of every answer: one buffer, its length known up front.
pub type Body = Full<Bytes>;

/// An answer.
pub type Response = http::Response<Body>;

/// `text/plain; charset=utf-8`.
pub const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// An answer with `status`, `content_type` and `body`, never cached. For `HEAD` the body
/// is left out but its length is kept. Every secret the process holds
/// ([`probe_core::secrets`]) is masked in the body, whatever produced it.
pub fn answer(
    method: &Method,
    status: StatusCode,
    content_type: HeaderValue,
    body: impl Into<Bytes>,
) -> Response {
    let mut body = body.into();
    if let Some(clean) = probe_core::secrets::scrub_bytes(&body) {
        body = Bytes::from(clean);
    }
    let mut resp = http::Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, content_type);
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if method == Method::HEAD {
        h.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    } else {
        *resp.body_mut() = Full::new(body);
    }
    resp
}

/// 404 with a short text body.
pub fn not_found(method: &Method) -> Response {
    answer(method, StatusCode::NOT_FOUND, TEXT, "not found\n")
}

/// 405 with `Allow: GET, HEAD`.
pub fn method_not_allowed() -> Response {
    let mut resp = answer(
        &Method::GET,
        StatusCode::METHOD_NOT_ALLOWED,
        TEXT,
        "method not allowed\n",
    );
    resp.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    resp
}
