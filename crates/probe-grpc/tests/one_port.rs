//! The one-port listener: HTTP/1.1 and HTTP/2 on the same socket, gRPC told apart by its
//! content type, the listener's limits and allow-list applied to both.

mod support;

use std::time::{Duration, Instant};

use probe_core::Health;
use probe_grpc::client::{self, Channel, CheckError};
use probe_grpc::pb::health_check_response::ServingStatus::Serving;
use probe_http::{Cidr, ClientAllowList, Kubernetes, ProbeService, ServerConfig};
use support::{check, within, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;

fn health() -> Health {
    Health::builder().build().unwrap()
}

/// One HTTP/1.1 request written by hand; the whole answer, read until the server closes.
async fn http1(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = within("connect", TcpStream::connect(addr)).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    within("the HTTP/1.1 answer", s.read_to_string(&mut out))
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn http1_and_grpc_share_the_port() {
    let health = health();
    let server = Running::start(&health).await;
    let answer = http1(server.addr, "/livez").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    let mut c = support::client(server.addr).await;
    assert_eq!(check(&mut c, "liveness").await, Ok(Serving));
    let answer = http1(server.addr, "/readyz").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn http2_requests_that_are_not_grpc_reach_the_http_probes() {
    use tower_service::Service as _;
    let server = Running::start(&health()).await;
    let mut ch = within("connect", Channel::connect(&server.addr.to_string()))
        .await
        .unwrap();
    let req = http::Request::get(format!("http://{}/livez", server.addr))
        .body(tonic::body::Body::empty())
        .unwrap();
    std::future::poll_fn(|cx| ch.poll_ready(cx)).await.unwrap();
    let resp = within("GET /livez over HTTP/2", ch.call(req))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let req = http::Request::get(format!("http://{}/nosuch", server.addr))
        .header("content-type", "application/grpc-web")
        .body(tonic::body::Body::empty())
        .unwrap();
    std::future::poll_fn(|cx| ch.poll_ready(cx)).await.unwrap();
    let resp = within("GET /nosuch over HTTP/2", ch.call(req))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        404,
        "grpc-web is not gRPC: the HTTP routes answer"
    );
    server.stop().await;
}

#[tokio::test]
async fn grpc_calls_from_outside_the_allow_list_are_refused() {
    let health = health();
    let only_elsewhere = ClientAllowList::new([Cidr::new([10, 9, 8, 0].into(), 24).unwrap()]);
    let http = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .allow_clients(only_elsewhere)
        .build();
    let server = Running::with(&health, http).await;
    let mut c = support::client(server.addr).await;
    assert_eq!(check(&mut c, "liveness").await, Err(Code::PermissionDenied));
    let answer = http1(server.addr, "/livez").await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let health = health();
    let http = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    let config = ServerConfig {
        header_read_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let server = Running::configured(&health, http, config).await;
    let mut silent = within("connect", TcpStream::connect(server.addr))
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = within("the server closing a silent client", silent.read(&mut buf))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn the_client_says_why_it_got_no_status() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let e = client::check(&addr, "", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::Connect(_)), "{e:?}");
    assert!(e.to_string().contains("connection refused"), "{e}");

    // Accepts, never answers: the time limit covers the handshake too.
    let mute = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = mute.local_addr().unwrap().to_string();
    let started = Instant::now();
    let e = client::check(&addr, "", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(e, CheckError::TimedOut(_)), "{e:?}");
    assert_eq!(e.to_string(), "timed out after 300ms");
    assert!(started.elapsed() < Duration::from_secs(2));

    let server = Running::start(&health()).await;
    let e = client::check(&server.addr.to_string(), "nosuch", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "unknown service \"nosuch\"");
    server.stop().await;
}
