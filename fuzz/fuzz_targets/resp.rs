//! RESP2 reader: never panics, never claims more bytes than it was given, and a value it
//! reads re-reads the same from its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::proto::resp::{parse, Limits};

fuzz_target!(|data: &[u8]| {
    let tight = Limits { max_bulk: 64, max_elements: 8, max_depth: 3, max_line: 32 };
    for limits in [Limits::default(), tight] {
        if let Ok(Some((value, used))) = parse(data, &limits) {
            assert!(used <= data.len());
            assert_eq!(parse(&data[..used], &limits), Ok(Some((value, used))));
        }
    }
});
