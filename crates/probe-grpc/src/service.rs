//! `grpc.health.v1.Health` over a [`Health`]: `Check` evaluates like an HTTP probe,
//! `Watch` follows the engine's status stream.

use std::pin::Pin;

use probe_core::{Health, Select};
use probe_http::Stopping;
use tonic::codegen::tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{self, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::name::Target;
use crate::watch;

/// The gRPC health service over a [`Health`]; [`service`](crate::service) wraps it in
/// the generated [`HealthServer`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GrpcHealth {
    health: Health,
}

impl GrpcHealth {
    /// Answers for `health`.
    pub fn new(health: Health) -> Self {
        GrpcHealth { health }
    }

    /// What `Check` answers for `service`: `None` when the name is unknown. Runs (or
    /// reuses) the checks, within the probe's deadline.
    pub async fn check_status(&self, service: &str) -> Option<ServingStatus> {
        let target = Target::resolve(&self.health, service)?;
        let report = match &target {
            Target::Probe(probe) => self.health.evaluate(*probe, &Select::All).await,
            Target::Check { probe, name } => {
                self.health
                    .evaluate(*probe, &Select::Only(name.clone()))
                    .await
            }
        };
        let begun = self.health.shutdown().has_begun();
        Some(target.serving(report.status.is_passing(), begun))
    }
}

/// The stream of a `Watch` call.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl health_server::Health for GrpcHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        match self.check_status(&request.get_ref().service).await {
            Some(status) => Ok(Response::new(HealthCheckResponse {
                status: status.into(),
            })),
            // The name is not echoed: it came from the client.
            None => Err(Status::not_found("unknown service")),
        }
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let stopping = request.extensions().get::<Stopping>().cloned();
        let stream = match Target::resolve(&self.health, &request.get_ref().service) {
            Some(target) => watch::following(self.health.clone(), target, stopping),
            None => watch::unknown(stopping),
        };
        Ok(Response::new(stream))
    }
}

/// The generated tonic service over `health`, to add to a tonic server in one line or to
/// serve beside the HTTP probes with [`Bound::serve_with_grpc`](probe_http::Bound::serve_with_grpc).
pub fn service(health: Health) -> HealthServer<GrpcHealth> {
    HealthServer::new(GrpcHealth::new(health))
}
