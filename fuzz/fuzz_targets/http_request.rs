//! A request from anyone on the network: its method, path, query string and `Accept`
//! header through every dialect (kubernetes, kpow, open-klant). The service never
//! panics, and answers with a status it is documented to give.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use probe_core::{from_fn, Health, Outcome, Policy, Probe, Scope};
use probe_http::{Kpow, Kubernetes, OpenKlant, ProbeService, Query};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn service() -> &'static ProbeService {
    static SVC: OnceLock<ProbeService> = OnceLock::new();
    SVC.get_or_init(|| {
        let _guard = runtime().enter();
        let health = Health::builder()
            .check("database", from_fn(Scope::Dependency, || async { Outcome::fail("down") }),
                [Probe::Readiness], Policy::default())
            .unwrap()
            .check("loop", from_fn(Scope::Local, || async { Outcome::pass() }),
                [Probe::Liveness, Probe::Readiness, Probe::Startup], Policy::default())
            .unwrap()
            .build()
            .unwrap();
        ProbeService::builder()
            .dialect(Kubernetes::new(health.clone()))
            .dialect(Kpow::new(health.clone()))
            .dialect(OpenKlant::new(health))
            .build()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&method, rest)) = data.split_first() else { return };
    let (target, accept) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else { return };
    if let Some((_, query)) = target.split_once('?') {
        let q = Query(query);
        for (k, v) in q.pairs() {
            assert!(q.has(&k));
            let _ = v.len();
        }
    }
    let method = match method % 4 {
        0 => http::Method::GET,
        1 => http::Method::HEAD,
        2 => http::Method::POST,
        _ => http::Method::OPTIONS,
    };
    let mut req = http::Request::builder().method(method).uri(target);
    if let Ok(accept) = http::HeaderValue::from_bytes(accept) {
        req = req.header(http::header::ACCEPT, accept);
    }
    let Ok(req) = req.body(()) else { return };
    let resp = runtime().block_on(service().respond(req));
    assert!(
        matches!(resp.status().as_u16(), 200 | 301 | 400 | 404 | 405 | 406 | 500 | 503),
        "unexpected status {}",
        resp.status()
    );
});
