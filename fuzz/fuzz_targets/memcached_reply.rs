//! memcached answer line: never panic, never claim more bytes than given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::proto::memcached::read_reply;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, used))) = read_reply(data) {
        assert!(used <= data.len());
    }
});
