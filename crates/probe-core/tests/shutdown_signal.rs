//! `drain_on_signal` with a real SIGTERM, sent to this test process before the returned
//! future is first polled: the handlers are in place from the call on.
#![cfg(all(unix, feature = "signal"))]

use std::time::Duration;

use probe_core::{drain_on_signal, Health};

#[tokio::test]
async fn a_sigterm_right_after_the_call_is_caught_and_drained() {
    let health = Health::builder().build().unwrap();
    let shutdown = drain_on_signal(&health, Duration::ZERO);
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    // Still alive: the signal was caught, and the drain follows it.
    tokio::time::timeout(Duration::from_secs(5), shutdown)
        .await
        .expect("the drain ends within 5 s of the SIGTERM");
    assert!(health.shutdown().has_begun(), "readiness fails");
}
