//! `LOG_AND_EXIT` in a real process: the error is logged, with its cause, before the
//! process ends with status 1. This test binary runs itself as the child.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use probe_core::evaluators::error_strategy::ErrorStrategy;
use probe_core::evaluators::streams::StreamsState;

const CHILD: &str = "PROBE_TEST_LOG_AND_EXIT_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child();
    } else {
        parent();
    }
}

/// Enters ERROR under LOG_AND_EXIT with the default exit hook; never returns normally.
fn child() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let streams = StreamsState::new();
    ErrorStrategy::LogAndExit.attach(&streams);
    let _ = streams.fail("kafka cluster unreachable for 48s (test)");
    println!("the process is still running after ERROR");
    std::process::exit(0);
}

fn parent() {
    println!("running 1 test");
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child process");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the child did not exit within 20s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("read the child's output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "the child ran on after ERROR: {stdout}");
    let line = stderr
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("exiting with status 1"))
        .unwrap_or_else(|| panic!("no error line in the child's log: {stderr}"));
    assert!(line.contains("LOG_AND_EXIT"), "{line}");
    assert!(
        line.contains("kafka cluster unreachable for 48s (test)"),
        "{line}"
    );
    println!("test log_and_exit_ends_a_real_process_with_status_1_after_logging ... ok");
}
