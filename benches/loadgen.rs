//! A built-in HTTP/1 load generator on hyper's client, for machines without `wrk`, and the
//! request patterns of the scenarios: a storm of fresh connections and single timed GETs.
//!
//! Every loop here is bounded both in requests and in time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::measure::{Histogram, Throughput};

/// Longest wait for one connection or one answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A request could not be made or answered.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("request to {addr} failed: {source}")]
    Http {
        /// Where.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: hyper::Error,
    },
    /// No answer in time.
    #[error("no answer from {addr} within {0:?}", REQUEST_TIMEOUT)]
    Timeout {
        /// Where.
        addr: SocketAddr,
    },
}

/// One HTTP/1 connection to `addr`.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Empty<Bytes>>, RequestError> {
    let stream = timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| RequestError::Timeout { addr })?
        .map_err(|source| RequestError::Connect { addr, source })?;
    let _ = stream.set_nodelay(true);
    let (send, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|source| RequestError::Http { addr, source })?;
    tokio::spawn(conn);
    Ok(send)
}

/// Sends `GET path` on `send` and reads the whole answer; returns its status code.
async fn get_on(
    send: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> Result<u16, RequestError> {
    let req = http::Request::get(path)
        .header(HOST, addr.to_string())
        .body(Empty::new())
        .expect("a GET with a path and a host is a valid request");
    let exchange = async {
        let resp = send.send_request(req).await?;
        let status = resp.status().as_u16();
        resp.into_body().collect().await?;
        Ok::<_, hyper::Error>(status)
    };
    timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| RequestError::Timeout { addr })?
        .map_err(|source| RequestError::Http { addr, source })
}

/// One `GET path` on a fresh connection (as a kubelet probes): status and time taken,
/// connecting included.
pub async fn get_once(addr: SocketAddr, path: &str) -> Result<(u16, Duration), RequestError> {
    let start = Instant::now();
    let mut send = connect(addr).await?;
    let status = get_on(&mut send, addr, path).await?;
    Ok((status, start.elapsed()))
}

/// Keeps `conns` connections busy with `GET path` for `duration` (at most `max_requests`
/// in all), one request at a time on each, like `wrk`.
pub async fn keep_alive(
    addr: SocketAddr,
    path: &str,
    conns: usize,
    duration: Duration,
    max_requests: u64,
) -> Result<Throughput, RequestError> {
    let mut senders = Vec::with_capacity(conns);
    for _ in 0..conns.max(1) {
        senders.push(connect(addr).await?);
    }
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::with_capacity(senders.len());
    for mut send in senders {
        let path = path.to_owned();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::default();
            let mut failures = 0u64;
            while Instant::now() < end && issued.fetch_add(1, Ordering::Relaxed) < max_requests {
                let t0 = Instant::now();
                match get_on(&mut send, addr, &path).await {
                    Ok(code) if (200..400).contains(&code) => hist.record(t0.elapsed()),
                    Ok(_) => failures += 1,
                    Err(_) => {
                        failures += 1;
                        break;
                    }
                }
            }
            (hist, failures)
        }));
    }
    let mut hist = Histogram::default();
    let mut failures = 0;
    for t in tasks {
        if let Ok((h, f)) = t.await {
            hist.merge(&h);
            failures += f;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(Throughput {
        requests: hist.len(),
        requests_per_sec: hist.len() as f64 / elapsed,
        p50: hist.quantile(0.50),
        p99: hist.quantile(0.99),
        failures,
    })
}

/// What a storm of requests saw.
#[derive(Debug)]
pub struct Storm {
    /// How many answers had each status code.
    pub codes: BTreeMap<u16, u64>,
    /// Requests that got no answer.
    pub errors: u64,
    /// From the first request sent to the last answer read.
    pub elapsed: Duration,
    /// Time of each answered request, connecting included.
    pub latencies: Histogram,
}

/// `total` GETs of `path`, each on a fresh connection, `concurrency` at a time.
pub async fn storm(addr: SocketAddr, path: &str, total: u64, concurrency: usize) -> Storm {
    let left = Arc::new(AtomicU64::new(total));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let left = left.clone();
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut codes = BTreeMap::new();
            let mut errors = 0;
            let mut hist = Histogram::default();
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                match get_once(addr, &path).await {
                    Ok((code, took)) => {
                        *codes.entry(code).or_insert(0) += 1;
                        hist.record(took);
                    }
                    Err(_) => errors += 1,
                }
            }
            (codes, errors, hist)
        }));
    }
    let mut out = Storm {
        codes: BTreeMap::new(),
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Histogram::default(),
    };
    for t in tasks {
        if let Ok((codes, errors, hist)) = t.await {
            for (code, n) in codes {
                *out.codes.entry(code).or_insert(0) += n;
            }
            out.errors += errors;
            out.latencies.merge(&hist);
        }
    }
    out.elapsed = start.elapsed();
    out
}
