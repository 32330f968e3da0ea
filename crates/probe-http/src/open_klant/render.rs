//! The six bodies, each as django-health-check renders it.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HeaderValue, CONTENT_SECURITY_POLICY, HOST};
use http::StatusCode;

use probe_core::evaluators::connect::write_str as json_string;

use super::negotiate::Format;
use crate::response::{answer, TEXT};
use crate::{Req, Response};

/// One entry as it is rendered.
pub(super) struct Entry {
    pub label: String,
    pub words: String,
    pub passing: bool,
    pub seconds: f64,
    pub observed_at: SystemTime,
}

/// The page's policy: nothing loads from anywhere, the inline stylesheet applies.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The answer for `entries` in `format`: 200, or 500 when one does not pass; the feeds
/// and OpenMetrics always 200, as their readers expect.
pub(super) fn render(req: &Req<'_>, entries: &[Entry], format: Format) -> Response {
    let passing = entries.iter().all(|e| e.passing);
    let code = if passing {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let method = &req.parts.method;
    let ct = HeaderValue::from_static;
    match format {
        Format::Json => answer(method, code, ct("application/json"), json(entries)),
        Format::Text => {
            let mut out = String::with_capacity(48 * entries.len() + 1);
            for e in entries {
                let _ = writeln!(out, "{}: {}", e.label, one_line(&e.words));
            }
            if entries.is_empty() {
                out.push('\n');
            }
            answer(method, code, TEXT, out)
        }
        Format::Html => {
            let mut resp = answer(method, code, super::HTML, html(entries, passing));
            resp.headers_mut()
                .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            resp
        }
        Format::OpenMetrics => answer(
            method,
            StatusCode::OK,
            ct("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            openmetrics(entries, passing),
        ),
        Format::Atom => answer(
            method,
            StatusCode::OK,
            ct("application/atom+xml; charset=utf-8"),
            atom(req, entries),
        ),
        Format::Rss => answer(
            method,
            StatusCode::OK,
            ct("application/rss+xml; charset=utf-8"),
            rss(req, entries),
        ),
    }
}

/// Messages are one line in the text format.
fn one_line(m: &str) -> String {
    m.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `{"label": "words", ...}` spaced and escaped as Python's `json.dumps` (non-ASCII as
/// `\uXXXX`).
fn json(entries: &[Entry]) -> String {
    let mut out = String::from("{");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        json_string(&mut out, &e.label);
        out.push_str(": ");
        json_string(&mut out, &e.words);
    }
    out.push('}');
    out
}

/// Django's `escape`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str =
    "body{margin:0 auto;max-width:60em;font-family:system-ui,sans-serif;color-scheme:light dark}\
h1{text-align:center;font-weight:normal}table{border-collapse:collapse;width:100%}\
th,td{padding:.5em 1.5em;text-align:left}thead tr{background:darkslategray;color:white}\
thead tr.thead-error{background:darkred}tr.error{background:light-dark(lightcoral,#400)}\
.mono{font-family:ui-monospace,monospace}.align-right{text-align:right}\
footer{text-align:center;font-size:small;margin-top:2em}";

/// The status page: one row per entry (label, words, time taken), no external assets.
fn html(entries: &[Entry], passing: bool) -> String {
    let mut out = String::with_capacity(1024 + 200 * entries.len());
    let fire = if passing {
        ""
    } else {
        "<span role=\"img\" aria-label=\"Error\">\u{1f525}</span> "
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>System status</title>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         <link rel=\"alternate\" type=\"application/json\" title=\"JSON\" href=\"?format=json\">\n\
         <link rel=\"alternate\" type=\"application/atom+xml\" title=\"Atom Feed\" href=\"?format=atom\">\n\
         <link rel=\"alternate\" type=\"application/rss+xml\" title=\"RSS Feed\" href=\"?format=rss\">\n\
         <link rel=\"alternate\" type=\"application/openmetrics-text\" title=\"OpenMetrics\" href=\"?format=openmetrics\">\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{fire}System status</h1>\n<table>\n<thead>\n\
         <tr{}><th>Service</th><th>Status</th><th class=\"align-right\">Timing</th></tr>\n</thead>\n<tbody>\n",
        if passing { "" } else { " class=\"thead-error\"" }
    );
    for e in entries {
        let _ = writeln!(
            out,
            "<tr{}>\n<td data-label=\"Service\">{}</td>\n<td data-label=\"Status\" class=\"mono\"><p>{}</p></td>\n\
             <td data-label=\"Timing\" class=\"align-right mono\">{:.3}&#x202F;s</td>\n</tr>",
            if e.passing { "" } else { " class=\"error\"" },
            escape(&e.label),
            escape(&e.words).replace('\n', "<br>"),
            e.seconds
        );
    }
    out.push_str(
        "</tbody>\n</table>\n<footer><p>Subscribe: <a href=\"?format=atom\">Atom</a> | \
         <a href=\"?format=rss\">RSS</a> | <a href=\"?format=openmetrics\">OpenMetrics</a></p></footer>\n\
         </body>\n</html>\n",
    );
    out
}

/// The labels of an entry: `Cache(alias='default')` reads `check="Cache",alias="default"`;
/// any other label is `check="<label>"`.
fn labels(label: &str) -> String {
    let esc = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let parsed = label.strip_suffix(')').and_then(|l| {
        let (name, args) = l.split_once('(')?;
        let mut out = format!("check=\"{}\"", esc(name));
        for arg in args.split(", ").filter(|a| !a.is_empty()) {
            let (k, v) = arg.split_once('=')?;
            let v = v.strip_prefix('\'')?.strip_suffix('\'')?;
            let _ = write!(out, ",{k}=\"{}\"", esc(v));
        }
        Some(out)
    });
    parsed.unwrap_or_else(|| format!("check=\"{}\"", esc(label)))
}

fn openmetrics(entries: &[Entry], passing: bool) -> String {
    let mut out = String::from(
        "# HELP django_health_check_status Health check status (1 = healthy, 0 = unhealthy)\n\
         # TYPE django_health_check_status gauge\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "django_health_check_status{{{}}} {}",
            labels(&e.label),
            u8::from(e.passing)
        );
    }
    out.push_str(
        "# HELP django_health_check_response_time_seconds Health check response time in seconds\n\
         # TYPE django_health_check_response_time_seconds gauge\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "django_health_check_response_time_seconds{{{}}} {:.6}",
            labels(&e.label),
            e.seconds
        );
    }
    let _ = write!(
        out,
        "# HELP django_health_check_overall_status Overall health check status (1 = all healthy, 0 = at least one unhealthy)\n\
         # TYPE django_health_check_overall_status gauge\n\
         django_health_check_overall_status {}\n# EOF\n",
        u8::from(passing)
    );
    out
}

/// XML character data as Python's `xml.sax.saxutils.escape` writes it (`&`, `<`, `>`);
/// attribute values also escape `"`.
fn xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `http://<Host><path>`, the page's own address as Django builds it.
fn own_url(req: &Req<'_>) -> String {
    let host = req
        .parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{}", req.parts.uri.path())
}

fn feed_self(req: &Req<'_>) -> String {
    match req.parts.uri.query() {
        Some(q) => format!("{}?{q}", own_url(req)),
        None => own_url(req),
    }
}

/// When an entry was published: a failure when it was seen, a pass at the epoch (the
/// peer's convention: "nothing happened").
fn published(e: &Entry) -> SystemTime {
    if e.passing {
        UNIX_EPOCH
    } else {
        e.observed_at
    }
}

fn latest(entries: &[Entry]) -> SystemTime {
    entries
        .iter()
        .map(published)
        .max()
        .unwrap_or_else(SystemTime::now)
}

fn categories(e: &Entry) -> &'static [&'static str] {
    if e.passing {
        &["healthy"]
    } else {
        &["error", "unhealthy"]
    }
}

fn atom(req: &Req<'_>, entries: &[Entry]) -> String {
    let link = xml(&own_url(req), true);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Health Check Status</title><link href=\"{link}\" rel=\"alternate\"/>\
         <link href=\"{}\" rel=\"self\"/><id>{}</id><updated>{}</updated>",
        xml(&feed_self(req), true),
        xml(&own_url(req), false),
        rfc3339(latest(entries))
    );
    let host = req
        .parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map_or("localhost", |h| h.split(':').next().unwrap_or(h));
    for e in entries {
        let at = rfc3339(published(e));
        let _ = write!(
            out,
            "<entry><title>{}</title><link href=\"{link}\" rel=\"alternate\"/><published>{at}</published>\
             <updated>{at}</updated><author><name>Django Health Check</name></author>\
             <id>tag:{},{}:{}/</id><summary type=\"html\">{}</summary>",
            xml(&e.label, false),
            xml(host, false),
            &at[..10],
            xml(req.parts.uri.path(), false),
            xml(&e.words, false)
        );
        for c in categories(e) {
            let _ = write!(out, "<category term=\"{c}\"/>");
        }
        out.push_str("</entry>");
    }
    out.push_str("</feed>");
    out
}

fn rss(req: &Req<'_>, entries: &[Entry]) -> String {
    let link = xml(&own_url(req), false);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\
         <channel><title>Health Check Status</title><link>{link}</link>\
         <description>Current status of system health checks</description>\
         <atom:link href=\"{}\" rel=\"self\"/><lastBuildDate>{}</lastBuildDate>",
        xml(&feed_self(req), true),
        rfc2822(latest(entries))
    );
    for e in entries {
        let _ = write!(
            out,
            "<item><title>{}</title><link>{link}</link><description>{}</description>\
             <dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Django Health Check</dc:creator>\
             <pubDate>{}</pubDate>",
            xml(&e.label, false),
            xml(&e.words, false),
            rfc2822(published(e))
        );
        for c in categories(e) {
            let _ = write!(out, "<category>{c}</category>");
        }
        out.push_str("</item>");
    }
    out.push_str("</channel></rss>");
    out
}

/// (year, month, day, hour, minute, second, weekday with Monday 0) in UTC.
fn civil(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u64) {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    let weekday = (days + 3) % 7;
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, weekday)
}

/// `2026-12-01T22:42:06+00:00` (Atom), whole seconds.
fn rfc3339(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss, _) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
}

/// `Tue, 01 Dec 2026 22:42:06 +0000` (RSS).
fn rfc2822(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, ss, wd) = civil(t);
    format!(
        "{}, {d:02} {} {y:04} {hh:02}:{mm:02}:{ss:02} +0000",
        DAYS[wd as usize],
        MONTHS[m as usize - 1]
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry(label: &str, words: &str, passing: bool) -> Entry {
        Entry {
            label: label.into(),
            words: words.into(),
            passing,
            seconds: 0.0123,
            observed_at: UNIX_EPOCH + Duration::from_secs(1_796_164_926),
        }
    }

    #[test]
    fn json_is_spaced_and_escaped_as_python_writes_it() {
        let e = [
            entry("Cache(alias='default')", "OK", true),
            entry("é\"x", "a\nb", false),
        ];
        assert_eq!(
            json(&e),
            "{\"Cache(alias='default')\": \"OK\", \"\\u00e9\\\"x\": \"a\\nb\"}"
        );
        assert_eq!(json(&[]), "{}");
    }

    #[test]
    fn labels_split_a_dataclass_repr() {
        assert_eq!(
            labels("Cache(alias='default')"),
            "check=\"Cache\",alias=\"default\""
        );
        assert_eq!(labels("Disk()"), "check=\"Disk\"");
        assert_eq!(labels("db"), "check=\"db\"");
        assert_eq!(labels("odd(x)"), "check=\"odd(x)\"");
    }

    #[test]
    fn dates_as_the_feeds_write_them() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_164_926);
        assert_eq!(rfc3339(t), "2026-12-01T22:42:06+00:00");
        assert_eq!(rfc2822(t), "Tue, 01 Dec 2026 22:42:06 +0000");
        assert_eq!(rfc2822(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn the_page_escapes_what_it_shows() {
        let page = html(&[entry("<db>", "Unavailable: 'x' & y", false)], false);
        assert!(
            page.contains("<td data-label=\"Service\">&lt;db&gt;</td>"),
            "{page}"
        );
        assert!(
            page.contains("<p>Unavailable: &#x27;x&#x27; &amp; y</p>"),
            "{page}"
        );
        assert!(!page.contains("http"), "no external assets: {page}");
    }
}
