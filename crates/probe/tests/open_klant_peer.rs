//! The `open-klant` dialect of `probe serve` side by side with the real thing:
//! django-health-check and maykin-common, installed from PyPI on first use, serving a
//! small Django project (`scripts/django-peer/`) on the local PostgreSQL and on private
//! Redis servers this test starts. In every state (healthy, database refused, cache
//! refused, cache refusing writes, storage unwritable, a check warning) every path is
//! asked in every format and with every `Accept` of the matrix; status, content type,
//! caching headers and body must agree, but for the differences docs/open-klant.md lists
//! as deliberate, which are asserted here as such.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use probe_testkit::django::{self, DjangoPeer};
use support::{free_port, Serve, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The budget of one request, and the most of an answer that is read.
const REQUEST: Duration = Duration::from_secs(20);
const MAX_ANSWER: usize = 256 * 1024;

/// The `Accept` values of the matrix (`None`: no field at all).
const ACCEPTS: &[Option<&str>] = &[
    None,
    Some(""),
    Some("*/*"),
    Some("text/html"),
    Some("text/plain"),
    Some("application/json"),
    Some("application/json;q=0"),
    Some("application/json; q=0, text/plain; q=0"),
    Some("application/json;q=2, text/plain;q=0.9"),
    Some("text/plain;q=0.5, application/json;q=0.9"),
    Some("application/json;charset=utf-8;q=0.1, text/plain;q=0.5"),
    Some("application/*"),
    Some("text/*"),
    Some("application/xhtml+xml"),
    Some("application/atom+xml"),
    Some("application/rss+xml"),
    Some("application/openmetrics-text"),
    Some("image/png"),
    Some("APPLICATION/JSON"),
    Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
];

/// `?format=` values; each is asked with no `Accept` and with one that fits nothing.
const FORMATS: &[&str] = &["json", "text", "atom", "rss", "openmetrics", "JSON", "xml"];

const PATHS: &[&str] = &["/_healthz/", "/_healthz/readyz/", "/_healthz/livez/"];

// === the servers ===

/// A redis-server of this test's own on a free port, killed when dropped.
struct Redis {
    port: u16,
    child: Child,
    _dir: TempDir,
}

impl Redis {
    async fn start(args: &[&str]) -> Redis {
        let port = free_port();
        let dir = TempDir::new("peer-redis");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): apt-get install redis-server")
            });
        let mut redis = Redis {
            port,
            child,
            _dir: dir,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return redis;
            }
            if let Ok(Some(status)) = redis.child.try_wait() {
                panic!("redis-server exited ({status}) before listening");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on {port} within 10 s");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails the test, saying what to do, when the local PostgreSQL is not there.
async fn require_postgres() {
    let up = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect("127.0.0.1:5432"),
    )
    .await;
    assert!(
        matches!(up, Ok(Ok(_))),
        "no PostgreSQL on 127.0.0.1:5432 (trust authentication, database `test`): start it (scripts/test.sh does) and run the tests again"
    );
}

/// What both sides are pointed at in one state.
struct State {
    name: &'static str,
    db_port: u16,
    cache_port: u16,
    media: String,
    /// A missing file a non-critical check looks for: both sides warn on `/_healthz/`
    /// with `<path> does not exist`.
    warning: Option<String>,
    /// What the peer's `/_healthz/?format=json` must say in this state, so the comparison
    /// is known to be about the state it names: its status and a fragment of its body.
    expect: (u16, &'static str),
}

/// `probe serve` configured as the Open Klant recipe in docs/open-klant.md says.
fn probe_config(s: &State) -> String {
    let mut c = format!(
        r#"[server]
listen = "127.0.0.1:{{port}}"
dialects = ["open-klant"]

[[check]]
name = "cache"
label = "Cache(alias='default')"
type = "redis"
mode = "write"
url = "redis://127.0.0.1:{cache}/0"
probes = ["readiness", "startup"]
timeout = "5s"

[[check]]
name = "database"
label = "Database(alias='default')"
type = "postgres-query"
url = "postgres://postgres@127.0.0.1:{db}/test"
probes = ["readiness", "startup"]
timeout = "5s"

[[check]]
name = "storage"
label = "Storage(alias='default')"
type = "storage"
path = "{media}"
probes = ["startup"]
timeout = "5s"
"#,
        cache = s.cache_port,
        db = s.db_port,
        media = s.media,
    );
    if let Some(path) = &s.warning {
        c.push_str(&format!(
            "\n[[check]]\nname = \"disk\"\nlabel = \"Disk()\"\ntype = \"file-exists\"\npath = \"{path}\"\nprobes = [\"startup\"]\ncritical = false\n"
        ));
    }
    c
}

// === asking ===

/// One answer, read whole: status, headers (names in lower case), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// `method path` on `addr` with `Accept` as given (or none), `Connection: close`.
async fn ask(addr: SocketAddr, method: &str, path: &str, accept: Option<&str>) -> Answer {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            addr.port()
        );
        if let Some(a) = accept {
            req.push_str(&format!("Accept: {a}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.take(MAX_ANSWER as u64)
            .read_to_end(&mut raw)
            .await
            .unwrap();
        raw
    };
    let raw = tokio::time::timeout(REQUEST, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} on {addr}: no answer within {REQUEST:?}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path} on {addr}: not HTTP: {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

// === comparing ===

/// Replaces what differs between two runs of the same answer (the port in links, times,
/// timings) so that what remains must be equal.
fn normalized(body: &str, port: u16, content_type: &str) -> String {
    let body = body.replace(&format!("127.0.0.1:{port}"), "HOST");
    if content_type.starts_with("text/html") {
        // The peer's page and probe's differ in markup; the rows are what a reader sees.
        return rows(&body).join("\n");
    }
    if content_type.starts_with("application/openmetrics-text") {
        return body
            .lines()
            .map(
                |l| match l.strip_prefix("django_health_check_response_time_seconds") {
                    Some(rest) => format!(
                        "django_health_check_response_time_seconds{} T",
                        rest.rsplit_once(' ').map_or(rest, |(labels, _)| labels)
                    ),
                    None => l.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n");
    }
    if content_type.starts_with("application/atom+xml")
        || content_type.starts_with("application/rss+xml")
    {
        let mut out = body;
        for tag in ["updated", "published", "pubDate", "lastBuildDate"] {
            out = times_hidden(&out, &format!("<{tag}>"), &format!("</{tag}>"));
        }
        return times_hidden(&out, "tag:HOST,", ":");
    }
    body
}

/// The text between `open` and `close` replaced by `NOW`, unless it is the epoch (which
/// both sides give passing entries).
fn times_hidden(s: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        let start = i + open.len();
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find(close) else {
            rest = &rest[start..];
            break;
        };
        let value = &rest[start..start + len];
        if value.starts_with("1970") || value.contains("01 Jan 1970") {
            out.push_str(value);
        } else {
            out.push_str("NOW");
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// `service | status | row class` for every row of a status page.
fn rows(page: &str) -> Vec<String> {
    let cell = |row: &str, label: &str| {
        let open = format!("<td data-label=\"{label}\"");
        row.find(&open)
            .and_then(|i| row[i..].find('>').map(|j| i + j + 1))
            .and_then(|s| {
                row[s..]
                    .find("</td>")
                    .map(|e| row[s..s + e].trim().to_owned())
            })
            .unwrap_or_default()
    };
    page.split("<tr")
        .skip(1)
        .filter(|r| r.contains("data-label=\"Service\""))
        .map(|r| {
            let error = r.trim_start().starts_with("class=\"error\"");
            format!(
                "{} | {} | {}",
                cell(r, "Service"),
                cell(r, "Status"),
                if error { "error" } else { "ok" }
            )
        })
        .collect()
}

/// One case compared; returns `None` when they agree, else what differs.
fn compare(
    case: &str,
    peer: &Answer,
    peer_port: u16,
    ours: &Answer,
    our_port: u16,
    head: bool,
) -> Option<String> {
    let mut diffs = Vec::new();
    if peer.status != ours.status {
        diffs.push(format!("status {} vs {}", peer.status, ours.status));
    }
    let (pct, oct) = (
        peer.header("content-type").unwrap_or(""),
        ours.header("content-type").unwrap_or(""),
    );
    if pct != oct {
        diffs.push(format!("content-type {pct:?} vs {oct:?}"));
    }
    for h in ["vary", "allow", "location"] {
        if peer.header(h) != ours.header(h) {
            diffs.push(format!("{h} {:?} vs {:?}", peer.header(h), ours.header(h)));
        }
    }
    // Caching, deliberately as django-health-check 4.11 sends it: `no-store` alone, no
    // `Expires`. The peer installed here (4.8) sends Django's never_cache headers, which
    // also forbid storing; where the peer sends none (the redirect), probe still does.
    let peer_cc = peer.header("cache-control");
    if peer_cc.is_some_and(|cc| !cc.contains("no-store")) {
        diffs.push(format!(
            "the peer's cache-control {peer_cc:?} allows storing"
        ));
    }
    if ours.header("cache-control") != Some("no-store") || ours.header("expires").is_some() {
        diffs.push(format!(
            "probe's caching headers {:?} / expires {:?}",
            ours.header("cache-control"),
            ours.header("expires")
        ));
    }
    let page = matches!(ours.status, 200 | 500) && oct.starts_with("text/html") && !head;
    if page
        && ours.body.starts_with("<!DOCTYPE")
        && ours.header("content-security-policy").is_none()
    {
        diffs.push("probe's page has no Content-Security-Policy".to_owned());
    }
    if head {
        if !ours.body.is_empty() || !peer.body.is_empty() {
            diffs.push("HEAD answered with a body".to_owned());
        }
    } else {
        let (p, o) = (
            normalized(&peer.body, peer_port, pct),
            normalized(&ours.body, our_port, oct),
        );
        if p != o {
            diffs.push(format!("body\n  peer:  {p:?}\n  probe: {o:?}"));
        }
    }
    (!diffs.is_empty()).then(|| format!("{case}: {}", diffs.join("; ")))
}

/// Every case of the matrix for one state: (method, path with query, Accept).
fn matrix() -> Vec<(&'static str, String, Option<&'static str>)> {
    let mut cases = Vec::new();
    for path in PATHS {
        for accept in ACCEPTS {
            cases.push(("GET", (*path).to_owned(), *accept));
        }
        for f in FORMATS {
            for accept in [None, Some("image/png")] {
                cases.push(("GET", format!("{path}?format={f}"), accept));
            }
        }
        cases.push(("HEAD", (*path).to_owned(), None));
        cases.push(("HEAD", format!("{path}?format=json"), None));
        cases.push(("OPTIONS", (*path).to_owned(), None));
        cases.push(("OPTIONS", (*path).to_owned(), Some("image/png")));
    }
    for unslashed in [
        "/_healthz",
        "/_healthz/readyz",
        "/_healthz/livez?format=json",
    ] {
        cases.push(("GET", unslashed.to_owned(), None));
        cases.push(("POST", unslashed.to_owned(), None));
    }
    cases
}

/// Both sides in `state`: every case compared; the differences, if any.
async fn run_state(state: &State) -> (usize, Vec<String>) {
    let mut env = vec![
        ("PEER_DB_PORT", state.db_port.to_string()),
        (
            "PEER_CACHE_URL",
            format!("redis://127.0.0.1:{}/0", state.cache_port),
        ),
        ("PEER_MEDIA_ROOT", state.media.clone()),
    ];
    if let Some(path) = &state.warning {
        // The peer's warning check raises the words probe's file-exists check fails with.
        env.push(("PEER_WARNING", format!("{path} does not exist")));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let peer = DjangoPeer::start(&env).await;
    let ours = Serve::start(&probe_config(state)).await;
    let peer_addr = SocketAddr::from(([127, 0, 0, 1], peer.port));
    let mut diffs = Vec::new();
    let sure = ask(peer_addr, "GET", "/_healthz/?format=json", None).await;
    assert_eq!(
        (sure.status, sure.body.contains(state.expect.1)),
        (state.expect.0, true),
        "[{}] the peer is not in the state the test set up: {sure:?}\n{}",
        state.name,
        peer.log_text()
    );
    let cases = matrix();
    for (method, path, accept) in &cases {
        let case = format!("[{}] {method} {path} Accept: {accept:?}", state.name);
        let p = ask(peer_addr, method, path, *accept).await;
        let o = ask(ours.addr, method, path, *accept).await;
        if let Some(d) = compare(
            &case,
            &p,
            peer.port,
            &o,
            ours.addr.port(),
            *method == "HEAD",
        ) {
            diffs.push(d);
        }
    }
    (cases.len(), diffs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_format_and_accept_answers_as_django_health_check_in_every_state() {
    require_postgres().await;
    println!("peer: {}", django::versions().await);
    let redis = Redis::start(&[]).await;
    // Any memory in use is past a 1-byte limit: every write is refused, PING answers.
    let full = Redis::start(&["--maxmemory", "1", "--maxmemory-policy", "noeviction"]).await;
    let media = TempDir::new("peer-media");
    let not_a_dir = media.join("a-file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let closed = free_port();
    let writable = media.arg("");
    let healthy = |name| State {
        name,
        db_port: 5432,
        cache_port: redis.port,
        media: writable.clone(),
        warning: None,
        expect: (
            200,
            r#"{"Cache(alias='default')": "OK", "Database(alias='default')": "OK", "Storage(alias='default')": "OK"}"#,
        ),
    };
    let states = [
        healthy("healthy"),
        State {
            db_port: closed,
            expect: (
                500,
                r#""Database(alias='default')": "Unavailable: connection failed""#,
            ),
            ..healthy("database refused")
        },
        State {
            cache_port: closed,
            expect: (
                500,
                r#""Cache(alias='default')": "Unexpected Result: Connection Error""#,
            ),
            ..healthy("cache refused")
        },
        State {
            cache_port: full.port,
            expect: (
                500,
                r#""Cache(alias='default')": "Unexpected Result: Connection Error""#,
            ),
            ..healthy("cache refusing writes")
        },
        State {
            media: format!("{}/sub", not_a_dir.display()),
            expect: (
                500,
                r#""Storage(alias='default')": "Unknown Error: unknown error""#,
            ),
            ..healthy("storage unwritable")
        },
        State {
            warning: Some(media.arg("disk-ok")),
            expect: (500, r#""Disk()": "Warning: "#),
            ..healthy("a check warning")
        },
    ];
    let mut total = 0;
    let mut all = Vec::new();
    for state in &states {
        let (n, diffs) = run_state(state).await;
        println!("{}: {n} cases, {} differences", state.name, diffs.len());
        total += n;
        all.extend(diffs);
    }
    println!("{total} cases compared");
    assert!(
        all.is_empty(),
        "{} of {total} cases differ:\n{}",
        all.len(),
        all.join("\n")
    );
}
