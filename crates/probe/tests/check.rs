//! `probe check URL`: exit 0 below 400, 1 otherwise, one line saying UP or DOWN and why.

mod support;

use probe_testkit::upstream::Upstream;
use support::{closed_port, probe};

async fn check(args: &[&str]) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_probe"));
    cmd.arg("check").args(args);
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), cmd.output())
        .await
        .expect("exits")
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn up_down_refused_and_hung() {
    let ok = Upstream::counting().await;
    let bad = Upstream::status(503).await;
    let hung = Upstream::hanging().await;
    assert_eq!(
        check(&[&ok.url("/")]).await,
        (0, "UP, response status code: 200\n".into(), String::new())
    );
    assert_eq!(
        check(&[&bad.url("/")]).await,
        (1, String::new(), "DOWN, response status code: 503\n".into())
    );
    let closed = format!("http://127.0.0.1:{}/", closed_port());
    let (code, _, err) = check(&[&closed]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "DOWN (cannot connect to {}: connection refused)\n",
            &closed[7..closed.len() - 1]
        )
    );
    let (code, _, err) = check(&[&hung.url("/"), "--timeout", "0.5"]).await;
    assert_eq!((code, err.as_str()), (1, "DOWN (timed out after 500ms)\n"));
}

#[tokio::test]
async fn a_partial_endpoint_is_completed() {
    let ok = Upstream::counting().await;
    let (code, out, _) = check(&["--endpoint", &format!("{}/x", ok.addr())]).await;
    assert_eq!((code, out.as_str()), (0, "UP, response status code: 200\n"));
    assert_eq!(ok.hits(), 1);
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    for bad in ["-1", "0", "soon", "NaN"] {
        let mut cmd = probe();
        cmd.args(["check", "http://127.0.0.1:1/", "--timeout", bad]);
        let out = support::run(cmd);
        assert_eq!(out.status.code(), Some(64), "--timeout {bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout"));
    }
}
