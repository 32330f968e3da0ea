//! Waiting for the orchestrator to say stop.

use std::future::Future;

/// Resolves on SIGTERM or SIGINT (Ctrl-C elsewhere than Unix).
///
/// The handlers are installed when this is called, not when the future is first polled:
/// call it before announcing that the server listens, so a SIGTERM sent right after the
/// announcement is caught (and drained) rather than killing the process.
pub fn terminate() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
