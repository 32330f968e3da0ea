//! A queue worker with no HTTP port that shows its health in two files, checked by
//! `probe worker-check` the way maykin-common's `worker-health-check` checks a Celery worker.
//!
//! Run it (the directory is created; the optional second argument makes the loop hang
//! after that many seconds, to watch liveness fail):
//!
//! ```text
//! cargo run -p probe-examples --example worker -- /tmp/worker [HANG_AFTER_SECONDS]
//! ```
//!
//! Check it from another shell (exit 0 healthy, 1 loop stuck or never started, 4 not
//! ready; `--skip-ping` because this worker has no Celery broker to answer pings on):
//!
//! ```text
//! probe worker-check --skip-ping \
//!     --liveness-file /tmp/worker/live --max-age 5 \
//!     --no-skip-readiness --readiness-file /tmp/worker/ready
//! ```
//!
//! The loop beats its [`Heartbeat`] on every turn, idle turns included (it waits for work
//! at most one second); the heartbeat writer touches `live` every second while beats
//! come. The readiness file exists from the moment the worker takes work until shutdown
//! (Ctrl-C or SIGTERM), when it is removed first, so the orchestrator stops counting on
//! the worker before it leaves.

use std::path::PathBuf;
use std::time::Duration;

use probe_core::heartbeat::{Heartbeat, LivenessFile, ReadinessFile};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

/// How often the liveness file is touched while the loop turns.
const INTERVAL: Duration = Duration::from_secs(1);
/// The longest the loop waits for work before it turns (and beats) anyway.
const IDLE: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/worker".to_owned()));
    let hang_after = match args.next() {
        Some(s) => Some(Duration::from_secs(s.parse()?)),
        None => None,
    };
    std::fs::create_dir_all(&dir)?;

    let heartbeat = LivenessFile::new(dir.join("live")).spawn(INTERVAL);
    let ready = ReadinessFile::new(dir.join("ready"));
    // A crash can leave a readiness file behind in a kept directory: start not ready.
    ready.set(false).await?;

    let jobs = producer();
    ready.set(true).await?;
    println!(
        "worker ready: {} is touched every {INTERVAL:?}, {} exists",
        dir.join("live").display(),
        dir.join("ready").display()
    );

    tokio::select! {
        () = work(jobs, &heartbeat, hang_after) => println!("the queue closed"),
        () = shutdown_signal() => println!("shutting down"),
    }

    // Not ready first, then stop beating: the file is left to age, which is the truth
    // about a loop that stopped.
    ready.set(false).await?;
    heartbeat.stop().await;
    Ok(())
}

/// The worker's loop: one job at a time, a beat on every turn.
async fn work(mut jobs: mpsc::Receiver<u64>, heartbeat: &Heartbeat, hang_after: Option<Duration>) {
    let started = Instant::now();
    loop {
        heartbeat.beat();
        if hang_after.is_some_and(|h| started.elapsed() >= h) {
            println!("the loop hangs now; the liveness file stops moving");
            std::future::pending::<()>().await;
        }
        match timeout(IDLE, jobs.recv()).await {
            Ok(Some(job)) => {
                // A job's work; it must stay well under --max-age.
                sleep(Duration::from_millis(200)).await;
                println!("job {job} done");
            }
            Ok(None) => return,
            Err(_idle) => continue,
        }
    }
}

/// Jobs arriving now and then.
fn producer() -> mpsc::Receiver<u64> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        for n in 1.. {
            sleep(Duration::from_millis(2500)).await;
            if tx.send(n).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Ctrl-C, or SIGTERM on Unix (what Kubernetes sends first).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
