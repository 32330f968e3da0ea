//! Shared by the gRPC tests: the one-port server on loopback, tonic's generated health
//! client over a plain HTTP/2 connection, and every wait under a time limit.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use probe_core::Health;
use probe_grpc::client::Channel;
use probe_grpc::pb::health_check_response::ServingStatus;
use probe_grpc::pb::health_client::HealthClient;
use probe_grpc::pb::{HealthCheckRequest, HealthCheckResponse};
use probe_http::{Http2Config, Kubernetes, ProbeService, Server, ServerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::codec::Streaming;

/// The budget of any one wait in a test.
pub const T: Duration = Duration::from_secs(5);

/// `f`, or a failure naming `what` when it takes longer than [`T`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(T, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {T:?}"))
}

/// The one-port server (HTTP/1.1 kubernetes dialect + gRPC health) on a free loopback port.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Serves `health` with the kubernetes dialect beside gRPC.
    pub async fn start(health: &Health) -> Running {
        let http = ProbeService::builder()
            .dialect(Kubernetes::new(health.clone()))
            .build();
        Running::with(health, http).await
    }

    /// Serves `http` beside gRPC health over `health`.
    pub async fn with(health: &Health, http: ProbeService) -> Running {
        Running::configured(health, http, ServerConfig::default()).await
    }

    /// Serves `http` beside gRPC health over `health`, with the listener's limits `config`.
    pub async fn configured(health: &Health, http: ProbeService, config: ServerConfig) -> Running {
        let bound = Server::bind("127.0.0.1:0".parse().unwrap(), config).expect("bind loopback");
        let addr = bound.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let grpc = probe_grpc::service(health.clone());
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            bound
                .serve_with_grpc(http, grpc, Http2Config::default(), shutdown)
                .await;
        });
        Running {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Stops accepting and waits until the server has returned.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        within("the server's stop", &mut self.task)
            .await
            .expect("the server task");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// tonic's generated health client on a new HTTP/2 connection to `addr`.
pub async fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = within("connect", Channel::connect(&addr.to_string()))
        .await
        .expect("connect");
    HealthClient::with_origin(channel, format!("http://{addr}").parse().unwrap())
}

fn request(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

/// `Check(service)`: the serving status, or the call's gRPC code.
pub async fn check(
    client: &mut HealthClient<Channel>,
    service: &str,
) -> Result<ServingStatus, tonic::Code> {
    let answer = within(
        &format!("Check({service:?})"),
        client.check(request(service)),
    )
    .await;
    match answer {
        Ok(r) => Ok(ServingStatus::try_from(r.get_ref().status).expect("a known status")),
        Err(s) => Err(s.code()),
    }
}

/// `Watch(service)`'s stream.
pub async fn watch(
    client: &mut HealthClient<Channel>,
    service: &str,
) -> Streaming<HealthCheckResponse> {
    within(
        &format!("Watch({service:?})"),
        client.watch(request(service)),
    )
    .await
    .expect("the Watch call is accepted")
    .into_inner()
}

/// The next message of a Watch stream; panics when the stream ends or fails instead.
pub async fn next(stream: &mut Streaming<HealthCheckResponse>) -> ServingStatus {
    match within("the next Watch message", stream.message()).await {
        Ok(Some(m)) => ServingStatus::try_from(m.status).expect("a known status"),
        Ok(None) => panic!("the Watch stream ended"),
        Err(s) => panic!("the Watch stream failed: {s:?}"),
    }
}

/// Asserts that `stream` sends nothing (no message, no end) for `quiet`.
pub async fn silent_for(stream: &mut Streaming<HealthCheckResponse>, quiet: Duration) {
    if let Ok(m) = tokio::time::timeout(quiet, stream.message()).await {
        panic!("expected no message for {quiet:?}, got {m:?}");
    }
}

/// How a Watch stream ends: `Ok(())` when it closes cleanly, else its gRPC code.
pub async fn end(stream: &mut Streaming<HealthCheckResponse>) -> Result<(), tonic::Code> {
    match within("the end of the Watch stream", stream.message()).await {
        Ok(None) => Ok(()),
        Ok(Some(m)) => panic!("expected the stream to end, got {m:?}"),
        Err(s) => Err(s.code()),
    }
}
