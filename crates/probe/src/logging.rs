//! Logs through `tracing`, to standard error, as text or JSON; and the few lines the
//! commands print, all of them dropped rather than fatal when they cannot be written.

use std::fmt::Display;
use std::io::{self, Write};

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

use crate::cli::LogFormat;
use crate::config::ConfigError;

/// Parses a level name, case-insensitively (`WARNING` is accepted for `warn`).
pub fn level(name: &str) -> Result<LevelFilter, ConfigError> {
    match name.to_ascii_lowercase().as_str() {
        "error" => Ok(LevelFilter::ERROR),
        "warn" | "warning" => Ok(LevelFilter::WARN),
        "info" => Ok(LevelFilter::INFO),
        "debug" => Ok(LevelFilter::DEBUG),
        "trace" => Ok(LevelFilter::TRACE),
        "off" => Ok(LevelFilter::OFF),
        _ => Err(ConfigError::key(
            "log level",
            format!("unknown level {name:?} (expected error, warn, info, debug or trace)"),
        )),
    }
}

/// Installs the global subscriber. An explicit level wins; otherwise `RUST_LOG`, then `info`.
pub fn init(explicit: Option<LevelFilter>, rust_log: Option<String>, format: LogFormat) {
    let filter = match (explicit, rust_log) {
        (Some(l), _) => EnvFilter::default().add_directive(l.into()),
        (None, Some(spec)) => EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info")),
        (None, None) => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every line is scrubbed of the secrets the configuration holds, whatever a
        // server echoed into a message.
        .with_writer(|| probe_core::secrets::Scrubbed(LossyStderr))
        // A line that cannot be written is dropped without a word: saying so would be
        // one more write to the same broken stream.
        .log_internal_errors(false)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Standard error for log lines. A line that cannot be written (a full disk, a closed pipe:
/// `2>/dev/full`, `2>&1 | head`) is dropped: losing logs must never stop the sidecar.
struct LossyStderr;

impl Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match io::stderr().write(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(_) => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// Prints `line` on standard output, scrubbed of secrets; dropped if it cannot be written
/// (unlike `println!`, which panics on a closed pipe).
pub fn say(line: impl Display) {
    let line = line.to_string();
    let _ = writeln!(io::stdout(), "{}", probe_core::secrets::scrub(&line));
}

/// Prints `line` on standard error, scrubbed of secrets; dropped if it cannot be written
/// (unlike `eprintln!`, which panics on a closed pipe).
pub fn complain(line: impl Display) {
    let line = line.to_string();
    let _ = writeln!(io::stderr(), "{}", probe_core::secrets::scrub(&line));
}
