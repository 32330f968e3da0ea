//! Hand-written protocol readers and writers for the checks, one protocol per file.
//! Each reader is a pure function over bytes, so it is fuzzed and tested without sockets.

pub mod amqp;
pub mod connect_rest;
pub mod kafka;
pub mod memcached;
pub mod mysql;
pub mod pg;
pub mod resp;
