//! A gRPC health client over one plain HTTP/2 connection (cargo feature `client`): the
//! generated [`HealthClient`] on a [`Channel`] of our own, with no tonic transport.
//!
//! ```no_run
//! # async fn run() -> Result<(), probe_grpc::client::CheckError> {
//! use std::time::Duration;
//! use probe_grpc::pb::health_check_response::ServingStatus;
//!
//! let status = probe_grpc::client::check("127.0.0.1:8080", "liveness", Duration::from_secs(1)).await?;
//! assert_eq!(status, ServingStatus::Serving);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tonic::body::Body;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// One HTTP/2 connection with prior knowledge, as a tower service the generated clients
/// run on: `HealthClient::with_origin(channel, origin)`. Clones share the connection.
#[derive(Clone, Debug)]
pub struct Channel {
    send: http2::SendRequest<Body>,
}

/// The connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No TCP connection.
    #[error("cannot connect to {addr}: {reason}")]
    Tcp {
        /// Where to.
        addr: String,
        /// Why, in a few words.
        reason: String,
    },
    /// Connected, but the HTTP/2 connection failed (not an HTTP/2 server?).
    #[error("no HTTP/2 from {addr} ({reason}): is gRPC served on this port?")]
    Handshake {
        /// Where to.
        addr: String,
        /// Why, in a few words.
        reason: String,
    },
}

impl Channel {
    /// Connects to `addr` (`host:port`) and does the HTTP/2 handshake. The connection is
    /// driven by a task of its own, ended when the last clone goes.
    pub async fn connect(addr: &str) -> Result<Channel, ConnectError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| ConnectError::Tcp {
                addr: addr.to_owned(),
                reason: probe_core::text::io_reason(&e),
            })?;
        let _ = stream.set_nodelay(true);
        let (send, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ConnectError::Handshake {
                addr: addr.to_owned(),
                reason: e.to_string(),
            })?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "gRPC client connection ended");
            }
        });
        Ok(Channel { send })
    }
}

impl tower_service::Service<http::Request<Body>> for Channel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        Box::pin(self.send.send_request(req))
    }
}

/// Why a health `Check` gave no serving status.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server does not know the service name (`NOT_FOUND`).
    #[error("unknown service {0:?}")]
    UnknownService(String),
    /// The call failed with another gRPC status (written as grpc-go and the kubelet
    /// write it).
    #[error("rpc error: code = {code:?} desc = {message}")]
    Call {
        /// The gRPC status code.
        code: Code,
        /// Its message.
        message: String,
    },
    /// The whole check took longer than its time limit.
    #[error("timed out after {}", probe_core::time::human(*.0))]
    TimedOut(Duration),
}

/// Whether the call failed below gRPC: the HTTP/2 connection broke (e.g. the port speaks
/// HTTP/1.1 only and refused the preface).
fn connection_failed(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some_and(|e| e.is::<hyper::Error>())
}

/// Connects to `addr` and asks `Check` for `service`, all within `timeout` (which the
/// server also learns as the call's deadline, `grpc-timeout`).
pub async fn check(
    addr: &str,
    service: &str,
    timeout: Duration,
) -> Result<ServingStatus, CheckError> {
    let call = async {
        let channel = Channel::connect(addr).await?;
        let origin = format!("http://{addr}")
            .parse()
            .map_err(|_| CheckError::Call {
                code: Code::InvalidArgument,
                message: format!("{addr:?} is not a host:port"),
            })?;
        let mut client = HealthClient::with_origin(channel, origin);
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: service.to_owned(),
        });
        request.set_timeout(timeout);
        match client.check(request).await {
            Ok(resp) => Ok(
                ServingStatus::try_from(resp.get_ref().status).unwrap_or(ServingStatus::Unknown)
            ),
            Err(s) if s.code() == Code::NotFound => {
                Err(CheckError::UnknownService(service.to_owned()))
            }
            Err(s) if connection_failed(&s) => Err(CheckError::Connect(ConnectError::Handshake {
                addr: addr.to_owned(),
                reason: s.message().to_owned(),
            })),
            Err(s) => Err(CheckError::Call {
                code: s.code(),
                message: s.message().to_owned(),
            }),
        }
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(CheckError::TimedOut(timeout)))
}
