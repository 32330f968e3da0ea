//! Reading `Accept`: one parser for every dialect.
//!
//! The header is split into media ranges (`type/subtype; param=value ...`), every
//! `Accept` field of the request in order. Each dialect then reads the ranges with its
//! peer's rules: the kubernetes and kpow dialects with HTTP's (RFC 9110 §12.5.1: `q=0`
//! means "not acceptable"), the open-klant dialect with django-health-check's.

use http::header::ACCEPT;
use http::HeaderMap;

/// One media range of an `Accept` header, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MediaRange<'a> {
    /// `type/subtype`, trimmed, case kept.
    pub media: &'a str,
    /// The parameters after the first `;`, each `name=value` trimmed, in order.
    params: Vec<(&'a str, &'a str)>,
    /// A parameter was not `name=value`.
    malformed_param: bool,
}

/// The ranges of every `Accept` field in `headers`, in order; empty elements (`a, ,b`)
/// are skipped, as HTTP's list syntax allows. Fields that are not visible ASCII are left
/// out.
pub(crate) fn ranges(headers: &HeaderMap) -> Vec<MediaRange<'_>> {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|t| !t.trim().is_empty())
        .map(MediaRange::parse)
        .collect()
}

/// Whether the request has an `Accept` field at all (an empty one counts).
pub(crate) fn present(headers: &HeaderMap) -> bool {
    headers.contains_key(ACCEPT)
}

impl<'a> MediaRange<'a> {
    fn parse(token: &'a str) -> Self {
        let mut parts = token.split(';');
        let media = parts.next().unwrap_or("").trim();
        let mut params = Vec::new();
        let mut malformed_param = false;
        for p in parts {
            match p.split_once('=') {
                Some((k, v)) => params.push((k.trim(), v.trim())),
                None => malformed_param = true,
            }
        }
        MediaRange {
            media,
            params,
            malformed_param,
        }
    }

    /// `type/subtype` with both halves HTTP tokens (`*` included).
    pub(crate) fn is_well_formed(&self) -> bool {
        match self.media.split_once('/') {
            Some((t, s)) => is_token(t) && is_token(s) && !self.malformed_param,
            None => false,
        }
    }

    /// The media type compared case-insensitively, as HTTP says.
    pub(crate) fn is(&self, media: &str) -> bool {
        self.media.eq_ignore_ascii_case(media)
    }

    /// HTTP's weight: the `q` parameter (any case, any position), 1 without one; `None`
    /// when the range is malformed or its `q` is not a qvalue (`0` to `1`, at most three
    /// decimals).
    pub(crate) fn weight(&self) -> Option<f32> {
        if !self.is_well_formed() {
            return None;
        }
        match self
            .params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("q"))
        {
            Some((_, v)) => qvalue(v),
            None => Some(1.0),
        }
    }

    /// Whether HTTP's rules accept this range at all: well formed, and a weight above 0.
    pub(crate) fn acceptable(&self) -> bool {
        self.weight().is_some_and(|q| q > 0.0)
    }

    /// django-health-check's reading of the range: its weight, or `None` where the peer
    /// would refuse the whole header (a media type outside `\w+/[\w.+-]+` and `*`, or a
    /// parameter that is not `token=token`).
    ///
    /// Its rules differ from HTTP's: `q` counts only as the first parameter and only when
    /// it is a qvalue with at least one decimal after a dot (`0.5`, `1.0`, `0`); any other
    /// `q` (`q=2`, `q=0.5` after `charset`) is an ordinary parameter and the weight is 1.
    /// `q=0` is the lowest preference, not a refusal.
    pub(crate) fn peer_weight(&self) -> Option<f32> {
        let (t, s) = self.media.split_once('/')?;
        let word = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_alphanumeric() || c == '_');
        let sub = |x: &str| {
            !x.is_empty()
                && x.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'))
        };
        if !(t == "*" || word(t)) || !(s == "*" || sub(s)) || self.malformed_param {
            return None;
        }
        if !self.params.iter().all(|(k, v)| is_token(k) && is_token(v)) {
            return None;
        }
        match self.params.first() {
            Some(("q", v)) => Some(peer_qvalue(v).unwrap_or(1.0)),
            _ => Some(1.0),
        }
    }
}

/// An HTTP token (RFC 9110 §5.6.2).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn qvalue(v: &str) -> Option<f32> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let ok = frac.len() <= 3
        && frac.bytes().all(|b| b.is_ascii_digit())
        && match int {
            "0" => true,
            "1" => frac.bytes().all(|b| b == b'0'),
            _ => false,
        };
    ok.then(|| v.parse().ok()).flatten()
}

/// django-health-check's qvalue: `1`, `1.0` to `1.000`, `0`, `0.0` to `0.999`.
fn peer_qvalue(v: &str) -> Option<f32> {
    match v.split_once('.') {
        Some((_, "")) => None,
        _ => qvalue(v),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn every_field_and_element_in_order_empty_ones_skipped() {
        let h = headers(&["text/plain, ,application/json;q=0.5", "*/*"]);
        let media: Vec<&str> = ranges(&h).iter().map(|r| r.media).collect();
        assert_eq!(media, ["text/plain", "application/json", "*/*"]);
        assert!(ranges(&headers(&[""])).is_empty());
        assert!(present(&headers(&[""])));
        assert!(!present(&HeaderMap::new()));
    }

    #[test]
    fn http_weights_refuse_q_zero_and_bad_qvalues() {
        let w = |s: &str| MediaRange::parse(s).weight();
        assert_eq!(w("application/json"), Some(1.0));
        assert_eq!(w("application/json; q=0.5"), Some(0.5));
        assert_eq!(w("application/json;charset=utf-8;Q=0.25"), Some(0.25));
        assert_eq!(w("application/json;q=1.000"), Some(1.0));
        assert_eq!(w("application/json;q=0"), Some(0.0));
        assert!(!MediaRange::parse("application/json;q=0").acceptable());
        assert!(!MediaRange::parse("application/json;q=0.000").acceptable());
        assert!(MediaRange::parse("application/json;q=0.001").acceptable());
        for bad in [
            "application/json;q=2",
            "application/json;q=1.5",
            "application/json;q=-1",
            "application/json;q=0.1234",
            "application/json;q=",
            "json",
            "/json",
            "a/b;c",
        ] {
            assert_eq!(w(bad), None, "{bad}");
        }
    }

    #[test]
    fn peer_weights_follow_django_health_check() {
        let w = |s: &str| MediaRange::parse(s).peer_weight();
        assert_eq!(w("application/json"), Some(1.0));
        assert_eq!(w("application/json;q=0"), Some(0.0));
        assert_eq!(w("application/json; q=0.5"), Some(0.5));
        // `q` above 1, or not first, is an ordinary parameter.
        assert_eq!(w("application/json;q=2"), Some(1.0));
        assert_eq!(w("application/json;q=1.5"), Some(1.0));
        assert_eq!(w("application/json;charset=utf-8;q=0.5"), Some(1.0));
        assert_eq!(w("application/json;q=0.5;charset=utf-8"), Some(0.5));
        assert_eq!(w("APPLICATION/JSON"), Some(1.0));
        // What the peer refuses outright.
        for bad in ["garbage", "a b/c", "text/plain;q", "text/plain;a=\"b\""] {
            assert_eq!(w(bad), None, "{bad}");
        }
    }
}
