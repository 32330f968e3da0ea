//! `/metrics` as a dialect of [`ProbeService`](crate::ProbeService).

use std::sync::Arc;

use http::header::{ACCEPT, VARY};
use http::{HeaderValue, Method, StatusCode};
use probe_core::BoxFuture;
use prometheus_client::registry::Registry;

use super::Format;
use crate::response::{answer, method_not_allowed, TEXT};
use crate::{ClientAllowList, Dialect, Req, Response};

/// `GET`/`HEAD` `/metrics`: a registry in the format `Accept` asks for (see
/// [`Format::negotiate`]), with `Vary: Accept`. Other methods get 405; clients outside
/// [`clients`](MetricsRoute::clients) get 403. Encoding reads the metrics and runs no
/// check.
#[derive(Clone, Debug)]
pub struct MetricsRoute {
    registry: Arc<Registry>,
    clients: Option<ClientAllowList>,
}

impl MetricsRoute {
    /// Serves `registry` to every client that reaches the service.
    pub fn new(registry: Registry) -> Self {
        MetricsRoute {
            registry: Arc::new(registry),
            clients: None,
        }
    }

    /// Serves only clients in `clients`; others get 403. Apart from (and after) the
    /// service's own allow-list.
    pub fn clients(mut self, clients: ClientAllowList) -> Self {
        self.clients = Some(clients);
        self
    }
}

impl Dialect for MetricsRoute {
    fn name(&self) -> &'static str {
        "metrics"
    }

    fn routes(&self) -> &'static [&'static str] {
        &["/metrics"]
    }

    fn answer<'a>(&'a self, req: Req<'a>) -> Option<BoxFuture<'a, Response>> {
        if req.path != "/metrics" {
            return None;
        }
        Some(Box::pin(async move {
            let method = &req.parts.method;
            if method != Method::GET && method != Method::HEAD {
                return method_not_allowed();
            }
            if self.clients.as_ref().is_some_and(|c| !c.allows(req.client)) {
                return answer(method, StatusCode::FORBIDDEN, TEXT, "forbidden\n");
            }
            let format = Format::negotiate(req.parts.headers.get(ACCEPT));
            let body = format.render(&self.registry);
            let mut resp = answer(method, StatusCode::OK, format.content_type(), body);
            resp.headers_mut()
                .insert(VARY, HeaderValue::from_static("accept"));
            resp
        }))
    }
}
