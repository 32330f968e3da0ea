//! Answers that say "ask again in a moment", not "something is broken".

/// Whether an answer is transient: 409 (Connect refuses while the group rebalances), or an
/// HTML page with an error status (a reverse proxy while the worker restarts).
pub(super) fn is_transient(status: u16, body: &[u8]) -> bool {
    status == 409 || (status >= 500 && looks_like_html(body))
}

fn looks_like_html(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body[start..].first() == Some(&b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_and_error_pages_are_transient_error_objects_are_not() {
        assert!(is_transient(
            409,
            br#"{"error_code":409,"message":"rebalance"}"#
        ));
        assert!(is_transient(
            502,
            b"\n<html><body>Bad Gateway</body></html>"
        ));
        assert!(!is_transient(
            500,
            br#"{"error_code":500,"message":"Request timed out"}"#
        ));
        assert!(!is_transient(200, b"<html></html>"));
        assert!(!is_transient(404, b""));
    }
}
