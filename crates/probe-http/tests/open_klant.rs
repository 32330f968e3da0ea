//! The `open-klant` dialect over real loopback connections: routes, formats, headers,
//! redirects, and the client and Host allow-lists (which every dialect shares).

mod support;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::{Method, StatusCode};
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_http::{AllowedHosts, Cidr, ClientAllowList, Details, OpenKlant, ProbeService};
use serde_json::{json, Value};
use support::{get_with, header, request, Served};

/// A health with a local check in liveness, a database in readiness and startup, and a
/// migrations check in startup only; the database fails while `db_up` is false.
fn health(db_up: Arc<AtomicBool>) -> Health {
    Health::builder()
        .check(
            "event_loop",
            from_fn(Scope::Local, || async { Outcome::pass() }),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .check(
            "database",
            from_fn(Scope::Dependency, move || {
                let up = db_up.load(Ordering::SeqCst);
                async move {
                    if up {
                        Outcome::pass().with_message("connected")
                    } else {
                        Outcome::fail("connection refused by 127.0.0.1:5432")
                    }
                }
            }),
            [Probe::Readiness, Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .check(
            "migrations",
            from_fn(Scope::Dependency, || async { Outcome::pass() }),
            [Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap()
}

async fn serve(dialect: OpenKlant) -> Served {
    Served::start(ProbeService::builder().dialect(dialect).build()).await
}

fn up() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}

#[tokio::test]
async fn each_endpoint_evaluates_its_own_checks() {
    let s = serve(OpenKlant::new(health(up()))).await;
    let (code, h, body) = get_with(s.addr, "/_healthz/livez/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, "event_loop: OK\n");
    assert_eq!(header(&h, "content-type"), "text/plain; charset=utf-8");
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "database: OK\n"));
    let (code, _, body) = get_with(s.addr, "/_healthz/", &[]).await;
    assert_eq!(
        (code, body.as_str()),
        (StatusCode::OK, "database: OK\nmigrations: OK\n")
    );
    let (code, _, _) = get_with(s.addr, "/_healthz/other/", &[]).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failing_dependency_fails_readiness_with_500_but_not_liveness() {
    let db = up();
    db.store(false, Ordering::SeqCst);
    let s = serve(OpenKlant::new(health(db))).await;
    let (code, _, _) = get_with(s.addr, "/_healthz/livez/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=json", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    let doc: Value = serde_json::from_str(&body).unwrap();
    // Startup has not passed either, and says so as an entry of its own.
    assert_eq!(
        doc,
        json!({
            "startup": "startup has not completed",
            "database": "connection refused by 127.0.0.1:5432",
        })
    );
    let (code, _, body) = get_with(s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        "database: connection refused by 127.0.0.1:5432\nmigrations: OK\n"
    );
}

#[tokio::test]
async fn json_and_text_are_chosen_by_format_then_accept() {
    let s = serve(OpenKlant::new(health(up()))).await;
    let json_doc = json!({"database": "OK", "migrations": "OK"});
    for (query, accept) in [
        ("?format=json", None),
        ("?format=json", Some("text/plain")),
        ("", Some("application/json")),
        ("", Some("application/*")),
        ("", Some("text/plain;q=0.5, application/json")),
        ("?format=xml", Some("application/json")),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
        let (code, h, body) = get_with(s.addr, &format!("/_healthz/{query}"), &headers).await;
        assert_eq!(code, StatusCode::OK, "{query} {accept:?}");
        assert_eq!(
            header(&h, "content-type"),
            "application/json",
            "{query} {accept:?}"
        );
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json_doc);
    }
    for (query, accept) in [
        ("", None),
        ("?format=text", Some("application/json")),
        ("", Some("text/plain")),
        ("", Some("*/*")),
        ("", Some("text/html,application/xhtml+xml,*/*;q=0.8")),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
        let (code, h, body) = get_with(s.addr, &format!("/_healthz/{query}"), &headers).await;
        assert_eq!(code, StatusCode::OK, "{query} {accept:?}");
        assert_eq!(header(&h, "content-type"), "text/plain; charset=utf-8");
        assert_eq!(body, "database: OK\nmigrations: OK\n");
    }
}

#[tokio::test]
async fn an_unsupported_accept_is_406_listing_what_is_supported() {
    let s = serve(OpenKlant::new(health(up()))).await;
    for accept in ["image/png", "text/html", "application/json;q=0"] {
        let (code, h, body) = get_with(s.addr, "/_healthz/livez/", &[("accept", accept)]).await;
        assert_eq!(code, StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(
            body,
            "Not Acceptable: Supported content types: text/plain, application/json"
        );
        assert_eq!(header(&h, "vary"), "Accept");
    }
}

#[tokio::test]
async fn answers_vary_on_accept_and_are_never_cached() {
    let s = serve(OpenKlant::new(health(up()))).await;
    for accept in ["application/json", "text/plain"] {
        let (_, h, _) = get_with(s.addr, "/_healthz/readyz/", &[("accept", accept)]).await;
        assert_eq!(header(&h, "vary"), "Accept");
        assert_eq!(
            header(&h, "cache-control"),
            "max-age=0, no-cache, no-store, must-revalidate, private"
        );
        assert_eq!(header(&h, "expires"), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_and_post_is_405() {
    let s = serve(OpenKlant::new(health(up()))).await;
    let (code, h, body) = request(Method::HEAD, None, s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, "");
    assert_eq!(header(&h, "content-length"), "28");
    let (code, h, _) = request(Method::POST, None, s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&h, "allow"), "GET, HEAD");
}

#[tokio::test]
async fn paths_without_a_slash_redirect_to_the_slashed_path_keeping_the_query() {
    let s = serve(OpenKlant::new(health(up()))).await;
    for (path, to) in [
        ("/_healthz/livez", "http://web:8000/_healthz/livez/"),
        (
            "/_healthz/readyz?format=json",
            "http://web:8000/_healthz/readyz/?format=json",
        ),
        ("/_healthz", "http://web:8000/_healthz/"),
    ] {
        let (code, h, _) = get_with(s.addr, path, &[("host", "web:8000")]).await;
        assert_eq!(code, StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(header(&h, "location"), to);
    }
    // Untrusted: forwarding headers are ignored.
    let forged = [
        ("host", "web:8000"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example"),
    ];
    let (_, h, _) = get_with(s.addr, "/_healthz/livez", &forged).await;
    assert_eq!(header(&h, "location"), "http://web:8000/_healthz/livez/");
    // Without a Host (HTTP/1.0 may leave it out) the location is relative.
    let location = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        c.write_all(b"GET /_healthz/livez HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let mut raw = String::new();
        tokio::time::timeout(support::T, c.read_to_string(&mut raw))
            .await
            .expect("an answer in time")
            .unwrap();
        raw.lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("location: ")
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    };
    assert_eq!(location, "/_healthz/livez/");
    // Following it lands on the endpoint.
    let (code, _, body) = get_with(s.addr, &location, &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "event_loop: OK\n"));
}

#[tokio::test]
async fn trusted_forwarding_headers_build_the_location() {
    let s = serve(OpenKlant::new(health(up())).trust_forwarded(true)).await;
    let xf = [
        ("host", "web:8000"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "klant.example.org"),
    ];
    let (_, h, _) = get_with(s.addr, "/_healthz/livez?x=1", &xf).await;
    assert_eq!(
        header(&h, "location"),
        "https://klant.example.org/_healthz/livez/?x=1"
    );
    let fwd = [
        ("host", "web:8000"),
        (
            "forwarded",
            "for=10.0.0.1;proto=https;host=\"klant.example.org:8443\"",
        ),
    ];
    let (_, h, _) = get_with(s.addr, "/_healthz", &fwd).await;
    assert_eq!(
        header(&h, "location"),
        "https://klant.example.org:8443/_healthz/"
    );
}

#[tokio::test]
async fn the_location_keeps_the_path_prefix() {
    let service = ProbeService::builder()
        .path_prefix("/klant")
        .dialect(OpenKlant::new(health(up())))
        .build();
    let s = Served::start(service).await;
    let (code, h, _) = get_with(s.addr, "/klant/_healthz/readyz", &[("host", "web")]).await;
    assert_eq!(code, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&h, "location"), "http://web/klant/_healthz/readyz/");
    let (code, _, _) = get_with(s.addr, "/klant/_healthz/readyz/", &[]).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn clients_outside_the_allow_list_get_403() {
    let service = ProbeService::builder()
        .dialect(OpenKlant::new(health(up())))
        .allow_clients(ClientAllowList::new([
            "127.0.0.1/32".parse::<Cidr>().unwrap(),
            "::1/128".parse().unwrap(),
        ]))
        .build();
    let s = Served::start(service).await;
    let to = s.addr;
    let one: IpAddr = "127.0.0.1".parse().unwrap();
    let two: IpAddr = "127.0.0.2".parse().unwrap();
    let (code, _, _) = request(Method::GET, Some(one), to, "/_healthz/livez/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    for path in [
        "/_healthz/livez/",
        "/_healthz/",
        "/elsewhere",
        "/_healthz/livez",
    ] {
        let (code, _, body) = request(Method::GET, Some(two), to, path, &[]).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body, "forbidden\n");
    }
}

#[tokio::test]
async fn hosts_outside_the_allowed_hosts_get_400() {
    let service = ProbeService::builder()
        .dialect(OpenKlant::new(health(up())))
        .allowed_hosts(AllowedHosts::new(["localhost", ".example.org"]).unwrap())
        .build();
    let s = Served::start(service).await;
    for host in [
        "localhost",
        "localhost:8000",
        "example.org",
        "klant.example.org:443",
    ] {
        let (code, _, _) = get_with(s.addr, "/_healthz/livez/", &[("host", host)]).await;
        assert_eq!(code, StatusCode::OK, "{host}");
    }
    for host in [
        "127.0.0.1",
        "evil.example",
        "example.org.evil.example",
        "a_b",
    ] {
        let (code, _, body) = get_with(s.addr, "/_healthz/livez/", &[("host", host)]).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{host}");
        assert_eq!(body, "host not allowed\n");
    }
    let (code, _, _) = get_with(s.addr, "/_healthz/livez/", &[]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "no Host at all");
}

#[tokio::test]
async fn withheld_details_read_unavailable() {
    let db = up();
    db.store(false, Ordering::SeqCst);
    let s = serve(OpenKlant::new(health(db)).details(Details::Never)).await;
    let (code, _, body) = get_with(s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "database: unavailable\nmigrations: OK\n");
    assert!(!body.contains("5432"));
}

#[tokio::test]
async fn application_conditions_are_entries_too() {
    let h = health(up());
    let s = serve(OpenKlant::new(h.clone())).await;
    h.readiness().set(false);
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=json", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["ready"], "marked not ready by the application");
    assert_eq!(doc["database"], "OK");
    h.readiness().set(true);
    h.shutdown().begin();
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.starts_with("shutdown: shutting down\n"), "{body}");
    // Liveness stays green while shutting down.
    let (code, _, _) = get_with(s.addr, "/_healthz/livez/", &[]).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn everything_keeps_checking_after_startup_has_passed() {
    let db = up();
    let s = serve(OpenKlant::new(health(db.clone()))).await;
    let (code, _, _) = get_with(s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    db.store(false, Ordering::SeqCst);
    let (code, _, body) = get_with(s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        "database: connection refused by 127.0.0.1:5432\nmigrations: OK\n"
    );
}

#[tokio::test]
async fn warnings_pass_and_no_checks_is_an_empty_passing_answer() {
    let h = Health::builder()
        .check(
            "disk",
            from_fn(Scope::Local, || async { Outcome::fail("92% full") }),
            [Probe::Liveness],
            Policy::default().non_critical(),
        )
        .unwrap()
        .build()
        .unwrap();
    let s = serve(OpenKlant::new(h)).await;
    let (code, _, body) = get_with(s.addr, "/_healthz/livez/", &[]).await;
    assert_eq!(
        (code, body.as_str()),
        (StatusCode::OK, "disk: warning: 92% full\n")
    );
    // No readiness checks at all: nothing to report, and nothing failing.
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=json", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "{}"));
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, ""));
}
