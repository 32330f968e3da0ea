//! The kubernetes dialect, answered with no socket (as an embedder calls it) and over a
//! real loopback connection.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use probe_core::testing::{Scripted, Step};
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_http::{ClientAddr, Details, Kubernetes, ProbeService};

fn health() -> Health {
    let failing = from_fn(Scope::Dependency, || async {
        Outcome::fail("connection refused by 10.0.0.5:5432")
    });
    let passing = from_fn(Scope::Local, || async { Outcome::pass() });
    let seen = from_fn(Scope::Local, || async {
        Outcome::pass().with_message("1 job queued")
    });
    let degraded = from_fn(Scope::Local, || async { Outcome::fail("replica lag 12s") });
    Health::builder()
        .check("db", failing, [Probe::Readiness], Policy::default())
        .unwrap()
        .check(
            "loop",
            passing,
            [Probe::Liveness, Probe::Readiness, Probe::Startup],
            Policy::default(),
        )
        .unwrap()
        .check(
            "replica",
            degraded,
            [Probe::Readiness],
            Policy::default().non_critical(),
        )
        .unwrap()
        .check("queue", seen, [Probe::Startup], Policy::default())
        .unwrap()
        .build()
        .unwrap()
}

fn service(details: Details) -> ProbeService {
    ProbeService::builder()
        .dialect(Kubernetes::new(health()).details(details))
        .build()
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

async fn ask(
    svc: &ProbeService,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    from: Option<&str>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Empty::<Bytes>::new()).unwrap();
    if let Some(addr) = from {
        req.extensions_mut()
            .insert(ClientAddr(addr.parse().unwrap()));
    }
    let resp = tokio::time::timeout(Duration::from_secs(5), svc.respond(req))
        .await
        .expect("answer in time");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

const LOCAL: Option<&str> = Some("127.0.0.1:40000");
const REMOTE: Option<&str> = Some("10.1.2.3:40000");

#[tokio::test]
async fn passing_probes_answer_ok_and_are_never_cached() {
    let svc = service(Details::Local);
    let a = ask(&svc, Method::GET, "/livez", &[], LOCAL).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.headers["content-type"], "text/plain; charset=utf-8");
    let head = ask(&svc, Method::HEAD, "/livez", &[], LOCAL).await;
    assert_eq!((head.status, head.body.as_str()), (StatusCode::OK, ""));
    assert_eq!(head.headers["content-length"], "2");
}

#[tokio::test]
async fn verbose_lists_every_check_then_the_verdict() {
    let svc = service(Details::Local);
    let a = ask(&svc, Method::GET, "/livez?verbose", &[], LOCAL).await;
    assert_eq!(a.body, "[+]loop ok\nlivez check passed\n");
    let r = ask(&svc, Method::GET, "/readyz?verbose", &[], LOCAL).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.body,
        "[-]db failed: connection refused by 10.0.0.5:5432\n[+]loop ok\n[+]replica ok (warn: replica lag 12s)\nreadyz check failed\n"
    );
}

#[tokio::test]
async fn what_a_passing_check_saw_is_shown_to_local_clients_only() {
    let svc = service(Details::Local);
    let local = ask(&svc, Method::GET, "/startupz?verbose", &[], LOCAL).await;
    assert_eq!(
        local.body,
        "[+]loop ok\n[+]queue ok: 1 job queued\nstartupz check passed\n"
    );
    // A fresh service: once the startup latch has closed, startup runs no checks.
    let remote = ask(
        &service(Details::Local),
        Method::GET,
        "/startupz?verbose",
        &[],
        REMOTE,
    )
    .await;
    assert_eq!(
        remote.body,
        "[+]loop ok\n[+]queue ok\nstartupz check passed\n"
    );
}

#[tokio::test]
async fn a_failing_probe_explains_itself_even_without_verbose() {
    let r = ask(&service(Details::Local), Method::GET, "/readyz", &[], LOCAL).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.ends_with("readyz check failed\n"), "{}", r.body);
}

#[tokio::test]
async fn reasons_are_withheld_from_clients_off_loopback() {
    let svc = service(Details::Local);
    for from in [REMOTE, None] {
        let r = ask(&svc, Method::GET, "/readyz?verbose", &[], from).await;
        assert!(
            r.body.contains("[-]db failed: reason withheld\n"),
            "{}",
            r.body
        );
        assert!(!r.body.contains("10.0.0.5"), "{}", r.body);
        let j = ask(&svc, Method::GET, "/readyz?format=json", &[], from).await;
        assert!(!j.body.contains("10.0.0.5"), "{}", j.body);
    }
    let never = ask(
        &service(Details::Never),
        Method::GET,
        "/readyz?verbose",
        &[],
        LOCAL,
    )
    .await;
    assert!(never.body.contains("[-]db failed: reason withheld"));
    let always = ask(
        &service(Details::Always),
        Method::GET,
        "/readyz?verbose",
        &[],
        REMOTE,
    )
    .await;
    assert!(always.body.contains("connection refused by 10.0.0.5:5432"));
}

#[tokio::test]
async fn one_check_alone_and_exclusions() {
    let svc = service(Details::Local);
    let one = ask(&svc, Method::GET, "/readyz/loop", &[], LOCAL).await;
    assert_eq!((one.status, one.body.as_str()), (StatusCode::OK, "ok"));
    let db = ask(&svc, Method::GET, "/readyz/db", &[], LOCAL).await;
    assert_eq!(db.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ask(&svc, Method::GET, "/readyz/nope", &[], LOCAL)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ask(&svc, Method::GET, "/livez/db", &[], LOCAL).await.status,
        StatusCode::NOT_FOUND,
        "db is not a liveness check"
    );
    let excl = ask(&svc, Method::GET, "/readyz?exclude=db&verbose", &[], LOCAL).await;
    assert_eq!(excl.status, StatusCode::OK);
    assert!(
        excl.body.contains("[+]db excluded: ok\n") && excl.body.ends_with("readyz check passed\n"),
        "{}",
        excl.body
    );
}

#[tokio::test]
async fn health_json_when_asked_for() {
    let svc = service(Details::Local);
    for (uri, accept, ct) in [
        (
            "/readyz",
            "application/health+json",
            "application/health+json",
        ),
        (
            "/readyz",
            "text/html, application/json;q=0.9",
            "application/json",
        ),
        ("/readyz?format=json", "", "application/health+json"),
    ] {
        let a = ask(&svc, Method::GET, uri, &[("accept", accept)], LOCAL).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(a.headers["content-type"], ct);
        let doc: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(doc["status"], "fail");
        assert_eq!(doc["output"], "readiness check failed: db");
        assert_eq!(doc["checks"]["db"][0]["status"], "fail");
        assert_eq!(
            doc["checks"]["db"][0]["output"],
            "connection refused by 10.0.0.5:5432"
        );
        assert_eq!(doc["checks"]["db"][0]["componentType"], "system");
        assert_eq!(doc["checks"]["replica"][0]["status"], "warn");
        assert_eq!(doc["checks"]["replica"][0]["rawStatus"], "fail");
        assert!(doc["time"].as_str().unwrap().ends_with('Z'));
    }
    let pass = ask(
        &svc,
        Method::GET,
        "/livez",
        &[("accept", "application/health+json")],
        LOCAL,
    )
    .await;
    let doc: serde_json::Value = serde_json::from_str(&pass.body).unwrap();
    assert_eq!(
        (pass.status, doc["status"].as_str()),
        (StatusCode::OK, Some("pass"))
    );
}

#[tokio::test]
async fn other_methods_and_paths() {
    let svc = service(Details::Local);
    let post = ask(&svc, Method::POST, "/livez", &[], LOCAL).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    for path in ["/", "/nope", "/livezz", "/healthz"] {
        assert_eq!(
            ask(&svc, Method::GET, path, &[], LOCAL).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_route_moves_under_a_prefix() {
    let svc = ProbeService::builder()
        .dialect(Kubernetes::new(health()))
        .path_prefix("/probe/")
        .build();
    assert_eq!(
        ask(&svc, Method::GET, "/probe/livez", &[], LOCAL)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        ask(&svc, Method::GET, "/livez", &[], LOCAL).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ask(&svc, Method::GET, "/probelivez", &[], LOCAL)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn shutdown_fails_readiness_and_keeps_liveness() {
    let h = Health::builder().build().unwrap();
    let svc = ProbeService::builder()
        .dialect(Kubernetes::new(h.clone()))
        .build();
    h.shutdown().begin();
    let r = ask(&svc, Method::GET, "/readyz?verbose", &[], LOCAL).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.body,
        "[-]shutdown failed: shutting down\nreadyz check failed\n"
    );
    assert_eq!(
        ask(&svc, Method::GET, "/livez", &[], LOCAL).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn over_a_real_socket_loopback_clients_see_reasons() {
    let server = serve(service(Details::Local)).await;
    let r = support::get(server.addr, "/readyz?verbose").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.body.contains("connection refused by 10.0.0.5:5432"),
        "{}",
        r.body
    );
    let head = support::send(server.addr, Method::HEAD, "/livez", &[]).await;
    assert_eq!(
        (
            head.status,
            head.body.as_str(),
            head.header("content-length")
        ),
        (StatusCode::OK, "", "2")
    );
}

struct Running {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(svc: ProbeService) -> Running {
    let bound =
        probe_http::Server::bind("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
    let addr = bound.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(svc, async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        _stop: tx,
        task,
    }
}

#[tokio::test]
async fn liveness_without_checks_answers_every_form() {
    let svc = ProbeService::builder()
        .dialect(Kubernetes::new(Health::builder().build().unwrap()))
        .build();
    let plain = ask(&svc, Method::GET, "/livez", &[], REMOTE).await;
    assert_eq!((plain.status, plain.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(plain.headers["cache-control"], "no-store");
    let verbose = ask(&svc, Method::GET, "/livez?verbose", &[], REMOTE).await;
    assert_eq!(verbose.body, "livez check passed\n");
    let json = ask(
        &svc,
        Method::GET,
        "/livez",
        &[("accept", "application/health+json")],
        REMOTE,
    )
    .await;
    assert_eq!(json.headers["content-type"], "application/health+json");
    assert!(
        json.body.starts_with("{\"status\":\"pass\""),
        "{}",
        json.body
    );
    let post = ask(&svc, Method::POST, "/livez", &[], REMOTE).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// A service over one `db` readiness check that follows `steps`, failure threshold 3.
fn db_with_threshold(steps: Vec<Step>) -> ProbeService {
    let health = Health::builder()
        .check(
            "db",
            Scripted::dependency(steps),
            [Probe::Readiness],
            Policy::default().thresholds(3, 1),
        )
        .unwrap()
        .build()
        .unwrap();
    ProbeService::builder()
        .dialect(Kubernetes::new(health))
        .build()
}

#[tokio::test]
async fn verbose_says_a_check_inside_its_threshold_is_failing() {
    let svc = db_with_threshold(vec![Step::fail(
        "cannot connect to 127.0.0.1:1: connection refused",
    )]);
    let first = ask(&svc, Method::GET, "/readyz?verbose", &[], LOCAL).await;
    assert_eq!(
        first.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a check that never passed fails readiness whatever its threshold"
    );
    assert!(
        first.body.starts_with("[-]db failed: cannot connect"),
        "{}",
        first.body
    );

    // Once it has passed, failures inside the threshold pass for now, and say so.
    let svc = db_with_threshold(vec![Step::pass(), Step::fail("connection refused")]);
    assert_eq!(
        ask(&svc, Method::GET, "/readyz", &[], LOCAL).await.status,
        StatusCode::OK
    );
    let inside = ask(&svc, Method::GET, "/readyz?verbose", &[], LOCAL).await;
    assert_eq!(inside.status, StatusCode::OK);
    assert_eq!(
        inside.body,
        "[+]db ok for now: failing, 1 of 3 failures before it fails: connection refused\nreadyz check passed\n"
    );
    let remote = ask(&svc, Method::GET, "/readyz?verbose", &[], REMOTE).await;
    assert!(
        remote.body.starts_with(
            "[+]db ok for now: failing, 2 of 3 failures before it fails: reason withheld\n"
        ),
        "{}",
        remote.body
    );
    assert!(!remote.body.contains("[+]db ok: "));
}

#[tokio::test]
async fn nothing_from_the_request_is_echoed_as_a_check() {
    let svc = service(Details::Local);
    let forged = "/readyz?verbose&exclude=x%0A%5B%2B%5Dfake%20ok%0Areadyz%20check%20passed";
    let a = ask(&svc, Method::GET, forged, &[], LOCAL).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!a.body.contains("fake"), "{}", a.body);
    assert_eq!(a.body.matches("check passed").count(), 0, "{}", a.body);
    assert_eq!(a.body.lines().last(), Some("readyz check failed"));
    assert!(
        a.body.chars().all(|c| c == '\n' || !c.is_control()),
        "{:?}",
        a.body
    );
    let unknown = ask(
        &svc,
        Method::GET,
        "/readyz?verbose&exclude=nosuch",
        &[],
        LOCAL,
    )
    .await;
    assert!(!unknown.body.contains("nosuch"), "{}", unknown.body);
    let known = ask(
        &svc,
        Method::GET,
        "/readyz?verbose&exclude=db&exclude=nosuch",
        &[],
        LOCAL,
    )
    .await;
    assert!(
        known.body.contains("[+]db excluded: ok\n"),
        "{}",
        known.body
    );
    assert!(!known.body.contains("nosuch"), "{}", known.body);
}

#[tokio::test]
async fn a_json_type_refused_with_q_zero_gets_text() {
    let svc = service(Details::Local);
    for accept in [
        "application/json;q=0",
        "application/health+json; q=0, text/plain",
        "application/json;q=0.000",
    ] {
        let a = ask(&svc, Method::GET, "/readyz", &[("accept", accept)], LOCAL).await;
        assert_eq!(
            a.headers["content-type"], "text/plain; charset=utf-8",
            "{accept}"
        );
        assert!(
            a.body.ends_with("readyz check failed\n"),
            "{accept}: {}",
            a.body
        );
    }
    // Refusing health+json while accepting plain JSON labels the answer plainly.
    let a = ask(
        &svc,
        Method::GET,
        "/readyz",
        &[("accept", "application/health+json;q=0, application/json")],
        LOCAL,
    )
    .await;
    assert_eq!(a.headers["content-type"], "application/json");
}
