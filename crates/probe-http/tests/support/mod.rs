//! Shared by the HTTP tests: a served `ProbeService` on loopback, and a small hyper client
//! whose every call is bounded in time.

#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use probe_http::{ProbeService, Server, ServerConfig};
use tokio::net::TcpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The budget of one request, connection included.
pub const T: Duration = Duration::from_secs(10);

/// A `ProbeService` served on a loopback port; it stops when dropped.
pub struct Served {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Served {
    /// Serves `service` on `127.0.0.1:0`.
    pub async fn start(service: ProbeService) -> Served {
        Served::on("127.0.0.1:0".parse().unwrap(), service).await
    }

    /// Serves `service` on `addr` (port 0 picks one).
    pub async fn on(addr: SocketAddr, service: ProbeService) -> Served {
        let bound = Server::bind(addr, ServerConfig::default()).expect("bind");
        let addr = bound.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve(service, async {
            let _ = stopped.await;
        }));
        Served {
            addr,
            stop: Some(stop),
            task,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// `GET path` on `addr` with exactly `headers` (no `Host` unless given).
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    request(Method::GET, None, addr, path, headers).await
}

/// `method path` on `addr` with exactly `headers`, from the local address `from` when
/// given (any 127.0.0.0/8 address works on loopback).
pub async fn request(
    method: Method,
    from: Option<IpAddr>,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let go = async {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .unwrap();
        if let Some(ip) = from {
            socket.bind(SocketAddr::new(ip, 0)).unwrap();
        }
        let stream = socket.connect(addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = sender
            .send_request(req.body(Empty::<bytes::Bytes>::new()).unwrap())
            .await
            .expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    };
    timeout(T, go).await.expect("the request finished in time")
}

/// The value of header `name`, or `""`.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
