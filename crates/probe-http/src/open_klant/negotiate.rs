//! Choosing the format as django-health-check does.

use http::header::HeaderValue;
use http::{Method, StatusCode};

use crate::accept;
use crate::response::answer;
use crate::{Req, Response};

/// The formats the endpoints render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Html,
    Json,
    Text,
    Atom,
    Rss,
    OpenMetrics,
}

/// The body of the 406 answer, listing what the peer lists.
const NOT_ACCEPTABLE: &str = "Not Acceptable: Supported content types: text/plain, text/html, application/json, application/atom+xml, application/rss+xml, application/openmetrics-text";

/// The 406 answer (`text/plain`, no charset, as the peer's).
pub(super) fn not_acceptable(method: &Method) -> Response {
    answer(
        method,
        StatusCode::NOT_ACCEPTABLE,
        HeaderValue::from_static("text/plain"),
        NOT_ACCEPTABLE,
    )
}

/// django-health-check's choice: `?format=json|text|atom|rss|openmetrics` (exact case)
/// first; then `Accept` (no field at all reads as `*/*`, an empty one accepts nothing),
/// its ranges sorted by weight, ties in their order, the first one served wins; `None`
/// means 406. Media types compare case-sensitively, as the peer's do.
pub(super) fn negotiate(req: &Req<'_>) -> Option<Format> {
    let by_name = req.query.get("format").and_then(|f| match &*f {
        "json" => Some(Format::Json),
        "text" => Some(Format::Text),
        "atom" => Some(Format::Atom),
        "rss" => Some(Format::Rss),
        "openmetrics" => Some(Format::OpenMetrics),
        _ => None,
    });
    if by_name.is_some() {
        return by_name;
    }
    let headers = &req.parts.headers;
    if !accept::present(headers) {
        return Some(Format::Html);
    }
    choose(
        accept::ranges(headers)
            .iter()
            .filter_map(|r| Some((r.media, r.peer_weight()?))),
    )
}

/// The first served media type of `ranges` (media, weight) by descending weight.
fn choose<'a>(ranges: impl Iterator<Item = (&'a str, f32)>) -> Option<Format> {
    let mut ranges: Vec<(&str, f32)> = ranges.collect();
    // A stable sort: equal weights keep their order, as Python's `sorted` does.
    ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranges.into_iter().find_map(|(media, _)| {
        Some(match media {
            "text/plain" => Format::Text,
            "text/html" | "application/xhtml+xml" | "text/*" | "*/*" => Format::Html,
            "application/json" | "application/*" => Format::Json,
            "application/atom+xml" => Format::Atom,
            "application/rss+xml" => Format::Rss,
            "application/openmetrics-text" => Format::OpenMetrics,
            _ => return None,
        })
    })
}

#[cfg(test)]
mod tests {
    use http::header::ACCEPT;
    use http::Request;

    use super::*;
    use crate::query::Query;

    fn pick(uri: &str, accept: Option<&str>) -> Option<Format> {
        let mut b = Request::get(uri);
        if let Some(a) = accept {
            b = b.header(ACCEPT, a);
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        let req = Req {
            parts: &parts,
            path: parts.uri.path(),
            query: Query(parts.uri.query().unwrap_or("")),
            client: None,
        };
        negotiate(&req)
    }

    #[test]
    fn accept_is_read_as_django_health_check_reads_it() {
        use Format::*;
        let cases: &[(Option<&str>, Option<Format>)] = &[
            (None, Some(Html)),
            (Some(""), None),
            (Some("*/*"), Some(Html)),
            (Some("text/html"), Some(Html)),
            (Some("application/xhtml+xml"), Some(Html)),
            (Some("text/*"), Some(Html)),
            (Some("text/plain"), Some(Text)),
            (Some("application/json"), Some(Json)),
            (Some("application/*"), Some(Json)),
            (Some("application/atom+xml"), Some(Atom)),
            (Some("application/rss+xml"), Some(Rss)),
            (Some("application/openmetrics-text"), Some(OpenMetrics)),
            // q=0 is the lowest preference, not a refusal; q above 1 weighs 1.
            (Some("application/json;q=0"), Some(Json)),
            (Some("application/json;q=2, text/plain;q=0.9"), Some(Json)),
            (Some("text/plain;q=0.5, application/json;q=0.9"), Some(Json)),
            (Some("application/json, text/plain"), Some(Json)),
            (Some("APPLICATION/JSON"), None),
            (Some("image/png"), None),
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Some(Html),
            ),
            // The peer fails the request on a malformed range; here it is skipped.
            (Some("garbage, application/json"), Some(Json)),
        ];
        for (accept, want) in cases {
            assert_eq!(pick("/_healthz/", *accept), *want, "{accept:?}");
        }
    }

    #[test]
    fn format_names_come_first_in_exact_case() {
        assert_eq!(
            pick("/?format=json", Some("text/plain")),
            Some(Format::Json)
        );
        assert_eq!(
            pick("/?format=openmetrics", None),
            Some(Format::OpenMetrics)
        );
        assert_eq!(pick("/?format=atom", None), Some(Format::Atom));
        assert_eq!(pick("/?format=rss", None), Some(Format::Rss));
        assert_eq!(pick("/?format=text", None), Some(Format::Text));
        assert_eq!(pick("/?format=JSON", None), Some(Format::Html));
        assert_eq!(pick("/?format=xml", Some("text/plain")), Some(Format::Text));
    }
}
