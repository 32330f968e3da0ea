//! The heartbeat producers, read back by the file checks a probe would run.

mod support;

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use probe_core::checks::{FileAgeCheck, FileExistsCheck};
use probe_core::heartbeat::{LivenessFile, ReadinessFile};
use probe_core::{Check, Status};
use support::tmp::TempDir;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_secs(10);

/// Waits (in small steps of the paused clock, at most 1,000 of them) until `path` exists.
/// File operations run on the blocking pool, during which the paused clock stands still.
async fn appears(path: &Path) -> bool {
    for _ in 0..1000 {
        if path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

fn age_an_hour(path: &Path) {
    let f = File::options().append(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn nothing_is_written_before_the_first_beat_which_is_written_at_once() {
    let dir = TempDir::new("hb-first");
    let path = dir.join("worker.live");
    let heartbeat = LivenessFile::new(&path).spawn(INTERVAL);
    tokio::time::sleep(INTERVAL * 3).await;
    assert!(!path.exists(), "no beat yet, so no liveness file");

    heartbeat.beat();
    assert!(appears(&path).await, "the first beat creates the file");
    timeout(T, heartbeat.stop()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_loop_that_stops_beating_stops_the_touching() {
    let dir = TempDir::new("hb-hang");
    let path = dir.join("worker.live");
    let heartbeat = LivenessFile::new(&path).spawn(INTERVAL);
    heartbeat.beat();
    assert!(appears(&path).await);

    // The loop hangs: no more beats. Remove the file and let five intervals pass.
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(INTERVAL * 5).await;
    assert!(!path.exists(), "the writer touched the file without a beat");

    // The loop turns again: the next interval writes the file again.
    heartbeat.beat();
    tokio::time::sleep(INTERVAL).await;
    assert!(
        appears(&path).await,
        "beats resumed but the file was not touched"
    );
    timeout(T, heartbeat.stop()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_beating_loop_keeps_the_liveness_check_green() {
    let dir = TempDir::new("hb-fresh");
    let path = dir.join("worker.live");
    File::create(&path).unwrap();
    age_an_hour(&path);
    let check = FileAgeCheck::new(&path, Duration::from_secs(70));
    let before = timeout(T, check.check()).await.unwrap();
    assert_eq!(before.status, Status::Fail, "{:?}", before.message);

    let heartbeat = LivenessFile::new(&path).spawn(INTERVAL);
    // A loop beating once a second for a minute of (paused) time.
    for _ in 0..60 {
        heartbeat.beat();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let after = timeout(T, check.check()).await.unwrap();
    assert_eq!(after.status, Status::Pass, "{:?}", after.message);
    timeout(T, heartbeat.stop()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn after_stop_beats_write_nothing() {
    let dir = TempDir::new("hb-stop");
    let path = dir.join("worker.live");
    let heartbeat = LivenessFile::new(&path).spawn(INTERVAL);
    let clone = heartbeat.clone();
    heartbeat.beat();
    assert!(appears(&path).await);
    timeout(T, heartbeat.stop()).await.unwrap();

    std::fs::remove_file(&path).unwrap();
    clone.beat();
    tokio::time::sleep(INTERVAL * 3).await;
    assert!(!path.exists(), "a stopped heartbeat wrote the file");
}

#[tokio::test]
async fn touch_creates_then_moves_the_modification_time() {
    let dir = TempDir::new("hb-touch");
    let file = LivenessFile::new(dir.join("worker.live"));
    timeout(T, file.touch()).await.unwrap().unwrap();
    age_an_hour(file.path());
    timeout(T, file.touch()).await.unwrap().unwrap();
    let age = SystemTime::now()
        .duration_since(std::fs::metadata(file.path()).unwrap().modified().unwrap())
        .unwrap_or_default();
    assert!(age < Duration::from_secs(60), "mtime not moved: {age:?}");
}

#[tokio::test]
async fn touching_in_a_missing_directory_says_where_and_why() {
    let dir = TempDir::new("hb-nodir");
    let path = dir.join("missing/worker.live");
    let err = timeout(T, LivenessFile::new(&path).touch())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot touch liveness file {}: no such file or directory",
            path.display()
        )
    );
}

#[tokio::test]
async fn the_readiness_file_follows_set_and_the_check_sees_it() {
    let dir = TempDir::new("ready");
    let path = dir.join("worker.ready");
    let ready = ReadinessFile::new(&path);
    let check = FileExistsCheck::new(&path);

    let o = timeout(T, check.check()).await.unwrap();
    assert_eq!(o.status, Status::Fail);
    assert_eq!(
        o.message,
        Some(format!("{} does not exist", path.display()))
    );

    timeout(T, ready.set(true)).await.unwrap().unwrap();
    timeout(T, ready.set(true)).await.unwrap().unwrap();
    assert_eq!(
        timeout(T, check.check()).await.unwrap().status,
        Status::Pass
    );

    timeout(T, ready.set(false)).await.unwrap().unwrap();
    timeout(T, ready.set(false)).await.unwrap().unwrap();
    assert_eq!(
        timeout(T, check.check()).await.unwrap().status,
        Status::Fail
    );
}

#[tokio::test]
async fn dropping_removes_the_file_it_created_and_only_that() {
    let dir = TempDir::new("ready-drop");
    let ours = dir.join("ours.ready");
    let ready = ReadinessFile::new(&ours);
    timeout(T, ready.set(true)).await.unwrap().unwrap();
    drop(ready);
    assert!(!ours.exists(), "drop left a stale readiness file");

    // A file this value never created is not its to remove.
    let theirs = dir.join("theirs.ready");
    File::create(&theirs).unwrap();
    drop(ReadinessFile::new(&theirs));
    assert!(theirs.exists());
}

#[tokio::test]
async fn a_readiness_file_that_cannot_be_created_is_an_error() {
    let dir = TempDir::new("ready-nodir");
    let path = dir.join("missing/worker.ready");
    let err = timeout(T, ReadinessFile::new(&path).set(true))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot create readiness file {}: no such file or directory",
            path.display()
        )
    );
}
