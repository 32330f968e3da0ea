//! `ca_file` and `--ca-file`: trusting an internal CA, beside the system's certificate
//! store, for `https://` targets.

use probe_core::http_client::{TlsConfig, TlsOptions};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
