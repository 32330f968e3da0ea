//! A client that is not on loopback, in a network namespace of the test's own joined by a
//! veth pair: under the default details policy (`local`), no dialect tells it a check's
//! message, a URL, an address or a secret.

use std::process::Command;
use std::time::Duration;

use super::attack::{kubelet_get, Probe};

/// A network namespace and a veth pair to it: host side `10.213.<n>.1/30`, namespace side
/// `10.213.<n>.2/30`. Removed when dropped.
struct Namespace {
    name: String,
    host_ip: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("run `ip` ({e}): the remote-client case needs iproute2 (apt-get install iproute2) and root")
    });
    assert!(
        out.status.success(),
        "ip {}: {} (the remote-client case needs root)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Namespace {
    fn create() -> Namespace {
        let id = std::process::id() % 250;
        let name = format!("probe-res-{}", std::process::id());
        let (host, peer) = (format!("prh{id}"), format!("prn{id}"));
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        let _ = Command::new("ip").args(["link", "del", &host]).status();
        ip(&["netns", "add", &name]);
        let ns = Namespace {
            name: name.clone(),
            host_ip: format!("10.213.{id}.1"),
        };
        ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &peer, "netns", &name]);
        ip(&["addr", "add", &format!("10.213.{id}.1/30"), "dev", &host]);
        ip(&["link", "set", &host, "up"]);
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("10.213.{id}.2/30"),
            "dev",
            &peer,
        ]);
        ip(&["netns", "exec", &name, "ip", "link", "set", &peer, "up"]);
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        ns
    }

    /// `GET url` from inside the namespace: the whole answer, head and body.
    fn get(&self, url: &str) -> String {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "curl",
                "-s",
                "-i",
                "--max-time",
                "5",
                url,
            ])
            .output()
            .expect("run curl in the namespace (apt-get install curl)");
        assert!(
            out.status.success(),
            "curl {url} from the namespace: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_client_sees_no_message_url_or_secret_in_any_dialect() {
    let _alone = super::attack::one_at_a_time().await;
    let ns = Namespace::create();
    let config = r#"
[server]
listen = "0.0.0.0:{port}"
dialects = ["kubernetes", "kpow", "open-klant", "connect"]

[[check]]
name = "connect"
type = "kafka-connect"
url = "http://admin:remote-pw-1@127.0.0.1:1"
probes = ["readiness"]

[[check]]
name = "database"
type = "postgres-query"
url = "postgres://app:remote-pw-2@127.0.0.1:1/app"
probes = ["readiness", "startup"]

[[check]]
name = "cache"
type = "redis"
url = "redis://:remote-pw-3@127.0.0.1:1/0"
probes = ["readiness"]
"#;
    let probe = Probe::serve(config).await;
    // Loopback clients are told why: the answers below do have something to withhold.
    let (got, local) = kubelet_get(probe.addr, "/readyz?verbose", Duration::from_secs(5)).await;
    assert_eq!(got.status, 503, "{local}");
    assert!(
        local.contains("127.0.0.1:1"),
        "a loopback client sees the reason: {local}"
    );
    let base = format!("http://{}:{}", ns.host_ip, probe.addr.port());
    let basic = probe_core::text::base64(b"admin:remote-pw-1");
    let secrets = ["remote-pw-1", "remote-pw-2", "remote-pw-3", basic.as_str()];
    let details = [
        "127.0.0.1:1",
        "connection refused",
        "http://",
        "postgres://",
        "redis://",
    ];
    let mut asked = 0;
    for path in [
        "/livez?verbose",
        "/readyz?verbose",
        "/readyz/cache?verbose",
        "/readyz?verbose&format=json",
        "/startupz?verbose",
        "/healthy",
        "/up",
        "/_healthz/",
        "/_healthz/readyz/?format=json",
        "/_healthz/?format=text",
        // The connect dialect: the peer's documents, the reason withheld.
        "/",
        "/ping",
    ] {
        let answer = ns.get(&format!("{base}{path}"));
        assert!(answer.starts_with("HTTP/1.1 "), "{path}: {answer}");
        for s in secrets.iter().chain(&details) {
            assert!(
                !answer.contains(s),
                "{path} from a remote client shows {s:?}:\n{answer}"
            );
        }
        asked += 1;
    }
    eprintln!("remote: {asked} answers to a client on a veth in namespace {}, none with a message, URL or secret", ns.name);
}
