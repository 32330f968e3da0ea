//! The code of `docs/embedding.md` that is not in an example: following a probe's status,
//! and testing a service's probes on a paused clock. And the guide itself: each of its Rust
//! blocks is code that compiles here, in an example, or in probe-http's axum tests.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use probe_core::testing::{run_paused, Scripted, Step};
use probe_core::{Health, Policy, Probe, Status};
use probe_http::{Kubernetes, ProbeService};
use tokio::sync::mpsc;
use tokio::time::timeout;

use support::within;

#[tokio::test]
async fn a_subscriber_hears_each_change_of_readiness() {
    let health = Health::builder().build().unwrap();
    let (changes, mut heard) = mpsc::channel::<Status>(8);

    let mut readiness = health.subscribe(Probe::Readiness);
    tokio::spawn(async move {
        // Wakes once per change of the status, never for a run that left it as it was.
        while readiness.changed().await.is_ok() {
            let status = *readiness.borrow_and_update();
            if changes.send(status).await.is_err() {
                break;
            }
        }
    });

    health.readiness().set(false);
    assert_eq!(within(5, heard.recv()).await, Some(Status::Fail));
    health.readiness().set(true);
    assert_eq!(within(5, heard.recv()).await, Some(Status::Pass));
}

#[test]
fn readiness_follows_the_database() {
    run_paused(async {
        let db = Scripted::dependency([Step::fail("connection refused"), Step::pass()]);
        let health = Health::builder()
            .check("db", db, [Probe::Readiness], Policy::default())
            .unwrap()
            .build()
            .unwrap();
        let probes = ProbeService::builder()
            .dialect(Kubernetes::new(health))
            .build();
        let readyz = || probes.respond(http::Request::get("/readyz").body(()).unwrap());

        let first = timeout(Duration::from_secs(5), readyz()).await.unwrap();
        assert_eq!(first.status(), 503);
        let second = timeout(Duration::from_secs(5), readyz()).await.unwrap();
        assert_eq!(second.status(), 200);
    });
}

/// The files whose code the guide shows.
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("crates/probe-http/tests/axum.rs")];
    for dir in ["examples", "examples/tests"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The lines of `text`, each trimmed, the blank ones left out.
fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_rust_block_of_the_guide_is_compiled_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let guide = std::fs::read_to_string(root.join("docs/embedding.md")).unwrap();
    let sources: Vec<(PathBuf, String)> = sources(root)
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    let mut blocks = 0;
    for block in guide.split("```rust\n").skip(1) {
        let code = block.split("```").next().unwrap();
        let wanted = lines(code);
        let found = sources.iter().any(|(_, text)| {
            let have = lines(text);
            have.windows(wanted.len()).any(|w| w == wanted.as_slice())
        });
        assert!(
            found,
            "docs/embedding.md shows code found in no source:\n{code}"
        );
        blocks += 1;
    }
    assert!(blocks >= 8, "the guide has its code blocks ({blocks})");
}
