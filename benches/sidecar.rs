//! Running the release `probe` binary: finding it, and starting `probe serve`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use crate::process::{self, Running, Scratch, StartError, SERVER_CPU};

/// The environment variable naming the `probe` binary to measure.
pub const PROBE_BIN: &str = "PROBE_BIN";

/// There is no `probe` binary to measure.
#[derive(Debug, thiserror::Error)]
#[error("no probe binary at {path}: run `cargo build --release -p probe` first (or set PROBE_BIN to the binary)")]
pub struct MissingBinary {
    /// Where it was looked for.
    pub path: PathBuf,
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The binary to measure: `$PROBE_BIN` (relative paths from the workspace root), or else
/// `probe` in the release directory this bench was built into (`target/release/probe`).
pub fn probe_bin() -> Result<PathBuf, MissingBinary> {
    let path = match std::env::var_os(PROBE_BIN).filter(|v| !v.is_empty()) {
        Some(p) => workspace_root().join(p),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("probe")))
            .unwrap_or_else(|| workspace_root().join("target/release/probe")),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(MissingBinary { path })
    }
}

/// A warning when a source file of the binary is newer than the binary itself.
pub fn staleness(bin: &Path) -> Option<String> {
    let built = fs::metadata(bin).and_then(|m| m.modified()).ok()?;
    let crates = workspace_root().join("crates");
    let newest = ["probe", "probe-core", "probe-http"]
        .iter()
        .filter_map(|c| newest_file(&crates.join(c).join("src"), 6))
        .max()?;
    (newest > built).then(|| {
        format!(
            "warning: {} is older than its sources; rebuild with `cargo build --release -p probe`",
            bin.display()
        )
    })
}

/// The latest modification time of a file under `dir`, `depth` levels deep at most.
fn newest_file(dir: &Path, depth: u32) -> Option<SystemTime> {
    let mut newest = None;
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let t = if meta.is_dir() && depth > 0 {
            newest_file(&entry.path(), depth - 1)
        } else {
            meta.modified().ok()
        };
        newest = newest.max(t);
    }
    newest
}

/// `probe serve` on a free loopback port, with `config` (TOML text) or the embedded
/// default, logging errors only, on the server CPU when `pin`.
pub fn serve(
    bin: &Path,
    config: Option<&str>,
    scratch: &Scratch,
    name: &str,
    pin: bool,
) -> Result<Running, StartError> {
    let addr = process::free_addr().map_err(|source| StartError::Spawn {
        program: "a free port search".into(),
        source,
    })?;
    let log = scratch.path(&format!("{name}.log"));
    let log_file = fs::File::create(&log).map_err(|source| StartError::Scratch {
        path: log.clone(),
        source,
    })?;
    let mut cmd = process::command(bin, SERVER_CPU, pin);
    cmd.args([
        "serve",
        "--listen",
        &addr.to_string(),
        "--log-level",
        "error",
    ]);
    if let Some(text) = config {
        let file = scratch.write(&format!("{name}.toml"), text)?;
        cmd.arg("--config").arg(file);
    }
    let child = cmd
        .env_remove("PROBE_CONFIG")
        .env_remove("PROBE_LISTEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|source| StartError::Spawn {
            program: bin.display().to_string(),
            source,
        })?;
    Running::new(format!("probe serve ({name})"), child, addr)
        .wait_listening(Duration::from_secs(10), Some(&log))
}

/// A `[[check]]` of type `http` against `url`, in readiness only.
pub fn http_check(name: &str, url: &str, timeout: Duration, cache: Option<Duration>) -> String {
    let mut text = format!(
        "[[check]]\nname = \"{name}\"\ntype = \"http\"\nurl = \"{url}\"\nprobes = [\"readiness\"]\ntimeout = \"{}ms\"\n",
        timeout.as_millis()
    );
    if let Some(c) = cache {
        text.push_str(&format!("cache = \"{}ms\"\n", c.as_millis()));
    }
    text.push('\n');
    text
}

/// `n` counting upstreams on loopback, and the `[[check]]` tables of `http` checks named
/// `upstream-1`... against them (timeout 500 ms, results reused for `cache`).
pub async fn upstream_checks(
    n: usize,
    cache: Duration,
) -> (Vec<probe_testkit::upstream::Upstream>, String) {
    let mut upstreams = Vec::with_capacity(n);
    for _ in 0..n {
        upstreams.push(probe_testkit::upstream::Upstream::counting().await);
    }
    let tables = upstreams
        .iter()
        .enumerate()
        .map(|(i, u)| {
            http_check(
                &format!("upstream-{}", i + 1),
                &u.url("/"),
                Duration::from_millis(500),
                Some(cache),
            )
        })
        .collect();
    (upstreams, tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_check_is_written_as_the_config_expects() {
        let t = http_check(
            "up-1",
            "http://127.0.0.1:9/",
            Duration::from_millis(500),
            Some(Duration::from_secs(1)),
        );
        assert!(
            t.starts_with("[[check]]\nname = \"up-1\"\ntype = \"http\"\n"),
            "{t}"
        );
        assert!(t.contains("cache = \"1000ms\"\n") && t.contains("timeout = \"500ms\"\n"));
        let uncached = http_check("x", "http://127.0.0.1:9/", Duration::from_secs(1), None);
        assert!(!uncached.contains("cache"));
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let e = MissingBinary {
            path: PathBuf::from("/nowhere/probe"),
        };
        assert!(e.to_string().contains("cargo build --release -p probe"));
    }
}
