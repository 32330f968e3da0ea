//! Helpers shared by the I/O tests of `probe-core`.
#![allow(dead_code)]

pub(crate) mod redis;
pub(crate) mod tmp;

use std::future::Future;
use std::time::Duration;

/// Awaits `f`, failing the test if it takes longer than `secs` seconds (of the test's clock).
pub(crate) async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("no result within {secs}s"))
}
