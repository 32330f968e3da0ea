//! `amqp` against the system RabbitMQ. A private broker is too heavy to start and stop in a
//! test; the stopped and mismatched states are covered by a free port and by fakes.

use std::time::{Duration, Instant};

use probe_core::checks::AmqpCheck;
use probe_core::Status;

use crate::fakes::{serve, Script};
use crate::support::{assert_no_secret, assert_status, free_port, message, require_system, run};

#[tokio::test]
async fn the_system_broker_answers_with_connection_start() {
    require_system("RabbitMQ", 5672);
    let o = run(&AmqpCheck::new("amqp://127.0.0.1:5672").unwrap()).await;
    assert_status(&o, Status::Pass);
    assert!(
        message(&o).starts_with("127.0.0.1:5672 - RabbitMQ "),
        "{o:?}"
    );
    assert!(message(&o).ends_with(" (AMQP 0-9-1)"), "{o:?}");
    let details = o.details.unwrap();
    assert_eq!(details["product"], "RabbitMQ");
    assert!(
        details["version"].as_str().is_some_and(|v| v.contains('.')),
        "{details}"
    );
    assert!(
        details["mechanisms"].as_str().unwrap().contains("PLAIN"),
        "{details}"
    );
}

#[tokio::test]
async fn credentials_are_not_needed_and_never_shown() {
    require_system("RabbitMQ", 5672);
    let o = run(&AmqpCheck::new("amqp://guest:not-the-guest-pw@127.0.0.1:5672/%2f").unwrap()).await;
    assert_status(&o, Status::Pass);
    assert_no_secret(&o, "not-the-guest-pw");
}

#[tokio::test]
async fn nothing_listening_fails_at_once() {
    let port = free_port();
    let started = Instant::now();
    let o = run(&AmqpCheck::new(&format!("amqp://127.0.0.1:{port}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert!(message(&o).contains("connection refused"), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_broker_that_offers_another_protocol_fails_plainly() {
    let port = serve(Script::Reply(b"AMQP\x00\x01\x00\x00".to_vec())).await;
    let o = run(&AmqpCheck::new(&format!("amqp://127.0.0.1:{port}")).unwrap()).await;
    assert_status(&o, Status::Fail);
    assert_eq!(
        message(&o),
        format!("127.0.0.1:{port} does not accept AMQP 0-9-1; it offered AMQP 1.0")
    );
}
