//! Logs through `tracing`, to standard error, as text or JSON.

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
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
