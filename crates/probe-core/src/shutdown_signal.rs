//! From a stop signal to a server's graceful shutdown, with a drain in between:
//! [`Drain`], `drain_on_signal` and the [`StopSignals`] sources.

use std::borrow::Cow;
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::time::human;
use crate::Health;

// === StopSignals ===

/// Where stop signals come from: each call to [`next`](StopSignals::next) waits for one.
///
/// Implemented for `TermSignals` (the process's SIGTERM and SIGINT, with the `signal`
/// feature), for channel receivers (one message, one signal), and for `Option<S>` (`None`
/// never signals).
pub trait StopSignals: Send + 'static {
    /// Resolves when the next signal arrives; never resolves once no more can arrive.
    fn next(&mut self) -> impl Future<Output = ()> + Send + '_;
}

impl<T: Send + 'static> StopSignals for mpsc::Receiver<T> {
    async fn next(&mut self) {
        if self.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

impl<T: Send + 'static> StopSignals for mpsc::UnboundedReceiver<T> {
    async fn next(&mut self) {
        if self.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

impl<S: StopSignals> StopSignals for Option<S> {
    async fn next(&mut self) {
        match self {
            Some(signals) => signals.next().await,
            None => std::future::pending().await,
        }
    }
}

// === TermSignals ===

/// The process's SIGTERM and SIGINT (Ctrl-C where there are no Unix signals), caught from
/// the moment [`TermSignals::install`] returns.
#[cfg(feature = "signal")]
#[derive(Debug)]
pub struct TermSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

#[cfg(feature = "signal")]
impl TermSignals {
    /// Installs the handlers: from now on SIGTERM and SIGINT no longer end the process but
    /// arrive here (a signal that arrives before the first [`next`](StopSignals::next) is
    /// kept for it). Outside Unix, Ctrl-C is caught from the first `next`.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with I/O enabled.
    pub fn install() -> std::io::Result<TermSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(TermSignals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(TermSignals {})
        }
    }
}

#[cfg(feature = "signal")]
impl StopSignals for TermSignals {
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            Some(()) = self.term.recv() => {}
            Some(()) = self.int.recv() => {}
            else => std::future::pending().await,
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

// === Drain ===

/// What happens between the first stop signal and a server's graceful shutdown.
///
/// An orchestrator stops a process with SIGTERM and, at the same moment, starts taking it
/// out of rotation; until every load balancer has noticed, traffic keeps arriving. So the
/// process should not stop serving at the signal: it should fail readiness at once, keep
/// answering for a drain delay, and only then shut its servers down. `Drain` does that for
/// any server that takes a shutdown future (axum's `with_graceful_shutdown`, tonic's
/// `serve_with_shutdown`, hyper-util's `GracefulShutdown`, `probe_http`'s `Bound::serve`,
/// a hand-written accept loop):
///
/// 1. at the first signal it calls [`Shutdown::begin`](crate::Shutdown::begin): readiness
///    fails from then on, liveness stays green;
/// 2. it logs one line saying so, with the drain delay;
/// 3. its future resolves once the delay is over, and the server's own graceful shutdown
///    starts; a second signal during the delay ends it at once (an operator pressing
///    Ctrl-C twice means "now"). A delay of zero resolves at the first signal.
///
/// The signals come from a [`StopSignals`] source: the process's SIGTERM and SIGINT with
/// `Drain::on_signal` (or `drain_on_signal`, the common case; both with the `signal`
/// feature), or a channel that the application or a test sends into, with [`Drain::on`].
///
/// ```
/// use std::time::Duration;
/// use probe_core::{Drain, Health};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let health = Health::builder().build().unwrap();
/// // An admin endpoint, or a test, sends into the channel to stop the service.
/// let (stop, signals) = tokio::sync::mpsc::channel::<()>(1);
/// let shutdown = Drain::new(&health, Duration::from_secs(5))
///     .notice("stop requested; draining for 5s")
///     .on(signals);
/// stop.send(()).await.unwrap();
/// shutdown.await; // five (paused) seconds later
/// assert!(health.shutdown().has_begun());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Drain {
    health: Health,
    delay: Duration,
    notice: Option<Cow<'static, str>>,
}

impl Drain {
    /// A drain of `delay` for `health`'s shutdown signal.
    pub fn new(health: &Health, delay: Duration) -> Drain {
        Drain {
            health: health.clone(),
            delay,
            notice: None,
        }
    }

    /// Logs `line` at the first signal instead of the default
    /// `shutting down: readiness fails from now on; draining for 5s`.
    pub fn notice(mut self, line: impl Into<Cow<'static, str>>) -> Drain {
        self.notice = Some(line.into());
        self
    }

    /// Installs the SIGTERM and SIGINT handlers now (see [`TermSignals::install`]) and
    /// drains on them. When they cannot be installed, logs a warning and the signals keep
    /// their default effect (the process ends at once).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with I/O enabled.
    #[cfg(feature = "signal")]
    pub fn on_signal(self) -> impl Future<Output = ()> + Send + 'static {
        let signals = TermSignals::install()
            .map_err(|e| {
                tracing::warn!(
                    "cannot catch SIGTERM and SIGINT ({e}): they will end the process without a drain"
                );
            })
            .ok();
        self.on(signals)
    }

    /// Drains on the signals of `signals`: resolves once the delay after the first one is
    /// over, or at the second one. The future is `Send + 'static`, like its source.
    pub async fn on<S: StopSignals>(self, mut signals: S) {
        signals.next().await;
        self.health.shutdown().begin();
        match &self.notice {
            Some(line) => tracing::info!("{line}"),
            None if self.delay.is_zero() => {
                tracing::info!("shutting down: readiness fails from now on; no drain")
            }
            None => tracing::info!(
                "shutting down: readiness fails from now on; draining for {}",
                human(self.delay)
            ),
        }
        if self.delay.is_zero() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(self.delay) => {}
            () = signals.next() => tracing::info!("a second signal: the drain ends now"),
        }
    }
}

/// Installs SIGTERM and SIGINT handlers now and returns the future to hand to a server's
/// graceful shutdown: at the first signal `health`'s shutdown begins (readiness fails at
/// once, liveness stays green) and one line is logged; the future resolves `drain` later,
/// or at a second signal.
///
/// Call it before announcing that the server listens, so a SIGTERM sent right after the
/// announcement is drained rather than ending the process. The same as
/// `Drain::new(health, drain).on_signal()`; see [`Drain`] for the line and the source.
///
/// ```no_run
/// use std::future::Future;
/// use std::time::Duration;
/// use probe_core::{drain_on_signal, Health};
///
/// /// Any server that stops gracefully when a future resolves: axum's
/// /// `serve(..).with_graceful_shutdown(shutdown)`, tonic's `serve_with_shutdown`,
/// /// probe_http's `Bound::serve(service, shutdown)`.
/// async fn serve(shutdown: impl Future<Output = ()>) {
///     shutdown.await;
///     // ...stop accepting, finish the requests in flight.
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let health = Health::builder().build()?;
///     let shutdown = drain_on_signal(&health, Duration::from_secs(5)); // caught from here
///     println!("listening");
///     serve(shutdown).await;
///     Ok(())
/// }
/// ```
///
/// # Panics
///
/// Outside a Tokio runtime with I/O enabled.
#[cfg(feature = "signal")]
pub fn drain_on_signal(
    health: &Health,
    drain: Duration,
) -> impl Future<Output = ()> + Send + 'static {
    Drain::new(health, drain).on_signal()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::pin::{pin, Pin};
    use std::task::Poll;

    /// Polls `f` once: whether it is done.
    async fn is_done<F: Future<Output = ()>>(mut f: Pin<&mut F>) -> bool {
        std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx).is_ready())).await
    }

    fn health() -> Health {
        Health::builder().build().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_signal_begins_shutdown_and_the_drain_runs_its_delay() {
        let health = health();
        let (tx, rx) = mpsc::unbounded_channel::<()>();
        let mut drain = pin!(Drain::new(&health, Duration::from_secs(10)).on(rx));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(!is_done(drain.as_mut()).await, "no signal, no drain");
        assert!(!health.shutdown().has_begun());

        tx.send(()).unwrap();
        assert!(!is_done(drain.as_mut()).await);
        assert!(health.shutdown().has_begun(), "begun at the signal");
        tokio::time::advance(Duration::from_millis(9_999)).await;
        assert!(!is_done(drain.as_mut()).await, "still draining");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(is_done(drain.as_mut()).await, "done after the delay");
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_signal_ends_the_drain_at_once() {
        let health = health();
        let (tx, rx) = mpsc::unbounded_channel::<()>();
        let mut drain = pin!(Drain::new(&health, Duration::from_secs(10)).on(rx));
        tx.send(()).unwrap();
        assert!(!is_done(drain.as_mut()).await);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!is_done(drain.as_mut()).await);
        tx.send(()).unwrap();
        assert!(is_done(drain.as_mut()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn no_drain_resolves_at_the_first_signal() {
        let health = health();
        let (tx, rx) = mpsc::channel::<()>(1);
        let mut drain = pin!(Drain::new(&health, Duration::ZERO).notice("exiting").on(rx));
        assert!(!is_done(drain.as_mut()).await);
        tx.send(()).await.unwrap();
        assert!(is_done(drain.as_mut()).await);
        assert!(health.shutdown().has_begun());
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_can_no_longer_signal_never_drains() {
        let health = health();
        let (tx, rx) = mpsc::channel::<()>(1);
        drop(tx);
        let mut drain = pin!(Drain::new(&health, Duration::ZERO).on(rx));
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(!is_done(drain.as_mut()).await);
        let mut none = pin!(Drain::new(&health, Duration::ZERO).on(None::<mpsc::Receiver<()>>));
        assert!(!is_done(none.as_mut()).await);
        assert!(!health.shutdown().has_begun());
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_source_after_the_first_signal_lets_the_delay_run() {
        let health = health();
        let (tx, rx) = mpsc::channel::<()>(1);
        let mut drain = pin!(Drain::new(&health, Duration::from_secs(2)).on(rx));
        tx.send(()).await.unwrap();
        drop(tx);
        assert!(
            !is_done(drain.as_mut()).await,
            "closing is not a second signal"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(is_done(drain.as_mut()).await);
    }
}
