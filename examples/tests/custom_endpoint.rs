//! `examples/custom_endpoint.rs`: `/status` answers the serialised readiness report, next to
//! the merged probes, on loopback.

mod support;

#[allow(dead_code)]
#[path = "../custom_endpoint.rs"]
pub mod custom_endpoint;

use serde_json::Value;
use tokio::net::TcpListener;

use support::{failing_db, get, within};

#[tokio::test]
async fn status_is_the_readiness_report_as_json() {
    let listener = within(5, TcpListener::bind("127.0.0.1:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = custom_endpoint::app(failing_db());
    let server = tokio::spawn(custom_endpoint::serve(
        listener,
        app,
        std::future::pending(),
    ));

    let status = get(addr, "/status").await;
    assert_eq!(status.status, 503);
    assert_eq!(status.header("content-type"), "application/json");
    let report: Value = serde_json::from_str(&status.body).expect("JSON");
    assert_eq!(report["probe"], "readiness");
    assert_eq!(report["status"], "fail");
    let db = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "db")
        .expect("the db check");
    assert_eq!(db["status"], "fail");
    assert_eq!(
        db["message"], "connection refused",
        "a loopback client sees the message"
    );

    // The probes beside it.
    let live = get(addr, "/livez").await;
    assert_eq!((live.status, live.body.as_str()), (200, "ok"));
    assert_eq!(get(addr, "/readyz").await.status, 503);
    server.abort();
}
