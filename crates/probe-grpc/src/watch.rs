//! The `Watch` stream: the serving status at once, then one message per change, fed by
//! the engine's published statuses (no check runs for a watcher, nothing polls).

use probe_core::{CheckReport, Health, Status as ProbeStatus};
use probe_http::Stopping;
use tokio::sync::watch::{error::RecvError, Receiver};
use tonic::Status;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::HealthCheckResponse;

use crate::name::Target;
use crate::service::WatchStream;

/// Where the status comes from.
enum Feed {
    Probe(Receiver<ProbeStatus>),
    Check(Receiver<Option<CheckReport>>),
}

impl Feed {
    /// Whether the latest status passes, marking it seen. A check that has not run yet
    /// does not pass.
    fn passing(&mut self) -> bool {
        match self {
            Feed::Probe(rx) => rx.borrow_and_update().is_passing(),
            Feed::Check(rx) => rx
                .borrow_and_update()
                .as_ref()
                .is_some_and(|r| r.status.is_passing()),
        }
    }

    async fn changed(&mut self) -> Result<(), RecvError> {
        match self {
            Feed::Probe(rx) => rx.changed().await,
            Feed::Check(rx) => rx.changed().await,
        }
    }
}

struct Following {
    health: Health,
    target: Target,
    feed: Feed,
    stopping: Option<Stopping>,
    last: Option<ServingStatus>,
    ended: bool,
}

fn message(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status.into(),
    }
}

fn stopping_status() -> Status {
    Status::unavailable("the server is stopping")
}

/// Resolves when `stopping` fires; never without one (the call then lasts until the
/// client ends it or the connection closes).
async fn stopped(stopping: Option<&Stopping>) {
    match stopping {
        Some(s) => s.stopped().await,
        None => std::future::pending().await,
    }
}

/// The stream for a known name: the current status, then each change; when the listener
/// stops (`stopping`), one `UNAVAILABLE` ends it.
pub(crate) fn following(health: Health, target: Target, stopping: Option<Stopping>) -> WatchStream {
    let feed = match &target {
        Target::Probe(probe) => Feed::Probe(health.subscribe(*probe)),
        Target::Check { name, .. } => match health.subscribe_check(name) {
            Some(rx) => Feed::Check(rx),
            // `resolve` found the name, and checks are fixed at build: not reached.
            None => return unknown(stopping),
        },
    };
    let state = Following {
        health,
        target,
        feed,
        stopping,
        last: None,
        ended: false,
    };
    Box::pin(futures_util::stream::unfold(state, next))
}

async fn next(mut s: Following) -> Option<(Result<HealthCheckResponse, Status>, Following)> {
    if s.ended {
        return None;
    }
    loop {
        let begun = s.health.shutdown().has_begun();
        let now = s.target.serving(s.feed.passing(), begun);
        if s.last != Some(now) {
            s.last = Some(now);
            return Some((Ok(message(now)), s));
        }
        let wait_for_shutdown = s.target.follows_shutdown() && !begun;
        tokio::select! {
            changed = s.feed.changed() => {
                if changed.is_err() {
                    // The engine is gone: nothing more will change.
                    return None;
                }
            }
            () = s.health.shutdown().begun(), if wait_for_shutdown => {}
            () = stopped(s.stopping.as_ref()) => {
                s.ended = true;
                return Some((Err(stopping_status()), s));
            }
        }
    }
}

/// The stream for an unknown name: `SERVICE_UNKNOWN`, and the call stays open (the gRPC
/// health protocol), until the client ends it or the listener stops.
pub(crate) fn unknown(stopping: Option<Stopping>) -> WatchStream {
    use futures_util::StreamExt as _;
    let first = futures_util::stream::once(async { Ok(message(ServingStatus::ServiceUnknown)) });
    let end = futures_util::stream::once(async move {
        stopped(stopping.as_ref()).await;
        Err(stopping_status())
    });
    Box::pin(first.chain(end))
}
