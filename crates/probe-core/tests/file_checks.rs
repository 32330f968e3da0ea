//! `file-age` and `file-exists` against real files, alone and inside a liveness probe.

mod support;

use std::fs::File;
use std::time::{Duration, SystemTime};

use probe_core::checks::{FileAgeCheck, FileExistsCheck};
use probe_core::{Check, Health, Policy, Probe, Scope, Select, Status};
use support::tmp::TempDir;
use tokio::time::timeout;

const T: Duration = Duration::from_secs(10);
const MAX: Duration = Duration::from_secs(70);

fn file_modified_ago(dir: &TempDir, name: &str, ago: Duration) -> std::path::PathBuf {
    let path = dir.join(name);
    let f = File::create(&path).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
    path
}

#[tokio::test]
async fn a_fresh_file_passes() {
    let dir = TempDir::new("age-fresh");
    let path = file_modified_ago(&dir, "w.live", Duration::from_secs(5));
    let check = FileAgeCheck::new(&path, MAX);
    assert_eq!(check.scope(), Scope::Local);
    let o = timeout(T, check.check()).await.unwrap();
    assert_eq!(o.status, Status::Pass, "{:?}", o.message);
    assert!(o
        .message
        .unwrap()
        .starts_with(&format!("{} was modified 5", path.display())));
}

#[tokio::test]
async fn a_file_older_than_max_age_fails_with_its_age() {
    let dir = TempDir::new("age-old");
    let path = file_modified_ago(&dir, "w.live", Duration::from_secs(120));
    let o = timeout(T, FileAgeCheck::new(&path, MAX).check())
        .await
        .unwrap();
    assert_eq!(o.status, Status::Fail);
    let message = o.message.unwrap();
    assert!(
        message.starts_with(&format!("{} was last modified 12", path.display()))
            && message.ends_with("ago, more than the allowed 70s"),
        "{message}"
    );
}

#[tokio::test]
async fn a_missing_file_fails() {
    let dir = TempDir::new("age-missing");
    let path = dir.join("never.live");
    let o = timeout(T, FileAgeCheck::new(&path, MAX).check())
        .await
        .unwrap();
    assert_eq!(
        o.message,
        Some(format!("{} does not exist", path.display()))
    );
    let o = timeout(T, FileExistsCheck::new(&path).check())
        .await
        .unwrap();
    assert_eq!(o.status, Status::Fail);
    assert_eq!(
        o.message,
        Some(format!("{} does not exist", path.display()))
    );
}

#[tokio::test]
async fn an_existing_file_passes_file_exists_whatever_its_age() {
    let dir = TempDir::new("exists");
    let path = file_modified_ago(&dir, "w.ready", Duration::from_secs(86_400));
    let check = FileExistsCheck::new(&path);
    assert_eq!(check.scope(), Scope::Local);
    let o = timeout(T, check.check()).await.unwrap();
    assert_eq!(o.status, Status::Pass);
    assert_eq!(o.message, Some(format!("{} exists", path.display())));
}

#[tokio::test]
async fn the_file_checks_serve_a_liveness_probe() {
    let dir = TempDir::new("age-probe");
    let live = file_modified_ago(&dir, "w.live", Duration::from_secs(300));
    let health = Health::builder()
        .check(
            "event_loop",
            FileAgeCheck::new(&live, MAX),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .check(
            "worker_ready",
            FileExistsCheck::new(dir.join("w.ready")),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    let report = timeout(T, health.evaluate(Probe::Liveness, &Select::All))
        .await
        .unwrap();
    assert_eq!(report.status, Status::Fail);

    File::options()
        .append(true)
        .open(&live)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    let report = timeout(T, health.evaluate(Probe::Liveness, &Select::All))
        .await
        .unwrap();
    assert_eq!(report.status, Status::Pass);
    let report = timeout(T, health.evaluate(Probe::Readiness, &Select::All))
        .await
        .unwrap();
    assert_eq!(report.status, Status::Fail);
}
