//! The client and Host allow-lists belong to the service, not to a dialect: they guard the
//! kubernetes routes (and unknown paths) the same way.

mod support;

use std::net::{IpAddr, SocketAddr};

use http::{Method, StatusCode};
use probe_core::Health;
use probe_http::{AllowedHosts, ClientAllowList, Kubernetes, ProbeService};
use support::{get_with, request, Served, T};
use tokio::time::timeout;

#[tokio::test]
async fn the_allow_lists_guard_every_dialect() {
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(Health::builder().build().unwrap()))
        .allow_clients(ClientAllowList::new(["127.0.0.0/31".parse().unwrap()]))
        .allowed_hosts(AllowedHosts::new(["*"]).unwrap())
        .build();
    let s = Served::start(service).await;
    let (code, _, body) = get_with(s.addr, "/livez", &[("host", "probe")]).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "ok"));
    // 127.0.0.1 is in 127.0.0.0/31; 127.0.0.2 is not.
    let two: IpAddr = "127.0.0.2".parse().unwrap();
    for path in ["/livez", "/readyz", "/nowhere"] {
        let (code, _, _) =
            request(Method::GET, Some(two), s.addr, path, &[("host", "probe")]).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
    }
    // An allowed client still needs a well-formed Host, even with "*".
    let (code, _, _) = get_with(s.addr, "/livez", &[("host", "bad host")]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_embedder_without_client_addresses_is_refused_by_a_client_list() {
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(Health::builder().build().unwrap()))
        .allow_clients(ClientAllowList::new(["127.0.0.1/32".parse().unwrap()]))
        .build();
    let req = http::Request::get("/livez").body(()).unwrap();
    let resp = timeout(T, service.respond(req)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let mut req = http::Request::get("/livez").body(()).unwrap();
    let at: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    req.extensions_mut().insert(probe_http::ClientAddr(at));
    let resp = timeout(T, service.respond(req)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
