//! The reference: the barest hyper 1 server, answering `200 ok` to every request.
//!
//! It adds no header of its own (hyper writes `content-length` and `date`), uses hyper's
//! default connection settings and a default multi-thread runtime: nothing a health
//! endpoint does can cost less on the same machine. It runs as a child process (the bench
//! executable started again with [`CHILD_ARG`]) so it can be pinned to its own CPU.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::process::{self, Running, StartError, SERVER_CPU};

/// The argument that turns a bench executable into the bare server: call [`child_main`]
/// when `std::env::args().nth(1)` is this.
pub const CHILD_ARG: &str = "--bare-hyper-server";

/// Serves `200 ok` on `listener` forever.
pub async fn serve(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let ok = service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), ok)
                .await;
        });
    }
}

/// The child's `main`: binds `127.0.0.1:0`, prints the port on a line, serves until its
/// standard input closes (so it never outlives the bench that started it).
pub fn child_main() -> ExitCode {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bare server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bare server: cannot bind 127.0.0.1:0: {e}");
                return ExitCode::FAILURE;
            }
        };
        let port = listener.local_addr().map_or(0, |a| a.port());
        println!("{port}");
        let _ = std::io::stdout().flush();
        serve(listener).await;
        ExitCode::SUCCESS
    })
}

/// This executable, to be started again with [`CHILD_ARG`].
pub fn exe() -> Result<PathBuf, StartError> {
    std::env::current_exe().map_err(|source| StartError::Spawn {
        program: "the bench executable".into(),
        source,
    })
}

/// Starts this executable again as the bare server, on the server CPU when `pin`.
pub fn spawn(pin: bool) -> Result<Running, StartError> {
    let mut cmd = process::command(&exe()?, SERVER_CPU, pin);
    cmd.arg(CHILD_ARG);
    start(cmd, Duration::from_secs(5))
}

/// Starts `cmd`, which runs [`exe`] with [`CHILD_ARG`] (perhaps under a wrapper such as
/// `taskset` or `valgrind`), reads the port it prints and waits up to `wait` for it to
/// listen.
pub fn start(mut cmd: Command, wait: Duration) -> Result<Running, StartError> {
    let program = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| StartError::Spawn {
            program: program.clone(),
            source,
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let port: u16 = rx
        .recv_timeout(wait)
        .ok()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Running::new("bare hyper server", child, addr).wait_listening(wait, None)
}

/// The `main` of a bench that may be re-invoked as the bare server: runs `bench` under
/// `cargo bench` (which passes `--bench`), `self_test` under `cargo test`, and reports an
/// error as `<name>: <error>` with exit status 1.
pub fn bench_main<E: std::fmt::Display>(
    name: &str,
    bench: impl FnOnce() -> Result<(), E>,
    self_test: impl FnOnce() -> Result<(), E>,
) -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some(CHILD_ARG) {
        return child_main();
    }
    let result = if std::env::args().any(|a| a == "--bench") {
        bench()
    } else {
        self_test()
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
