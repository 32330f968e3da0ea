//! The connection cap, and who gives way when it is reached.
//!
//! A listener serves at most `max_connections` connections at once, and one client (one IP
//! address) at most three quarters of them: the rest stay open to everyone else, such as
//! the kubelet. When a new client arrives:
//!
//! - under its share, with a slot free: it is served;
//! - under its share, every slot taken: the connection idle the longest (no request in
//!   flight) of the client holding the most is closed to make room, as nginx reuses its
//!   idle keep-alive connections when it runs out; if every connection is busy, it waits
//!   for one to end;
//! - at its share: the new connection is held aside, unread, and takes the slot of the
//!   client's next connection to end (an idle one ends at the header-read timeout); it is
//!   closed if none has within twice that time. Held aside rather than refused or left in
//!   the kernel's accept queue, so that a peer reopening every connection closed neither
//!   churns nor fills the accept queue, in which a probe would wait behind it.
//!
//! A request in flight is never cut to make room.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

/// How often a client waiting for a slot looks again for an idle connection to replace.
const RETRY: Duration = Duration::from_millis(20);

/// A connection held aside, then given a slot.
pub(crate) type Admitted = (TcpStream, SocketAddr, Slot);

/// The slots of one listener.
#[derive(Debug)]
pub(crate) struct Slots {
    sem: Arc<Semaphore>,
    max: usize,
    share: usize,
    /// How long a connection may be held aside.
    linger: Duration,
    epoch: Instant,
    table: Mutex<Table>,
    parked: AtomicUsize,
    aside: Mutex<HashMap<IpAddr, VecDeque<Parked>>>,
    admitted: mpsc::UnboundedSender<Admitted>,
    waiting: tokio::sync::Mutex<mpsc::UnboundedReceiver<Admitted>>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    open: Vec<Arc<ConnState>>,
    per_client: HashMap<IpAddr, usize>,
}

impl Table {
    fn held_by(&self, ip: IpAddr) -> usize {
        self.per_client.get(&ip).copied().unwrap_or(0)
    }

    /// The longest-idle connection among those `pick` selects.
    fn oldest_idle(&self, pick: impl Fn(&ConnState) -> bool) -> Option<&Arc<ConnState>> {
        self.open
            .iter()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0 && pick(c))
            .min_by_key(|c| c.last_active.load(Ordering::Acquire))
    }
}

/// A connection held aside until its client frees a slot.
#[derive(Debug)]
struct Parked {
    stream: TcpStream,
    peer: SocketAddr,
    until: tokio::time::Instant,
}

/// What the cap knows of one open connection.
#[derive(Debug)]
pub(crate) struct ConnState {
    id: u64,
    client: IpAddr,
    in_flight: AtomicU32,
    /// Closed to make room for another client: its slot is not handed over.
    for_another: std::sync::atomic::AtomicBool,
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
    permit: Option<OwnedSemaphorePermit>,
}

/// What to do with a connection just accepted.
enum Admission {
    Now(Slot),
    /// Every slot is taken: wait for the one that `shed` (if any) frees.
    Wait,
    /// The client is at its share with every connection busy: hold it aside.
    Aside,
}

impl Slots {
    /// Slots for `max` connections (at least one); a connection is held aside at most
    /// `linger`.
    pub(crate) fn new(max: usize, linger: Duration) -> Arc<Slots> {
        let max = max.clamp(1, u32::MAX as usize >> 3);
        let (admitted, waiting) = mpsc::unbounded_channel();
        Arc::new(Slots {
            sem: Arc::new(Semaphore::new(max)),
            max,
            share: (max - max / 4).max(1),
            linger,
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
            parked: AtomicUsize::new(0),
            aside: Mutex::new(HashMap::new()),
            admitted,
            waiting: tokio::sync::Mutex::new(waiting),
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

    /// A slot at once if one is free (whatever the client's share); `None` otherwise.
    pub(crate) fn try_take(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let permit = self.sem.clone().try_acquire_owned().ok()?;
        Some(self.slot(permit, client))
    }

    fn admit(self: &Arc<Self>, client: IpAddr) -> Admission {
        let table = self.table();
        let held = table.held_by(client);
        if held < self.share {
            if let Ok(permit) = self.sem.clone().try_acquire_owned() {
                drop(table);
                return Admission::Now(self.slot(permit, client));
            }
            // Room is made at the expense of the client holding the most.
            let top = table
                .per_client
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(ip, _)| *ip);
            let victim = top
                .and_then(|top| table.oldest_idle(|c| c.client == top))
                .or_else(|| table.oldest_idle(|_| true));
            if let Some(v) = victim {
                // Its slot goes to whoever waits for one, not to its own client.
                v.for_another.store(true, Ordering::Release);
                v.shed.notify_one();
            }
            return Admission::Wait;
        }
        Admission::Aside
    }

    fn aside(&self) -> MutexGuard<'_, HashMap<IpAddr, VecDeque<Parked>>> {
        self.aside.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the next connection and a slot for it; `None` once `shutdown` resolves.
    /// A failed accept (out of file descriptors and the like) backs off instead of
    /// spinning; connections held aside come back here once they get a slot.
    pub(crate) async fn next<S: Future<Output = ()>>(
        self: &Arc<Self>,
        listener: &tokio::net::TcpListener,
        mut shutdown: std::pin::Pin<&mut S>,
    ) -> Option<Admitted> {
        let mut waiting = self.waiting.lock().await;
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
                Some(admitted) = waiting.recv() => return Some(admitted),
                () = &mut shutdown => return None,
            };
            let client = peer.ip();
            loop {
                match self.admit(client) {
                    Admission::Now(slot) => return Some((stream, peer, slot)),
                    Admission::Aside => {
                        self.set_aside(stream, peer);
                        break;
                    }
                    Admission::Wait => {
                        tokio::select! {
                            permit = self.sem.clone().acquire_owned() => {
                                let permit = permit.expect("the semaphore is never closed");
                                return Some((stream, peer, self.slot(permit, client)));
                            }
                            () = tokio::time::sleep(RETRY) => {}
                            () = &mut shutdown => return None,
                        }
                    }
                }
            }
        }
    }

    /// Holds `stream` unread until its client's next connection ends, whose slot it then
    /// takes (coming back through [`Slots::next`]); closes it after twice the linger.
    /// Beyond `4 × max` connections held aside, it is closed at once.
    fn set_aside(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        if self.parked.fetch_add(1, Ordering::AcqRel) >= 4 * self.max {
            self.parked.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let until = tokio::time::Instant::now() + 2 * self.linger;
        let mut aside = self.aside();
        let first = aside.is_empty();
        aside.entry(peer.ip()).or_default().push_back(Parked {
            stream,
            peer,
            until,
        });
        drop(aside);
        if first {
            // Sweeps out what waited too long, while anything waits.
            let slots = Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let Some(slots) = slots.upgrade() else { return };
                    let now = tokio::time::Instant::now();
                    let mut aside = slots.aside();
                    let mut dropped = 0;
                    aside.retain(|_, queue| {
                        let before = queue.len();
                        queue.retain(|p| p.until > now);
                        dropped += before - queue.len();
                        !queue.is_empty()
                    });
                    slots.parked.fetch_sub(dropped, Ordering::AcqRel);
                    if aside.is_empty() {
                        return;
                    }
                }
            });
        }
    }

    /// Hands the slot of a connection of `client` that ended to the client's oldest
    /// connection held aside, if any is still waiting.
    fn hand_over(
        self: &Arc<Self>,
        client: IpAddr,
        permit: OwnedSemaphorePermit,
    ) -> Option<OwnedSemaphorePermit> {
        let now = tokio::time::Instant::now();
        let parked = {
            let mut aside = self.aside();
            let queue = aside.get_mut(&client)?;
            let mut next = None;
            while let Some(p) = queue.pop_front() {
                self.parked.fetch_sub(1, Ordering::AcqRel);
                if p.until > now {
                    next = Some(p);
                    break;
                }
            }
            if queue.is_empty() {
                aside.remove(&client);
            }
            next
        };
        match parked {
            Some(p) => {
                let slot = self.slot(permit, client);
                let _ = self.admitted.send((p.stream, p.peer, slot));
                None
            }
            None => Some(permit),
        }
    }

    fn slot(self: &Arc<Self>, permit: OwnedSemaphorePermit, client: IpAddr) -> Slot {
        let mut table = self.table();
        table.next += 1;
        let state = Arc::new(ConnState {
            id: table.next,
            client,
            in_flight: AtomicU32::new(0),
            for_another: std::sync::atomic::AtomicBool::new(false),
            last_active: AtomicU64::new(0),
            shed: Notify::new(),
            epoch: self.epoch,
        });
        state.touch();
        table.open.push(state.clone());
        *table.per_client.entry(client).or_default() += 1;
        Slot {
            state,
            slots: self.clone(),
            permit: Some(permit),
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
        let (id, client) = (self.state.id, self.state.client);
        {
            let mut table = self.slots.table();
            if let Some(i) = table.open.iter().position(|c| c.id == id) {
                table.open.swap_remove(i);
            }
            if let Some(n) = table.per_client.get_mut(&client) {
                *n -= 1;
                if *n == 0 {
                    table.per_client.remove(&client);
                }
            }
        }
        if let Some(permit) = self.permit.take() {
            // Freed to the semaphore, unless a connection of the same client waits aside
            // and this one did not end to make room for another client.
            if !self.state.for_another.load(Ordering::Acquire) {
                drop(self.slots.hand_over(client, permit));
            }
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

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[tokio::test]
    async fn a_full_table_sheds_the_top_clients_longest_idle_connection_never_a_busy_one() {
        let slots = Slots::new(4, Duration::from_secs(1));
        let busy = slots.try_take(A).unwrap();
        let _req = busy.state().request();
        let idle = slots.try_take(A).unwrap();
        let other = slots.try_take(B).unwrap();
        let _fourth = slots.try_take(A).unwrap();
        // Full: B arrives; A holds the most, and its longest-idle connection gives way.
        assert!(matches!(slots.admit(B), Admission::Wait));
        let idle_state = idle.state().clone();
        tokio::time::timeout(
            Duration::from_secs(5),
            idle.hold(std::future::pending::<()>()),
        )
        .await
        .expect("the idle connection gave way");
        assert_eq!(idle_state.client, A);
        assert!(matches!(slots.admit(B), Admission::Now(_)));
        drop(other);
    }

    #[tokio::test]
    async fn a_client_at_its_share_is_held_aside_and_takes_its_next_freed_slot() {
        let slots = Slots::new(4, Duration::from_secs(1));
        let mut held: Vec<Slot> = (0..3).map(|_| slots.try_take(A).unwrap()).collect();
        assert!(matches!(slots.admit(A), Admission::Aside));
        // Another client still gets the slot left.
        let Admission::Now(_b) = slots.admit(B) else {
            panic!("B is under its share and a slot is free")
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        slots.set_aside(stream, SocketAddr::new(A, 1));
        // One of A's connections ends: the one held aside takes its slot.
        drop(held.pop());
        let mut waiting = slots.waiting.lock().await;
        let (_, peer, slot) = waiting.try_recv().expect("handed the freed slot");
        assert_eq!((peer.ip(), slot.state().client), (A, A));
        assert_eq!(slots.parked.load(Ordering::Acquire), 0);
    }
}
