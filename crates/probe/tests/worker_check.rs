//! `probe worker-check` and `probe beat-check`: exit codes and messages in every state,
//! with heartbeat files, and with a real Celery worker on the shared Redis for the ping.

mod support;

use std::time::Duration;

use probe_testkit::celery::{CeleryWorker, REDIS};
use support::{free_port, probe, touch, Run, TempDir};

/// The Redis database of the worker these tests start (away from other tests' workers).
const DB: u32 = 11;

fn lines(r: &Run) -> (Vec<&str>, Vec<&str>) {
    (r.stdout.lines().collect(), r.stderr.lines().collect())
}

#[tokio::test]
async fn the_liveness_file_decides_exit_1() {
    let dir = TempDir::new("worker");
    let live = dir.arg("live");
    let r = probe(
        &["worker-check", "--liveness-file", &live, "--skip-ping"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        lines(&r).1,
        [format!("File '{live}' does not exist or is not a file.")]
    );
    touch(&dir.join("live"), Duration::from_secs(1));
    let r = probe(
        &["worker-check", "--liveness-file", &live, "--skip-ping"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "The event loop appears to be running.\n");
    // The default max-age is 70 s.
    touch(&dir.join("live"), Duration::from_secs(65));
    let r = probe(
        &["worker-check", "--liveness-file", &live, "--skip-ping"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(0), "{r:?}");
    touch(&dir.join("live"), Duration::from_secs(300));
    let args = [
        "worker-check",
        "--liveness-file",
        &live,
        "--max-age",
        "60",
        "--skip-ping",
    ];
    let r = probe(&args, &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    let msg = format!("File '{live}' is older than max-age. (last modified 30");
    assert!(r.stderr.starts_with(&msg), "{}", r.stderr);
    // Skipped, the file does not matter.
    let args = [
        "worker-check",
        "--liveness-file",
        &live,
        "--max-age",
        "60",
        "--skip-ping",
        "--skip-event-loop-liveness",
    ];
    let r = probe(&args, &[]).await;
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""));
}

#[tokio::test]
async fn readiness_is_opt_in_and_decides_exit_4() {
    let dir = TempDir::new("worker");
    let (live, ready) = (dir.arg("live"), dir.arg("ready"));
    touch(&dir.join("live"), Duration::ZERO);
    let base = [
        "worker-check",
        "--liveness-file",
        &live,
        "--skip-ping",
        "--readiness-file",
        &ready,
    ];
    // Skipped by default.
    let r = probe(&base, &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    let with = [&base[..], &["--no-skip-readiness"]].concat();
    let r = probe(&with, &[]).await;
    assert_eq!(r.code, Some(4), "{r:?}");
    assert_eq!(lines(&r).0, ["The event loop appears to be running."]);
    assert_eq!(
        lines(&r).1,
        [format!(
            "File '{ready}' does not exist - worker is not ready."
        )]
    );
    // The last of --no-skip-readiness / --skip-readiness wins.
    let r = probe(&[&with[..], &["--skip-readiness"]].concat(), &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    touch(&dir.join("ready"), Duration::from_secs(3600));
    let r = probe(&with, &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        lines(&r).0,
        [
            "The event loop appears to be running.",
            "The worker appears ready to process tasks."
        ]
    );
    // Liveness comes first: a missing liveness file is 1 even when not ready.
    std::fs::remove_file(dir.join("live")).unwrap();
    std::fs::remove_file(dir.join("ready")).unwrap();
    let r = probe(&with, &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
}

#[tokio::test]
async fn a_broker_that_cannot_be_reached_fails_the_ping_with_exit_2() {
    let broker = format!("redis://:secret@127.0.0.1:{}/0", free_port());
    let args = [
        "worker-check",
        "--skip-event-loop-liveness",
        "--broker",
        &broker,
        "--worker-name",
        "celery@w",
    ];
    let r = probe(&args, &[]).await;
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.starts_with("The ping of 'celery@w' failed: "),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret"), "{}", r.stderr);
}

#[tokio::test]
async fn bad_flag_values_exit_64_naming_the_flag() {
    for (flag, value) in [
        ("--max-age", "-1"),
        ("--ping-timeout", "0"),
        ("--broker", "amqp://guest@h//"),
    ] {
        let r = probe(&["worker-check", flag, value], &[]).await;
        assert_eq!(r.code, Some(64), "{flag} {value}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(&format!("{flag}: ")), "{}", r.stderr);
    }
    let r = probe(&["beat-check", "--max-age", "NaN"], &[]).await;
    assert_eq!(r.code, Some(64), "{r:?}");
    let r = probe(&["worker-check", "--max-age", "soon"], &[]).await;
    assert_eq!(r.code, Some(64), "a bad value is 64 like any other: {r:?}");
    assert!(r.stderr.contains("--max-age: "), "{}", r.stderr);
    let r = probe(&["worker-check", "--max-age"], &[]).await;
    assert_eq!(
        r.code,
        Some(2),
        "a flag without its value is clap's usage error: {r:?}"
    );
}

#[tokio::test]
async fn beat_check_reads_the_schedulers_liveness_file() {
    let dir = TempDir::new("beat");
    let file = dir.arg("beat");
    let r = probe(&["beat-check", "--file", &file], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("File '{file}' does not exist or is not a file.\n")
    );
    touch(&dir.join("beat"), Duration::from_secs(90));
    let r = probe(&["beat-check", "--file", &file], &[]).await;
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "Last scheduled task: 1.5m ago.\n")
    );
    let r = probe(&["beat-check", "--file", &file, "--max-age", "60"], &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r
        .stderr
        .starts_with(&format!("File '{file}' is older than max-age.")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_real_celery_worker() {
    let name = format!("probe-bin-{}@localhost", std::process::id());
    let broker = format!("redis://{REDIS}/{DB}");
    let mut worker = CeleryWorker::start(&name, &broker).await;
    let dir = TempDir::new("celery");
    let (live, ready) = (dir.arg("live"), dir.arg("ready"));
    touch(&dir.join("live"), Duration::ZERO);
    touch(&dir.join("ready"), Duration::ZERO);
    let all = |worker: &str| -> Vec<String> {
        [
            "worker-check",
            "--broker",
            &broker,
            "--worker-name",
            worker,
            "--liveness-file",
            &live,
            "--readiness-file",
            &ready,
            "--no-skip-readiness",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |args: Vec<String>, env: Vec<(&'static str, String)>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        probe(&args, &env).await
    };

    // Everything healthy: 0, one line per step.
    let r = run(all(&name), vec![]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        lines(&r).0,
        [
            "The event loop appears to be running.".to_owned(),
            format!("{name}: PONG."),
            "The worker appears ready to process tasks.".to_owned(),
        ]
    );
    // The name from CELERY_WORKER_NAME when the flag is absent.
    let mut args = all(&name);
    args.drain(3..5);
    let r = run(args, vec![("CELERY_WORKER_NAME", name.clone())]).await;
    assert_eq!(r.code, Some(0), "{r:?}");

    // Another name: the worker does not answer.
    let r = run(all("nobody@nowhere"), vec![]).await;
    assert_eq!(r.code, Some(2), "{r:?}");
    assert_eq!(
        lines(&r).1,
        ["No reply to ping from 'nobody@nowhere' after 3s."]
    );

    // No worker on that database at all: 2 at once, saying so.
    let empty = format!("redis://{REDIS}/{}", DB + 1);
    let mut args = all(&name);
    args[2] = empty.clone();
    let r = run(args, vec![]).await;
    assert_eq!(r.code, Some(2), "{r:?}");
    let msg = format!(
        "No reply to ping from '{name}': no worker listens on {}.\n",
        &empty
    );
    assert_eq!(r.stderr, msg);
    assert!(r.took < Duration::from_secs(2), "took {:?}", r.took);

    // Liveness file missing: 1 before any ping.
    std::fs::remove_file(dir.join("live")).unwrap();
    let r = run(all(&name), vec![]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    touch(&dir.join("live"), Duration::ZERO);

    // Readiness file missing: the ping passes, then 4.
    std::fs::remove_file(dir.join("ready")).unwrap();
    let r = run(all(&name), vec![]).await;
    assert_eq!(r.code, Some(4), "{r:?}");
    assert_eq!(lines(&r).0[1], format!("{name}: PONG."));

    // The worker gone: its files may look fine, the ping does not.
    touch(&dir.join("ready"), Duration::ZERO);
    worker.kill();
    let r = run(all(&name), vec![]).await;
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("No reply to ping from '{name}'")),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn a_directory_is_not_a_liveness_or_readiness_file() {
    let dir = TempDir::new("worker-dirs");
    std::fs::create_dir(dir.join("live")).unwrap();
    std::fs::create_dir(dir.join("ready")).unwrap();
    let (live, ready) = (dir.arg("live"), dir.arg("ready"));
    // A fresh directory: its modification time must not make it a live event loop.
    let r = probe(
        &["worker-check", "--liveness-file", &live, "--skip-ping"],
        &[],
    )
    .await;
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        lines(&r).1,
        [format!("File '{live}' does not exist or is not a file.")]
    );
    let args = [
        "worker-check",
        "--skip-event-loop-liveness",
        "--skip-ping",
        "--no-skip-readiness",
        "--readiness-file",
        &ready,
    ];
    let r = probe(&args, &[]).await;
    assert_eq!(r.code, Some(4), "{r:?}");
    assert_eq!(
        lines(&r).1,
        [format!(
            "File '{ready}' does not exist - worker is not ready."
        )]
    );
}

#[tokio::test]
async fn ages_compare_in_whole_seconds_as_maykin_common_does() {
    let dir = TempDir::new("worker-seconds");
    let live = dir.arg("live");
    let args = [
        "worker-check",
        "--liveness-file",
        &live,
        "--max-age",
        "70",
        "--skip-ping",
    ];
    // 70.1 s old: `int(70.1) > 70` is false there, so it passes here too.
    touch(&dir.join("live"), Duration::from_millis(70_100));
    let r = probe(&args, &[]).await;
    assert_eq!(r.code, Some(0), "{r:?}");
    touch(&dir.join("live"), Duration::from_millis(71_500));
    let r = probe(&args, &[]).await;
    assert_eq!(r.code, Some(1), "{r:?}");
}
