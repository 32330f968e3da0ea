//! The `probe` binary's parts: command line, configuration, and the commands.
//!
//! `main.rs` only parses the command line and calls [`app::main`].

pub mod app;
pub mod background;
pub mod beat_cmd;
pub mod check_cmd;
pub mod check_grpc;
pub mod check_proxy;
pub mod cli;
pub mod config;
pub mod connect_cmd;
pub mod env;
pub mod exec;
pub mod kafka_streams;
pub mod kpow;
pub mod lint;
pub mod logging;
pub mod serve;
pub mod sidecar;
pub mod worker_cmd;
