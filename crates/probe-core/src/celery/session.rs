//! Connecting and logging in to Redis, and removing a ping's reply binding and lists
//! afterwards.

use std::time::Duration;

use super::error::connect_error;
use super::message::Names;
use super::{PingError, RedisBroker};
use crate::proto::resp::{Limits, RespConnection};

/// How long cleaning up after a ping (its reply binding and list) may take.
const CLEANUP_BUDGET: Duration = Duration::from_secs(1);

/// The largest reply read from Redis. A ping reply is well under 1 KiB.
const MAX_REPLY: usize = 256 * 1024;

/// What one reply may hold: no reply of the ping has more than a few elements.
pub(super) const LIMITS: Limits = Limits {
    max_bulk: MAX_REPLY,
    max_elements: 1024,
    max_depth: 4,
    max_line: 4096,
};

/// Opens a connection to the broker, with the ping's bounds on replies.
pub(super) async fn connect(broker: &RedisBroker) -> Result<RespConnection, PingError> {
    RespConnection::connect(&broker.host, broker.port, MAX_REPLY)
        .await
        .map(|conn| conn.with_limits(LIMITS))
        .map_err(|e| connect_error(&broker.addr(), e))
}

/// Connects and logs in, with no time limit of its own (for cleaning up).
async fn open(broker: &RedisBroker) -> Option<RespConnection> {
    let mut conn = connect(broker).await.ok()?;
    if let Some(password) = &broker.password {
        conn.auth(broker.username.as_deref(), password).await.ok()?;
    }
    conn.select(broker.db).await.ok()?;
    Some(conn)
}

// === impl Cleanup ===

/// Removes a ping's reply binding and lists: inline when the ping ends, or from a
/// spawned task when the ping is dropped half-way (its caller timed out first).
pub(super) struct Cleanup {
    pub(super) broker: RedisBroker,
    pub(super) names: Names,
    /// `None` once cleaned up.
    pub(super) oid: Option<String>,
}

impl Cleanup {
    /// Cleans up on the ping's own connection (best effort, bounded).
    pub(super) async fn run(&mut self, conn: &mut RespConnection) {
        if let Some(oid) = self.oid.take() {
            let _ = tokio::time::timeout(CLEANUP_BUDGET, remove(conn, &self.names, &oid)).await;
        }
    }

    /// Cleans up on a fresh connection (best effort, bounded).
    pub(super) async fn run_fresh(&mut self) {
        if let Some(oid) = self.oid.take() {
            let _ = tokio::time::timeout(
                CLEANUP_BUDGET,
                remove_fresh(self.broker.clone(), self.names.clone(), oid),
            )
            .await;
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Some(oid) = self.oid.take() else { return };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (broker, names) = (self.broker.clone(), self.names.clone());
            runtime.spawn(async move {
                let _ =
                    tokio::time::timeout(CLEANUP_BUDGET, remove_fresh(broker, names, oid)).await;
            });
        }
    }
}

async fn remove_fresh(broker: RedisBroker, names: Names, oid: String) {
    if let Some(mut conn) = open(&broker).await {
        remove(&mut conn, &names, &oid).await;
    }
}

/// What kombu does when a reply queue is deleted: unbind it and drop its lists.
async fn remove(conn: &mut RespConnection, names: &Names, oid: &str) {
    let binding = names.binding(oid);
    for set in [names.binding_table(), names.binding_permanent()] {
        let _ = conn
            .command(&[b"SREM", set.as_bytes(), binding.as_bytes()])
            .await;
    }
    let lists = names.reply_lists(oid);
    let mut args: Vec<&[u8]> = vec![b"DEL"];
    args.extend(lists.iter().map(|l| l.as_bytes()));
    let _ = conn.command(&args).await;
}
