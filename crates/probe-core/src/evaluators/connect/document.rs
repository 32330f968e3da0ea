//! The documents kafka-connect-healthcheck serves, rendered byte for byte as Python's
//! `json.dumps` writes them: one line, `", "` and `": "` separators, fixed key order,
//! every non-ASCII character escaped as `\uXXXX`, floats as Python's `repr`.

use std::fmt::{self, Write as _};

use super::{ConnectState, Failure, Verdict};

/// The body of `GET /ping`.
pub const PING_DOCUMENT: &str = r#"{"status": "UP"}"#;

/// The `message` of the error document.
pub const ERROR_MESSAGE: &str =
    "Exception raised while attempting to calculate health result, assuming unhealthy.";

/// Whether task stack traces are shown in a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Traces {
    /// As Connect sent them (the peer's behaviour).
    #[default]
    Keep,
    /// Replaced by `null`: a trace is a full Java stack trace and may hold configuration.
    Redact,
}

/// The health document of a verdict (served with 200 when healthy, 503 otherwise).
///
/// ```
/// use probe_core::evaluators::connect::{render_verdict, ConnectRules, Traces};
///
/// let verdict = ConnectRules::default().evaluate(&[], false);
/// assert_eq!(
///     render_verdict(&verdict, Traces::Keep),
///     r#"{"failures": [], "failure_states": ["FAILED"], "failure_rate": 0.0, "failure_threshold": 0.0, "healthy": true}"#,
/// );
/// ```
pub fn render_verdict(verdict: &Verdict, traces: Traces) -> String {
    let mut out = String::with_capacity(160 + 160 * verdict.failures.len());
    out.push_str(r#"{"failures": ["#);
    for (i, failure) in verdict.failures.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_failure(&mut out, failure, traces);
    }
    out.push_str(r#"], "failure_states": "#);
    write_states(&mut out, &verdict.failure_states);
    out.push_str(r#", "failure_rate": "#);
    out.push_str(&python_float(verdict.failure_rate));
    out.push_str(r#", "failure_threshold": "#);
    out.push_str(&python_float(verdict.failure_threshold));
    out.push_str(r#", "healthy": "#);
    out.push_str(if verdict.healthy { "true" } else { "false" });
    out.push('}');
    out
}

/// The error document (served with 503) for when no verdict could be reached: `error`
/// says what went wrong.
///
/// ```
/// use probe_core::evaluators::connect::{render_error, ConnectState};
///
/// assert_eq!(
///     render_error("GET http://h:8083/connectors: connection refused", &[ConnectState::Failed]),
///     r#"{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "GET http://h:8083/connectors: connection refused", "failure_states": ["FAILED"]}"#,
/// );
/// ```
pub fn render_error(error: &str, failure_states: &[ConnectState]) -> String {
    let mut out = String::with_capacity(200 + error.len());
    out.push_str(r#"{"healthy": false, "message": "#);
    write_str(&mut out, ERROR_MESSAGE);
    out.push_str(r#", "error": "#);
    write_str(&mut out, error);
    out.push_str(r#", "failure_states": "#);
    write_states(&mut out, failure_states);
    out.push('}');
    out
}

/// The peer's answer to `GET /` for an evaluation: whether it is healthy (serve 200) or
/// not (503), and the body — the health document, or the error document naming the error.
///
/// ```
/// use probe_core::evaluators::connect::{render_answer, ConnectRules, Traces, Verdict};
///
/// let rules = ConnectRules::default();
/// let failed: Result<Verdict, String> = Err("GET http://h:8083/connectors?expand=status: no answer within 5s".into());
/// let (healthy, body) = render_answer(&failed, &rules.unhealthy_states, Traces::Redact);
/// assert!(!healthy);
/// assert!(body.starts_with(r#"{"healthy": false, "message": "#));
/// ```
pub fn render_answer<E: fmt::Display>(
    result: &Result<Verdict, E>,
    failure_states: &[ConnectState],
    traces: Traces,
) -> (bool, String) {
    match result {
        Ok(verdict) => (verdict.healthy, render_verdict(verdict, traces)),
        Err(e) => (false, render_error(&e.to_string(), failure_states)),
    }
}

/// What a client that may not see details gets for `GET /`: the same status and the same
/// shape, with Connect's error text replaced by `reason withheld`, and every worker id and
/// trace `null` (a worker id is an internal `host:port`; a trace can hold configuration).
///
/// ```
/// use probe_core::evaluators::connect::{render_withheld, ConnectState, Verdict};
///
/// let failed: Result<Verdict, String> = Err("GET http://10.0.0.7:8083/connectors: connection refused".into());
/// let (healthy, body) = render_withheld(&failed, &[ConnectState::Failed]);
/// assert!(!healthy);
/// assert_eq!(
///     body,
///     r#"{"healthy": false, "message": "Exception raised while attempting to calculate health result, assuming unhealthy.", "error": "reason withheld", "failure_states": ["FAILED"]}"#,
/// );
/// ```
pub fn render_withheld<E>(
    result: &Result<Verdict, E>,
    failure_states: &[ConnectState],
) -> (bool, String) {
    match result {
        Ok(verdict) => {
            let mut shown = verdict.clone();
            for failure in &mut shown.failures {
                match failure {
                    Failure::Connector { worker_id, .. } => *worker_id = None,
                    Failure::Task {
                        worker_id, trace, ..
                    } => {
                        *worker_id = None;
                        *trace = None;
                    }
                    Failure::Broker { .. } => {}
                }
            }
            (verdict.healthy, render_verdict(&shown, Traces::Redact))
        }
        Err(_) => (false, render_error(WITHHELD, failure_states)),
    }
}

/// What replaces an error text for clients that may not see details.
pub const WITHHELD: &str = "reason withheld";

fn write_failure(out: &mut String, failure: &Failure, traces: Traces) {
    match failure {
        Failure::Connector {
            connector,
            state,
            worker_id,
        } => {
            out.push_str(r#"{"type": "connector", "connector": "#);
            write_str(out, connector);
            out.push_str(r#", "state": "#);
            write_str(out, state);
            out.push_str(r#", "worker_id": "#);
            write_opt_str(out, worker_id.as_deref());
            out.push('}');
        }
        Failure::Task {
            connector,
            id,
            state,
            worker_id,
            trace,
        } => {
            out.push_str(r#"{"type": "task", "connector": "#);
            write_str(out, connector);
            let _ = write!(out, r#", "id": {id}, "state": "#);
            write_str(out, state);
            out.push_str(r#", "worker_id": "#);
            write_opt_str(out, worker_id.as_deref());
            out.push_str(r#", "trace": "#);
            match traces {
                Traces::Keep => write_opt_str(out, trace.as_deref()),
                Traces::Redact => out.push_str("null"),
            }
            out.push('}');
        }
        Failure::Broker { connector } => {
            out.push_str(r#"{"type": "broker", "connector": "#);
            write_str(out, connector);
            out.push('}');
        }
    }
}

fn write_states(out: &mut String, states: &[ConnectState]) {
    out.push('[');
    for (i, state) in states.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(out, state.as_str());
    }
    out.push(']');
}

fn write_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends `s` as a JSON string the way Python's `json.dumps` (with `ensure_ascii`)
/// writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\u00XX` for other control
/// characters and DEL; every non-ASCII character as `\uXXXX` (lower-case hex), as a
/// surrogate pair above U+FFFF.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// A float as Python's `repr` writes it: the shortest text that reads back as the same
/// number, with at least one fractional digit (`0.0`, `0.3333333333333333`), in exponent
/// form below 1e-4 and from 1e16 (`1e-05`, `1.5e+16`); `NaN` and `Infinity` as
/// `json.dumps` writes them.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: `d[.ddd]e<exp>`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let mut out = format!("{sign}{first}");
        if !rest.is_empty() {
            let _ = write!(out, ".{rest}");
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        return out;
    }
    let point = exp + 1; // digits before the decimal point
    let mut out = String::from(sign);
    if point <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}
