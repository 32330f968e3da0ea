//! Small text helpers shared across the crate: URL redaction, plain I/O reasons, base64
//! and percent-decoding. Pure functions, available in every build.

use std::io;

/// `url` with any password replaced by `***` and control characters escaped (`\r\n`
/// written as `\\r\\n`), safe for one-line messages and logs.
pub fn redact(url: &str) -> String {
    escape_control(&mask_password_values(&redact_password(url)))
}

/// `text` with the value of every `password=` (a query parameter, a `key=value`
/// connection-string entry, quoted or not) replaced by `***`.
fn mask_password_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for key in ["sslpassword", "password", "passwd", "pwd"] {
        for (i, _) in lower.match_indices(key) {
            let word_start = lower[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
            if !word_start || spans.iter().any(|&(a, b)| i >= a && i < b) {
                continue;
            }
            let after_key = i + key.len();
            let rest = &text[after_key..];
            let trimmed = rest.trim_start();
            let Some(value) = trimmed.strip_prefix('=') else {
                continue;
            };
            let lead = value.len() - value.trim_start().len();
            let start = text.len() - value.len() + lead;
            let value = &text[start..];
            let len = if let Some(q) = value.strip_prefix('\'') {
                let mut end = q.len();
                let mut escaped = false;
                for (j, c) in q.char_indices() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '\'' => {
                            end = j + 1;
                            break;
                        }
                        _ => {}
                    }
                }
                1 + end
            } else {
                value
                    .find(|c: char| c.is_whitespace() || matches!(c, '&' | '#' | ';' | ',' | '"'))
                    .unwrap_or(value.len())
            };
            if len > 0 {
                spans.push((start, start + len));
            }
        }
    }
    spans.sort_unstable();
    for (a, b) in spans {
        if a < copied {
            continue;
        }
        out.push_str(&text[copied..a]);
        out.push_str("***");
        copied = b;
    }
    out.push_str(&text[copied..]);
    out
}

/// `text` with every control character written escaped (`\n` as `\\n`): input quoted in
/// a message stays on one line.
pub fn escape_control(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                "***".to_owned()
            };
            format!("{}{masked}{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// A plain reason for an I/O error, without "(os error N)".
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::TimedOut => "timed out".into(),
        io::ErrorKind::UnexpectedEof => "connection closed".into(),
        io::ErrorKind::AddrNotAvailable => "address not available".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

/// Standard base64 with padding.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes every byte of `s` but the unreserved characters of RFC 3986 (letters,
/// digits, `-`, `.`, `_`, `~`): safe as a path segment or a query value.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `s` with `%XX` escapes decoded, invalid UTF-8 replaced.
pub fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s)).into_owned()
}

/// The bytes `s` stands for once its `%XX` escapes are decoded; a `%` not followed by two
/// hex digits stands for itself.
pub fn percent_decode_bytes(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact("http://u:s3cret@h:1/p?q=1"),
            "http://u:***@h:1/p?q=1"
        );
        assert_eq!(
            redact("https://u:s3cret@h:1/p?q=1"),
            "https://u:***@h:1/p?q=1"
        );
        assert_eq!(redact("redis://:s3cret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact("http://token@h/"), "http://***@h/");
        assert_eq!(redact("http://h/a@b"), "http://h/a@b");
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(
            redact("postgres://h/db?sslmode=disable&password=s3cret&x=1"),
            "postgres://h/db?sslmode=disable&password=***&x=1"
        );
        assert_eq!(
            redact("host=h password='s3 cret' user=u"),
            "host=h password=*** user=u"
        );
        assert_eq!(redact("host=h PASSWORD = s3cret"), "host=h PASSWORD = ***");
        assert_eq!(redact("no_password=x"), "no_password=x");
        assert_eq!(
            redact("http://u:s3cret@h/\r\nX: y"),
            "http://u:***@h/\\r\\nX: y"
        );
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn percent_escapes_decode_and_stray_percents_stay() {
        assert_eq!(percent_decode("p%40ss%2"), "p@ss%2");
        assert_eq!(percent_decode_bytes("%ff"), [0xff]);
    }
}
