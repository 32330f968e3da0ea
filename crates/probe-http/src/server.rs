//! The hardened listener: bind apart from serve, a connection cap, small buffers, a
//! header-read timeout, keep-alive, and a graceful drain.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::service::close_after;
use crate::slots::{Slot, Slots};
use crate::ProbeService;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Limits of the listener. The defaults suit a probe endpoint: small requests, many
/// short-lived clients, never a slow one holding memory.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// A client must send its request headers within this time (default 2 s).
    pub header_read_timeout: Duration,
    /// The per-connection read buffer cap (default and minimum: 8 KiB).
    pub max_buf_size: usize,
    /// Connections served at once (default 1024), one client (IP address) holding at
    /// most three quarters of them. When all are taken, a new client is served in place
    /// of the connection idle the longest of the client holding the most, which is
    /// closed; a client past its share replaces its own idle connections, or waits, held
    /// aside, for one of them to end. A connection with a request in flight is never
    /// closed to make room. One peer hoarding sockets therefore cannot keep others out.
    pub max_connections: usize,
    /// Whether connections are kept alive between requests (default true).
    pub keep_alive: bool,
    /// After the drain, how long in-flight requests may take to finish (default 5 s).
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout: Duration::from_secs(2),
            max_buf_size: 8 * 1024,
            max_connections: 1024,
            keep_alive: true,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// The listener could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {reason}")]
pub struct BindError {
    addr: SocketAddr,
    reason: String,
    #[source]
    source: io::Error,
}

impl BindError {
    fn new(addr: SocketAddr, source: io::Error) -> Self {
        let reason = match source.kind() {
            io::ErrorKind::AddrInUse => "address already in use".to_owned(),
            io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            io::ErrorKind::AddrNotAvailable => "address not available on this host".to_owned(),
            _ => probe_core::text::io_reason(&source),
        };
        BindError {
            addr,
            reason,
            source,
        }
    }
}

/// Entry point: `Server::bind(addr, config)`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds `addr` (port 0 picks a free port). Fails cleanly, before anything claims to
    /// listen, when the address is in use. Must be called inside a Tokio runtime.
    pub fn bind(addr: SocketAddr, config: ServerConfig) -> Result<Bound, BindError> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let socket = socket.map_err(|e| BindError::new(addr, e))?;
        socket
            .set_reuseaddr(true)
            .map_err(|e| BindError::new(addr, e))?;
        socket.bind(addr).map_err(|e| BindError::new(addr, e))?;
        let listener = socket.listen(1024).map_err(|e| BindError::new(addr, e))?;
        let local_addr = listener.local_addr().map_err(|e| BindError::new(addr, e))?;
        Ok(Bound {
            listener,
            local_addr,
            config,
        })
    }
}

/// A bound listener, not yet serving.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: ServerConfig,
}

impl Bound {
    /// The address actually bound (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `service` until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish (up to the configured shutdown timeout) and returns.
    ///
    /// No request a client has sent is cut at the stop. From the moment the shutdown of a
    /// `Health` the service answers for begins (see [`ProbeService::is_draining`]), and
    /// after `shutdown` resolves in any case, every answer carries `Connection: close`:
    /// clients open a fresh connection for each request instead of keeping one that the
    /// stop will close. When `shutdown` resolves, the connections the kernel has already
    /// queued are still served; the listener is closed (later clients are refused); each
    /// open connection gets the answer to its next request, or is closed once its client
    /// has been silent for the header-read timeout.
    ///
    /// For the orchestrator's stop, pass [`probe_core::drain_on_signal`], created before
    /// announcing the address: at SIGTERM readiness fails at once, the server keeps
    /// answering for the drain, then stops (a second SIGTERM stops it at once).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use probe_core::{drain_on_signal, Health};
    /// use probe_http::{Kubernetes, ProbeService, Server, ServerConfig};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let health = Health::builder().build()?;
    /// let service = ProbeService::builder().dialect(Kubernetes::new(health.clone())).build();
    /// let bound = Server::bind("0.0.0.0:8080".parse()?, ServerConfig::default())?;
    /// let shutdown = drain_on_signal(&health, Duration::from_secs(5));
    /// println!("probes on http://{}", bound.local_addr());
    /// bound.serve(service, shutdown).await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve(self, service: ProbeService, shutdown: impl Future<Output = ()>) {
        let Bound {
            listener, config, ..
        } = self;
        let conns = Connections {
            http: http1_builder(&config),
            service,
            closing: Arc::new(AtomicBool::new(false)),
            graceful: GracefulShutdown::new(),
        };
        let slots = Slots::new(config.max_connections, config.header_read_timeout);
        tokio::pin!(shutdown);
        while let Some((stream, peer, slot)) = slots.next(&listener, shutdown.as_mut()).await {
            conns.serve(stream, peer, slot);
        }
        // The drain is over. From now on every answer is the last on its connection.
        conns.closing.store(true, Ordering::Release);
        take_queued(listener, &slots, |stream, peer, slot| {
            conns.serve(stream, peer, slot)
        });
        close_all(&slots, &config, conns.graceful).await;
    }
}

// === The accept loop's parts, shared with the one-port listener ===

/// The end of the drain, first part: clients whose connection the kernel has already
/// established have sent, or are sending, a request; each is handed to `serve` rather than
/// reset by closing the listener. Connections that arrive after the close are refused.
pub(crate) fn take_queued(
    listener: TcpListener,
    slots: &Arc<Slots>,
    mut serve: impl FnMut(TcpStream, SocketAddr, Slot),
) {
    match listener.into_std() {
        Ok(listener) => {
            while slots.semaphore().available_permits() > 0 {
                let Ok((stream, peer)) = listener.accept() else {
                    break;
                };
                let Some(slot) = slots.try_take(peer.ip()) else {
                    break;
                };
                let stream = stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream));
                if let Ok(stream) = stream {
                    serve(stream, peer, slot);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot take the queued connections"),
    }
}

/// The end of the drain, second part. Each connection closes on its own: after its next
/// answer (which says `Connection: close`), or, if its client stays silent, at the
/// header-read timeout. None is cut while a client may be sending on it; then the rest
/// (still silent, or answering slowly) are shut down gracefully, requests in flight
/// finishing, all within the shutdown timeout.
pub(crate) async fn close_all(
    slots: &Arc<Slots>,
    config: &ServerConfig,
    graceful: GracefulShutdown,
) {
    let deadline = tokio::time::Instant::now() + config.shutdown_timeout;
    let quiet = config.header_read_timeout.min(config.shutdown_timeout);
    let all_closed = slots.semaphore().acquire_many(slots.max() as u32);
    let _ = tokio::time::timeout(quiet, all_closed).await;
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown timeout; closing them");
    }
}

/// The HTTP/1.1 settings of every listener: the header-read timeout, the buffer cap and
/// keep-alive of `config`.
pub(crate) fn http1_builder(config: &ServerConfig) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_buf_size.max(8 * 1024))
        .keep_alive(config.keep_alive)
        // Answers are a few hundred bytes: copying the body after the head and writing
        // once costs less than gathering two buffers, and the bytes sent are the same.
        .writev(false);
    http
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one `Host` header. One without,
/// or with two, is answered `400 Bad Request` and its connection closed. (HTTP/1.0 may
/// leave it out; HTTP/2 names the authority in its own way.)
pub(crate) fn host_refusal<B>(req: &http::Request<B>) -> Option<crate::response::Response> {
    if req.version() != http::Version::HTTP_11 {
        return None;
    }
    let why = match req.headers().get_all(http::header::HOST).iter().count() {
        1 => return None,
        0 => "bad request: no Host header\n",
        _ => "bad request: more than one Host header\n",
    };
    let mut resp = crate::response::answer(
        req.method(),
        http::StatusCode::BAD_REQUEST,
        crate::response::TEXT,
        why,
    );
    close_after(&mut resp);
    Some(resp)
}

// === Connections ===

/// What every connection of one listener shares.
struct Connections {
    http: http1::Builder,
    service: ProbeService,
    /// Set once the drain is over: answers then carry `Connection: close`.
    closing: Arc<AtomicBool>,
    graceful: GracefulShutdown,
}

impl Connections {
    /// Serves `stream` on a task of its own, holding `slot` until the connection ends.
    fn serve(&self, stream: TcpStream, peer: SocketAddr, slot: Slot) {
        let _ = stream.set_nodelay(true);
        let svc = self.service.clone();
        let closing = self.closing.clone();
        let state = slot.state().clone();
        // The peer goes straight to the service, and the answer is not boxed: a
        // request extension and a boxed future would each cost an allocation.
        let with_addr = service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let svc = svc.clone();
            let closing = closing.clone();
            let in_flight = state.request();
            async move {
                if let Some(refusal) = host_refusal(&req) {
                    return Ok::<_, Infallible>(refusal);
                }
                let mut resp = svc.respond_from(req, Some(peer)).await;
                drop(in_flight);
                if closing.load(Ordering::Acquire) {
                    close_after(&mut resp);
                }
                Ok::<_, Infallible>(resp)
            }
        });
        let conn = self
            .graceful
            .watch(self.http.serve_connection(TokioIo::new(stream), with_addr));
        tokio::spawn(slot.hold(conn));
    }
}

// === impl Bound (parts) ===

#[cfg(feature = "grpc-port")]
impl Bound {
    /// The listener and its limits, for the crate's other serving loop (gRPC beside HTTP).
    pub(crate) fn into_parts(self) -> (TcpListener, ServerConfig) {
        (self.listener, self.config)
    }
}
