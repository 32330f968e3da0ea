//! `probe serve` logs each change of a check's status once, in the JSON log format with
//! its fields; evaluations that change nothing log nothing.

mod support;

use std::time::Duration;

use support::{command as probe, free_port, get, write_config, Running};

#[test]
fn ten_failures_then_a_recovery_log_two_json_lines_with_their_fields() {
    let port = free_port();
    let config = write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"127.0.0.1:{port}\"\nprobes = [\"readiness\"]\ntimeout = \"300ms\"\n"
    ));
    let mut cmd = probe();
    cmd.args(["--log-format", "json", "serve", "--config"])
        .arg(&config);
    let p = Running::start(cmd);
    for _ in 0..10 {
        assert_eq!(get(p.addr, "/readyz").0, 503);
    }
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the upstream port");
    assert_eq!(get(p.addr, "/readyz").0, 200);
    assert_eq!(get(p.addr, "/readyz").0, 200);
    drop(listener);

    let mut lines = Vec::new();
    for _ in 0..100 {
        lines.extend(p.drain_log());
        if lines
            .iter()
            .filter(|l| l.contains("\"check\":\"db\""))
            .count()
            >= 2
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    p.terminate();
    let checks: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.contains("\"check\":\"db\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(checks.len(), 2, "{lines:#?}");
    assert_eq!(checks[0]["from"], "unknown");
    assert_eq!(checks[0]["to"], "fail");
    assert_eq!(checks[0]["level"], "WARN");
    let reason = checks[0]["reason"].as_str().unwrap();
    assert!(reason.contains("connection refused"), "{reason}");
    assert_eq!(checks[1]["from"], "fail");
    assert_eq!(checks[1]["to"], "pass");
    assert_eq!(checks[1]["level"], "INFO");
    assert!(checks[1]["duration_ms"].as_u64().is_some(), "{}", checks[1]);
    assert!(checks[1].get("reason").is_none(), "{}", checks[1]);
}
