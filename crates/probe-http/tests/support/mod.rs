//! Helpers shared by the HTTP tests: serve a service on loopback, ask it with a real hyper
//! client. Every call is bounded in time.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use probe_http::{ProbeService, Server, ServerConfig};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Awaits `f`, failing the test if it takes longer than `secs` seconds.
pub(crate) async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("no result within {secs}s"))
}

/// A service served on `127.0.0.1:<free port>` until dropped.
pub(crate) struct Served {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// Serves `service` on loopback.
pub(crate) fn serve(service: ProbeService) -> Served {
    let bound = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).expect("bind 127.0.0.1:0");
    let addr = bound.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(service, async {
        let _ = stopped.await;
    }));
    Served { addr, stop: Some(stop), task }
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
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// Sends one request over a fresh connection and reads the whole answer, within 5 s.
pub(crate) async fn send(addr: SocketAddr, method: Method, path: &str, headers: &[(&str, &str)]) -> Got {
    within(5, async {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(conn);
        let mut req = Request::builder().method(method).uri(path).header("host", addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = tx.send_request(req.body(Empty::<Bytes>::new()).unwrap()).await.expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Got { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() }
    })
    .await
}

/// `method path` with no extra headers.
pub(crate) async fn ask(addr: SocketAddr, method: Method, path: &str) -> Got {
    send(addr, method, path, &[]).await
}

/// `GET path`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Got {
    send(addr, Method::GET, path, &[]).await
}
