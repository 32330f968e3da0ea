//! Helpers shared by the I/O tests of `probe-core`.
#![allow(dead_code)]

pub(crate) mod celery;
pub(crate) mod redis;
pub(crate) mod tmp;
