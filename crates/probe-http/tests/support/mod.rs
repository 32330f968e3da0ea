//! Helpers shared by the HTTP tests: serve a service on loopback, ask it with a real hyper
//! client (from a chosen loopback address if need be). Every call is bounded in time.
#![allow(dead_code)]

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use probe_http::{ProbeService, Server, ServerConfig};
use tokio::net::TcpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The budget of one request, connection included.
pub(crate) const T: Duration = Duration::from_secs(10);

/// Awaits `f`, failing the test if it takes longer than `secs` seconds.
pub(crate) async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("no result within {secs}s"))
}

/// A service served on a loopback port until dropped.
pub(crate) struct Served {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Served {
    /// Serves `service` on `127.0.0.1:0`.
    pub(crate) async fn start(service: ProbeService) -> Served {
        serve(service)
    }

    /// Serves `service` on `addr` (port 0 picks one).
    pub(crate) async fn on(addr: SocketAddr, service: ProbeService) -> Served {
        serve_on(addr, service)
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

/// Serves `service` on `127.0.0.1:0`.
pub(crate) fn serve(service: ProbeService) -> Served {
    serve_on("127.0.0.1:0".parse().unwrap(), service)
}

fn serve_on(addr: SocketAddr, service: ProbeService) -> Served {
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

/// What came back.
#[derive(Debug)]
pub(crate) struct Got {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// The same, by the name some tests use.
pub(crate) type Answer = Got;

impl Got {
    /// A header's value as text ("" when missing).
    pub(crate) fn header(&self, name: &str) -> &str {
        header(&self.headers, name)
    }
}

/// The value of header `name`, or `""`.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// One request over a fresh connection, from the local address `from` when given (any
/// 127.0.0.0/8 address works on loopback), with `Host: <addr>` unless `host` is false.
async fn exchange(
    method: Method,
    from: Option<IpAddr>,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    host: bool,
) -> Got {
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
        let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let mut req = Request::builder().method(method).uri(path);
        if host {
            req = req.header("host", addr.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = tx
            .send_request(req.body(Empty::<Bytes>::new()).unwrap())
            .await
            .expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Got {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    };
    tokio::time::timeout(T, go)
        .await
        .expect("the request finished in time")
}

/// Sends `method path` with `headers` (and a `Host`), within [`T`].
pub(crate) async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Got {
    exchange(method, None, addr, path, headers, true).await
}

/// `method path` with no extra headers.
pub(crate) async fn ask(addr: SocketAddr, method: Method, path: &str) -> Got {
    send(addr, method, path, &[]).await
}

/// `GET path`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Got {
    send(addr, Method::GET, path, &[]).await
}

/// `method path` with `headers` (and `Host: <addr>` unless they name one, as HTTP/1.1
/// requires), from `from` when given.
pub(crate) async fn request(
    method: Method,
    from: Option<IpAddr>,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let host = !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    let got = exchange(method, from, addr, path, headers, host).await;
    (got.status, got.headers, got.body)
}

/// `GET path` with `headers` (and a `Host` unless they name one).
pub(crate) async fn get_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    request(Method::GET, None, addr, path, headers).await
}
