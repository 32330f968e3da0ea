//! PostgreSQL startup answer reader and the pg_isready verdict: never panic, never claim
//! more bytes than given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::checks::postgres::PingStatus;
use probe_core::proto::pg::{error_fields, read_startup_answer};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((answer, used))) = read_startup_answer(data) {
        assert!(used <= data.len());
        let _ = PingStatus::of(&answer);
    }
    let _ = error_fields(data);
});
