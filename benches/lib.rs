//! Benchmarks of `probe`, and the pieces they share.
//!
//! - `engine.rs` (criterion): evaluating a probe with 1, 10 and 100 checks, and rendering
//!   a report, with no socket.
//! - `load.rs`: `probe serve` against the barest hyper server ([`bare`]), side by side on
//!   loopback, in interleaved rounds: requests per second, p99, and their ratio.
//! - `scenarios.rs`: the promises of the endpoints, measured: a storm of readiness probes
//!   costs one upstream request per reuse window, a hanging dependency cannot hold
//!   readiness past its timeout nor slow liveness, and the idle resident memory.
//! - `grpc.rs`: gRPC health `Check` of `probe serve` against a bare tonic-health server
//!   (h2load, interleaved rounds), and the `Watch` fan-out of one change to 10,000 streams.
//!
//! `docs/performance.md` has the commands and the figures.

pub mod bare;
pub mod loadgen;
pub mod measure;
pub mod process;
pub mod sidecar;
pub mod wrk;
