//! `probe beat-check`: maykin-common's `beat-health-check`. A scheduler (Celery beat)
//! touches its liveness file each time it schedules a task; the check passes while the
//! file is at most `--max-age` old.
//!
//! Output as maykin-common prints it: `Last scheduled task: 5s ago.` (standard output,
//! exit 0), or `File '<path>' does not exist or is not a file.` / `File '<path>' is older
//! than max-age.` (standard error, exit 1).

use std::path::PathBuf;
use std::time::Duration;

use probe_core::checks::{FileAge, FileAgeCheck};

use crate::cli::BeatCheckArgs;
use crate::config::ConfigError;
use crate::exec::{bounded, seconds};
use crate::worker_cmd::liveness_failure;

/// The validated flags: the file and its maximum age.
pub fn plan(args: &BeatCheckArgs) -> Result<(PathBuf, Duration), ConfigError> {
    Ok((
        args.file.clone(),
        seconds("--max-age", &args.max_age, true)?,
    ))
}

/// Checks the file: `Ok(line)` when fresh, `Err(line)` when missing or too old.
pub async fn run(file: &PathBuf, max_age: Duration) -> Result<String, String> {
    let seen = FileAgeCheck::new(file, max_age).inspect().await;
    match seen {
        FileAge::Fresh { age, .. } => Ok(format!(
            "Last scheduled task: {} ago.",
            readable_age(age.as_secs())
        )),
        _ => Err(bounded(liveness_failure(file, &seen).unwrap_or_default())),
    }
}

/// maykin-common's age: `42s`, `1.5m` (over a minute), `2h` (from an hour on), one
/// decimal without a trailing `.0`.
fn readable_age(secs: u64) -> String {
    let one_decimal = |v: f64, unit: &str| {
        let s = format!("{:.1}", (v * 10.0).round() / 10.0);
        format!("{}{unit}", s.strip_suffix(".0").unwrap_or(&s))
    };
    if secs >= 3600 {
        one_decimal(secs as f64 / 3600.0, "h")
    } else if secs > 60 {
        one_decimal(secs as f64 / 60.0, "m")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_maykin_common() {
        assert_eq!(readable_age(0), "0s");
        assert_eq!(readable_age(60), "60s");
        assert_eq!(readable_age(90), "1.5m");
        assert_eq!(readable_age(120), "2m");
        assert_eq!(readable_age(3600), "1h");
        assert_eq!(readable_age(5400), "1.5h");
    }
}
