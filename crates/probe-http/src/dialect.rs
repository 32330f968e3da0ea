//! A dialect: a family of routes, and how it renders a report.

use std::net::SocketAddr;

use http::request::Parts;
use probe_core::{BoxFuture, Shutdown};

use crate::{Query, Response};

/// One request, as a dialect sees it: the path below the service's prefix, the query,
/// the headers, and who is asking.
#[derive(Clone, Copy, Debug)]
pub struct Req<'a> {
    /// Method, URI, headers and extensions of the request.
    pub parts: &'a Parts,
    /// The path with the service's prefix removed (always starts with `/`).
    pub path: &'a str,
    /// The query string.
    pub query: Query<'a>,
    /// The client's address, when known.
    pub client: Option<SocketAddr>,
}

/// A family of routes served by [`ProbeService`](crate::ProbeService).
///
/// Dialects are asked in the order they were added, then the fallback (see
/// [`ServiceBuilder::fallback`](crate::ServiceBuilder::fallback)); the first that knows the
/// path answers. Rendering is a pure function of the request and a report, so dialects test
/// with no socket.
pub trait Dialect: Send + Sync + 'static {
    /// The dialect's name in configuration and logs, e.g. `kubernetes`.
    fn name(&self) -> &'static str;

    /// Answers `req` if its path is one of this dialect's routes; `None` otherwise.
    fn answer<'a>(&'a self, req: Req<'a>) -> Option<BoxFuture<'a, Response>>;

    /// The path patterns of the routes [`answer`](Self::answer) knows, below the service's
    /// prefix, in the syntax of axum 0.8's router: `{name}` matches one segment, `{*name}`
    /// the rest of the path (one segment or more). A router that mounts the service among
    /// an application's own routes sends only these paths to it, whatever the method, so
    /// the dialect still answers wrong methods (405) and unknown checks (404) itself.
    ///
    /// The default lists none: such a dialect is reached only where every path under a
    /// prefix goes to the service (axum's `nest_service` or `fallback_service`, or
    /// [`ProbeService::respond`](crate::ProbeService::respond) behind a `match`).
    fn routes(&self) -> &'static [&'static str] {
        &[]
    }

    /// The shutdown signal of the [`Health`](probe_core::Health) this dialect answers for,
    /// if it has one (the built-in dialects do). Once it has begun,
    /// [`ProbeService`](crate::ProbeService) asks HTTP/1 clients to close their connection
    /// after each answer, so none keeps a connection that the end of the drain will close.
    fn shutdown(&self) -> Option<&Shutdown> {
        None
    }
}
