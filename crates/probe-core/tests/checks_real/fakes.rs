//! Loopback servers that misbehave on purpose: they answer with fixed bytes, an endless
//! stream, or nothing at all. Each binds 127.0.0.1:0 and lives until the test ends.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a fake answers each connection.
#[derive(Clone)]
pub(crate) enum Script {
    /// Reads the request (briefly), writes these bytes, then closes.
    Reply(Vec<u8>),
    /// Writes these bytes at once, without waiting for a request, then closes.
    Greet(Vec<u8>),
    /// Writes `prefix`, then filler bytes without end (up to 64 MiB) until the client goes.
    Flood(Vec<u8>),
    /// Reads the request (briefly), writes `prefix`, then filler bytes until the client
    /// goes (up to 1 GiB): more than any bounded reader keeps.
    Stream(Vec<u8>),
    /// Accepts and says nothing, holding the connection for 30 s.
    Silent,
    /// Accepts and closes at once.
    Close,
}

/// Starts a fake on 127.0.0.1:0 and returns its port.
pub(crate) async fn serve(script: Script) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a fake");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let script = script.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                match script {
                    Script::Reply(bytes) => {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
                        let _ = s.write_all(&bytes).await;
                    }
                    Script::Greet(bytes) => {
                        let _ = s.write_all(&bytes).await;
                        let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf))
                            .await;
                    }
                    Script::Flood(prefix) => {
                        let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf))
                            .await;
                        if s.write_all(&prefix).await.is_ok() {
                            let filler = vec![b'a'; 64 * 1024];
                            for _ in 0..1024 {
                                if s.write_all(&filler).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    Script::Stream(prefix) => {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
                        if s.write_all(&prefix).await.is_ok() {
                            let filler = vec![b'a'; 256 * 1024];
                            for _ in 0..4096 {
                                if s.write_all(&filler).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    Script::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
                    Script::Close => {}
                }
            });
        }
    });
    port
}
