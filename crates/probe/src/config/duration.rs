//! Durations as people write them in config: `800ms`, `2s`, `1.5s`, `1m30s`, `1h`.
//!
//! Every duration is bounded when it is read: timeouts, intervals, cache windows and the
//! drain at [`MAX`] (24 hours), age limits (`max_age`) at [`MAX_AGE`] (366 days). Longer is
//! a configuration error, so no deadline is ever added past the clock's range.

use std::time::Duration;

use super::ConfigError;

/// The longest timeout, interval, cache window, grace or drain: 24 hours.
pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// The longest age limit (`max_age` of a check or of a `file-age` file): 366 days.
pub const MAX_AGE: Duration = Duration::from_secs(366 * 24 * 3600);

/// The longest value the key `key` takes: [`MAX_AGE`] for `max_age`, else [`MAX`].
pub fn limit_for(key: &str) -> Duration {
    if key == "max_age" {
        MAX_AGE
    } else {
        MAX
    }
}

/// Parses `value` and holds it to `limit`; the error is the problem, quoting the value.
pub fn bounded(value: &str, limit: Duration) -> Result<Duration, String> {
    match parse(value) {
        Some(d) if d <= limit => Ok(d),
        Some(_) => Err(format!(
            "{value:?} is longer than the maximum of {}",
            in_hours(limit)
        )),
        None => Err(format!(
            "invalid duration {value:?} (write e.g. \"800ms\", \"2s\", \"1m\")"
        )),
    }
}

/// A limit as written in config: whole hours (`24h`, `8784h`) when it is some.
fn in_hours(limit: Duration) -> String {
    match limit.as_secs() {
        s if s >= 3600 && s % 3600 == 0 && limit.subsec_nanos() == 0 => format!("{}h", s / 3600),
        _ => probe_core::time::human(limit),
    }
}

/// Parses a duration given by a flag or a variable, at most [`MAX`]; the error names
/// `from` (the flag or variable) and says how to write one.
pub fn option(value: &str, from: &str) -> Result<Duration, ConfigError> {
    bounded(value, MAX).map_err(|problem| ConfigError::key(from, problem))
}

/// Parses `s`; `None` when it is not a duration.
pub fn parse(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_end);
        let value: f64 = num.parse().ok()?;
        let secs = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(secs).ok()?)?;
        rest = next;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_people_write() {
        assert_eq!(parse("800ms"), Some(Duration::from_millis(800)));
        assert_eq!(parse("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn durations_past_their_limit_are_refused() {
        assert_eq!(bounded("24h", MAX), Ok(MAX));
        for huge in ["18446744073709551616ms", "99999999999999h", "24h1ms", "25h"] {
            let e = bounded(huge, MAX).unwrap_err();
            assert_eq!(e, format!("{huge:?} is longer than the maximum of 24h"));
        }
        assert!(bounded("366d", MAX_AGE).is_err(), "no unit d");
        assert_eq!(bounded("8784h", MAX_AGE), Ok(MAX_AGE));
        assert!(bounded("8785h", MAX_AGE).is_err());
        assert_eq!(limit_for("max_age"), MAX_AGE);
        assert_eq!(limit_for("timeout"), MAX);
        let e = option("99999999999999h", "--heartbeat-interval").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--heartbeat-interval: \"99999999999999h\" is longer than the maximum of 24h"
        );
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["fast", "", "10", "ms", "1x", "-1s", "1.2.3s", "s1"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
