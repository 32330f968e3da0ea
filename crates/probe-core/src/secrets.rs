//! The process's secrets, and the scrubber every outgoing message passes through.
//!
//! A password is kept out of messages by construction where the code formats them (URLs
//! are shown with `***` for the password, see [`crate::text::redact`]). That is not enough:
//! a server may echo the password back (`ERR invalid password hunter2`), a library may
//! quote a connection string in its error, an upstream may reflect an `Authorization`
//! header into its body. So every secret the configuration holds is registered here, once,
//! when the check that uses it is built (or when the configuration is read), and
//! [`scrub`] replaces each of them by `***` in any text about to leave the process.
//!
//! Who scrubs:
//! - the engine, on every check's message and details before it is stored, so reports,
//!   the status stream, history, metrics and every dialect see the scrubbed text;
//! - `probe-http`, on every answer's body, as the last word before the socket;
//! - the log writer ([`Scrubbed`] around standard error, as the `probe` binary installs it);
//! - the `probe` binary's configuration errors and the lines its commands print.
//!
//! The set is process-wide: it grows, never shrinks (a secret registered once stays
//! masked for the life of the process). Each secret is also masked in its
//! percent-encoded and decoded forms, and a user and password pair in its HTTP basic
//! (`base64(user:password)`) form. A secret shorter than [`MIN_LEN`] characters is not
//! searched for in free text, where it would mask ordinary words; it is still masked
//! where it stands in a URL.
//!
//! ```
//! use probe_core::secrets;
//!
//! secrets::register_in("redis://:doc-s3cret-1@cache:6379/0");
//! assert_eq!(secrets::scrub("ERR doc-s3cret-1 is wrong"), "ERR *** is wrong");
//! ```

use std::borrow::Cow;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// A secret shorter than this (in characters) is not searched for in free text.
pub const MIN_LEN: usize = 4;

/// What a secret is replaced with.
pub const MASK: &str = "***";

static ANY: AtomicBool = AtomicBool::new(false);
static SET: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers `secret`: from now on [`scrub`] masks it, and its percent-encoded and
/// decoded forms, in every text.
pub fn register(secret: &str) {
    let mut forms = vec![secret.to_owned()];
    let decoded = crate::text::percent_decode(secret);
    if decoded != secret {
        forms.push(decoded);
    }
    let encoded = crate::text::percent_encode(secret);
    if encoded != secret {
        forms.push(encoded);
    }
    add(forms);
}

/// Registers a user and password used for HTTP basic authentication: the password, and
/// the `Authorization` value's base64 of `user:password`, which an upstream may echo.
pub fn register_basic(user: &str, password: &str) {
    if password.is_empty() {
        return;
    }
    register(password);
    add(vec![crate::text::base64(
        format!("{user}:{password}").as_bytes(),
    )]);
}

/// Registers every secret `text` holds: the password of each `user:password@` (in a URL
/// or a `user:pass@host:port` bootstrap list), and the value of each `password=` (in a
/// query string or a `key=value` connection string, quoted or not).
pub fn register_in(text: &str) {
    for (user, password) in find_in(text) {
        register_basic(&user, &password);
    }
}

/// The secrets `text` holds, as (user, password) pairs (user may be empty), without
/// registering them: see [`register_in`].
///
/// ```
/// use probe_core::secrets::find_in;
///
/// assert_eq!(find_in("postgres://app:pw1x@db/app"), [("app".to_owned(), "pw1x".to_owned())]);
/// assert_eq!(find_in("host=db password='a b' user=x"), [(String::new(), "a b".to_owned())]);
/// assert_eq!(find_in("u:pw2x@k1:9092,k2:9092"), [("u".to_owned(), "pw2x".to_owned())]);
/// assert_eq!(find_in("https://h/?password=pw3x&a=1"), [(String::new(), "pw3x".to_owned())]);
/// ```
pub fn find_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    // `user:password@`: back from each `@` to the start of its token.
    for (at, _) in text.match_indices('@') {
        let before = &text[..at];
        let start = before
            .rfind(|c: char| c.is_whitespace() || matches!(c, '/' | ',' | '"' | '\'' | '<' | '('))
            .map_or(0, |i| i + 1);
        if let Some((user, password)) = before[start..].split_once(':') {
            if !password.is_empty() {
                found.push((user.to_owned(), password.to_owned()));
            }
        }
    }
    // `password=value`, `password = 'value'`, in query strings and key=value strings.
    let lower = text.to_ascii_lowercase();
    for key in ["password", "passwd", "pwd", "sslpassword"] {
        for (i, _) in lower.match_indices(key) {
            let preceded = lower[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            if !preceded {
                continue;
            }
            let rest = text[i + key.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('=') else {
                continue;
            };
            let rest = rest.trim_start();
            let value = if let Some(quoted) = rest.strip_prefix('\'') {
                quoted_value(quoted)
            } else {
                rest.split(|c: char| c.is_whitespace() || matches!(c, '&' | '#' | ';' | ',' | '"'))
                    .next()
                    .unwrap_or("")
                    .to_owned()
            };
            if !value.is_empty() {
                found.push((String::new(), value));
            }
        }
    }
    found
}

/// A libpq single-quoted value: up to the closing quote, `\'` and `\\` escaped.
fn quoted_value(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '\'' => break,
            c => out.push(c),
        }
    }
    out
}

fn add(forms: Vec<String>) {
    let forms: Vec<String> = forms
        .into_iter()
        .filter(|f| f.chars().count() >= MIN_LEN)
        .collect();
    if forms.is_empty() {
        return;
    }
    let mut set = SET.write().unwrap_or_else(|e| e.into_inner());
    for f in forms {
        if !set.contains(&f) {
            set.push(f);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    set.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ANY.store(true, Ordering::Release);
}

/// `text` with every registered secret replaced by `***`. Borrows when there is nothing
/// to mask, which is the common case and costs one atomic load when no secret is held.
pub fn scrub(text: &str) -> Cow<'_, str> {
    if !ANY.load(Ordering::Acquire) {
        return Cow::Borrowed(text);
    }
    let set = SET.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in set.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// `bytes` with every registered secret replaced by `***`; `None` when nothing had to be
/// masked (the bytes need not be UTF-8).
pub fn scrub_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    let set = SET.read().unwrap_or_else(|e| e.into_inner());
    let mut out: Option<Vec<u8>> = None;
    for secret in set.iter() {
        let s = secret.as_bytes();
        let cur = out.as_deref().unwrap_or(bytes);
        if find(cur, s).is_none() {
            continue;
        }
        let mut next = Vec::with_capacity(cur.len());
        let mut rest = cur;
        while let Some(i) = find(rest, s) {
            next.extend_from_slice(&rest[..i]);
            next.extend_from_slice(MASK.as_bytes());
            rest = &rest[i + s.len()..];
        }
        next.extend_from_slice(rest);
        out = Some(next);
    }
    out
}

/// Scrubs every string in `value`, keys included.
pub fn scrub_json(value: &mut serde_json::Value) {
    if !ANY.load(Ordering::Acquire) {
        return;
    }
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(clean) = scrub(s) {
                *s = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(map) => {
            let dirty: Vec<String> = map
                .keys()
                .filter(|k| matches!(scrub(k), Cow::Owned(_)))
                .cloned()
                .collect();
            for k in dirty {
                if let Some(v) = map.remove(&k) {
                    map.insert(scrub(&k).into_owned(), v);
                }
            }
            map.values_mut().for_each(scrub_json);
        }
        _ => {}
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A writer that scrubs what passes through it: wrap the log destination in it
/// (`tracing_subscriber::fmt().with_writer(|| Scrubbed(std::io::stderr()))`) and no log
/// line carries a registered secret. Each `write` is scrubbed on its own, as log layers
/// write one whole line per call.
#[derive(Debug)]
pub struct Scrubbed<W>(pub W);

impl<W: io::Write> io::Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match scrub_bytes(buf) {
            None => self.0.write(buf),
            Some(clean) => self.0.write_all(&clean).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_registered_secret_is_masked() {
        register("unit-p@ss w0rd");
        assert_eq!(scrub("a unit-p@ss w0rd b"), "a *** b");
        assert_eq!(scrub("a unit-p%40ss%20w0rd b"), "a *** b");
        register_basic("admin", "unit-basic-pw");
        let header = crate::text::base64(b"admin:unit-basic-pw");
        assert_eq!(scrub(&format!("Basic {header}")), "Basic ***");
        assert_eq!(
            scrub_bytes(b"x unit-basic-pw y").as_deref(),
            Some(&b"x *** y"[..])
        );
        assert_eq!(scrub_bytes(b"nothing here"), None);
    }

    #[test]
    fn short_secrets_are_not_searched_for() {
        register("ab");
        assert_eq!(scrub("kafka ab"), "kafka ab");
    }

    #[test]
    fn secrets_are_found_where_configurations_hold_them() {
        let pairs = |t: &str| find_in(t).into_iter().map(|(_, p)| p).collect::<Vec<_>>();
        assert_eq!(pairs("http://u:p1@h/"), ["p1"]);
        assert_eq!(pairs("http://token@h/"), Vec::<String>::new());
        assert_eq!(pairs("a:b1@k1:9092, c:d2@k2:9092"), ["b1", "d2"]);
        assert_eq!(pairs("postgres://h/db?sslmode=disable&password=q1"), ["q1"]);
        assert_eq!(pairs("host=h PASSWORD = 'it\\'s' port=1"), ["it's"]);
        assert_eq!(pairs("host=h password=x1 user=u"), ["x1"]);
        assert_eq!(pairs("no_password=x"), Vec::<String>::new());
    }

    #[test]
    fn json_strings_and_keys_are_scrubbed() {
        register("unit-json-secret");
        let mut v = serde_json::json!({
            "a": ["unit-json-secret", 1],
            "unit-json-secret": {"b": "x unit-json-secret"}
        });
        scrub_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["***", 1], "***": {"b": "x ***"}})
        );
    }

    #[test]
    fn the_writer_masks_each_line() {
        use std::io::Write;
        register("unit-log-secret");
        let mut w = Scrubbed(Vec::new());
        w.write_all(b"ERROR unit-log-secret\n").unwrap();
        assert_eq!(w.0, b"ERROR ***\n");
    }
}
