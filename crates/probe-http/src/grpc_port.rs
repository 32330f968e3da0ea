//! One port for HTTP/1.1 and gRPC: the hardened listener, also speaking HTTP/2 with prior
//! knowledge, hands gRPC requests to a second service and everything else to the
//! [`ProbeService`].
//!
//! Each connection is told apart by its first bytes, peeked and not consumed: the HTTP/2
//! preface (`PRI * HTTP/2.0…`) makes it an HTTP/2 connection, anything else an HTTP/1.1
//! one, served by the same HTTP/1.1 settings as [`Bound::serve`]. A client that sends
//! nothing within the header-read timeout is closed, as on the plain listener.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Request;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::server::{close_all, http1_builder, take_queued};
use crate::service::close_after;
use crate::slots::ConnState;
use crate::{Bound, ProbeService, ServerConfig};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The HTTP/2 limits of the one-port listener. The defaults suit health checking: a few
/// small calls per connection, clients that vanish noticed within half a minute.
#[derive(Clone, Debug)]
pub struct Http2Config {
    /// Streams (calls) one connection may have open at once (default 32).
    pub max_concurrent_streams: u32,
    /// The largest header list a client may send, in bytes (default 16 KiB).
    pub max_header_list_size: u32,
    /// How often an idle connection is pinged (default 20 s; `None`: never).
    pub keep_alive_interval: Option<Duration>,
    /// How long a ping may go unanswered before the connection is closed (default 10 s).
    pub keep_alive_timeout: Duration,
    /// The most a stream buffers for a slow reader, in bytes (default 64 KiB).
    pub max_send_buf_size: usize,
}

impl Default for Http2Config {
    fn default() -> Self {
        Http2Config {
            max_concurrent_streams: 32,
            max_header_list_size: 16 * 1024,
            keep_alive_interval: Some(Duration::from_secs(20)),
            keep_alive_timeout: Duration::from_secs(10),
            max_send_buf_size: 64 * 1024,
        }
    }
}

/// Put into the extensions of every gRPC request the one-port listener serves: resolves
/// once the listener stops (after the drain), so a call that would otherwise never end
/// (a health `Watch`) can end and let the server stop at once.
#[derive(Clone, Debug)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Whether the listener has stopped.
    pub fn has_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the listener has stopped (at once if it has).
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        // The sender goes away only when the listener is gone: stopped as well.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// Whether `req` is a gRPC call: its content type is `application/grpc`, or starts with
/// `application/grpc+` (a codec, `+proto`) or `application/grpc;` (parameters).
pub fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| is_grpc_content_type(v.as_bytes()))
}

fn is_grpc_content_type(v: &[u8]) -> bool {
    match v.strip_prefix(b"application/grpc") {
        Some(rest) => rest.is_empty() || rest[0] == b'+' || rest[0] == b';',
        None => false,
    }
}

/// The first bytes of every HTTP/2 connection with prior knowledge (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What a connection's first bytes say it speaks.
#[derive(Debug, PartialEq, Eq)]
enum Sniffed {
    Http1,
    Http2,
    /// Too few bytes to tell yet.
    More,
}

fn sniff(first: &[u8]) -> Sniffed {
    let n = first.len().min(PREFACE.len());
    if first[..n] != PREFACE[..n] {
        Sniffed::Http1
    } else if n == PREFACE.len() {
        Sniffed::Http2
    } else {
        Sniffed::More
    }
}

/// Peeks at `stream` until its first bytes tell HTTP/1.1 from HTTP/2, within `within`.
/// `None`: the client closed, or sent too little in time.
async fn protocol(stream: &TcpStream, within: Duration) -> Option<Sniffed> {
    let look = async {
        let mut buf = [0u8; PREFACE.len()];
        // A client rarely sends the preface in pieces; when it does, look again shortly.
        for _ in 0..1_000 {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => match sniff(&buf[..n]) {
                    Sniffed::More => tokio::time::sleep(Duration::from_millis(5)).await,
                    known => return Some(known),
                },
            }
        }
        None
    };
    tokio::time::timeout(within, look).await.ok().flatten()
}

/// A gRPC answer with no message: `grpc-status` in the headers, which end the stream.
fn grpc_refusal<B>(code: u16, message: &'static str) -> http::Response<Either<Full<Bytes>, B>> {
    let mut resp = http::Response::new(Either::Left(Full::new(Bytes::new())));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    h.insert("grpc-status", HeaderValue::from(code));
    h.insert("grpc-message", HeaderValue::from_static(message));
    resp
}

/// `PERMISSION_DENIED`: the client is outside the allow-list.
const PERMISSION_DENIED: u16 = 7;
/// `INTERNAL`: the gRPC service failed instead of answering.
const INTERNAL: u16 = 13;

impl Bound {
    /// Serves HTTP/1.1 and HTTP/2 on this one listener until `shutdown` resolves: gRPC
    /// requests ([`is_grpc`]) go to `grpc`, everything else to `service`. The listener's
    /// limits, its connection cap and its drain apply to both; `http2` sets the HTTP/2
    /// limits.
    ///
    /// The client allow-list of `service` applies to gRPC calls too (refused with
    /// `PERMISSION_DENIED`). Every gRPC request carries a [`Stopping`] extension, which
    /// fires when `shutdown` has resolved and the listener stops.
    ///
    /// `grpc` is any tower service answering gRPC, e.g. `probe_grpc::service(health)`, or
    /// a tonic router holding it beside the application's own services.
    pub async fn serve_with_grpc<G, B>(
        self,
        service: ProbeService,
        grpc: G,
        http2: Http2Config,
        shutdown: impl Future<Output = ()>,
    ) where
        G: tower_service::Service<Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        G::Future: Send + 'static,
        G::Error: Into<BoxError>,
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (listener, config) = self.into_parts();
        let builders = Arc::new(Builders::new(&config, &http2));
        let (stop, stopping) = watch::channel(false);
        let stopping = Stopping(stopping);
        // HTTP/1.1 connections end on their own after the drain (their next answer closes
        // them); HTTP/2 ones only when told (GOAWAY), so each protocol has its own.
        let graceful = GracefulShutdown::new();
        let graceful_h2 = GracefulShutdown::new();
        let slots = crate::slots::Slots::new(config.max_connections, config.header_read_timeout);
        let closing = Arc::new(AtomicBool::new(false));
        let serve = |stream: TcpStream, peer: SocketAddr, slot: crate::slots::Slot| {
            let _ = stream.set_nodelay(true);
            let router = Router {
                service: service.clone(),
                grpc: grpc.clone(),
                stopping: stopping.clone(),
                closing: closing.clone(),
                peer,
            };
            let builders = builders.clone();
            let watchers = Watchers {
                http1: graceful.watcher(),
                http2: graceful_h2.watcher(),
            };
            let read_timeout = config.header_read_timeout;
            let state = slot.state().clone();
            tokio::spawn(slot.hold(async move {
                builders
                    .serve(stream, read_timeout, router, watchers, state)
                    .await;
            }));
        };
        tokio::pin!(shutdown);
        while let Some((stream, peer, slot)) = slots.next(&listener, shutdown.as_mut()).await {
            serve(stream, peer, slot);
        }
        // The drain is over, as on the plain listener: every HTTP/1.1 answer from now on is
        // the last on its connection, the connections already queued are served, and
        // streams that would never end (a health `Watch`) are told the listener stopped.
        closing.store(true, Ordering::Release);
        take_queued(listener, &slots, serve);
        stop.send_replace(true);
        let http2_closed = async {
            if tokio::time::timeout(config.shutdown_timeout, graceful_h2.shutdown())
                .await
                .is_err()
            {
                tracing::warn!(
                    "HTTP/2 connections still open after the shutdown timeout; closing them"
                );
            }
        };
        tokio::join!(http2_closed, close_all(&slots, &config, graceful));
    }
}

/// A connection's place in the drain of each protocol; the one it does not speak is dropped.
struct Watchers {
    http1: Watcher,
    http2: Watcher,
}

/// The connection settings of both protocols.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Builders {
    fn new(config: &ServerConfig, limits: &Http2Config) -> Self {
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_concurrent_streams)
            .max_header_list_size(limits.max_header_list_size)
            .keep_alive_interval(limits.keep_alive_interval)
            .keep_alive_timeout(limits.keep_alive_timeout)
            .max_send_buf_size(limits.max_send_buf_size);
        Builders {
            http1: http1_builder(config),
            http2: h2,
        }
    }

    /// Serves one connection in the protocol its first bytes name, watched by the drain.
    async fn serve<G, B>(
        &self,
        stream: TcpStream,
        read_timeout: Duration,
        router: Router<G>,
        watchers: Watchers,
        state: Arc<ConnState>,
    ) where
        G: tower_service::Service<Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        G::Future: Send + 'static,
        G::Error: Into<BoxError>,
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match protocol(&stream, read_timeout).await {
            Some(Sniffed::Http2) => {
                // Streams (a health `Watch`) outlive their answer's head: an HTTP/2
                // connection counts as busy for its whole life and never gives way.
                let _busy = state.request();
                let svc = service_fn(move |req| router.clone().route(req));
                let conn = self.http2.serve_connection(TokioIo::new(stream), svc);
                drop(watchers.http1);
                let _ = watchers.http2.watch(conn).await;
            }
            Some(_) => {
                let svc = service_fn(move |req| {
                    let in_flight = state.request();
                    let answer = router.clone().route(req);
                    async move {
                        let resp = answer.await;
                        drop(in_flight);
                        resp
                    }
                });
                let conn = self.http1.serve_connection(TokioIo::new(stream), svc);
                drop(watchers.http2);
                let _ = watchers.http1.watch(conn).await;
            }
            None => drop(watchers),
        }
    }
}

/// One connection's view of the two services.
#[derive(Clone)]
struct Router<G> {
    service: ProbeService,
    grpc: G,
    stopping: Stopping,
    /// Set once the drain is over: HTTP/1.1 answers then close their connection.
    closing: Arc<AtomicBool>,
    peer: SocketAddr,
}

impl<G, B> Router<G>
where
    G: tower_service::Service<Request<Incoming>, Response = http::Response<B>>,
    G::Error: Into<BoxError>,
{
    async fn route(
        mut self,
        mut req: Request<Incoming>,
    ) -> Result<http::Response<Either<Full<Bytes>, B>>, Infallible> {
        if !is_grpc(&req) {
            if let Some(refusal) = crate::server::host_refusal(&req) {
                return Ok(refusal.map(Either::Left));
            }
            // HTTP/2 has no `Connection` header: its connections end with GOAWAY.
            let http1 = req.version() <= http::Version::HTTP_11;
            let mut resp = self.service.respond_from(req, Some(self.peer)).await;
            if http1 && self.closing.load(Ordering::Acquire) {
                close_after(&mut resp);
            }
            return Ok(resp.map(Either::Left));
        }
        if !self.service.allows(Some(self.peer)) {
            tracing::debug!(client = %self.peer, "client not in the allow-list");
            return Ok(grpc_refusal(PERMISSION_DENIED, "client not allowed"));
        }
        req.extensions_mut().insert(self.stopping.clone());
        let ready = poll_fn(|cx| self.grpc.poll_ready(cx))
            .await
            .map_err(Into::<BoxError>::into);
        let answered = match ready {
            Ok(()) => self.grpc.call(req).await.map_err(Into::<BoxError>::into),
            Err(e) => Err(e),
        };
        Ok(match answered {
            Ok(resp) => resp.map(Either::Right),
            Err(e) => {
                tracing::warn!(error = %e, "the gRPC service failed");
                grpc_refusal(INTERNAL, "the gRPC service failed")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_is_told_by_its_content_type_alone() {
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc;charset=utf-8",
        ] {
            assert!(is_grpc_content_type(yes.as_bytes()), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpcx",
            "application/json",
            "text/plain",
            "",
            "application/gr",
        ] {
            assert!(!is_grpc_content_type(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn the_preface_names_http2_and_anything_else_http1() {
        assert_eq!(sniff(PREFACE), Sniffed::Http2);
        assert_eq!(
            sniff(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"),
            Sniffed::Http2
        );
        assert_eq!(sniff(b"GET /livez HTTP/1.1\r\n"), Sniffed::Http1);
        assert_eq!(sniff(b"POST / HTTP/1.1\r\n"), Sniffed::Http1);
        assert_eq!(sniff(b"PRI * HTTP/1.1"), Sniffed::Http1);
        assert_eq!(sniff(b"PRI * HT"), Sniffed::More);
        assert_eq!(sniff(b"P"), Sniffed::More);
    }
}
