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
async fn at_the_cap_the_longest_idle_connection_gives_way_to_a_new_client() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(plain(), std::future::pending()));
    // Two clients hold both slots with kept-alive, idle connections; the first is older.
    let mut first = TcpStream::connect(addr).await.unwrap();
    assert_eq!(exchange(&mut first, "/livez").await.unwrap().0, 200);
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert_eq!(exchange(&mut second, "/livez").await.unwrap().0, 200);
    // Another client is served at once, in place of the first, whose connection is closed.
    let other = Some("127.0.0.2".parse().unwrap());
    let third = tokio::time::timeout(
        Duration::from_secs(5),
        support::request(http::Method::GET, other, addr, "/livez", &[]),
    )
    .await
    .expect("a new client is served while the cap is reached");
    assert_eq!(third.0, StatusCode::OK);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "the longest idle connection was closed"
    );
    assert_eq!(
        exchange(&mut second, "/livez").await.unwrap().0,
        200,
        "the younger one stays"
    );
    server.abort();
}

#[tokio::test]
async fn a_client_at_its_share_waits_aside_for_one_of_its_own_connections_to_end() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(plain(), std::future::pending()));
    let mut first = TcpStream::connect(addr).await.unwrap();
    assert_eq!(exchange(&mut first, "/livez").await.unwrap().0, 200);
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert_eq!(exchange(&mut second, "/livez").await.unwrap().0, 200);
    let third = tokio::spawn(async move { support::get(addr, "/livez").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !third.is_finished(),
        "the client's third connection waits while it holds both"
    );
    drop(first);
    let got = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("served once one of its connections ended")
        .unwrap();
    assert_eq!(got.status, StatusCode::OK);
    server.abort();
}

#[tokio::test]
async fn at_the_cap_a_connection_with_a_request_in_flight_keeps_its_slot() {
    let slow = from_fn(Scope::Local, || async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        Outcome::pass()
    });
    let h = Health::builder()
        .check("slow", slow, [Probe::Readiness], Policy::default())
        .unwrap()
        .build()
        .unwrap();
    let svc = ProbeService::builder().dialect(Kubernetes::new(h)).build();
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(svc, std::future::pending()));
    let mut first = TcpStream::connect(addr).await.unwrap();
    let busy = tokio::spawn(async move {
        let got = exchange(&mut first, "/readyz").await.unwrap().0;
        (got, first)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = tokio::spawn(async move { support::get(addr, "/livez").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "a new client waits while the only connection is busy"
    );
    let (code, _first) = busy.await.unwrap();
    assert_eq!(code, 200, "the request in flight was answered, not cut");
    let got = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("served once the busy connection turned idle")
        .unwrap();
    assert_eq!(got.status, StatusCode::OK);
    server.abort();
}

#[tokio::test]
async fn http11_requests_need_exactly_one_host_header() {
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(plain(), std::future::pending()));
    for (request, want) in [
        ("GET /livez HTTP/1.1\r\n\r\n", "400"),
        ("GET /livez HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        ("GET /livez HTTP/1.1\r\nHost: a\r\n\r\n", "200"),
        ("GET /livez HTTP/1.0\r\n\r\n", "200"),
    ] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(
            head.starts_with(&format!("HTTP/1.1 {want}"))
                || head.starts_with(&format!("HTTP/1.0 {want}")),
            "{request:?}: {head}"
        );
    }
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

/// One request over `stream` (kept alive unless the answer says otherwise): the status and
/// whether the answer carries `Connection: close`. An error when the connection ends
/// before a whole answer arrives.
async fn exchange(stream: &mut TcpStream, path: &str) -> std::io::Result<(u16, bool)> {
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(512);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 512];
        let n = support::within(10, stream.read(&mut chunk)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("a status code");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().expect("a content length"));
    let mut body = buf.len() - head_end;
    while body < length {
        let mut chunk = [0u8; 512];
        let n = support::within(10, stream.read(&mut chunk)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body += n;
    }
    Ok((status, head.contains("\r\nconnection: close\r\n")))
}

#[tokio::test]
async fn answers_during_the_drain_ask_the_client_to_close_the_connection() {
    let health = Health::builder().build().unwrap();
    let svc = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    let server = tokio::spawn(bound.serve(svc.clone(), std::future::pending()));
    let mut kept = support::within(10, TcpStream::connect(addr)).await.unwrap();
    for _ in 0..2 {
        let got = exchange(&mut kept, "/livez").await.unwrap();
        assert_eq!(got, (200, false), "before the drain the connection is kept");
    }

    health.shutdown().begin();
    assert!(svc.is_draining());
    assert_eq!(
        exchange(&mut kept, "/livez").await.unwrap(),
        (200, true),
        "during the drain liveness passes, and the answer asks the client to close"
    );
    let mut rest = Vec::new();
    support::within(10, kept.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection after that answer");
    assert!(rest.is_empty());
    let mut fresh = support::within(10, TcpStream::connect(addr)).await.unwrap();
    assert_eq!(exchange(&mut fresh, "/readyz").await.unwrap(), (503, true));

    // Mounted in another server, the service says the same.
    let req = http::Request::get("/livez").body(()).unwrap();
    let resp = svc.respond(req).await;
    assert_eq!(support::header(resp.headers(), "connection"), "close");
    server.abort();
}

/// Several keep-alive clients send requests back to back while the drain ends and the
/// server stops: every request sent on a connection the server had accepted is answered.
/// Only connections opened after the stop may be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_get_an_answer_to_every_request_across_the_end_of_the_drain() {
    keep_alive_across_the_end_of_the_drain(false).await;
}

/// The same on the one-port listener, which also speaks gRPC.
#[cfg(feature = "grpc-port")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_of_the_one_port_listener_get_every_answer_across_the_end_of_the_drain()
{
    keep_alive_across_the_end_of_the_drain(true).await;
}

async fn keep_alive_across_the_end_of_the_drain(one_port: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let health = Health::builder().build().unwrap();
    let svc = ProbeService::builder()
        .dialect(Kubernetes::new(health.clone()))
        .build();
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = bound.local_addr();
    let (signal, signals) = tokio::sync::mpsc::channel::<()>(1);
    let stopped = Arc::new(AtomicBool::new(false));
    let drain = probe_core::Drain::new(&health, Duration::from_millis(400)).on(signals);
    let stop = {
        let stopped = stopped.clone();
        async move {
            drain.await;
            stopped.store(true, Ordering::SeqCst);
        }
    };
    let server = if one_port {
        #[cfg(feature = "grpc-port")]
        {
            // Any tower service stands for the gRPC side: these clients speak HTTP/1.1.
            let grpc = svc.clone();
            tokio::spawn(bound.serve_with_grpc(svc, grpc, Default::default(), stop))
        }
        #[cfg(not(feature = "grpc-port"))]
        unreachable!("the one-port listener needs the grpc-port feature")
    } else {
        tokio::spawn(bound.serve(svc, stop))
    };

    // Each client says when it has had its first answer, so the drain starts under load.
    let (first, mut firsts) = tokio::sync::mpsc::unbounded_channel::<()>();
    let client = |stopped: Arc<AtomicBool>, first: tokio::sync::mpsc::UnboundedSender<()>| async move {
        let mut answered = 0u32;
        let mut lost = Vec::new();
        let mut conn: Option<(TcpStream, bool)> = None;
        for _ in 0..200_000 {
            let (stream, owed) = match &mut conn {
                Some(c) => c,
                None => {
                    let connected_before_the_stop = !stopped.load(Ordering::SeqCst);
                    match support::within(10, TcpStream::connect(addr)).await {
                        Ok(s) => conn.insert((s, connected_before_the_stop)),
                        // Refused: the server has stopped.
                        Err(_) => return (answered, lost, true),
                    }
                }
            };
            match exchange(stream, "/livez").await {
                Ok((200, close)) => {
                    answered += 1;
                    if answered == 1 {
                        let _ = first.send(());
                    }
                    // The server accepted this connection: it owes the next answer too.
                    *owed = true;
                    if close {
                        conn = None;
                    }
                }
                Ok((status, _)) => panic!("/livez answered {status}"),
                Err(e) => {
                    if *owed {
                        lost.push(e.to_string());
                    }
                    conn = None;
                }
            }
        }
        (answered, lost, false)
    };
    let clients: Vec<_> = (0..4)
        .map(|_| tokio::spawn(client(stopped.clone(), first.clone())))
        .collect();
    for _ in 0..4 {
        support::within(10, firsts.recv())
            .await
            .expect("a first answer");
    }
    signal.send(()).await.unwrap();
    for c in clients {
        let (answered, lost, refused) = support::within(60, c).await.unwrap();
        assert!(answered > 0);
        assert!(
            lost.is_empty(),
            "requests without an answer: {lost:?} ({answered} answered)"
        );
        assert!(refused, "the server stopped while the client was sending");
    }
    support::within(10, server).await.unwrap();
}
