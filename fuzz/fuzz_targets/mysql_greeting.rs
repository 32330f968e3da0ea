//! MySQL packet framing, greeting and authentication reply: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::proto::mysql::{auth_reply, read_packet, Greeting};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((packet, used))) = read_packet(data, 1 << 16) {
        assert!(used <= data.len() && packet.payload.len() + 4 == used);
        if let Ok(Greeting::Handshake(h)) = Greeting::parse(packet.payload) {
            let _ = h.version();
        }
        let _ = auth_reply(packet.payload);
    }
    let _ = Greeting::parse(data);
});
