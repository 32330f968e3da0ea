//! A Celery worker's reply envelope off the reply queue (JSON, a base64 body, nested
//! JSON): reading never panics, whatever the broker hands back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probe_core::celery::read_reply(data, "ticket-1");
    // The same bytes as the body of a well-formed envelope, plain and base64.
    if let Ok(body) = std::str::from_utf8(data) {
        for encoding in ["", r#","properties":{"body_encoding":"base64"}"#] {
            let envelope = serde_json::json!({
                "headers": {"ticket": "ticket-1"},
                "content-type": "application/json",
                "body": body,
            })
            .to_string();
            let envelope = envelope.replacen('{', &format!("{{\"x\":0{encoding},"), 1);
            let _ = probe_core::celery::read_reply(envelope.as_bytes(), "ticket-1");
        }
    }
});
