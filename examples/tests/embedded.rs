//! `examples/embedded.rs`: the probes on an admin port and the same health mounted in the
//! application's hyper server, both stopped by one drain (started from a channel where the
//! example waits for SIGTERM).

mod support;

#[allow(dead_code)]
#[path = "../embedded.rs"]
pub mod embedded;

use std::time::Duration;

use probe_core::Drain;
use probe_http::{Server, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use support::{failing_db, get, request, within};

#[tokio::test]
async fn probes_on_the_admin_port_and_in_the_app_until_the_drain_ends() {
    let health = failing_db();
    let admin = Server::bind("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let admin_addr = admin.local_addr();
    let app = within(5, TcpListener::bind("127.0.0.1:0")).await.unwrap();
    let app_addr = app.local_addr().unwrap();
    let (stop, signals) = mpsc::channel::<()>(1);
    let shutdown = Drain::new(&health, Duration::from_secs(1)).on(signals);
    let running = tokio::spawn(embedded::run(health.clone(), admin, app, shutdown));

    // The admin port, as the kubelet sees it.
    let live = get(admin_addr, "/livez").await;
    assert_eq!((live.status, live.body.as_str()), (200, "ok"));
    let ready = get(admin_addr, "/readyz?verbose").await;
    assert_eq!(ready.status, 503);
    assert!(
        ready.body.contains("[-]db failed: connection refused"),
        "{}",
        ready.body
    );
    // The same health in the application, under /health, loopback details included.
    let ready = get(app_addr, "/health/readyz?verbose").await;
    assert!(
        ready.body.contains("[-]db failed: connection refused"),
        "{}",
        ready.body
    );
    let status = get(app_addr, "/status").await;
    let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(status["ready"], false);
    assert_eq!(status["checks"]["db"], "fail");
    let root = get(app_addr, "/").await;
    assert_eq!(root.body, "hello from the application\n");
    let toggled = request(app_addr, "POST", "/maintenance").await;
    assert_eq!(toggled.body, "ready: false\n");

    within(5, stop.send(())).await.unwrap();
    within(5, health.shutdown().begun()).await;
    let ready = get(admin_addr, "/readyz?verbose").await;
    assert!(ready.body.contains("[-]shutdown failed"), "{}", ready.body);
    assert_eq!(
        get(app_addr, "/").await.status,
        200,
        "the app serves during the drain"
    );

    within(10, running).await.unwrap();
    for addr in [admin_addr, app_addr] {
        assert!(
            within(5, tokio::net::TcpStream::connect(addr))
                .await
                .is_err(),
            "{addr} is closed once run returns"
        );
    }
}
