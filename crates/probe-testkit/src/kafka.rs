//! A minimal Kafka broker that answers ApiVersions (api_key 18) and nothing else, written
//! from the protocol's message layouts, independently of the probe's own encoder so the
//! two check each other.
//!
//! It listens on `127.0.0.1:0` and can answer, close, hang, send garbage or refuse versions
//! outside a range; it can be stopped (connections refused) and restarted on the same port,
//! to model a broker going away and coming back.
//!
//! ```no_run
//! use probe_testkit::kafka::{FakeBroker, Mode};
//!
//! # async fn run() -> std::io::Result<()> {
//! let mut broker = FakeBroker::start().await?;
//! let bootstrap = broker.address(); // "127.0.0.1:<port>"
//! broker.set_mode(Mode::Hang);
//! broker.stop().await;              // connection refused from now on
//! broker.restart().await?;          // same port again
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The largest request frame the fake reads; larger ones close the connection.
const MAX_REQUEST: usize = 64 * 1024;

/// How the broker treats a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Answers ApiVersions v0 to v3 with error 0.
    Answer,
    /// Speaks ApiVersions `min..=max` only: other versions get UNSUPPORTED_VERSION (35)
    /// with this range, in the v0 layout. `Versions { min: 0, max: n }` is a broker that
    /// refuses versions above `n`.
    Versions {
        /// The lowest version answered.
        min: i16,
        /// The highest version answered.
        max: i16,
    },
    /// Accepts, then closes at once without reading.
    Close,
    /// Accepts and reads, never answers; the connection stays open until the broker stops.
    Hang,
    /// Reads one request, writes these bytes, closes.
    Garbage(Vec<u8>),
}

/// One ApiVersions request as the broker received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The whole frame, size prefix included.
    pub raw: Vec<u8>,
    /// `api_key` from the header.
    pub api_key: i16,
    /// `api_version` from the header.
    pub api_version: i16,
    /// `correlation_id` from the header.
    pub correlation_id: i32,
}

struct Shared {
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
}

/// A running (or stopped) fake broker; stops when dropped.
pub struct FakeBroker {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl FakeBroker {
    /// Starts a broker in [`Mode::Answer`] on `127.0.0.1:0`.
    pub async fn start() -> io::Result<Self> {
        Self::start_with(Mode::Answer).await
    }

    /// Starts a broker in `mode` on `127.0.0.1:0`.
    pub async fn start_with(mode: Mode) -> io::Result<Self> {
        let listener = listen("127.0.0.1:0".parse().expect("a literal address"))?;
        let mut broker = FakeBroker {
            addr: listener.local_addr()?,
            shared: Arc::new(Shared {
                mode: Mutex::new(mode),
                received: Mutex::new(Vec::new()),
            }),
            task: None,
        };
        broker.serve(listener);
        Ok(broker)
    }

    /// The address it listens on (also while stopped: the port it will reuse).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`, as a bootstrap address.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Changes how new requests are treated.
    pub fn set_mode(&self, mode: Mode) {
        *self
            .shared
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether it is listening.
    pub fn is_running(&self) -> bool {
        self.task.is_some()
    }

    /// Stops listening and closes every open connection: connections are refused from
    /// the moment this returns until [`restart`](Self::restart).
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // Resolves once the task is dropped, and with it the listener.
            let _ = task.await;
        }
    }

    /// Listens again on the same port (stopping first if it is running).
    pub async fn restart(&mut self) -> io::Result<()> {
        self.stop().await;
        let listener = listen(self.addr)?;
        self.serve(listener);
        Ok(())
    }

    fn serve(&mut self, listener: TcpListener) {
        let shared = self.shared.clone();
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when this task is aborted) closes every connection.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            connections.spawn(serve_connection(stream, shared.clone()));
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        }));
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(64)
}

async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    loop {
        let mode = shared
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if mode == Mode::Close {
            return;
        }
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        let answer = match mode {
            Mode::Close => return,
            Mode::Hang => {
                // Read (and drop) whatever else comes until the peer goes away.
                let mut sink = [0; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            Mode::Garbage(bytes) => {
                let _ = stream.write_all(&bytes).await;
                return;
            }
            Mode::Answer => respond(&request, 0, 3),
            Mode::Versions { min, max } => respond(&request, min, max),
        };
        match answer {
            Some(bytes) if stream.write_all(&bytes).await.is_ok() => {}
            _ => return,
        }
    }
}

/// Reads one request frame and its header; `None` when the connection ends or the frame is
/// not an acceptable request.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut prefix = [0; 4];
    stream.read_exact(&mut prefix).await.ok()?;
    let size = usize::try_from(i32::from_be_bytes(prefix)).ok()?;
    if !(8..=MAX_REQUEST).contains(&size) {
        return None;
    }
    let mut raw = vec![0; 4 + size];
    raw[..4].copy_from_slice(&prefix);
    stream.read_exact(&mut raw[4..]).await.ok()?;
    let be16 = |i: usize| i16::from_be_bytes([raw[i], raw[i + 1]]);
    Some(Received {
        api_key: be16(4),
        api_version: be16(6),
        correlation_id: i32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]),
        raw,
    })
}

/// The response frame to `request` from a broker speaking ApiVersions `min..=max`; `None`
/// for a request that is not ApiVersions (the connection is then closed).
fn respond(request: &Received, min: i16, max: i16) -> Option<Vec<u8>> {
    if request.api_key != 18 {
        return None;
    }
    // Response header v0: the correlation id alone, for every ApiVersions version.
    let mut body = request.correlation_id.to_be_bytes().to_vec();
    let version = request.api_version;
    if !(min..=max).contains(&version) {
        // UNSUPPORTED_VERSION, v0 layout, listing the ApiVersions range only.
        body.extend_from_slice(&35i16.to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes());
        push_range(&mut body, (18, min, max));
        return Some(frame(body));
    }
    let apis = [(0, 0, 9), (1, 0, 13), (3, 0, 12), (18, min, max)];
    body.extend_from_slice(&0i16.to_be_bytes());
    if version >= 3 {
        body.push(apis.len() as u8 + 1); // compact array length, a one-byte varint
        for api in apis {
            push_range(&mut body, api);
            body.push(0); // tag buffer
        }
        body.extend_from_slice(&0i32.to_be_bytes()); // throttle_time_ms
        body.push(0); // tag buffer
    } else {
        body.extend_from_slice(&(apis.len() as i32).to_be_bytes());
        for api in apis {
            push_range(&mut body, api);
        }
        if version >= 1 {
            body.extend_from_slice(&0i32.to_be_bytes()); // throttle_time_ms
        }
    }
    Some(frame(body))
}

fn push_range(out: &mut Vec<u8>, (key, min, max): (i16, i16, i16)) {
    for v in [key, min, max] {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn frame(body: Vec<u8>) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: i16) -> Received {
        Received {
            raw: Vec::new(),
            api_key: 18,
            api_version: version,
            correlation_id: 1,
        }
    }

    #[test]
    fn a_v0_answer_has_the_documented_layout() {
        let answer = respond(&request(0), 0, 3).unwrap();
        // size, correlation id, error 0, 4 entries of 6 bytes.
        assert_eq!(&answer[..14], &[0, 0, 0, 34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4]);
        assert_eq!(answer.len(), 4 + 4 + 2 + 4 + 24);
    }

    #[test]
    fn a_version_above_the_range_gets_unsupported_version_in_v0_layout() {
        let answer = respond(&request(3), 0, 2).unwrap();
        assert_eq!(
            answer,
            [0, 0, 0, 16, 0, 0, 0, 1, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 2]
        );
    }

    #[test]
    fn a_v3_answer_uses_compact_arrays_and_tag_buffers() {
        let answer = respond(&request(3), 0, 3).unwrap();
        assert_eq!(answer[10], 5); // 4 entries + 1
        assert_eq!(answer.len(), 4 + 4 + 2 + 1 + 4 * 7 + 4 + 1);
        assert_eq!(answer.last(), Some(&0));
    }
}
