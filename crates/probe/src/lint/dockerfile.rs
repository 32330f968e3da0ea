//! A Dockerfile's (or Containerfile's) `HEALTHCHECK`, for `probe lint --dockerfile`.

use std::time::Duration;

/// A `HEALTHCHECK` instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// Its line (where the instruction starts).
    pub line: usize,
    /// `--timeout` (default 30s).
    pub timeout: Duration,
    /// The command, exec form or shell form split at whitespace; empty for `NONE`.
    pub command: Vec<String>,
}

/// The last `HEALTHCHECK` of `text` (the one that counts), if any; `Err` names the line
/// that cannot be read.
pub fn healthcheck(text: &str) -> Result<Option<HealthCheck>, (usize, String)> {
    let mut found = None;
    let mut logical = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if logical.is_empty() {
            start = i + 1;
            if line.trim_start().starts_with('#') {
                continue;
            }
        } else if line.trim_start().starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                logical.push_str(part);
                logical.push(' ');
                continue;
            }
            None => logical.push_str(line),
        }
        let instruction = std::mem::take(&mut logical);
        let mut words = instruction.trim_start().splitn(2, char::is_whitespace);
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("HEALTHCHECK"))
        {
            found = Some(parse(start, words.next().unwrap_or("").trim())?);
        }
    }
    Ok(found)
}

fn parse(line: usize, mut rest: &str) -> Result<HealthCheck, (usize, String)> {
    let mut timeout = Duration::from_secs(30);
    while let Some(opt) = rest.strip_prefix("--") {
        let (word, tail) = opt.split_once(char::is_whitespace).unwrap_or((opt, ""));
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| (line, format!("HEALTHCHECK option --{word} has no value")))?;
        if key == "timeout" {
            timeout = docker_duration(value).ok_or_else(|| {
                (
                    line,
                    format!("HEALTHCHECK --timeout={value} is not a duration"),
                )
            })?;
        }
        rest = tail.trim_start();
    }
    if rest.eq_ignore_ascii_case("NONE") {
        return Ok(HealthCheck {
            line,
            timeout,
            command: Vec::new(),
        });
    }
    let Some(cmd) = rest
        .strip_prefix("CMD")
        .or_else(|| rest.strip_prefix("cmd"))
    else {
        return Err((line, "HEALTHCHECK needs CMD or NONE".into()));
    };
    let cmd = cmd.trim();
    let command = if cmd.starts_with('[') {
        serde_json::from_str::<Vec<String>>(cmd).map_err(|e| {
            (
                line,
                format!("HEALTHCHECK CMD is not a JSON list of strings: {e}"),
            )
        })?
    } else {
        cmd.split_whitespace().map(str::to_owned).collect()
    };
    Ok(HealthCheck {
        line,
        timeout,
        command,
    })
}

/// Go's duration syntax as Docker reads it: `30s`, `1m30s`, `500ms`, `1.5s`.
fn docker_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[u..];
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_healthcheck_with_continuations() {
        let text = "FROM scratch\nHEALTHCHECK CMD [\"a\"]\n# note\nHEALTHCHECK --interval=5s \\\n    --timeout=1m30s \\\n    CMD [\"/probe\", \"check\", \"--timeout\", \"2\"]\n";
        let h = healthcheck(text).unwrap().unwrap();
        assert_eq!(h.line, 4);
        assert_eq!(h.timeout, Duration::from_secs(90));
        assert_eq!(h.command, ["/probe", "check", "--timeout", "2"]);
        let shell = healthcheck("HEALTHCHECK --timeout=500ms CMD probe check")
            .unwrap()
            .unwrap();
        assert_eq!(
            (shell.timeout, shell.command.len()),
            (Duration::from_millis(500), 2)
        );
        assert_eq!(healthcheck("FROM x\n").unwrap(), None);
        assert!(healthcheck("HEALTHCHECK --timeout=soon CMD x").is_err());
    }
}
