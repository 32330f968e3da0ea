//! The random identifiers of one ping, formatted as UUIDs like Celery's.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The random identifiers of one ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Ids {
    /// Matches the reply to the request.
    pub(super) ticket: String,
    /// The reply routing key (kombu's mailbox `oid`), which names the reply queue.
    pub(super) oid: String,
    /// The request's delivery tag.
    pub(super) delivery_tag: String,
}

impl Ids {
    /// Fresh identifiers, formatted as UUIDs like Celery's.
    pub(super) fn random() -> Ids {
        Ids {
            ticket: uuid4(),
            oid: uuid4(),
            delivery_tag: uuid4(),
        }
    }
}

/// A random (version 4 layout) UUID. Uniqueness is all that matters here: the bits come
/// from std's randomly seeded hasher, mixed with the time and a counter.
fn uuid4() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    for (i, half) in bytes.chunks_mut(8).enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.write_u32(std::process::id());
        h.write_usize(i);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_uuids_and_differ() {
        let a = Ids::random();
        let b = Ids::random();
        assert_ne!(a.oid, b.oid);
        assert_ne!(a.ticket, a.oid);
        assert_eq!(a.ticket.len(), 36);
        assert_eq!(a.ticket.as_bytes()[14], b'4');
    }
}
