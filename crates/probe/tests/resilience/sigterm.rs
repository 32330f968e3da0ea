//! SIGTERM while clients keep connections alive: no request is lost, readiness turns 503
//! at once, and the process exits 0 once the drain is over.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::attack::{kubelet_get, pick, Probe};

/// Reads one answer's head and body; whether it asked to close the connection. `None`
/// when the connection ended before a whole answer.
async fn answer(s: &mut TcpStream) -> Option<bool> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
    Some(head.contains("\r\nconnection: close\r\n"))
}

/// Sends requests on kept-alive connections until the server stops taking connections;
/// counts the answered requests and the lost ones (sent, never answered).
async fn keep_alive_client(
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
) {
    let give_up = Instant::now() + Duration::from_secs(20);
    'connections: while Instant::now() < give_up {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            if stopped.load(Ordering::Relaxed) {
                return;
            }
            // Refused: the listener is closed, the drain is over.
            return;
        };
        loop {
            if s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .is_err()
            {
                // Not sent: the server had closed the connection after its last answer.
                continue 'connections;
            }
            match answer(&mut s).await {
                Some(close) => {
                    ok.fetch_add(1, Ordering::Relaxed);
                    if close {
                        continue 'connections;
                    }
                }
                None => {
                    lost.fetch_add(1, Ordering::Relaxed);
                    continue 'connections;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_keep_alive_load_loses_nothing_and_fails_readiness_at_once() {
    let _alone = super::attack::one_at_a_time().await;
    let mut probe = Probe::serve("[server]\nlisten = \"127.0.0.1:{port}\"\ndrain = \"1s\"\n").await;
    let addr = probe.addr;
    let clients: usize = pick(8, 32);
    let stopped = Arc::new(AtomicBool::new(false));
    let (ok, lost) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = JoinSet::new();
    for _ in 0..clients {
        load.spawn(keep_alive_client(
            addr,
            stopped.clone(),
            ok.clone(),
            lost.clone(),
        ));
    }
    let (ready, _) = kubelet_get(addr, "/readyz", Duration::from_secs(2)).await;
    assert_eq!(ready.status, 200, "ready before the stop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Readiness polls every 5 ms from the signal on, each on a fresh connection.
    let signalled = Instant::now();
    probe.terminate();
    let mut polls = JoinSet::new();
    while signalled.elapsed() < Duration::from_millis(500) {
        let sent = signalled.elapsed();
        polls.spawn(async move {
            (
                sent,
                kubelet_get(addr, "/readyz", Duration::from_secs(2)).await.0,
            )
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut first_503 = None::<Duration>;
    let mut late_200 = Vec::new();
    while let Some(done) = polls.join_next().await {
        let (sent, got) = done.unwrap();
        if got.status == 503 {
            first_503 = Some(first_503.map_or(sent, |f| f.min(sent)));
        } else if sent >= Duration::from_millis(50) {
            late_200.push((sent, got.status));
        }
    }
    let code = tokio::time::timeout(Duration::from_secs(10), probe.child.wait())
        .await
        .expect("probe exited within 10 s of SIGTERM")
        .unwrap()
        .code();
    stopped.store(true, Ordering::Relaxed);
    while load.join_next().await.is_some() {}
    let first = first_503.expect("readiness turned 503 during the drain");
    eprintln!(
        "sigterm: {clients} keep-alive clients, {} requests answered, {} lost; \
         the first readiness probe answered 503 was sent {:.1} ms after SIGTERM; exit {code:?}",
        ok.load(Ordering::Relaxed),
        lost.load(Ordering::Relaxed),
        first.as_secs_f64() * 1e3
    );
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "no request sent was left unanswered"
    );
    assert!(ok.load(Ordering::Relaxed) > 0, "the load ran");
    assert!(
        first <= Duration::from_millis(50),
        "readiness 503 within 50 ms, not {first:?}"
    );
    assert!(
        late_200.is_empty(),
        "readiness asked 50 ms or more after SIGTERM answered: {late_200:?}"
    );
    assert_eq!(code, Some(0), "exit 0 after the drain");
}
