//! Durations as people write them in config: `800ms`, `2s`, `1.5s`, `1m30s`, `1h`.

use std::time::Duration;

use super::ConfigError;

/// Parses a duration given by a flag or a variable; the error names `from` (the flag or
/// variable) and says how to write one.
pub fn option(value: &str, from: &str) -> Result<Duration, ConfigError> {
    parse(value).ok_or_else(|| {
        ConfigError::key(
            from,
            format!("invalid duration {value:?} (write e.g. \"800ms\", \"2s\", \"1m\")"),
        )
    })
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
    fn refuses_what_is_not_a_duration() {
        for bad in ["fast", "", "10", "ms", "1x", "-1s", "1.2.3s", "s1"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
