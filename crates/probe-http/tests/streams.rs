//! Kafka Streams clients behind the kubernetes dialect, with no socket and a paused clock:
//! what `/livez` and `/readyz` answer through a rebalance that is debounced, one that
//! lasts too long to be debounced, and one that is stuck; several clients in one process.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use probe_core::evaluators::streams::{State, StreamsClients, StreamsRules};
use probe_core::{Health, Policy};
use probe_http::{ClientAddr, Kubernetes, ProbeService};

async fn get(svc: &ProbeService, uri: &str) -> (u16, String) {
    let mut req = Request::builder()
        .uri(uri)
        .body(Empty::<Bytes>::new())
        .unwrap();
    req.extensions_mut()
        .insert(ClientAddr("127.0.0.1:40000".parse().unwrap()));
    let resp = tokio::time::timeout(Duration::from_secs(5), svc.respond(req))
        .await
        .expect("answer in time");
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status.as_u16(), String::from_utf8_lossy(&body).into_owned())
}

fn service(clients: &StreamsClients) -> ProbeService {
    let health = clients
        .register(Health::builder(), Policy::default())
        .unwrap()
        .build()
        .unwrap();
    ProbeService::builder()
        .dialect(Kubernetes::new(health))
        .build()
}

const DEBOUNCE: Duration = Duration::from_secs(30);
const STUCK: Duration = Duration::from_secs(300);

fn rules(stuck_liveness: bool) -> StreamsRules {
    StreamsRules::default()
        .debounce(State::Rebalancing, DEBOUNCE)
        .stuck_after(Some(STUCK))
        .stuck_liveness(stuck_liveness)
}

/// One row of the timeline: what happened, when, and the answers.
struct Row {
    at: Duration,
    what: &'static str,
    livez: u16,
    readyz: u16,
}

#[tokio::test(start_paused = true)]
async fn a_debounced_rebalance_stays_ready_and_a_stuck_one_fails_both_probes() {
    let mut clients = StreamsClients::new();
    let app = clients.add("app", rules(true)).unwrap();
    let svc = service(&clients);
    let start = tokio::time::Instant::now();
    let mut rows = Vec::new();
    // (what happens, transition, how long after it the probes are asked, expected codes)
    let script: [(&str, Option<State>, Duration, u16, u16); 13] = [
        ("CREATED", None, Duration::ZERO, 200, 503),
        (
            "-> REBALANCING",
            Some(State::Rebalancing),
            Duration::from_secs(1),
            200,
            503,
        ),
        (
            "REBALANCING 30 s, counts",
            None,
            Duration::from_secs(29),
            200,
            503,
        ),
        (
            "-> RUNNING",
            Some(State::Running),
            Duration::from_secs(5),
            200,
            200,
        ),
        (
            "-> REBALANCING",
            Some(State::Rebalancing),
            Duration::from_secs(1),
            200,
            200,
        ),
        ("REBALANCING 29 s", None, Duration::from_secs(28), 200, 200),
        ("REBALANCING 30 s", None, Duration::from_secs(1), 200, 503),
        ("REBALANCING 40 s", None, Duration::from_secs(10), 200, 503),
        (
            "-> RUNNING",
            Some(State::Running),
            Duration::from_secs(1),
            200,
            200,
        ),
        (
            "-> REBALANCING",
            Some(State::Rebalancing),
            Duration::from_secs(10),
            200,
            200,
        ),
        ("REBALANCING 30 s", None, Duration::from_secs(20), 200, 503),
        (
            "REBALANCING 4 min 59 s",
            None,
            Duration::from_secs(269),
            200,
            503,
        ),
        (
            "REBALANCING 5 min: stuck",
            None,
            Duration::from_secs(1),
            503,
            503,
        ),
    ];
    for (what, to, wait, live, ready) in script {
        if let Some(to) = to {
            app.transition(to).unwrap();
        }
        tokio::time::advance(wait).await;
        let (livez, _) = get(&svc, "/livez").await;
        let (readyz, body) = get(&svc, "/readyz?verbose").await;
        rows.push(Row {
            at: start.elapsed(),
            what,
            livez,
            readyz,
        });
        assert_eq!(
            (livez, readyz),
            (live, ready),
            "{what} at {:?}: {body}",
            start.elapsed()
        );
    }
    println!("| t | step | /livez | /readyz |\n|---|---|---|---|");
    for r in &rows {
        println!(
            "| {}s | {} | {} | {} |",
            r.at.as_secs(),
            r.what,
            r.livez,
            r.readyz
        );
    }
    let (_, body) = get(&svc, "/readyz?verbose").await;
    assert!(
        body.contains("[-]app:ready failed: kafka streams stuck in REBALANCING since ")
            && body.contains("(5m, limit 5m)"),
        "{body}"
    );
    let (_, live) = get(&svc, "/livez?verbose").await;
    assert!(
        live.contains("[-]app failed: kafka streams stuck in REBALANCING since "),
        "{live}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_stuck_liveness_a_stuck_rebalance_fails_readiness_only() {
    let mut clients = StreamsClients::new();
    let app = clients.add("app", rules(false)).unwrap();
    let svc = service(&clients);
    for s in [State::Rebalancing, State::Running, State::Rebalancing] {
        app.transition(s).unwrap();
    }
    tokio::time::advance(STUCK - Duration::from_secs(1)).await;
    assert_eq!(get(&svc, "/readyz").await.0, 503);
    tokio::time::advance(Duration::from_secs(1)).await;
    let (live, body) = get(&svc, "/livez?verbose").await;
    assert_eq!(live, 200, "{body}");
    assert!(body.contains("stuck_liveness is off"), "{body}");
    let (ready, body) = get(&svc, "/readyz?verbose").await;
    assert_eq!(ready, 503);
    assert!(body.contains("stuck in REBALANCING since"), "{body}");
    // PENDING_SHUTDOWN is judged the same way.
    app.transition(State::PendingShutdown).unwrap();
    tokio::time::advance(STUCK).await;
    let (_, body) = get(&svc, "/readyz?verbose").await;
    assert!(body.contains("stuck in PENDING_SHUTDOWN since"), "{body}");
}

#[tokio::test(start_paused = true)]
async fn error_is_never_debounced() {
    let mut clients = StreamsClients::new();
    let rules = StreamsRules::default()
        .debounce(State::Rebalancing, DEBOUNCE)
        .debounce(State::PendingError, DEBOUNCE)
        .debounce(State::Error, DEBOUNCE);
    let app = clients.add("app", rules).unwrap();
    let svc = service(&clients);
    for s in [State::Rebalancing, State::Running] {
        app.transition(s).unwrap();
    }
    app.fail("the stream thread died").unwrap();
    let (live, body) = get(&svc, "/livez?verbose").await;
    assert_eq!(live, 503, "ERROR fails liveness at once: {body}");
    assert!(body.contains("the stream thread died"), "{body}");
}

#[tokio::test(start_paused = true)]
async fn several_clients_are_judged_each_and_aggregated() {
    let mut clients = StreamsClients::new();
    let orders = clients.add("orders", StreamsRules::default()).unwrap();
    let billing = clients.add("billing", StreamsRules::default()).unwrap();
    let audit = clients
        .add(
            "audit",
            StreamsRules::default().required_for_readiness(false),
        )
        .unwrap();
    let svc = service(&clients);
    for s in [State::Rebalancing, State::Running] {
        orders.transition(s).unwrap();
    }
    let (code, body) = get(&svc, "/readyz?verbose").await;
    assert_eq!(code, 503, "billing is not RUNNING: {body}");
    assert!(body.contains("[+]orders:ready ok"), "{body}");
    assert!(
        body.contains("[-]billing:ready failed: kafka streams CREATED"),
        "{body}"
    );
    for s in [State::Rebalancing, State::Running] {
        billing.transition(s).unwrap();
    }
    let (code, body) = get(&svc, "/readyz?verbose").await;
    assert_eq!(code, 200, "audit is not required: {body}");
    assert!(body.contains("not required for readiness"), "{body}");
    assert_eq!(get(&svc, "/readyz/billing:ready").await.0, 200);
    // Startup too: readiness waits for it. (Startup is a latch: it stays passed.)
    let (code, body) = get(&svc, "/startupz").await;
    assert_eq!(
        code, 200,
        "audit has not started, and is not required: {body}"
    );

    // One client in ERROR fails liveness; the others stay as they were.
    audit.fail("deserialization error").unwrap();
    let (code, body) = get(&svc, "/livez?verbose").await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("[+]orders ok") && body.contains("[+]billing ok"),
        "{body}"
    );
    assert!(
        body.contains("[-]audit failed: kafka streams ERROR"),
        "{body}"
    );
    assert_eq!(get(&svc, "/livez/orders").await.0, 200);
}

#[tokio::test(start_paused = true)]
async fn the_transition_log_is_in_the_details_and_bounded() {
    let mut clients = StreamsClients::new();
    let app = clients.add("app", StreamsRules::default()).unwrap();
    let svc = service(&clients);
    app.transition(State::Rebalancing).unwrap();
    for _ in 0..50 {
        tokio::time::advance(Duration::from_secs(1)).await;
        app.transition(State::Running).unwrap();
        app.transition(State::Rebalancing).unwrap();
    }
    tokio::time::advance(Duration::from_secs(2)).await;
    let mut req = Request::builder()
        .uri("/readyz?verbose")
        .header("accept", "application/health+json")
        .body(Empty::<Bytes>::new())
        .unwrap();
    req.extensions_mut()
        .insert(ClientAddr("127.0.0.1:40000".parse().unwrap()));
    let resp = svc.respond(req).await;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let text = doc.to_string();
    let log = find_transitions(&doc).unwrap_or_else(|| panic!("no transitions in {text}"));
    assert_eq!(log.len(), probe_core::evaluators::streams::TRANSITION_LOG);
    let last = log.last().unwrap();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("RUNNING"), Some("REBALANCING"))
    );
    assert_eq!(last["ago_ms"], 2000);
    assert!(last["at"].as_str().unwrap().ends_with('Z'), "{last}");
}

fn find_transitions(v: &serde_json::Value) -> Option<Vec<serde_json::Value>> {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Array(a)) = m.get("transitions") {
                return Some(a.clone());
            }
            m.values().find_map(find_transitions)
        }
        serde_json::Value::Array(a) => a.iter().find_map(find_transitions),
        _ => None,
    }
}
