//! The `kafka` check against the fake broker in each of its modes.

mod support;

use std::time::Duration;

use probe_core::checks::KafkaCheck;
use probe_core::{Check, Outcome, Status};
use probe_testkit::kafka::{FakeBroker, Mode};
use support::within;

async fn run(check: &KafkaCheck) -> Outcome {
    within(10, check.check()).await
}

fn message(out: &Outcome) -> &str {
    out.message.as_deref().unwrap_or_default()
}

async fn broker(mode: Mode) -> FakeBroker {
    within(5, FakeBroker::start_with(mode))
        .await
        .expect("start the fake broker")
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[tokio::test]
async fn a_broker_answering_v0_passes_and_the_request_is_the_documented_one() {
    let b = broker(Mode::Answer).await;
    let out = run(&KafkaCheck::new(vec![b.address()])).await;
    assert_eq!(out.status, Status::Pass, "{out:?}");
    assert_eq!(
        message(&out),
        format!(
            "1 of 1 Kafka brokers answered ApiVersions: {} (v0)",
            b.address()
        )
    );
    let details = out.details.unwrap();
    assert_eq!(details["brokers"][0]["apis"], 4);
    let received = b.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].raw,
        hex("00 00 00 0f  00 12  00 00  00 00 00 01  00 05 70 72 6f 62 65")
    );
}

#[tokio::test]
async fn unsupported_version_is_negotiated_to_v3_on_a_new_connection() {
    let b = broker(Mode::Versions { min: 3, max: 4 }).await;
    let out = run(&KafkaCheck::new(vec![b.address()])).await;
    assert_eq!(out.status, Status::Pass, "{out:?}");
    assert!(message(&out).ends_with("(v3)"), "{}", message(&out));
    let received = b.received();
    assert_eq!(
        received
            .iter()
            .map(|r| (r.api_version, r.correlation_id))
            .collect::<Vec<_>>(),
        [(0, 1), (3, 2)]
    );
    // The documented v3 request, with correlation id 2 and this crate's version.
    let version = env!("CARGO_PKG_VERSION");
    let mut expected =
        hex("00 00 00 00  00 12 00 03 00 00 00 02  00 05 70 72 6f 62 65  00  06 70 72 6f 62 65");
    expected.push(version.len() as u8 + 1);
    expected.extend_from_slice(version.as_bytes());
    expected.push(0);
    let size = (expected.len() - 4) as u32;
    expected[..4].copy_from_slice(&size.to_be_bytes());
    assert_eq!(received[1].raw, expected);
    if version == "0.1.0" {
        assert_eq!(received[1].raw.len(), 0x1d + 4);
    }
}

#[tokio::test]
async fn a_broker_with_no_common_version_fails_naming_its_range() {
    let b = broker(Mode::Versions { min: 5, max: 7 }).await;
    let out = run(&KafkaCheck::new(vec![b.address()])).await;
    assert_eq!(out.status, Status::Fail);
    assert_eq!(
        message(&out),
        format!(
            "no Kafka broker answered ApiVersions: {}: broker speaks ApiVersions v5 to v7, this probe v0 to v3",
            b.address()
        )
    );
}

#[tokio::test]
async fn a_stopped_broker_is_refused() {
    let mut b = broker(Mode::Answer).await;
    within(5, b.stop()).await;
    let out = run(&KafkaCheck::new(vec![b.address()])).await;
    assert_eq!(out.status, Status::Fail);
    assert_eq!(
        message(&out),
        format!(
            "no Kafka broker answered ApiVersions: {}: cannot connect: connection refused",
            b.address()
        )
    );
    within(5, b.restart())
        .await
        .expect("restart on the same port");
    let out = run(&KafkaCheck::new(vec![b.address()])).await;
    assert_eq!(out.status, Status::Pass, "{out:?}");
}

#[tokio::test]
async fn a_broker_closing_the_connection_fails() {
    let b = broker(Mode::Close).await;
    let out = run(&KafkaCheck::new(vec![b.address()])).await;
    assert_eq!(out.status, Status::Fail);
    assert!(
        message(&out).contains(": connection failed during ApiVersions: connection"),
        "{}",
        message(&out)
    );
}

#[tokio::test]
async fn a_hanging_broker_fails_after_the_per_broker_timeout() {
    let b = broker(Mode::Hang).await;
    let check = KafkaCheck::new(vec![b.address()]).timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let out = run(&check).await;
    let took = started.elapsed();
    assert_eq!(out.status, Status::Fail);
    assert!(
        message(&out).ends_with(": no answer within 200ms"),
        "{}",
        message(&out)
    );
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn garbage_fails_with_a_plain_message() {
    let cases: [(Vec<u8>, &str); 5] = [
        (
            b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
            "answered HTTP, not the Kafka protocol",
        ),
        (
            vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46],
            "answered with TLS, not plaintext Kafka (is this a TLS listener?)",
        ),
        (
            vec![0x7f, 0xff, 0xff, 0xff, 1, 2, 3],
            "answer announces 2147483647 bytes, not a Kafka ApiVersions response",
        ),
        (
            vec![0, 0, 0, 20, 0, 0, 0, 1],
            "connection failed during ApiVersions: connection closed",
        ),
        (
            vec![0, 0, 0, 6, 0, 0, 0, 9, 0, 0],
            "answer has correlation id 9, expected 1",
        ),
    ];
    for (bytes, expected) in cases {
        let b = broker(Mode::Garbage(bytes)).await;
        let out = run(&KafkaCheck::new(vec![b.address()])).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            message(&out),
            format!(
                "no Kafka broker answered ApiVersions: {}: {expected}",
                b.address()
            )
        );
    }
}

#[tokio::test]
async fn one_answering_broker_is_enough_and_the_message_names_every_broker() {
    let up = broker(Mode::Answer).await;
    let mut down = broker(Mode::Answer).await;
    within(5, down.stop()).await;
    let hung = broker(Mode::Hang).await;
    let check = KafkaCheck::new(vec![down.address(), up.address(), hung.address()])
        .timeout(Duration::from_millis(300));
    let out = run(&check).await;
    assert_eq!(out.status, Status::Pass, "{out:?}");
    assert_eq!(
        message(&out),
        format!(
            "1 of 3 Kafka brokers answered ApiVersions: {} (v0); failed: {}: cannot connect: connection refused; {}: no answer within 300ms",
            up.address(),
            down.address(),
            hung.address()
        )
    );
    let details = out.details.unwrap();
    assert_eq!(details["brokers"][1]["answered"], true);
    assert_eq!(details["brokers"][2]["answered"], false);
}

#[tokio::test]
async fn no_bootstrap_address_fails() {
    let out = run(&KafkaCheck::new(Vec::new())).await;
    assert_eq!(out.status, Status::Fail);
    assert_eq!(message(&out), "no Kafka bootstrap address configured");
}
