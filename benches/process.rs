//! Child processes for the benchmarks: CPU pinning, a guard that stops them, a scratch
//! directory, waiting for a port, and resident memory.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Servers run on this CPU ...
pub const SERVER_CPU: usize = 0;
/// ... and the load generator on this one, so they do not take turns on one core.
pub const LOAD_CPU: usize = 1;

/// A child process could not be started or did not come up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The program could not be run at all.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// What was run.
        program: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// It ran but exited before it listened.
    #[error("{program} exited with {status} before listening on {addr}: {log}")]
    Exited {
        /// What was run.
        program: String,
        /// Where it should have listened.
        addr: SocketAddr,
        /// Its exit status.
        status: ExitStatus,
        /// The end of what it wrote to stderr.
        log: String,
    },
    /// It kept running but never accepted a connection.
    #[error("{program} did not listen on {addr} within {waited:?}")]
    NotListening {
        /// What was run.
        program: String,
        /// Where it should have listened.
        addr: SocketAddr,
        /// How long we waited.
        waited: Duration,
    },
    /// The scratch directory or a file in it could not be written.
    #[error("cannot write {path}: {source}")]
    Scratch {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Whether servers and load can be pinned to separate CPUs: `taskset` runs and this
/// process may use at least two CPUs. Ask before [`pin_self`].
pub fn can_pin() -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus >= 2
        && Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// `program` to be run on `cpu` (through `taskset`) when `pin` is set.
pub fn command(program: &Path, cpu: usize, pin: bool) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Pins every thread of this process (and so the threads and children it starts later)
/// to `cpu`. Returns whether it worked.
pub fn pin_self(cpu: usize) -> bool {
    Command::new("taskset")
        .args([
            "-a",
            "-c",
            "-p",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A free port on 127.0.0.1, found by binding port 0 and letting it go.
pub fn free_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A running child process, killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Running {
    name: String,
    child: Child,
    addr: SocketAddr,
}

impl Running {
    /// Wraps `child`, which serves (or will serve) on `addr`.
    pub fn new(name: impl Into<String>, child: Child, addr: SocketAddr) -> Self {
        Running {
            name: name.into(),
            child,
            addr,
        }
    }

    /// Waits up to `wait` for `addr` to accept a connection; `log` is the child's stderr
    /// file, quoted when it exits early.
    pub fn wait_listening(
        mut self,
        wait: Duration,
        log: Option<&Path>,
    ) -> Result<Self, StartError> {
        let start = Instant::now();
        while start.elapsed() < wait {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = log.map(tail).unwrap_or_default();
                return Err(StartError::Exited {
                    program: self.name.clone(),
                    addr: self.addr,
                    status,
                    log,
                });
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(self);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(StartError::NotListening {
            program: self.name.clone(),
            addr: self.addr,
            waited: wait,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id (`taskset` replaces itself with the program, so this is the server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last line (at most 300 bytes) of the file at `path`.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)");
    line.chars().take(300).collect()
}

/// Resident memory of process `pid` in KiB (`VmRSS`), and its peak (`VmHWM`).
pub fn resident_kib(pid: u32) -> io::Result<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(parse_resident(&status))
}

/// `VmRSS` and `VmHWM` in KiB from the text of `/proc/PID/status` (0 when absent).
pub fn parse_resident(status: &str) -> (u64, u64) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time process `pid` has used so far, all its threads together (the first field of
/// `/proc/PID/task/*/schedstat`, in nanoseconds). Threads that already ended are not counted.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let mut ns = 0u64;
    for task in fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between listing and reading: skip it.
        if let Ok(text) = fs::read_to_string(path) {
            ns += parse_schedstat(&text);
        }
    }
    Ok(Duration::from_nanos(ns))
}

/// Nanoseconds on the CPU, from the text of a `schedstat` file (`<run> <wait> <slices>`).
pub fn parse_schedstat(text: &str) -> u64 {
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Runs `command` to completion, killing it when it takes longer than `limit`.
pub fn output_within(mut command: Command, limit: Duration) -> io::Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let start = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            return child.wait_with_output();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("still running after {limit:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A directory for configuration files and logs, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

static SCRATCH: AtomicU32 = AtomicU32::new(0);

impl Scratch {
    /// Creates a fresh directory under the system's temporary directory.
    pub fn new() -> Result<Self, StartError> {
        let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("probe-bench-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|source| StartError::Scratch {
            path: dir.clone(),
            source,
        })?;
        Ok(Scratch { dir })
    }

    /// The path of `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `text` to `name` and returns its path.
    pub fn write(&self, name: &str, text: &str) -> Result<PathBuf, StartError> {
        let path = self.path(name);
        fs::write(&path, text).map_err(|source| StartError::Scratch {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_from_proc_status() {
        let status = "Name:\tprobe\nVmHWM:\t    6100 kB\nVmRSS:\t    5432 kB\nThreads:\t3\n";
        assert_eq!(parse_resident(status), (5432, 6100));
        assert_eq!(parse_resident("Name:\tx\n"), (0, 0));
    }

    #[test]
    fn this_process_has_resident_memory() {
        let (rss, peak) = resident_kib(std::process::id()).expect("read /proc/self/status");
        assert!(rss > 0 && peak >= rss, "rss {rss} peak {peak}");
    }

    #[test]
    fn cpu_time_is_read_from_schedstat() {
        assert_eq!(parse_schedstat("123456 789 10\n"), 123_456);
        assert_eq!(parse_schedstat(""), 0);
        let mut spent = 0u64;
        for i in 0..2_000_000u64 {
            spent = spent.wrapping_add(i * i);
        }
        assert!(spent > 0);
        let used = cpu_time(std::process::id()).expect("read /proc/self/task");
        assert!(used > Duration::ZERO, "no CPU time counted");
    }

    #[test]
    fn a_command_over_its_limit_is_stopped() {
        let mut c = Command::new("sleep");
        c.arg("5");
        let start = Instant::now();
        let err = output_within(c, Duration::from_millis(100)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
