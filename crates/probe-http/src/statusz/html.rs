//! The HTML of `/statusz`: one self-contained page, no scripts, every text escaped.

use std::fmt::Write as _;

use probe_core::time::human;
use probe_core::Status;

use super::{CheckRow, Page};

/// Escapes `s` for HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}\
table{border-collapse:collapse}th,td{text-align:left;padding:.3em .7em;border-bottom:1px solid #ddd;vertical-align:top}\
.status{font-weight:600;padding:0 .4em;border-radius:3px;color:#fff}\
.pass{background:#2e7d32}.warn{background:#e09b00}.fail{background:#c62828}.none{background:#999}\
.timeline{white-space:nowrap}.cell{display:inline-block;width:10px;height:18px;margin-right:2px;border-radius:2px}\
.message{max-width:40em;overflow-wrap:anywhere}.policy{font-size:.9em;color:#555}";

fn badge(out: &mut String, status: Option<Status>) {
    let (class, text) = status.map_or(("none", "none"), |s| (s.as_str(), s.as_str()));
    let _ = write!(out, "<span class=\"status {class}\">{text}</span>");
}

/// The whole page.
pub(crate) fn render(page: &Page) -> String {
    let mut out = String::with_capacity(4096 + page.checks.len() * 2048);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta http-equiv=\"refresh\" content=\"5\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width\">");
    let _ = write!(
        out,
        "<title>statusz</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<h1>statusz</h1><p>As of <time>{}</time>; refreshes every 5 s.</p>",
        escape(&page.time)
    );
    out.push_str("<h2>Probes</h2><table><thead><tr><th>probe</th><th>status</th><th>checks</th></tr></thead><tbody>");
    for p in &page.probes {
        let _ = write!(out, "<tr id=\"probe-{}\"><td>{}</td><td>", p.probe, p.probe);
        badge(&mut out, Some(p.status));
        let names: Vec<String> = p.checks.iter().map(|n| escape(n)).collect();
        let _ = write!(out, "</td><td>{}</td></tr>", names.join(", "));
    }
    out.push_str("</tbody></table>");
    out.push_str("<h2>Checks</h2><table><thead><tr><th>check</th><th>probes</th><th>status</th><th>raw</th><th>message</th><th>last result</th><th>policy</th><th>last runs (oldest first)</th></tr></thead><tbody>");
    for c in &page.checks {
        check_row(&mut out, c);
    }
    out.push_str("</tbody></table></body></html>\n");
    out
}

fn check_row(out: &mut String, c: &CheckRow) {
    let name = escape(&c.name);
    let _ = write!(
        out,
        "<tr id=\"check-{name}\" class=\"check\"><td>{name}</td><td>{}</td><td>",
        c.probes.join(", ")
    );
    badge(out, Some(c.status));
    out.push_str("</td><td>");
    badge(out, c.raw);
    let _ = write!(
        out,
        "</td><td class=\"message\">{}</td><td>",
        escape(c.message.as_deref().unwrap_or(""))
    );
    match c.age_ms {
        Some(age) => {
            let _ = write!(out, "{} ago", human(std::time::Duration::from_millis(age)));
            if c.consecutive_failures > 0 {
                let _ = write!(out, "<br>{} failure(s) in a row", c.consecutive_failures);
            }
        }
        None => out.push_str("no run yet"),
    }
    let p = &c.policy;
    let d = |v: u64| human(std::time::Duration::from_millis(v));
    let _ = write!(
        out,
        "</td><td class=\"policy\">timeout {}; reuse {} pass / {} fail; thresholds {} fail / {} pass; max age {}; {}; {}</td><td class=\"timeline\">",
        d(p.timeout_ms),
        d(p.cache_pass_ms),
        d(p.cache_fail_ms),
        p.failure_threshold,
        p.success_threshold,
        p.max_age_ms.map_or("none".to_owned(), d),
        if p.critical { "critical" } else { "not critical" },
        escape(&p.schedule),
    );
    for r in &c.runs {
        let mut title = format!(
            "{}: {} (raw {}), {} ms",
            r.time,
            r.status.as_str(),
            r.raw.as_str(),
            r.duration_ms
        );
        if let Some(m) = &r.message {
            title.push_str(": ");
            title.push_str(m);
        }
        let _ = write!(
            out,
            "<span class=\"cell {}\" title=\"{}\"></span>",
            r.status.as_str(),
            escape(&title)
        );
    }
    out.push_str("</td></tr>");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
