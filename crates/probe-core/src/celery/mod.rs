//! Celery's remote-control `ping` through a Redis broker: is the named worker's consumer
//! loop answering?
//!
//! The ping speaks kombu's Redis transport directly, so no Python is needed next to the
//! worker:
//!
//! ```no_run
//! use std::time::Duration;
//! use probe_core::celery::{CeleryPing, PingAnswer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ping = CeleryPing::new("redis://redis:6379/0", "celery@worker-0")?
//!     .timeout(Duration::from_secs(3));
//! match ping.ping().await? {
//!     PingAnswer::Pong { elapsed } => println!("pong in {elapsed:?}"),
//!     PingAnswer::NoReply { .. } => println!("no answer"),
//! }
//! # Ok(()) }
//! ```
//!
//! # The wire format
//!
//! The round trip, as observed between `celery inspect ping` and a worker (Celery 5,
//! kombu 5, broker `redis://…/<db>`, control exchange `celery`):
//!
//! 1. The client binds its reply queue `<oid>.reply.celery.pidbox` to the direct exchange
//!    `reply.celery.pidbox` with routing key `<oid>`: it adds the member
//!    `<oid>\x06\x16\x06\x16<oid>.reply.celery.pidbox` (routing key, pattern, queue joined
//!    by `\x06\x16`) to the set `_kombu.binding.reply.celery.pidbox`.
//! 2. It `PUBLISH`es the request envelope on the channel `/<db>.celery.pidbox` (the
//!    fanout exchange `celery.pidbox`; every worker's pidbox subscribes to it).
//! 3. The worker named in `destination` answers by looking up the reply exchange's
//!    binding set and `LPUSH`ing its reply envelope onto the list
//!    `<oid>.reply.celery.pidbox`; the client `BRPOP`s it. Without the binding the
//!    worker has nowhere to route its answer and drops it.
//! 4. The client removes its binding and deletes the reply list.
//!
//! This ping also lists its binding in `_kombu.binding_permanent.reply.celery.pidbox`
//! while it waits, as kombu does for queues without expiry, so kombu 5.7's sweep of
//! stale binding tables cannot remove it mid-flight. The ping returns "no reply" at once
//! when `PUBLISH` reports no subscriber at all.
//!
//! An envelope is JSON: `body` (the message, JSON encoded and then base64 encoded, as
//! `properties.body_encoding` says), `content-type`, `content-encoding`, `headers` and
//! `properties`. The request body is
//! `{"method": "ping", "arguments": {}, "destination": ["celery@host"], "pattern": null,
//! "matcher": null, "ticket": "<uuid>", "reply_to": {"exchange": "reply.celery.pidbox",
//! "routing_key": "<oid>"}}`; the reply body is `{"celery@host": {"ok": "pong"}}` with the
//! request's ticket in `headers.ticket`.

mod broker;
mod error;
mod ids;
mod message;
mod ping;
mod session;

pub use self::broker::{BrokerUrlError, RedisBroker};
pub use self::error::PingError;
pub use self::ping::{CeleryPing, PingAnswer, DEFAULT_TIMEOUT};

/// Reads one envelope off a ping's reply queue as the ping does: the workers' answers
/// (worker name → answer) when it answers the request `ticket`, `None` when it answers
/// another request, or why it is unusable. Whatever the bytes, it returns; it never panics.
///
/// ```
/// let raw = br#"{"headers":{"ticket":"t1"},"content-type":"application/json","body":"{\"celery@w\":{\"ok\":\"pong\"}}"}"#;
/// let answers = probe_core::celery::read_reply(raw, "t1").unwrap().unwrap();
/// assert_eq!(answers["celery@w"]["ok"], "pong");
/// assert_eq!(probe_core::celery::read_reply(raw, "t2").unwrap(), None);
/// ```
pub fn read_reply(
    raw: &[u8],
    ticket: &str,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
    match message::parse_reply(raw, ticket)? {
        message::Reply::Answer(answers) => Ok(Some(answers)),
        message::Reply::Other => Ok(None),
    }
}
