//! AMQP 0-9-1 first answer and Connection.Start: never panic, never claim more bytes than given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::proto::amqp::{connection_start, read_answer, Answer, Frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((answer, used))) = read_answer(data, 1 << 16) {
        assert!(used <= data.len());
        if let Answer::Frame(frame) = answer {
            let _ = connection_start(&frame);
        }
    }
    let _ = connection_start(&Frame { kind: 1, channel: 0, payload: data.to_vec() });
});
