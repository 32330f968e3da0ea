//! Run it with `cargo run -p probe-examples --example tonic_service`: a tonic gRPC service
//! of the application's own (`example.Greeter/SayHello`), gRPC health and the HTTP probes,
//! all on one port (127.0.0.1:50051), stopping on SIGTERM after a drain.
//!
//! ```text
//! probe check 'grpc://127.0.0.1:50051?service=readiness'   # gRPC health
//! probe check 'grpc://127.0.0.1:50051?service=greeter'     # one check alone
//! curl -s 127.0.0.1:50051/readyz?verbose                    # the same health over HTTP/1.1
//! ```
//!
//! The Greeter is written the way tonic's generator writes a service (a prost message
//! pair, a `UnaryService`, a path `match`), by hand, so the example builds without protoc:
//!
//! ```text
//! service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
//! message HelloRequest { string name = 1; }
//! message HelloReply { string message = 1; }
//! ```
//!
//! SIGTERM (or Ctrl-C) turns readiness, and every gRPC health name but `liveness`,
//! `NOT_SERVING` at once; the server keeps answering for two seconds, then stops.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use probe_core::{drain_on_signal, from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_grpc::pb::health_server::HealthServer;
use probe_grpc::GrpcHealth;
use probe_http::{Bound, Http2Config, Kubernetes, ProbeService, Server, ServerConfig};
use tonic::body::Body;
use tonic_prost::ProstCodec;

/// `example.Greeter/SayHello`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    /// Whom to greet.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `example.Greeter/SayHello`'s answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    /// The greeting.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// The path of the one RPC.
pub const SAY_HELLO: &str = "/example.Greeter/SayHello";

/// The application's own gRPC service.
#[derive(Clone, Copy, Debug, Default)]
pub struct Greeter;

impl tonic::server::UnaryService<HelloRequest> for Greeter {
    type Response = HelloReply;
    type Future = std::future::Ready<Result<tonic::Response<HelloReply>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<HelloRequest>) -> Self::Future {
        let name = request.into_inner().name;
        std::future::ready(Ok(tonic::Response::new(HelloReply {
            message: format!("hello, {name}"),
        })))
    }
}

/// Every gRPC service of the application behind one tower service, by path: what
/// tonic's router does, without the axum it brings.
#[derive(Clone, Debug)]
pub struct Services {
    health: HealthServer<GrpcHealth>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<B> tower_service::Service<http::Request<B>> for Services
where
    B: hyper::body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        if path == SAY_HELLO {
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(Greeter, req).await)
            })
        } else if path.starts_with("/grpc.health.v1.Health/") {
            let fut = self.health.call(req);
            Box::pin(fut)
        } else {
            Box::pin(async { Ok(tonic::Status::unimplemented("no such method").into_http()) })
        }
    }
}

/// The application's health: a liveness check of its own and a `greeter` check in
/// readiness.
pub fn health() -> Result<Health, probe_core::BuildError> {
    let alive = from_fn(Scope::Local, || async { Outcome::pass() });
    let greeter = from_fn(Scope::Local, || async { Outcome::pass() });
    Health::builder()
        .check("loop", alive, [Probe::Liveness], Policy::default())?
        .check("greeter", greeter, [Probe::Readiness], Policy::default())?
        .build()
}

/// Serves the Greeter, gRPC health and the HTTP probes on `bound` until `shutdown`.
pub async fn serve(bound: Bound, health: Health, shutdown: impl Future<Output = ()>) {
    let http = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    let grpc = Services {
        // The one line an application with its own tonic server would add.
        health: probe_grpc::service(health),
    };
    bound
        .serve_with_grpc(http, grpc, Http2Config::default(), shutdown)
        .await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let health = health()?;
    let shutdown = drain_on_signal(&health, Duration::from_secs(2));
    let bound = Server::bind("127.0.0.1:50051".parse()?, ServerConfig::default())?;
    println!("gRPC and HTTP on {}", bound.local_addr());
    serve(bound, health, shutdown).await;
    Ok(())
}
