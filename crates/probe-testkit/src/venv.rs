//! Python tools the tests drive, installed from PyPI on first use by a script of
//! `scripts/` (`SCRIPT install`), into a virtualenv the script places. A tool that cannot
//! be installed fails the test, with the script's explanation and the command to run.

use std::process::{Command, Stdio};
use std::time::Duration;

const INSTALL_BUDGET: Duration = Duration::from_secs(600);
const STEP: Duration = Duration::from_millis(100);

/// Runs `script install`, bounded; a failure fails the test, naming `what` could not be
/// installed and how to retry.
pub async fn install(script: &str, what: &str) {
    let mut child = Command::new(script)
        .arg("install")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    for _ in 0..(INSTALL_BUDGET.as_millis() / STEP.as_millis()) {
        if let Some(status) = child.try_wait().unwrap() {
            if status.success() {
                return;
            }
            let mut why = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut why);
            }
            panic!(
                "{what} is not installed and could not be installed ({status}): {why}\n\
                 fix it, then run: {script} install"
            );
        }
        tokio::time::sleep(STEP).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("installing {what} took more than {INSTALL_BUDGET:?}; run {script} install by hand");
}
