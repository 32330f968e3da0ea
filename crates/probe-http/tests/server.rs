//! The listener: clean bind errors, drain with in-flight requests, the connection cap,
//! the header-read timeout, and mounting inside another hyper server.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_http::{Kubernetes, ProbeService, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn plain() -> ProbeService {
    ProbeService::builder()
        .dialect(Kubernetes::new(Health::builder().build().unwrap()))
        .build()
}

#[tokio::test]
async fn an_address_in_use_is_a_clean_error_before_serving() {
    let first = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let err = Server::bind(first.local_addr(), ServerConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot listen on {}: address already in use",
            first.local_addr()
        )
    );
}

#[tokio::test]
async fn in_flight_requests_finish_after_shutdown_begins() {
    let slow = from_fn(Scope::Local, || async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Outcome::pass()
    });
    let h = Health::builder()
        .check("slow", slow, [Probe::Readiness], Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let svc = ProbeService::builder().dialect(Kubernetes::new(h)).build();
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.serve(svc, async move {
        let _ = stopped.await;
    }));
    let request = tokio::spawn(async move { support::get(addr, "/readyz").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    let got = request.await.unwrap();
    assert_eq!(
        (got.status, got.body.as_str()),
        (StatusCode::OK, "ok"),
        "the in-flight request completed"
    );
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server returns after the drain")
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn the_connection_cap_holds_further_clients_in_the_queue() {
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(plain(), std::future::pending()));
    // The first client holds the only slot with a kept-alive connection.
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"GET /livez HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), first.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let second = tokio::spawn(async move { support::get(addr, "/livez").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "a second connection waits while the cap is reached"
    );
    drop(first);
    let got = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("served once the slot frees")
        .unwrap();
    assert_eq!(got.status, StatusCode::OK);
    server.abort();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let config = ServerConfig {
        header_read_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(plain(), std::future::pending()));
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /livez HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server closed the connection");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    server.abort();
}

#[tokio::test]
async fn the_service_mounts_inside_another_hyper_server() {
    let probes = plain();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let probes = probes.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let probes = probes.clone();
                    async move {
                        if req.uri().path().starts_with("/livez") {
                            Ok::<_, Infallible>(probes.respond(req).await)
                        } else {
                            Ok(http::Response::new(Full::new(Bytes::from_static(
                                b"the application",
                            ))))
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    assert_eq!(support::get(addr, "/livez").await.body, "ok");
    assert_eq!(support::get(addr, "/orders").await.body, "the application");
    app.abort();
}
