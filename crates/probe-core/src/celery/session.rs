//! Logging in to Redis, and removing a ping's reply binding and lists afterwards.

use std::time::Duration;

use super::error::{connect_error, expect_ok, io_error};
use super::message::Names;
use super::redis_io::Conn;
use super::{PingError, RedisBroker};

/// How long cleaning up after a ping (its reply binding and list) may take.
const CLEANUP_BUDGET: Duration = Duration::from_secs(1);

/// The commands that log in and select the database: `AUTH` when the URL has a
/// password, then `SELECT`.
pub(super) fn login(broker: &RedisBroker) -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut commands = Vec::with_capacity(2);
    if let Some(password) = &broker.password {
        let mut args = vec![b"AUTH".to_vec()];
        if let Some(user) = &broker.username {
            args.push(user.clone().into_bytes());
        }
        args.push(password.clone().into_bytes());
        commands.push(("AUTH", args));
    }
    commands.push((
        "SELECT",
        vec![b"SELECT".to_vec(), broker.db.to_string().into_bytes()],
    ));
    commands
}

/// Connects and logs in, with no time limit of its own (for cleaning up).
async fn open(broker: &RedisBroker) -> Result<Conn, PingError> {
    let addr = broker.addr();
    let mut conn = Conn::connect(&broker.host, broker.port)
        .await
        .map_err(|e| connect_error(&addr, &e))?;
    for (command, args) in login(broker) {
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let reply = conn
            .call(&args)
            .await
            .map_err(|e| io_error(&addr, command, e))?;
        expect_ok(&addr, command, reply)?;
    }
    Ok(conn)
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
    pub(super) async fn run(&mut self, conn: &mut Conn) {
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
    if let Ok(mut conn) = open(&broker).await {
        remove(&mut conn, &names, &oid).await;
    }
}

/// What kombu does when a reply queue is deleted: unbind it and drop its lists.
async fn remove(conn: &mut Conn, names: &Names, oid: &str) {
    let binding = names.binding(oid);
    for set in [names.binding_table(), names.binding_permanent()] {
        let _ = conn
            .call(&[b"SREM", set.as_bytes(), binding.as_bytes()])
            .await;
    }
    let lists = names.reply_lists(oid);
    let mut args: Vec<&[u8]> = vec![b"DEL"];
    args.extend(lists.iter().map(|l| l.as_bytes()));
    let _ = conn.call(&args).await;
}
