//! `memcached` against the system memcached and a private instance.

use std::time::{Duration, Instant};

use probe_core::checks::MemcachedCheck;
use probe_core::Status;

use crate::servers::PrivateMemcached;
use crate::support::{assert_status, free_port, message, require_system, run};

#[tokio::test]
async fn the_system_server_answers_version() {
    require_system("memcached", 11211);
    let o = run(&MemcachedCheck::new("memcached://127.0.0.1:11211").unwrap()).await;
    assert_status(&o, Status::Pass);
    assert!(
        message(&o).starts_with("127.0.0.1:11211 - memcached 1."),
        "{o:?}"
    );
}

#[tokio::test]
async fn nothing_listening_fails_at_once() {
    let port = free_port();
    let started = Instant::now();
    let o = run(&MemcachedCheck::new(&format!("memcached://127.0.0.1:{port}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("connection refused"), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_stopped_server_fails_and_passes_again_once_restarted() {
    let mut server = PrivateMemcached::start();
    let check = MemcachedCheck::new(&format!("memcached://127.0.0.1:{}", server.port)).unwrap();
    assert_status(&run(&check).await, Status::Pass);
    server.down();
    assert_status(&run(&check).await, Status::Fail);
    server.up();
    assert_status(&run(&check).await, Status::Pass);
}
