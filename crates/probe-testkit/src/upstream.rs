//! A loopback HTTP upstream for tests and benchmarks: answers a fixed status and counts
//! its hits, or accepts connections and never answers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running upstream on `127.0.0.1`; it stops when dropped.
pub struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicU64>,
    status: Arc<AtomicU16>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// Answers `200 ok` to every request and counts them.
    pub async fn counting() -> Upstream {
        Upstream::status(200).await
    }

    /// Answers `status` to every request and counts them.
    pub async fn status(status: u16) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicU64::new(0));
        let code = Arc::new(AtomicU16::new(status));
        let (h, c) = (hits.clone(), code.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (h, c) = (h.clone(), c.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |_req| {
                        h.fetch_add(1, Ordering::SeqCst);
                        let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
                        *resp.status_mut() =
                            hyper::StatusCode::from_u16(c.load(Ordering::SeqCst)).unwrap_or(hyper::StatusCode::OK);
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        });
        Upstream { addr, hits, status: code, task }
    }

    /// Accepts connections and never answers (nor closes them).
    pub async fn hanging() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicU64::new(0));
        let h = hits.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Upstream { addr, hits, status: Arc::new(AtomicU16::new(0)), task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests (or, when hanging, connections) seen so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    /// Changes the status answered from now on.
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
