//! `ProbeService`: the one hyper `Service`, dispatching to dialects under an optional prefix.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderValue, CONNECTION};
use http::{Request, StatusCode, Version};
use probe_core::Shutdown;

use crate::access::client_addr;
use crate::dialect::{Dialect, Req};
use crate::response::{answer, not_found, TEXT};
use crate::{AllowedHosts, ClientAllowList, Query, Response};

/// Builds a [`ProbeService`].
#[derive(Default)]
pub struct ServiceBuilder {
    dialects: Vec<Box<dyn Dialect>>,
    fallback: Option<Box<dyn Dialect>>,
    prefix: String,
    clients: Option<ClientAllowList>,
    hosts: Option<AllowedHosts>,
}

impl ServiceBuilder {
    /// Adds a dialect; dialects are asked in the order they were added.
    pub fn dialect(mut self, dialect: impl Dialect) -> Self {
        self.dialects.push(Box::new(dialect));
        self
    }

    /// Adds an already boxed dialect.
    pub fn boxed_dialect(mut self, dialect: Box<dyn Dialect>) -> Self {
        self.dialects.push(dialect);
        self
    }

    /// Sets the dialect asked last, after every dialect added with
    /// [`dialect`](Self::dialect) whatever the order of the calls: one that answers every
    /// path, such as the `connect` dialect (it claims `/` and 404s what it does not know),
    /// so the other dialects on the port keep their routes. A second call replaces the
    /// first.
    pub fn fallback(mut self, dialect: impl Dialect) -> Self {
        self.fallback = Some(Box::new(dialect));
        self
    }

    /// [`fallback`](Self::fallback) with an already boxed dialect.
    pub fn boxed_fallback(mut self, dialect: Box<dyn Dialect>) -> Self {
        self.fallback = Some(dialect);
        self
    }

    /// Serves every route under `prefix` (e.g. `/kpow`); `""` or `/` for none.
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.prefix = normalize_prefix(prefix);
        self
    }

    /// Answers only clients in `clients` (403 to others, and to requests whose client
    /// address is unknown), for every route of every dialect.
    pub fn allow_clients(mut self, clients: ClientAllowList) -> Self {
        self.clients = Some(clients);
        self
    }

    /// Answers only requests whose `Host` is in `hosts` (400 to others, and to requests
    /// without one), for every route of every dialect.
    pub fn allowed_hosts(mut self, hosts: AllowedHosts) -> Self {
        self.hosts = Some(hosts);
        self
    }

    /// The service.
    pub fn build(self) -> ProbeService {
        let shutdowns = self
            .dialects
            .iter()
            .chain(&self.fallback)
            .filter_map(|d| d.shutdown().cloned())
            .collect();
        ProbeService(Arc::new(Inner {
            shutdowns,
            dialects: self.dialects,
            fallback: self.fallback,
            prefix: self.prefix,
            clients: self.clients,
            hosts: self.hosts,
        }))
    }
}

/// `/kpow/` and `kpow` both become `/kpow`; `/` becomes the empty prefix.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// The probe endpoints as one hyper service. Cheap to clone.
#[derive(Clone)]
pub struct ProbeService(Arc<Inner>);

impl std::fmt::Debug for ProbeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.0;
        f.debug_struct("ProbeService")
            .field("dialects", &names(&i.dialects))
            .field("fallback", &i.fallback.as_ref().map(|d| d.name()))
            .field("prefix", &i.prefix)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("dialects", &names(&self.dialects))
            .field("fallback", &self.fallback.as_ref().map(|d| d.name()))
            .field("prefix", &self.prefix)
            .field("clients", &self.clients)
            .field("hosts", &self.hosts)
            .finish()
    }
}

fn names(dialects: &[Box<dyn Dialect>]) -> Vec<&'static str> {
    dialects.iter().map(|d| d.name()).collect()
}

struct Inner {
    /// The shutdown signals of the dialects' `Health`s (usually one `Health` shared).
    shutdowns: Vec<Shutdown>,
    dialects: Vec<Box<dyn Dialect>>,
    fallback: Option<Box<dyn Dialect>>,
    prefix: String,
    clients: Option<ClientAllowList>,
    hosts: Option<AllowedHosts>,
}

impl ProbeService {
    /// Starts building a service.
    pub fn builder() -> ServiceBuilder {
        ServiceBuilder::default()
    }

    /// Answers one request. The body of the request is never read.
    ///
    /// Embedders mounting the service in their own server call this; insert a
    /// [`ClientAddr`](crate::ClientAddr) extension to let loopback clients see details (and, with a client
    /// allow-list, to be allowed at all). With the `axum` feature, axum's
    /// `ConnectInfo<SocketAddr>` extension serves too when there is no `ClientAddr`.
    pub async fn respond<B>(&self, req: Request<B>) -> Response {
        let client = client_addr(req.extensions());
        self.respond_from(req, client).await
    }

    /// The path patterns of every dialect's [`routes`](Dialect::routes) under the prefix,
    /// each once, in the order the dialects are asked. A dialect's `/` is the prefix itself,
    /// with and without a trailing slash, as [`respond`](Self::respond) answers both.
    #[cfg(feature = "axum")]
    pub(crate) fn route_patterns(&self) -> Vec<String> {
        let prefix = self.0.prefix.as_str();
        let mut patterns: Vec<String> = Vec::new();
        for d in self.0.dialects.iter().chain(&self.0.fallback) {
            for &route in d.routes() {
                let full = match (prefix, route) {
                    ("", route) => vec![route.to_owned()],
                    (prefix, "/") => vec![prefix.to_owned(), format!("{prefix}/")],
                    (prefix, route) => vec![format!("{prefix}{route}")],
                };
                for p in full {
                    if !patterns.contains(&p) {
                        patterns.push(p);
                    }
                }
            }
        }
        patterns
    }

    /// Whether the shutdown of a [`Health`](probe_core::Health) this service answers for
    /// has begun (see [`Dialect::shutdown`]): the drain is on, and every HTTP/1 answer
    /// carries `Connection: close` so that clients open a fresh connection for their next
    /// request instead of reusing one that the end of the drain will close.
    pub fn is_draining(&self) -> bool {
        self.0.shutdowns.iter().any(Shutdown::has_begun)
    }

    /// Whether `client` may be answered at all (the client allow-list, if any): the
    /// one-port listener asks it before handing a request to the gRPC service.
    #[cfg(feature = "grpc-port")]
    pub(crate) fn allows(&self, client: Option<SocketAddr>) -> bool {
        self.0.clients.as_ref().is_none_or(|c| c.allows(client))
    }

    /// [`respond`](Self::respond) to a request from `client`. The server calls this with
    /// the peer it accepted, sparing every request an extension map to build and search.
    pub(crate) async fn respond_from<B>(
        &self,
        req: Request<B>,
        client: Option<SocketAddr>,
    ) -> Response {
        let (parts, _body) = req.into_parts();
        let mut resp = self.route(&parts, client).await;
        // HTTP/2 has no `Connection` header: its connections end with GOAWAY.
        if parts.version <= Version::HTTP_11 && self.is_draining() {
            close_after(&mut resp);
        }
        resp
    }

    async fn route(&self, parts: &http::request::Parts, client: Option<SocketAddr>) -> Response {
        if let Some(clients) = &self.0.clients {
            if !clients.allows(client) {
                tracing::debug!(client = ?client, "client not in the allow-list");
                return answer(&parts.method, StatusCode::FORBIDDEN, TEXT, "forbidden\n");
            }
        }
        if let Some(hosts) = &self.0.hosts {
            let host = parts
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok());
            let host = host.or_else(|| parts.uri.authority().map(|a| a.as_str()));
            if !hosts.allows(host) {
                tracing::debug!(host = ?host, "host not in the allow-list");
                return answer(
                    &parts.method,
                    StatusCode::BAD_REQUEST,
                    TEXT,
                    "host not allowed\n",
                );
            }
        }
        let full = parts.uri.path();
        let path = if self.0.prefix.is_empty() {
            Some(full)
        } else {
            full.strip_prefix(self.0.prefix.as_str())
                .filter(|p| p.is_empty() || p.starts_with('/'))
        };
        let Some(path) = path else {
            return not_found(&parts.method);
        };
        let path = if path.is_empty() { "/" } else { path };
        let req = Req {
            parts,
            path,
            query: Query(parts.uri.query().unwrap_or("")),
            client,
        };
        for d in self.0.dialects.iter().chain(&self.0.fallback) {
            if let Some(answer) = d.answer(req) {
                return answer.await;
            }
        }
        not_found(&parts.method)
    }
}

/// Marks `resp` as the last answer on its HTTP/1 connection: the server (hyper, or any
/// HTTP/1 server) closes the connection once it is written, and the client reconnects.
pub(crate) fn close_after(resp: &mut Response) {
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
}

// === impl Service ===

/// The future of one answer, for the `Service` impls.
type Answering = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<B: Send + 'static> hyper::service::Service<Request<B>> for ProbeService {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn call(&self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.respond(req).await) })
    }
}

/// The same answers as a tower `Service`, always ready, for any request body (the body is
/// never read): tower-based routers such as axum's mount it with `route_service`,
/// `nest_service` or `fallback_service`.
impl<B: Send + 'static> tower_service::Service<Request<B>> for ProbeService {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.respond(req).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_as_a_tower_service() {
        use tower_service::Service as _;
        let health = probe_core::Health::builder().build().unwrap();
        let mut service = ProbeService::builder()
            .dialect(crate::Kubernetes::new(health))
            .build();
        let ready = std::future::poll_fn(|cx| {
            tower_service::Service::<Request<()>>::poll_ready(&mut service, cx)
        });
        tokio::time::timeout(std::time::Duration::from_secs(5), ready)
            .await
            .unwrap()
            .unwrap();
        let call = service.call(Request::post("/livez").body(()).unwrap());
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), call)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.headers()[http::header::ALLOW], "GET, HEAD");
    }

    #[test]
    fn prefixes_are_normalized() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("/"), "");
        assert_eq!(normalize_prefix("kpow"), "/kpow");
        assert_eq!(normalize_prefix("/kpow/"), "/kpow");
    }
}
