//! A loopback HTTP upstream for tests and benchmarks: answers a fixed status and counts
//! its hits (over plain HTTP, or HTTPS with a test CA), redirects elsewhere, or accepts
//! connections and never answers.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::tls::TlsServer;

/// A running upstream on `127.0.0.1`; it stops when dropped.
pub struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicU64>,
    status: Arc<AtomicU16>,
    tls: Option<TlsServer>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// Answers `200 ok` to every request and counts them.
    pub async fn counting() -> Upstream {
        Upstream::status(200).await
    }

    /// Answers `status` to every request and counts them.
    pub async fn status(status: u16) -> Upstream {
        Upstream::serve(status, None, None).await
    }

    /// Answers `302 Found` with `Location: <location>` to every request and counts them.
    pub async fn redirecting(location: &str) -> Upstream {
        Upstream::serve(302, None, Some(location.to_owned())).await
    }

    /// Answers `status` over HTTPS, with a certificate for `127.0.0.1`, `::1` and
    /// `localhost` from a fresh test CA ([`Upstream::ca_file`]).
    pub async fn tls(status: u16) -> Upstream {
        Upstream::serve(status, Some(TlsServer::localhost()), None).await
    }

    /// Answers `status` over HTTPS with `server`'s certificate (another name, another CA).
    pub async fn tls_with(status: u16, server: TlsServer) -> Upstream {
        Upstream::serve(status, Some(server), None).await
    }

    async fn serve(status: u16, tls: Option<TlsServer>, location: Option<String>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicU64::new(0));
        let code = Arc::new(AtomicU16::new(status));
        let (h, c, server) = (hits.clone(), code.clone(), tls.clone());
        let task = tokio::spawn(async move {
            // Connections live in this set: aborting the loop drops them all.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let (h, c, server) = (h.clone(), c.clone(), server.clone());
                let location = location.clone();
                let answer = move |_req| {
                    h.fetch_add(1, Ordering::SeqCst);
                    let mut resp = http::Response::new(Full::new(Bytes::from_static(b"ok")));
                    *resp.status_mut() = http::StatusCode::from_u16(c.load(Ordering::SeqCst))
                        .unwrap_or(http::StatusCode::OK);
                    if let Some(to) = location
                        .as_deref()
                        .and_then(|l| http::HeaderValue::from_str(l).ok())
                    {
                        resp.headers_mut().insert(http::header::LOCATION, to);
                    }
                    std::future::ready(resp)
                };
                connections.spawn(async move {
                    match server {
                        None => crate::http1::serve_connection(stream, answer).await,
                        Some(server) => {
                            if let Ok(stream) = server.accept(stream).await {
                                crate::http1::serve_connection(stream, answer).await;
                            }
                        }
                    }
                });
            }
        });
        Upstream {
            addr,
            hits,
            status: code,
            tls,
            task,
        }
    }

    /// Accepts connections and never answers (nor closes them).
    pub async fn hanging() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
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
        Upstream {
            addr,
            hits,
            status: Arc::new(AtomicU16::new(0)),
            tls: None,
            task,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`, or `https://…` when it serves TLS.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The PEM file of the CA that signed its certificate, when it serves TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_file())
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
