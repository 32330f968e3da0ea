//! `ca_file` and `--ca-file`: trusting an internal CA, beside the system's certificate
//! store, for `https://` targets.

use probe_core::http_client::{TlsConfig, TlsOptions};

use super::{ConfigError, Fields};

/// Whether `url` is `https://` (in any case).
pub fn is_https(url: &str) -> bool {
    url.trim_start()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// The system's certificate store plus the CA certificates in the PEM file at `path`,
/// read now: a missing, unreadable, empty or malformed file is the problem returned, for
/// the caller to name with its key or flag.
pub fn trusting(path: &str) -> Result<TlsConfig, String> {
    let path = path.trim();
    if path.is_empty() {
        return Err("empty (write the path of a PEM file of CA certificates)".to_owned());
    }
    TlsConfig::new(&TlsOptions::new().ca_file(path)).map_err(|e| e.to_string())
}

/// A table's `ca_file`: a PEM file of CA certificates trusted beside the system's store,
/// for an `https://` `url` only; read now, so a bad file is a configuration error.
pub(super) fn ca_file(f: &mut Fields, url: &str) -> Result<Option<TlsConfig>, ConfigError> {
    let Some(path) = f.string("ca_file")? else {
        return Ok(None);
    };
    if !is_https(url) {
        return Err(f.error("ca_file", "only applies to an https:// url"));
    }
    trusting(&path)
        .map(Some)
        .map_err(|problem| f.error("ca_file", problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{one, refused};

    #[test]
    fn https_is_recognised_in_any_case() {
        assert!(is_https("https://h/"));
        assert!(is_https(" HTTPS://h/"));
        assert!(!is_https("http://h/"));
        assert!(!is_https("https:"));
    }

    #[test]
    fn a_missing_file_names_itself() {
        assert_eq!(
            trusting("/nonexistent/ca.pem").unwrap_err(),
            "cannot read CA file /nonexistent/ca.pem: no such file or directory"
        );
        assert!(trusting(" ").unwrap_err().starts_with("empty"));
    }

    #[test]
    fn ca_files_are_read_at_once_and_only_for_https() {
        let cases = [
            (
                "type = \"http\"\nurl = \"http://web:8000/\"\nca_file = \"/etc/ca.pem\"",
                "check[0] \"c\".ca_file: only applies to an https:// url".to_owned(),
            ),
            (
                "type = \"http\"\nurl = \"https://web/\"\nca_file = \"/nonexistent/ca.pem\"",
                "check[0] \"c\".ca_file: cannot read CA file /nonexistent/ca.pem: no such file or directory".to_owned(),
            ),
            (
                "type = \"kafka-connect\"\nurl = \"https://connect:8083\"\nca_file = \"\"",
                "check[0] \"c\".ca_file: empty (write the path of a PEM file of CA certificates)".to_owned(),
            ),
            (
                "type = \"kafka-connect\"\nurl = \"https://connect:8083\"\nca_file = 1",
                "check[0] \"c\".ca_file: expected a string, found integer".to_owned(),
            ),
        ];
        for (keys, expected) in cases {
            assert_eq!(refused(keys), expected, "{keys}");
        }
        // Without a CA file, https trusts the system's store.
        let c = one("type = \"kafka-connect\"\nurl = \"https://connect:8083\"").unwrap();
        assert_eq!(c.check.scope(), probe_core::Scope::Dependency);
    }
}
