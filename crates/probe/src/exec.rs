//! What the exec-probe commands (`check`, `worker-check`, `beat-check`) share: flag
//! values in seconds, output lines bounded for Docker, and the runtime they run on.

use std::time::Duration;

use crate::config::ConfigError;

/// Docker keeps 4,096 bytes of a health check's output; each line stays well under.
pub const MAX_LINE: usize = 1000;

/// A number of seconds given to `flag`: finite, not negative, above zero unless
/// `zero_ok`, and at most 24 hours (366 days for a `--max-age`). A bad value is a [`ConfigError`] naming the flag (exit 64).
pub fn seconds(flag: &str, text: &str, zero_ok: bool) -> Result<Duration, ConfigError> {
    let Ok(value) = text.trim().parse::<f64>() else {
        return Err(ConfigError::key(
            flag,
            format!("{text:?} is not a number of seconds"),
        ));
    };
    let ok = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0));
    let what = if zero_ok {
        "a number of seconds, 0 or more"
    } else {
        "a positive number of seconds"
    };
    // A `--max-age` is an age limit, anything else a timeout: bounded like the same keys
    // in a configuration file.
    let limit = if flag.ends_with("max-age") {
        crate::config::duration::MAX_AGE
    } else {
        crate::config::duration::MAX
    };
    match Duration::try_from_secs_f64(value) {
        Ok(d) if ok && d <= limit => Ok(d),
        Ok(_) if ok => Err(ConfigError::key(
            flag,
            format!(
                "{value} is more than the maximum of {} seconds",
                limit.as_secs()
            ),
        )),
        _ => Err(ConfigError::key(flag, format!("{value} is not {what}"))),
    }
}

/// `line`, cut to [`MAX_LINE`] bytes (on a character boundary) with `...` when longer.
pub fn bounded(line: String) -> String {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut cut = MAX_LINE;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &line[..cut])
}

/// A single-threaded runtime: an exec probe does one thing and exits, and starting no
/// worker threads keeps its start-to-exit time down.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_must_be_finite_and_in_range() {
        assert_eq!(
            seconds("--t", "1.5", false).unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(seconds("--t", "0", true).unwrap(), Duration::ZERO);
        for bad in ["0", "-1", "NaN", "inf", "1e300", "soon", ""] {
            let e = seconds("--timeout", bad, false).unwrap_err().to_string();
            assert!(e.starts_with("--timeout: "), "{e}");
        }
        assert!(seconds("--max-age", "-0.5", true).is_err());
        assert_eq!(
            seconds("--timeout", "86400", false).unwrap(),
            Duration::from_secs(86_400)
        );
        let e = seconds("--timeout", "86401", false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--timeout: 86401 is more than the maximum of 86400 seconds"
        );
        assert!(seconds("--timeout", "1e15", false).is_err());
        assert!(
            seconds("--max-age", "604800", true).is_ok(),
            "a week is an age"
        );
        assert!(seconds("--max-age", "1e15", true).is_err());
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        assert_eq!(bounded("short".into()), "short");
        let long = "é".repeat(MAX_LINE);
        let cut = bounded(long);
        assert!(cut.len() <= MAX_LINE + 3 && cut.ends_with("..."));
    }
}
