//! The `open-klant` dialect over real loopback connections: routes, formats, headers,
//! redirects, and the client and Host allow-lists (which every dialect shares).

mod support;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::{Method, StatusCode};
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_http::{
    AllowedHosts, Cidr, ClientAllowList, Details, OpenKlant, ProbeService, Shown, StandsFor,
};
use support::{get_with, header, request, Served};

/// A health with a local check in liveness, a database in readiness and startup, and a
/// storage check in startup only; the database fails while `db_up` is false.
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
            "storage",
            from_fn(Scope::Dependency, || async { Outcome::pass() }),
            [Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap()
}

/// The dialect as a standard Open Klant configuration shows it: maykin-common's labels.
fn labelled(health: Health) -> OpenKlant {
    OpenKlant::new(health)
        .show(
            "database",
            Shown::new()
                .with_label("Database(alias='default')")
                .standing_for(StandsFor::Database),
        )
        .show(
            "storage",
            Shown::new()
                .with_label("Storage(alias='default')")
                .standing_for(StandsFor::Storage),
        )
}

async fn serve(dialect: OpenKlant) -> Served {
    Served::start(ProbeService::builder().dialect(dialect).build()).await
}

fn up() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(true))
}

#[tokio::test]
async fn each_endpoint_evaluates_its_own_checks_under_their_labels() {
    let s = serve(labelled(health(up()))).await;
    let text = [("accept", "text/plain")];
    let (code, h, body) = get_with(s.addr, "/_healthz/livez/", &text).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, "event_loop: OK\n");
    assert_eq!(header(&h, "content-type"), "text/plain; charset=utf-8");
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/", &text).await;
    assert_eq!(
        (code, body.as_str()),
        (StatusCode::OK, "Database(alias='default'): OK\n")
    );
    let (code, _, body) = get_with(s.addr, "/_healthz/?format=json", &[]).await;
    assert_eq!(code, StatusCode::OK);
    // Spaced as Python's json.dumps writes it.
    assert_eq!(
        body,
        r#"{"Database(alias='default')": "OK", "Storage(alias='default')": "OK"}"#
    );
    let (code, _, _) = get_with(s.addr, "/_healthz/other/", &[]).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failing_dependency_reads_in_the_peers_words_with_no_startup_entry() {
    let db = up();
    db.store(false, Ordering::SeqCst);
    let s = serve(labelled(health(db))).await;
    let (code, _, _) = get_with(s.addr, "/_healthz/livez/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=json", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    // Startup has not latched, but the peer has no such entry: only the checks.
    assert_eq!(
        body,
        r#"{"Database(alias='default')": "Unavailable: connection failed"}"#
    );
    let (code, _, body) = get_with(s.addr, "/_healthz/?format=text", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        "Database(alias='default'): Unavailable: connection failed\nStorage(alias='default'): OK\n"
    );
}

#[tokio::test]
async fn formats_are_chosen_as_django_health_check_chooses_them() {
    let s = serve(labelled(health(up()))).await;
    for (query, accept, ct) in [
        ("", None, "text/html; charset=utf-8"),
        ("", Some("*/*"), "text/html; charset=utf-8"),
        ("", Some("text/html"), "text/html; charset=utf-8"),
        ("", Some("text/plain"), "text/plain; charset=utf-8"),
        ("", Some("application/json"), "application/json"),
        ("", Some("application/json;q=0"), "application/json"),
        (
            "",
            Some("application/json;q=2, text/plain;q=0.9"),
            "application/json",
        ),
        (
            "",
            Some("text/plain;q=0.5, application/json"),
            "application/json",
        ),
        ("?format=json", Some("text/plain"), "application/json"),
        ("?format=text", None, "text/plain; charset=utf-8"),
        ("?format=xml", Some("application/json"), "application/json"),
        (
            "?format=openmetrics",
            None,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        (
            "",
            Some("application/atom+xml"),
            "application/atom+xml; charset=utf-8",
        ),
        ("?format=rss", None, "application/rss+xml; charset=utf-8"),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
        let (code, h, _) = get_with(s.addr, &format!("/_healthz/{query}"), &headers).await;
        assert_eq!(code, StatusCode::OK, "{query} {accept:?}");
        assert_eq!(header(&h, "content-type"), ct, "{query} {accept:?}");
    }
    let (_, h, page) = get_with(s.addr, "/_healthz/", &[]).await;
    assert!(
        page.contains("<td data-label=\"Service\">Database(alias=&#x27;default&#x27;)</td>"),
        "{page}"
    );
    assert!(header(&h, "content-security-policy").starts_with("default-src 'none'"));
    let (_, _, metrics) = get_with(s.addr, "/_healthz/?format=openmetrics", &[]).await;
    assert!(
        metrics.contains("django_health_check_status{check=\"Database\",alias=\"default\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.ends_with("django_health_check_overall_status 1\n# EOF\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unsupported_or_empty_accept_is_406_listing_what_the_peer_lists() {
    let s = serve(OpenKlant::new(health(up()))).await;
    for accept in ["image/png", "", "APPLICATION/JSON"] {
        let (code, h, body) = get_with(s.addr, "/_healthz/", &[("accept", accept)]).await;
        assert_eq!(code, StatusCode::NOT_ACCEPTABLE, "{accept:?}");
        assert_eq!(header(&h, "content-type"), "text/plain");
        assert_eq!(
            body,
            "Not Acceptable: Supported content types: text/plain, text/html, application/json, application/atom+xml, application/rss+xml, application/openmetrics-text"
        );
    }
}

#[tokio::test]
async fn answers_vary_on_accept_and_are_not_stored() {
    let s = serve(OpenKlant::new(health(up()))).await;
    for (path, accept) in [("/_healthz/", "text/plain"), ("/_healthz/", "image/png")] {
        let (_, h, _) = get_with(s.addr, path, &[("accept", accept)]).await;
        assert_eq!(header(&h, "vary"), "Accept");
        assert_eq!(header(&h, "cache-control"), "no-store");
        assert!(h.get("expires").is_none());
    }
}

#[tokio::test]
async fn head_answers_like_get_options_lists_the_methods_others_are_405() {
    let s = serve(OpenKlant::new(health(up()))).await;
    let (code, h, body) = request(Method::HEAD, None, s.addr, "/_healthz/?format=json", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(header(&h, "content-type"), "application/json");
    let (code, h, body) = request(Method::OPTIONS, None, s.addr, "/_healthz/readyz/", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(header(&h, "allow"), "GET, HEAD, OPTIONS");
    assert_eq!(header(&h, "content-length"), "0");
    let (code, h, _) = request(Method::POST, None, s.addr, "/_healthz/readyz/", &[]).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&h, "allow"), "GET, HEAD, OPTIONS");
}

#[tokio::test]
async fn paths_without_a_slash_redirect_relatively_keeping_the_query() {
    let s = serve(OpenKlant::new(health(up())).trust_forwarded(true)).await;
    for (from, to) in [
        ("/_healthz", "/_healthz/"),
        ("/_healthz/livez", "/_healthz/livez/"),
        (
            "/_healthz/readyz?format=json",
            "/_healthz/readyz/?format=json",
        ),
    ] {
        for method in [Method::GET, Method::POST] {
            let headers = [
                ("x-forwarded-host", "example.org"),
                ("x-forwarded-proto", "https"),
            ];
            let (code, h, _) = request(method.clone(), None, s.addr, from, &headers).await;
            assert_eq!(code, StatusCode::MOVED_PERMANENTLY, "{method} {from}");
            assert_eq!(header(&h, "location"), to, "{method} {from}");
        }
    }
}

#[tokio::test]
async fn the_location_keeps_the_path_prefix() {
    let service = ProbeService::builder()
        .path_prefix("/klant")
        .dialect(OpenKlant::new(health(up())))
        .build();
    let s = Served::start(service).await;
    let (code, h, _) = get_with(s.addr, "/klant/_healthz/livez", &[]).await;
    assert_eq!(code, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&h, "location"), "/klant/_healthz/livez/");
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
async fn withheld_details_read_reason_withheld_but_the_peers_words_stay() {
    let db = up();
    db.store(false, Ordering::SeqCst);
    let h = Health::builder()
        .check(
            "other",
            from_fn(Scope::Dependency, || async {
                Outcome::fail("secret.internal:5 refused")
            }),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let s = serve(labelled(h).details(Details::Never)).await;
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=text", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "other: Unavailable: reason withheld\n");
    let s = serve(labelled(health(db)).details(Details::Never)).await;
    let (_, _, body) = get_with(s.addr, "/_healthz/readyz/?format=text", &[]).await;
    assert_eq!(
        body,
        "Database(alias='default'): Unavailable: connection failed\n"
    );
}

#[tokio::test]
async fn application_conditions_are_entries_too() {
    let h = health(up());
    let s = serve(OpenKlant::new(h.clone())).await;
    h.readiness().set(false);
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=text", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.starts_with("ready: Unavailable: marked not ready by the application\n"),
        "{body}"
    );
    h.readiness().set(true);
    h.shutdown().begin();
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=text", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.starts_with("shutdown: Unavailable: shutting down\n"),
        "{body}"
    );
}

#[tokio::test]
async fn everything_keeps_checking_after_startup_has_passed() {
    let db = up();
    let s = serve(labelled(health(db.clone()))).await;
    let (code, _, _) = get_with(s.addr, "/_healthz/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    db.store(false, Ordering::SeqCst);
    let (code, _, body) = get_with(s.addr, "/_healthz/?format=text", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("Database(alias='default'): Unavailable: connection failed"),
        "{body}"
    );
}

#[tokio::test]
async fn a_warning_is_a_500_and_no_checks_is_an_empty_passing_answer() {
    let h = Health::builder()
        .check(
            "disk",
            from_fn(Scope::Local, || async { Outcome::fail("disk 91% full") }),
            [Probe::Readiness],
            Policy {
                critical: false,
                ..Policy::default()
            },
        )
        .unwrap()
        .build()
        .unwrap();
    let s = serve(OpenKlant::new(h)).await;
    let (code, _, body) = get_with(s.addr, "/_healthz/readyz/?format=json", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, r#"{"disk": "Warning: disk 91% full"}"#);
    let empty = Health::builder().build().unwrap();
    let s = serve(OpenKlant::new(empty)).await;
    let (code, _, body) = get_with(s.addr, "/_healthz/livez/?format=text", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "\n"));
    let (code, _, body) = get_with(s.addr, "/_healthz/livez/?format=json", &[]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "{}"));
}
