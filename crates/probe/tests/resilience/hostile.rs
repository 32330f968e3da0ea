//! Hostile upstreams for every check type that reads an answer: a peer that streams
//! without end, trickles a byte at a time, announces a huge length and then streams,
//! sends garbage, or accepts and stays silent. Each run must end within its timeout as a
//! failed check, and the whole process must stay under a memory bound.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::attack::{self, kubelet_get, pick, Probe};

/// The timeout every check gets.
const TIMEOUT: &str = "800ms";
/// The most any evaluation may take: the timeout, and room for a loaded machine.
const ANSWERED_WITHIN: Duration = Duration::from_millis(2_500);
/// The peak resident set allowed to the whole process, every check under attack at once.
const RSS_BOUND_MIB: u64 = 48;

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The protocol's announce of a huge length, then bytes as fast as the socket takes.
    Huge,
    /// Bytes as fast as the socket takes, no framing at all.
    Endless,
    /// The huge announce, then one byte every 100 ms.
    Trickle,
    /// 4 KiB of noise, then close.
    Garbage,
    /// Accepts and never writes.
    Silence,
}

/// A check type and the announce of a huge length in its protocol.
struct Kind {
    name: &'static str,
    huge: &'static [u8],
    config: fn(&str) -> String,
}

const HTTP_HUGE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n";

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            name: "http",
            huge: b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 99999999999\r\n\r\n",
            config: |a| format!("type = \"http\"\nurl = \"http://{a}/\""),
        },
        Kind {
            name: "kafka-connect",
            huge: HTTP_HUGE,
            config: |a| format!("type = \"kafka-connect\"\nurl = \"http://u:hostile-pw@{a}\""),
        },
        Kind {
            name: "redis",
            huge: b"$2147483647\r\n",
            config: |a| format!("type = \"redis\"\nurl = \"redis://{a}/0\""),
        },
        Kind {
            name: "celery-ping",
            huge: b"*2147483647\r\n",
            config: |a| {
                format!("type = \"celery-ping\"\nbroker = \"redis://{a}/0\"\nworker = \"celery@w\"\nping_timeout = \"600ms\"")
            },
        },
        Kind {
            name: "postgres",
            huge: b"E\x7f\xff\xff\xff",
            config: |a| format!("type = \"postgres\"\nurl = \"postgres://{a}/db\""),
        },
        Kind {
            name: "postgres-query",
            huge: b"E\x7f\xff\xff\xff",
            config: |a| format!("type = \"postgres-query\"\nurl = \"postgres://app:pw@{a}/db\""),
        },
        Kind {
            name: "postgres-migrations",
            huge: b"R\x7f\xff\xff\xff",
            config: |a| {
                format!("type = \"postgres-migrations\"\nurl = \"postgres://app:pw@{a}/db\"\npreset = \"sqlx\"\nexpected = \"20240101\"")
            },
        },
        Kind {
            name: "mysql",
            huge: b"\xff\xff\xff\x00\x0a",
            config: |a| format!("type = \"mysql\"\nurl = \"mysql://root@{a}/\""),
        },
        Kind {
            name: "amqp",
            huge: b"\x01\x00\x00\x7f\xff\xff\xff",
            config: |a| format!("type = \"amqp\"\nurl = \"amqp://guest:guest@{a}/\""),
        },
        Kind {
            name: "memcached",
            huge: b"VALUE k 0 2147483647\r\n",
            config: |a| format!("type = \"memcached\"\nurl = \"memcached://{a}\""),
        },
        Kind {
            name: "kafka",
            huge: b"\x7f\xff\xff\xff",
            config: |a| format!("type = \"kafka\"\nbootstrap = [\"{a}\"]"),
        },
    ]
}

/// A loopback peer behaving as `mode` on every connection; stops when dropped.
struct Hostile {
    addr: String,
    task: JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hostile(mode: Mode, huge: &'static [u8]) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((mut s, _)) = listener.accept().await {
            conns.spawn(async move {
                let noise: Vec<u8> = (0..64 * 1024u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                // Every peer stops after a minute, whatever happens.
                let _ = tokio::time::timeout(Duration::from_secs(60), async {
                    match mode {
                        Mode::Huge => {
                            s.write_all(huge).await?;
                            loop {
                                s.write_all(&noise).await?;
                            }
                        }
                        Mode::Endless => loop {
                            s.write_all(&noise).await?;
                        },
                        Mode::Trickle => {
                            s.write_all(huge).await?;
                            loop {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                s.write_all(b"a").await?;
                            }
                        }
                        Mode::Garbage => {
                            s.write_all(&noise[..4096]).await?;
                            s.shutdown().await
                        }
                        Mode::Silence => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            Ok::<(), std::io::Error>(())
                        }
                    }
                })
                .await;
            });
        }
    });
    Hostile { addr, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_against_every_hostile_peer_ends_in_time_and_in_bounded_memory() {
    let _alone = super::attack::one_at_a_time().await;
    let rounds = pick(2, 10);
    for mode in [
        Mode::Huge,
        Mode::Endless,
        Mode::Trickle,
        Mode::Garbage,
        Mode::Silence,
    ] {
        let mut peers = Vec::new();
        let mut config = String::from("[server]\nlisten = \"127.0.0.1:{port}\"\n");
        for kind in kinds() {
            let peer = hostile(mode, kind.huge).await;
            config.push_str(&format!(
                "\n[[check]]\nname = \"{}\"\ntimeout = \"{TIMEOUT}\"\nprobes = [\"readiness\"]\n{}\n",
                kind.name,
                (kind.config)(&peer.addr)
            ));
            peers.push(peer);
        }
        let probe = Probe::serve(&config).await;
        let mut slowest = Duration::ZERO;
        for _ in 0..rounds {
            let (got, body) =
                kubelet_get(probe.addr, "/readyz?verbose", Duration::from_secs(10)).await;
            assert_eq!(got.status, 503, "{mode:?}: readiness fails: {body}");
            assert!(
                got.took <= ANSWERED_WITHIN,
                "{mode:?}: /readyz took {:?}: {body}",
                got.took
            );
            for kind in kinds() {
                assert!(
                    body.contains(&format!("[-]{} failed", kind.name)),
                    "{mode:?}: {} not failed: {body}",
                    kind.name
                );
            }
            assert!(!body.contains("hostile-pw"), "{body}");
            slowest = slowest.max(got.took);
        }
        let peak = attack::peak_rss_kib(probe.pid);
        eprintln!(
            "hostile {mode:?}: {} check types x {rounds} runs, slowest /readyz {:.0} ms, peak RSS {:.1} MiB",
            kinds().len(),
            slowest.as_secs_f64() * 1e3,
            peak as f64 / 1024.0
        );
        assert!(
            peak < RSS_BOUND_MIB * 1024,
            "{mode:?}: peak RSS {peak} KiB over {RSS_BOUND_MIB} MiB"
        );
    }
}
