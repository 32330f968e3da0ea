//! `http`: a dependency is up when a GET answers 200–399, as the kubelet judges.

use crate::http_client::{self, Target, TlsConfig, DEFAULT_MAX_BODY};
use crate::text::redact;
use crate::{BoxFuture, Check, Outcome, Scope};

/// GETs a URL; passes on a status from 200 to 399 (redirects are not followed, as for
/// the kubelet). The body is read but bounded, so a huge answer cannot exhaust memory.
/// An `https://` URL is verified against the system's certificate store, plus a CA file
/// when one is given ([`HttpCheck::tls`]); a certificate that does not verify fails the check.
///
/// ```
/// use probe_core::checks::HttpCheck;
/// let upstream = HttpCheck::new("http://127.0.0.1:8000/healthz").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct HttpCheck {
    target: Target,
    shown: String,
    max_body: usize,
}

impl HttpCheck {
    /// A check of `url` (`http://` or `https://`; credentials in the URL become basic
    /// authentication and never appear in messages).
    pub fn new(url: &str) -> Result<Self, http_client::HttpError> {
        Ok(HttpCheck {
            target: Target::parse(url)?,
            shown: redact(url),
            max_body: DEFAULT_MAX_BODY,
        })
    }

    /// The same check trusting what `tls` trusts for an `https://` URL (built once, shared
    /// by every run).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.target = self.target.with_tls(tls);
        self
    }

    /// The same check reading at most `bytes` of the body.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

impl Check for HttpCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            match http_client::get(&self.target, self.max_body).await {
                Ok(r) if (200..400).contains(&r.status.as_u16()) => Outcome::pass()
                    .with_message(format!("GET {} answered {}", self.shown, r.status.as_u16())),
                Ok(r) => {
                    Outcome::fail(format!("GET {} answered {}", self.shown, r.status.as_u16()))
                }
                Err(e) => Outcome::fail(format!("GET {}: {e}", self.shown)),
            }
        })
    }
}
