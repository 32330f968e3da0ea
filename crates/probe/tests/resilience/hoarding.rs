//! One peer hoarding more connections than the cap and reopening each one the server
//! closes, beside slowloris clients that never finish their headers (all from 127.0.0.1):
//! the kubelet's probes (from 127.0.0.2) must still be answered within their 1 s deadline.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::attack::{self, kubelet_get_from, pick, quantile_ms, Probe};

const DEADLINE: Duration = Duration::from_secs(1);

/// The kubelet probes from the node's address; the peer hoards from its own (127.0.0.1).
const KUBELET: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// Holds a connection, idle (after one kept-alive request when `ask` is set), until the
/// server closes it; then opens another, until `stop`.
async fn hoard(addr: SocketAddr, ask: bool, stop: Arc<AtomicBool>, reopened: Arc<AtomicU64>) {
    let mut buf = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        let Ok(Ok(mut s)) = tokio::time::timeout(DEADLINE, TcpStream::connect(addr)).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if ask {
            let _ = s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n").await;
        }
        // Read (the answer, if any) until the server closes, checking `stop` now and then.
        loop {
            match tokio::time::timeout(Duration::from_millis(250), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => {}
                Err(_) if stop.load(Ordering::Relaxed) => return,
                Err(_) => {}
            }
        }
        reopened.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends a request's headers one byte at a time, never finishing, on a connection it
/// reopens whenever the server closes it.
async fn slowloris(addr: SocketAddr, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(Ok(mut s)) = tokio::time::timeout(DEADLINE, TcpStream::connect(addr)).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .is_err()
        {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if s.write_all(b"a").await.is_err() {
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_are_answered_within_a_second_while_one_peer_hoards_connections() {
    let _alone = super::attack::one_at_a_time().await;
    let probe = Probe::serve("[server]\nlisten = \"127.0.0.1:{port}\"\n").await;
    let addr = probe.addr;
    let hoarders: usize = pick(1_100, 2_500);
    let slow: usize = pick(100, 400);
    let length = pick(Duration::from_secs(6), Duration::from_secs(30));
    let stop = Arc::new(AtomicBool::new(false));
    let reopened = Arc::new(AtomicU64::new(0));
    let mut attackers = JoinSet::new();
    for i in 0..hoarders {
        attackers.spawn(hoard(addr, i % 2 == 0, stop.clone(), reopened.clone()));
    }
    for _ in 0..slow {
        attackers.spawn(slowloris(addr, stop.clone()));
    }
    // Let the hoard fill the cap before the probes start.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut probes = JoinSet::new();
    let started = tokio::time::Instant::now();
    while started.elapsed() < length {
        probes.spawn(kubelet_get_from(Some(KUBELET), addr, "/livez", DEADLINE));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut answers = Vec::new();
    while let Some(done) = probes.join_next().await {
        answers.push(done.unwrap().0);
    }
    stop.store(true, Ordering::Relaxed);
    let fds = attack::open_fds(probe.pid);
    attackers.abort_all();
    while attackers.join_next().await.is_some() {}
    let missed = answers.iter().filter(|a| a.status != 200).count();
    eprintln!(
        "hoarding: {hoarders} hoarded + {slow} slowloris sockets ({} reopened), probe fds {fds}: \
         {} probes, {missed} missed 1 s ({:.1} %), p50 {:.1} ms, p99 {:.1} ms",
        reopened.load(Ordering::Relaxed),
        answers.len(),
        100.0 * missed as f64 / answers.len() as f64,
        quantile_ms(&answers, 0.5),
        quantile_ms(&answers, 0.99),
    );
    assert!(
        reopened.load(Ordering::Relaxed) > 0,
        "the attack reached the cap (the server closed hoarded connections)"
    );
    assert_eq!(
        missed, 0,
        "every probe is answered 200 within 1 s while a peer hoards connections"
    );
}
