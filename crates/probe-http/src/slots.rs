//! The connection cap, and who gives way when it is reached.
//!
//! A listener serves at most `max_connections` connections at once. When a new client
//! arrives and every slot is taken, the connection idle the longest (no request in
//! flight, nothing asked for the longest time) is closed to make room, as nginx reuses
//! its idle keep-alive connections when it runs out. A peer hoarding idle sockets thus
//! only ever pushes out its own oldest ones, and a probe from the kubelet, which sends its
//! request as soon as it connects, is answered instead of waiting in the accept queue
//! behind the hoarder. Only when every connection has a request in flight does a new one
//! wait for a slot, as before.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How often a client waiting for a slot looks again for an idle connection to replace.
const RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// The slots of one listener.
#[derive(Debug)]
pub(crate) struct Slots {
    sem: Arc<Semaphore>,
    max: usize,
    epoch: Instant,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: Vec<Arc<ConnState>>,
}

/// What the cap knows of one open connection.
#[derive(Debug)]
pub(crate) struct ConnState {
    id: u64,
    in_flight: AtomicU32,
    /// Milliseconds since the listener's start at the last request's end (or the accept).
    last_active: AtomicU64,
    shed: Notify,
    epoch: Instant,
}

/// A held slot: the connection's place under the cap, freed when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    state: Arc<ConnState>,
    slots: Arc<Slots>,
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    /// Slots for `max` connections (at least one).
    pub(crate) fn new(max: usize) -> Arc<Slots> {
        let max = max.clamp(1, u32::MAX as usize >> 3);
        Arc::new(Slots {
            sem: Arc::new(Semaphore::new(max)),
            max,
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
        })
    }

    /// The number of slots.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// The semaphore counting free slots, for the drain's wait.
    pub(crate) fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot at once if one is free; `None` otherwise.
    pub(crate) fn try_take(self: &Arc<Self>) -> Option<Slot> {
        let permit = self.sem.clone().try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    /// A slot for a connection just accepted: a free one, else the one the longest-idle
    /// connection gives up, else (every connection busy) the next one freed.
    pub(crate) async fn take(self: &Arc<Self>) -> Slot {
        loop {
            if let Some(slot) = self.try_take() {
                return slot;
            }
            self.shed_oldest_idle();
            // A busy connection may turn idle without freeing its slot: look again soon.
            tokio::select! {
                permit = self.sem.clone().acquire_owned() => {
                    return self.slot(permit.expect("the semaphore is never closed"));
                }
                () = tokio::time::sleep(RETRY) => {}
            }
        }
    }

    fn slot(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Slot {
        let mut table = self.table();
        table.next += 1;
        let state = Arc::new(ConnState {
            id: table.next,
            in_flight: AtomicU32::new(0),
            last_active: AtomicU64::new(0),
            shed: Notify::new(),
            epoch: self.epoch,
        });
        state.touch();
        table.open.push(state.clone());
        Slot {
            state,
            slots: self.clone(),
            _permit: permit,
        }
    }

    /// Asks the connection idle the longest to close; false when every one is busy.
    fn shed_oldest_idle(&self) -> bool {
        let table = self.table();
        let oldest = table
            .open
            .iter()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|c| c.last_active.load(Ordering::Acquire));
        match oldest {
            Some(c) => {
                c.shed.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Slot {
    /// The connection's state, for counting its requests.
    pub(crate) fn state(&self) -> &Arc<ConnState> {
        &self.state
    }

    /// Runs `conn` (a connection's whole life) until it ends or the cap asks it to give
    /// way; then frees the slot. Giving way drops the connection, which closes its socket:
    /// it only happens to a connection with no request in flight.
    pub(crate) async fn hold<F: Future>(self, conn: F) {
        tokio::pin!(conn);
        loop {
            tokio::select! {
                _ = &mut conn => return,
                () = self.state.shed.notified() => {
                    // Asked while idle; a request that arrived since keeps it open.
                    if self.state.in_flight.load(Ordering::Acquire) == 0 {
                        return;
                    }
                }
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let id = self.state.id;
        let mut table = self.slots.table();
        if let Some(i) = table.open.iter().position(|c| c.id == id) {
            table.open.swap_remove(i);
        }
    }
}

impl ConnState {
    fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_active.store(ms, Ordering::Release);
    }

    /// Marks a request in flight until the guard drops (the answer is ready, or the
    /// request was abandoned).
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// A request in flight on a connection; see [`ConnState::request`].
#[derive(Debug)]
pub(crate) struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_table_sheds_its_longest_idle_connection_and_never_a_busy_one() {
        let slots = Slots::new(2);
        let busy = slots.take().await;
        let _req = busy.state().request();
        let idle = slots.take().await;
        assert!(slots.try_take().is_none());
        let idle_state = idle.state().clone();
        let held = tokio::spawn(idle.hold(std::future::pending::<()>()));
        // The third client gets the idle connection's slot, not the busy one's.
        let third = tokio::time::timeout(std::time::Duration::from_secs(5), slots.take())
            .await
            .expect("a slot once the idle connection gave way");
        held.await.unwrap();
        assert_eq!(idle_state.in_flight.load(Ordering::Acquire), 0);
        assert_eq!(busy.state().in_flight.load(Ordering::Acquire), 1);
        drop(third);
        assert!(slots.try_take().is_some());
    }
}
