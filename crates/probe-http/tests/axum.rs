//! A real axum 0.8 application on loopback with the probes mounted: merged with
//! `probe_http::axum::router`, nested with `nest_service`, and as the `fallback_service`.
//! The probe paths keep the library's answers, the application's paths keep axum's, and
//! axum's `ConnectInfo` gives loopback clients the details.

mod support;

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use http::{Method, StatusCode};
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_http::{Kubernetes, ProbeService};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use support::{ask, get as fetch, within};

/// Liveness has no checks; readiness has a database that refuses connections.
fn health() -> Health {
    let db = from_fn(Scope::Dependency, || async {
        Outcome::fail("connection refused")
    });
    Health::builder()
        .check("db", db, [Probe::Readiness], Policy::default())
        .unwrap()
        .build()
        .unwrap()
}

fn probes() -> ProbeService {
    ProbeService::builder()
        .dialect(Kubernetes::new(health()))
        .build()
}

async fn hello() -> &'static str {
    "hello from the application\n"
}

/// An axum application served on `127.0.0.1:0` until dropped.
struct App {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Serves `app` with `into_make_service_with_connect_info::<SocketAddr>()`.
async fn serve_with_connect_info(app: Router) -> App {
    let listener = within(5, TcpListener::bind("127.0.0.1:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    tokio::spawn(async move { server.await.unwrap() });
    App { addr, _stop: stop }
}

/// Serves `app` as a plain `Router`, without the client's address.
async fn serve_plain(app: Router) -> App {
    let listener = within(5, TcpListener::bind("127.0.0.1:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    tokio::spawn(async move { server.await.unwrap() });
    App { addr, _stop: stop }
}

#[tokio::test]
async fn merged_probes_answer_beside_the_applications_routes() {
    let app = Router::new()
        .route("/", get(hello))
        .merge(probe_http::axum::router(probes()));
    let app = serve_with_connect_info(app).await;

    let live = fetch(app.addr, "/livez").await;
    assert_eq!((live.status, live.body.as_str()), (StatusCode::OK, "ok"));
    let ready = fetch(app.addr, "/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let head = ask(app.addr, Method::HEAD, "/livez").await;
    assert_eq!((head.status, head.body.as_str()), (StatusCode::OK, ""));

    // The library's answers on its paths, not axum's.
    let post = ask(app.addr, Method::POST, "/readyz").await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), "GET, HEAD");
    assert_eq!(post.body, "method not allowed\n");
    let unknown = fetch(app.addr, "/readyz/nosuch").await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (StatusCode::NOT_FOUND, "not found\n")
    );
    let one = fetch(app.addr, "/readyz/db").await;
    assert_eq!(one.status, StatusCode::SERVICE_UNAVAILABLE);

    // The application's answers on its own paths: its route, axum's empty 404 and 405.
    let root = fetch(app.addr, "/").await;
    assert_eq!(
        (root.status, root.body.as_str()),
        (StatusCode::OK, "hello from the application\n")
    );
    let elsewhere = fetch(app.addr, "/nosuch").await;
    assert_eq!(
        (elsewhere.status, elsewhere.body.as_str()),
        (StatusCode::NOT_FOUND, "")
    );
    let post_root = ask(app.addr, Method::POST, "/").await;
    assert_eq!(post_root.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post_root.header("allow"), "GET,HEAD");
}

#[tokio::test]
async fn loopback_clients_see_the_reason_when_served_with_connect_info() {
    let app = || {
        Router::new()
            .route("/", get(hello))
            .merge(probe_http::axum::router(probes()))
    };

    let with_info = serve_with_connect_info(app()).await;
    let verbose = fetch(with_info.addr, "/readyz?verbose").await;
    assert_eq!(verbose.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        verbose.body.contains("[-]db failed: connection refused"),
        "{}",
        verbose.body
    );

    // Without the client's address a client counts as remote.
    let plain = serve_plain(app()).await;
    let verbose = fetch(plain.addr, "/readyz?verbose").await;
    assert!(
        verbose.body.contains("[-]db failed: reason withheld"),
        "{}",
        verbose.body
    );
}

#[tokio::test]
async fn a_path_prefix_of_the_service_is_where_the_merged_routes_are() {
    let probes = ProbeService::builder()
        .path_prefix("/health")
        .dialect(Kubernetes::new(health()))
        .build();
    let app = Router::new()
        .route("/", get(hello))
        .merge(probe_http::axum::router(probes));
    let app = serve_with_connect_info(app).await;

    let live = fetch(app.addr, "/health/livez").await;
    assert_eq!((live.status, live.body.as_str()), (StatusCode::OK, "ok"));
    let unknown = fetch(app.addr, "/health/livez/nosuch").await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (StatusCode::NOT_FOUND, "not found\n")
    );
    let unprefixed = fetch(app.addr, "/livez").await;
    assert_eq!(
        (unprefixed.status, unprefixed.body.as_str()),
        (StatusCode::NOT_FOUND, ""),
        "axum's 404: the probes are under the prefix only"
    );
}

#[tokio::test]
async fn nested_under_a_path_every_path_below_it_is_the_services() {
    let probes = probes();
    let app = Router::new()
        .route("/", get(hello))
        .nest_service("/health", probes);
    let app = serve_with_connect_info(app).await;

    let live = fetch(app.addr, "/health/livez").await;
    assert_eq!((live.status, live.body.as_str()), (StatusCode::OK, "ok"));
    let verbose = fetch(app.addr, "/health/readyz?verbose").await;
    assert!(
        verbose.body.contains("[-]db failed: connection refused"),
        "{}",
        verbose.body
    );
    let post = ask(app.addr, Method::POST, "/health/readyz").await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), "GET, HEAD");
    let unknown = fetch(app.addr, "/health/readyz/nosuch").await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (StatusCode::NOT_FOUND, "not found\n")
    );
    let below = fetch(app.addr, "/health/nosuch").await;
    assert_eq!(
        (below.status, below.body.as_str()),
        (StatusCode::NOT_FOUND, "not found\n"),
        "the service's 404 below the nest"
    );

    let root = fetch(app.addr, "/").await;
    assert_eq!(root.status, StatusCode::OK);
    let elsewhere = fetch(app.addr, "/nosuch").await;
    assert_eq!(
        (elsewhere.status, elsewhere.body.as_str()),
        (StatusCode::NOT_FOUND, "")
    );
}

#[tokio::test]
async fn as_the_fallback_the_service_answers_every_unrouted_path() {
    let probes = probes();
    let app = Router::new()
        .route("/", get(hello))
        .fallback_service(probes);
    let app = serve_with_connect_info(app).await;

    let live = fetch(app.addr, "/livez").await;
    assert_eq!((live.status, live.body.as_str()), (StatusCode::OK, "ok"));
    let verbose = fetch(app.addr, "/readyz?verbose").await;
    assert!(
        verbose.body.contains("[-]db failed: connection refused"),
        "{}",
        verbose.body
    );
    let post = ask(app.addr, Method::POST, "/readyz").await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), "GET, HEAD");
    let unknown = fetch(app.addr, "/readyz/nosuch").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let root = fetch(app.addr, "/").await;
    assert_eq!(root.status, StatusCode::OK);
    // The application has no fallback of its own any more: the service's 404.
    let elsewhere = fetch(app.addr, "/nosuch").await;
    assert_eq!(
        (elsewhere.status, elsewhere.body.as_str()),
        (StatusCode::NOT_FOUND, "not found\n")
    );
}

#[test]
#[should_panic(expected = "conflict with previously registered route: /livez")]
fn merging_over_a_route_the_application_has_panics() {
    let _app: Router = Router::new()
        .route("/livez", get(hello))
        .merge(probe_http::axum::router(probes()));
}
