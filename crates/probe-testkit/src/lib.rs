//! Test support for the probe workspace: loopback servers that stand in for systems the
//! tests cannot run, built from their documented wire formats. Every server binds
//! `127.0.0.1:0` and stops when its handle is dropped. The HTTP ones can serve HTTPS with
//! a certificate authority made at test time ([`tls`]). Real clients and workers written in
//! Python ([`celery`], [`grpc_health`]) are installed from PyPI on first use ([`venv`]).

pub mod celery;
pub mod connect;
pub mod django;
pub mod grpc_health;
pub mod http1;
pub mod kafka;
pub mod redis;
pub mod tansu;
pub mod tls;
pub mod upstream;
pub mod venv;
