//! `probe serve` with `[server] metrics = true`: `/metrics` (also under the path prefix),
//! and nothing there when the key is left out.

mod support;

use support::{command as probe, free_port as closed_port, get, write_config, Running};

fn serve(server_keys: &str) -> (Running, u16) {
    let closed = closed_port();
    let config = write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{server_keys}\n\n[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\nprobes = [\"readiness\"]\ntimeout = \"300ms\"\n"
    ));
    let mut cmd = probe();
    cmd.arg("serve").arg("--config").arg(&config);
    (Running::start(cmd), closed)
}

#[test]
fn metrics_true_serves_the_failing_check_one_hot_under_the_prefix() {
    let (p, _) = serve("metrics = true\npath_prefix = \"/health\"");
    assert_eq!(get(p.addr, "/health/readyz").0, 503);
    let (status, body) = get(p.addr, "/health/metrics");
    assert_eq!(status, 200);
    for line in [
        "probe_check_status{check=\"db\",state=\"fail\"} 1",
        "probe_check_status{check=\"db\",state=\"pass\"} 0",
        "probe_checks_total{check=\"db\",result=\"fail\"} 1",
        "probe_status{probe=\"readiness\",state=\"fail\"} 1",
        "probe_evaluations_total{probe=\"readiness\",result=\"fail\"} 1",
    ] {
        assert!(body.lines().any(|l| l == line), "no `{line}` in:\n{body}");
    }
}

#[test]
fn without_the_key_there_is_no_metrics_route() {
    let (p, _) = serve("");
    assert_eq!(get(p.addr, "/metrics").0, 404);
    assert_eq!(get(p.addr, "/readyz").0, 503);
}

#[test]
fn clients_outside_metrics_clients_are_refused() {
    let (p, _) = serve("metrics = true\nmetrics_clients = [\"10.0.0.0/8\"]");
    assert_eq!(get(p.addr, "/metrics").0, 403);
    assert_eq!(get(p.addr, "/livez").0, 200, "the probes stay open");
}
