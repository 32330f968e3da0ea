//! `/statusz` in the kubernetes dialect: every check with its statuses, message, policy and
//! one timeline cell per run; escaped, self-contained, withheld from remote clients; the
//! same data as JSON. Asked with no socket, as an embedder calls the service.

use std::net::SocketAddr;
use std::time::Duration;

use http::Request;
use http_body_util::BodyExt;
use probe_core::testing::{Scripted, Step};
use probe_core::{Health, Policy, Probe, Select};
use probe_http::{ClientAddr, Kubernetes, ProbeService};

fn health() -> Health {
    let db = Scripted::dependency([
        Step::pass(),
        Step::fail("connection refused <by> 10.0.0.5 & \"friends\""),
    ]);
    Health::builder()
        .check(
            "db",
            db,
            [Probe::Readiness],
            Policy::default()
                .timeout(Duration::from_millis(800))
                .thresholds(2, 1),
        )
        .unwrap()
        .check(
            "loop",
            Scripted::local([Step::pass()]),
            [Probe::Liveness],
            Policy::default(),
        )
        .unwrap()
        .build()
        .unwrap()
}

async fn ask(service: &ProbeService, path: &str, from: &str) -> (http::response::Parts, String) {
    let mut req = Request::get(path).body(()).unwrap();
    req.extensions_mut()
        .insert(ClientAddr(from.parse::<SocketAddr>().unwrap()));
    let resp = tokio::time::timeout(Duration::from_secs(10), service.respond(req))
        .await
        .expect("an answer within 10 s");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts, String::from_utf8(body.to_vec()).unwrap())
}

async fn four_runs(h: &Health) {
    for _ in 0..4 {
        tokio::time::timeout(
            Duration::from_secs(10),
            h.evaluate(Probe::Readiness, &Select::All),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_page_shows_the_failing_check_its_message_escaped_and_one_cell_per_run() {
    let h = health();
    four_runs(&h).await;
    let service = ProbeService::builder()
        .path_prefix("/health")
        .dialect(Kubernetes::new(h.clone()))
        .build();
    let (parts, body) = ask(&service, "/health/statusz", "127.0.0.1:40000").await;
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers["content-type"], "text/html; charset=utf-8");
    let csp = parts.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'unsafe-inline'"),
        "{csp}"
    );
    assert!(body.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    assert!(!body.contains("<script"), "no scripts");
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "no external assets"
    );
    assert!(
        body.contains("connection refused &lt;by&gt; 10.0.0.5 &amp; &quot;friends&quot;"),
        "the message, escaped: {body}"
    );
    assert!(!body.contains("<by>"));
    let row = body
        .split("<tr id=\"check-db\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("a row for db");
    assert_eq!(
        row.matches("class=\"cell ").count(),
        4,
        "one cell per run: {row}"
    );
    assert_eq!(
        row.matches("class=\"cell pass\"").count(),
        2,
        "one failure is inside the threshold"
    );
    assert_eq!(row.matches("class=\"cell fail\"").count(), 2);
    assert!(row.contains("timeout 800ms"), "{row}");
    assert!(row.contains("thresholds 2 fail / 1 pass"), "{row}");
    assert!(row.contains("3 failure(s) in a row"), "{row}");
    let loop_row = body.split("<tr id=\"check-loop\"").nth(1).unwrap();
    assert!(loop_row.contains("no run yet"));
}

#[tokio::test]
async fn remote_clients_read_reason_withheld_and_json_carries_the_same_data() {
    let h = health();
    four_runs(&h).await;
    let service = ProbeService::builder()
        .dialect(Kubernetes::new(h.clone()))
        .build();
    let (_, remote) = ask(&service, "/statusz", "10.0.0.7:40000").await;
    assert!(!remote.contains("connection refused"), "{remote}");
    assert!(remote.contains("reason withheld"));

    let (parts, json) = ask(&service, "/statusz?format=json", "127.0.0.1:40000").await;
    assert_eq!(parts.headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let db = &v["checks"][0];
    assert_eq!(db["name"], "db");
    assert_eq!(db["status"], "fail");
    assert_eq!(db["raw"], "fail");
    assert_eq!(
        db["message"],
        "connection refused <by> 10.0.0.5 & \"friends\""
    );
    assert_eq!(db["policy"]["timeout_ms"], 800);
    assert_eq!(db["policy"]["failure_threshold"], 2);
    assert_eq!(db["runs"].as_array().unwrap().len(), 4);
    assert_eq!(db["runs"][3]["status"], "fail");
    assert!(db["age_ms"].as_u64().is_some());
    assert_eq!(db["consecutive_failures"], 3, "as of the last run");
    assert_eq!(v["probes"][1]["probe"], "readiness");
    assert_eq!(v["probes"][1]["status"], "fail");

    let (_, remote_json) = ask(&service, "/statusz?format=json", "10.0.0.7:40000").await;
    let v: serde_json::Value = serde_json::from_str(&remote_json).unwrap();
    assert_eq!(v["checks"][0]["message"], "reason withheld");
    assert_eq!(v["checks"][0]["runs"][3]["message"], "reason withheld");
}
