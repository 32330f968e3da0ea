//! Hand-written protocol readers and writers for the checks, one protocol per file.
//! Each reader is a pure function over bytes, so it is fuzzed and tested without sockets.
//! A reader is built with the cargo feature of the check that speaks its protocol.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "kafka-connect")]
pub mod connect_rest;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "memcached")]
pub mod memcached;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "redis")]
pub mod resp;
