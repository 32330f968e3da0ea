//! `probe_grpc::service` inside tonic's own server (`tonic::transport::Server`), added in
//! one line as docs/grpc.md shows, answering the health client.

use std::time::Duration;

use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Policy, Probe};
use probe_grpc::client;
use probe_grpc::pb::health_check_response::ServingStatus::{NotServing, Serving};

#[tokio::test]
async fn tonics_own_server_serves_it_with_one_add_service() {
    let health = Health::builder()
        .check(
            "db",
            Scripted::dependency([Step::fail("connection refused"), Step::pass()]),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let incoming =
        tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = incoming.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(probe_grpc::service(health.clone()))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    let ask = |service: &'static str| {
        let addr = addr.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(5),
                client::check(&addr, service, Duration::from_secs(1)),
            )
            .await
            .expect("answers in time")
        }
    };
    assert_eq!(ask("liveness").await.unwrap(), Serving);
    assert_eq!(
        ask("").await.unwrap(),
        NotServing,
        "db refused its first run"
    );
    assert_eq!(
        ask("readiness").await.unwrap(),
        Serving,
        "and passed its second"
    );
    assert!(
        ask("nosuch").await.is_err(),
        "an unknown name is not SERVING"
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
