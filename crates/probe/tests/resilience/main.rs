//! The project attacks itself: each case is an attack an operator's cluster could meet,
//! and asserts the promise it threatens.
//!
//! - `hoarding`: slowloris and one peer hoarding connections against `probe serve`; every
//!   probe is still answered within the kubelet's 1 s deadline (p50 and p99 printed).
//! - `hostile`: for every check type, upstreams that stream without end, trickle, announce
//!   huge lengths, send garbage or stay silent; each run ends within its timeout, and the
//!   process stays under a memory bound (its peak RSS, measured).
//! - `sigterm`: SIGTERM under keep-alive load: no request fails, readiness turns 503
//!   within 50 ms, exit status 0.
//! - `restarts`: private Redis and PostgreSQL servers killed and restarted again and
//!   again: the check fails within one evaluation and recovers within one window; open
//!   file descriptors and RSS stay flat.
//! - `remote`: a client on a network namespace of its own (veth, not loopback) sees no
//!   message, trace, URL or secret in any dialect's answer under the default policy.
//!
//! Brief by default (as CI runs it); `RESILIENCE_LONG=1` runs each case longer and harder.
//! Figures go to standard error: `cargo test -p probe --test resilience -- --nocapture`.

#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod attack;
mod hoarding;
mod hostile;
mod remote;
mod restarts;
mod sigterm;
