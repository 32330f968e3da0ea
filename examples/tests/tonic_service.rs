//! The `tonic_service` example, served on a free loopback port: its own RPC, gRPC health
//! and the HTTP probes answer on the one port, and the drain turns health NOT_SERVING.

#[allow(dead_code, unreachable_pub)]
#[path = "../tonic_service.rs"]
mod example;

use std::future::Future;
use std::time::Duration;

use example::{HelloReply, HelloRequest, SAY_HELLO};
use probe_grpc::client::Channel;
use probe_grpc::pb::health_check_response::ServingStatus;
use probe_grpc::pb::health_client::HealthClient;
use probe_grpc::pb::HealthCheckRequest;
use probe_http::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(5);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(T, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {T:?}"))
}

async fn health_of(client: &mut HealthClient<Channel>, service: &str) -> ServingStatus {
    let req = HealthCheckRequest {
        service: service.to_owned(),
    };
    let resp = within("Check", client.check(req))
        .await
        .expect("Check answers");
    ServingStatus::try_from(resp.get_ref().status).unwrap()
}

#[tokio::test]
async fn the_example_serves_its_rpc_health_and_http_on_one_port() {
    let health = example::health().unwrap();
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(example::serve(bound, health.clone(), async {
        let _ = stopped.await;
    }));

    let channel = within("connect", Channel::connect(&addr.to_string()))
        .await
        .unwrap();
    let origin: http::Uri = format!("http://{addr}").parse().unwrap();

    // The application's own RPC, called the way a generated client calls it.
    let mut grpc = tonic::client::Grpc::with_origin(channel.clone(), origin.clone());
    within("ready", grpc.ready()).await.unwrap();
    let req = tonic::Request::new(HelloRequest {
        name: "kubelet".into(),
    });
    let path = http::uri::PathAndQuery::from_static(SAY_HELLO);
    let codec = tonic_prost::ProstCodec::<HelloRequest, HelloReply>::default();
    let reply = within("SayHello", grpc.unary(req, path, codec))
        .await
        .expect("SayHello answers");
    assert_eq!(reply.get_ref().message, "hello, kubelet");

    let mut health_client = HealthClient::with_origin(channel, origin);
    for name in ["", "liveness", "readiness", "greeter", "loop"] {
        assert_eq!(
            health_of(&mut health_client, name).await,
            ServingStatus::Serving,
            "{name:?}"
        );
    }

    let mut http1 = within("connect", tokio::net::TcpStream::connect(addr))
        .await
        .unwrap();
    http1
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    within("GET /readyz", http1.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");

    // What the drain does at SIGTERM: readiness and its checks stop serving first.
    health.shutdown().begin();
    assert_eq!(
        health_of(&mut health_client, "").await,
        ServingStatus::NotServing
    );
    assert_eq!(
        health_of(&mut health_client, "greeter").await,
        ServingStatus::NotServing
    );
    assert_eq!(
        health_of(&mut health_client, "liveness").await,
        ServingStatus::Serving
    );

    stop.send(()).unwrap();
    within("the server's stop", server).await.unwrap();
}
