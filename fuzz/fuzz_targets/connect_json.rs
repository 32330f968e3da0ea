//! Kafka Connect REST answers (the connector list, expanded or not; a connector's status;
//! its info; the worker's health): whatever the status and the bytes, reading never
//! panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probe_core::proto::connect_rest::{read_info, read_list, read_status, read_worker_health};

fuzz_target!(|data: &[u8]| {
    let Some((&code, body)) = data.split_first() else { return };
    let status = [200, 201, 204, 301, 400, 401, 404, 409, 500, 503][usize::from(code) % 10];
    let _ = read_list(status, body);
    let _ = read_status("connector", status, body);
    let _ = read_info(status, body);
    let _ = read_worker_health(status, body);
});
