//! A Kafka broker's answer to ApiVersions: the size prefix and the response of every
//! version asked. Reading never panics, and a frame size it accepts is within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::proto::kafka::{decode_response, frame_size};

fuzz_target!(|data: &[u8]| {
    if let Some(prefix) = data.get(..4) {
        if let Ok(n) = frame_size(prefix.try_into().unwrap()) {
            assert!(n >= 6);
        }
    }
    for version in 0..=4 {
        let _ = decode_response(data, version, 1);
        if let Some(rest) = data.get(4..) {
            let id = i32::from_be_bytes(data[..4].try_into().unwrap());
            let _ = decode_response(rest, version, id);
        }
    }
});
