//! Helpers shared by the examples' tests: one HTTP/1.1 request over a fresh loopback
//! connection, and a bound on every await.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Awaits `f`, failing the test if it takes longer than `secs` seconds.
pub(crate) async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("no result within {secs}s"))
}

/// A health whose readiness has one dependency, `db`, refusing connections; liveness has
/// no checks.
pub(crate) fn failing_db() -> Health {
    let db = from_fn(Scope::Dependency, || async {
        Outcome::fail("connection refused")
    });
    Health::builder()
        .check("db", db, [Probe::Readiness], Policy::default())
        .unwrap()
        .build()
        .unwrap()
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Got {
    /// The status code.
    pub(crate) status: u16,
    /// The header lines, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: String,
}

impl Got {
    /// The value of header `name` ("" when missing).
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// `method path` to `addr`, the connection closed after the answer; within 10 s.
pub(crate) async fn request(addr: SocketAddr, method: &str, path: &str) -> Got {
    within(10, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("answer");
        parse(&String::from_utf8_lossy(&raw))
    })
    .await
}

/// `GET path`.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Got {
    request(addr, "GET", path).await
}

fn parse(raw: &str) -> Got {
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Got {
        status,
        headers,
        body: body.to_owned(),
    }
}
