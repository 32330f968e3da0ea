//! The two text formats a scrape can ask for, and how `Accept` chooses between them.

use http::header::HeaderValue;
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;

/// The format of a `/metrics` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain; version=0.0.4`): what a client that
    /// names no format gets.
    Prometheus,
    /// OpenMetrics 1.0.0 (`application/openmetrics-text; version=1.0.0`), ending in `# EOF`.
    OpenMetrics,
}

/// The `Content-Type` of OpenMetrics 1.0.0.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text` with a quality at least that of any text format it
    /// accepts (`text/plain`, `text/*`, `*/*`); the Prometheus text format otherwise, and
    /// when there is no `Accept`.
    pub fn negotiate(accept: Option<&HeaderValue>) -> Format {
        let Some(accept) = accept.and_then(|a| a.to_str().ok()) else {
            return Format::Prometheus;
        };
        let (mut openmetrics, mut plain) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => plain = plain.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= plain {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> HeaderValue {
        match self {
            Format::Prometheus => HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
            Format::OpenMetrics => HeaderValue::from_static(OPENMETRICS),
        }
    }

    /// `registry` in this format.
    pub fn render(self, registry: &Registry) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail, and every metric here encodes.
        let _ = match self {
            Format::Prometheus => prometheus_text::encode(&mut out, registry),
            Format::OpenMetrics => text::encode(&mut out, registry),
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Format {
        Format::negotiate(Some(&HeaderValue::from_str(accept).unwrap()))
    }

    #[test]
    fn openmetrics_only_when_asked_for_at_least_as_much_as_text() {
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(pick("*/*"), Format::Prometheus);
        assert_eq!(pick("text/plain"), Format::Prometheus);
        assert_eq!(
            pick("application/openmetrics-text; version=1.0.0"),
            Format::OpenMetrics
        );
        // What Prometheus itself sends.
        assert_eq!(
            pick("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            Format::OpenMetrics
        );
        assert_eq!(
            pick("text/plain;version=0.0.4, application/openmetrics-text;q=0.5"),
            Format::Prometheus
        );
        assert_eq!(pick("application/openmetrics-text;q=0"), Format::Prometheus);
    }
}
