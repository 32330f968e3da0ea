//! `/statusz` in a real browser: headless Chromium renders the page (no JavaScript needed)
//! and its DOM shows the failing check, its message and one timeline cell per run.
//! Chromium is installed with apt on first use; without it the test fails saying how.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Policy, Probe, Select};
use probe_http::{Kubernetes, ProbeService};
use support::{within, Served};

const INSTALL: &str = "apt-get install -y chromium";
const BUDGET: Duration = Duration::from_secs(120);
const STEP: Duration = Duration::from_millis(50);

/// Runs `cmd` to its end within [`BUDGET`]: its exit success and standard output.
fn run(mut cmd: Command) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    for _ in 0..(BUDGET.as_millis() / STEP.as_millis()) {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), reader.join().unwrap());
        }
        std::thread::sleep(STEP);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{cmd:?} took more than {BUDGET:?}");
}

/// The Chromium binary, installed with apt if it is missing.
fn chromium() -> &'static str {
    let found = || {
        Command::new("chromium")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !found() {
        let mut apt = Command::new("apt-get");
        apt.args(["install", "-y", "chromium"]);
        if !run(apt).0 {
            let mut update = Command::new("apt-get");
            update.arg("update");
            run(update);
            let mut apt = Command::new("apt-get");
            apt.args(["install", "-y", "chromium"]);
            run(apt);
        }
        assert!(
            found(),
            "no chromium and it could not be installed: run `{INSTALL}` as root"
        );
    }
    "chromium"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_failing_check_with_its_message_and_a_cell_per_run() {
    let browser = tokio::task::spawn_blocking(chromium).await.unwrap();
    let health = Health::builder()
        .check(
            "db",
            Scripted::dependency([Step::fail("connection refused by 10.0.0.5:5432")]),
            [Probe::Readiness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap();
    for _ in 0..5 {
        within(10, health.evaluate(Probe::Readiness, &Select::All)).await;
    }
    let served = Served::start(
        ProbeService::builder()
            .dialect(Kubernetes::new(health))
            .build(),
    )
    .await;
    let url = format!("http://{}/statusz", served.addr);
    let profile = std::env::temp_dir().join(format!("probe-chromium-{}", std::process::id()));
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(["--dump-dom", &url]);
    let (ok, dom) = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(ok, "chromium failed on {url}");
    let row = dom
        .split("<tr id=\"check-db\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row for db in the DOM:\n{dom}"));
    assert!(
        row.contains("<span class=\"status fail\">fail</span>"),
        "{row}"
    );
    assert!(row.contains("connection refused by 10.0.0.5:5432"), "{row}");
    assert_eq!(row.matches("class=\"cell fail\"").count(), 5, "{row}");
    assert!(dom.contains(
        "<tr id=\"probe-readiness\"><td>readiness</td><td><span class=\"status fail\">fail</span>"
    ));
}
