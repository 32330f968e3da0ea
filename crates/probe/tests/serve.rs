//! `probe serve` as a process: the embedded default, a configuration, bad configurations,
//! an address in use, and the drain on SIGTERM (`server.drain`, `--drain`, `PROBE_DRAIN`).

mod support;

use std::time::Duration;

use support::{command as probe, free_port as closed_port, get, run, write_config, Running, Serve};

/// Generous enough for a loaded machine, far below the drains that must not run.
const AT_ONCE: Duration = Duration::from_secs(3);

#[test]
fn with_no_configuration_all_three_probes_pass_and_one_line_says_where() {
    let mut cmd = probe();
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let p = Running::start(cmd);
    for path in ["/livez", "/readyz", "/startupz"] {
        assert_eq!(get(p.addr, path), (200, "ok".to_owned()), "{path}");
    }
    assert_eq!(get(p.addr, "/readyz?verbose").1, "readyz check passed\n");
    assert_eq!(get(p.addr, "/nope").0, 404);
    assert_eq!(p.first_lines.len(), 1, "{:?}", p.first_lines);
    assert!(p.first_lines[0].contains(&format!("listening on http://{}", p.addr)));
}

#[test]
fn a_configuration_file_from_the_flag_or_the_environment() {
    let closed = closed_port();
    let config = write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\nprobes = [\"readiness\"]\ntimeout = \"300ms\"\n"
    ));
    let mut by_flag = probe();
    by_flag.arg("serve").arg("--config").arg(&config);
    let mut by_env = probe();
    by_env.arg("serve").env("PROBE_CONFIG", &config);
    for cmd in [by_flag, by_env] {
        let p = Running::start(cmd);
        let (status, body) = get(p.addr, "/readyz?verbose");
        assert_eq!(status, 503);
        assert_eq!(body, format!("[-]db failed: cannot connect to 127.0.0.1:{closed}: connection refused\nreadyz check failed\n"));
        assert_eq!(
            get(p.addr, "/livez").0,
            200,
            "a dependency never fails liveness"
        );
    }
}

#[test]
fn the_listen_flag_and_variable_override_the_file() {
    let config = write_config("[server]\nlisten = \"127.0.0.1:1\"\n");
    let mut cmd = probe();
    cmd.arg("serve")
        .arg("--config")
        .arg(&config)
        .env("PROBE_LISTEN", "127.0.0.1:0");
    let p = Running::start(cmd);
    assert_eq!(get(p.addr, "/livez").0, 200);
}

#[test]
fn bad_configurations_exit_64_with_one_line_naming_the_problem() {
    let cases: &[(&str, &str, &str)] = &[
        ("unknown key", "[server]\nlistne = \"x\"\n", "server.listne: unknown key"),
        ("bad duration", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\ntimeout = \"fast\"\n", "check[0] \"a\".timeout: invalid duration \"fast\""),
        ("unknown type", "[[check]]\nname = \"a\"\ntype = \"carrier-pigeon\"\n", "unknown check type `carrier-pigeon`"),
        ("dependency in liveness", "[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"h:1\"\nprobes = [\"liveness\"]\n", "check[0] \"db\".probes: a `tcp` check looks at a dependency and cannot be in liveness"),
        ("missing key", "[[check]]\nname = \"a\"\ntype = \"tcp\"\n", "check[0] \"a\".address: missing (required)"),
        ("unknown probe", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\nprobes = [\"ready\"]\n", "unknown probe `ready`"),
        ("zero threshold", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\nfailure_threshold = 0\n", "failure_threshold: must be at least 1"),
        ("duplicate name", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\n[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:2\"\n", "check[1] \"a\".name: used by an earlier check"),
        ("unknown dialect", "[server]\ndialects = [\"soap\"]\n", "unknown dialect `soap`"),
        ("bad name", "[[check]]\nname = \"db\\n[+]fake ok\"\ntype = \"tcp\"\naddress = \"h:1\"\n", "check[0] \"db\\n[+]fake ok\".name: check name `db\\n[+]fake ok` is not allowed"),
        ("reserved name", "[[check]]\nname = \"ready\"\ntype = \"tcp\"\naddress = \"h:1\"\n", "check name `ready` is not allowed"),
        ("bad listen", "[server]\nlisten = \"everywhere\"\n", "server.listen: invalid address"),
        ("bad details", "[server]\ndetails = \"some\"\n", "unknown details policy `some`"),
        ("syntax", "[server\n", "line 1, column"),
        ("wrong type", "[server]\ndrain = 5\n", "server.drain: expected a string, found integer"),
        ("http port 99999", "[[check]]\nname = \"web\"\ntype = \"http\"\nurl = \"http://127.0.0.1:99999/\"\n", "check[0] \"web\".url: invalid port \"99999\" (expected 1 to 65535) in URL http://127.0.0.1:99999/"),
        ("http port -1", "[[check]]\nname = \"web\"\ntype = \"http\"\nurl = \"http://127.0.0.1:-1/\"\n", "check[0] \"web\".url: invalid port \"-1\""),
        ("https port 65536", "[[check]]\nname = \"web\"\ntype = \"http\"\nurl = \"https://127.0.0.1:65536/\"\n", "check[0] \"web\".url: invalid port \"65536\""),
        ("connect port abc", "[[check]]\nname = \"kc\"\ntype = \"kafka-connect\"\nurl = \"http://127.0.0.1:abc\"\n", "check[0] \"kc\".url: "),
        ("tcp address empty", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"\"\n", "check[0] \"a\".address: empty"),
        ("tcp address no port", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"host\"\n", "check[0] \"a\".address: no port"),
        ("tcp address no host", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \":65536\"\n", "check[0] \"a\".address: no host"),
        ("tcp address bracket", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"[::1\"\n", "check[0] \"a\".address: an IPv6 address lacks its closing `]`"),
        ("CR LF in a URL", "[[check]]\nname = \"web\"\ntype = \"http\"\nurl = \"http://h:99999/\\r\\nX: y\"\n", "check[0] \"web\".url: "),
        ("timeout past u64 ms", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ntimeout = \"18446744073709551616ms\"\n", "check[0] \"a\".timeout: \"18446744073709551616ms\" is longer than the maximum of 24h"),
        ("timeout in hours", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ntimeout = \"99999999999999h\"\n", "check[0] \"a\".timeout: \"99999999999999h\" is longer than the maximum of 24h"),
        ("interval past 24h", "[[check]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ninterval = \"25h\"\n", "check[0] \"a\".interval: \"25h\" is longer than the maximum of 24h"),
        ("drain past 24h", "[server]\ndrain = \"99999999999999h\"\n", "server.drain: \"99999999999999h\" is longer than the maximum of 24h"),
        ("missing CA file", "[[check]]\nname = \"web\"\ntype = \"http\"\nurl = \"https://127.0.0.1:1/\"\nca_file = \"/nonexistent/ca.pem\"\n", "check[0] \"web\".ca_file: cannot read CA file /nonexistent/ca.pem: no such file or directory"),
    ];
    for (what, text, expected) in cases {
        let path = write_config(text);
        let mut cmd = probe();
        cmd.arg("serve").arg("--config").arg(&path);
        let out = run(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{what}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: one line, got {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{what}: names the file: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{what}: expected {expected:?} in {stderr}"
        );
    }
}

#[test]
fn a_dependency_in_liveness_serves_once_opted_in() {
    let closed = closed_port();
    let config = write_config(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[[check]]\nname = \"db\"\ntype = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\nprobes = [\"liveness\"]\nliveness_dependency = true\ntimeout = \"300ms\"\n"
    ));
    let mut cmd = probe();
    cmd.arg("serve").arg("--config").arg(&config);
    let p = Running::start(cmd);
    assert_eq!(
        get(p.addr, "/livez").0,
        503,
        "the dependency is in liveness"
    );
    assert_eq!(get(p.addr, "/readyz").0, 200);
}

#[test]
fn only_a_regular_file_of_at_most_1_mib_is_read_as_the_configuration() {
    let dir = write_config("").parent().unwrap().to_owned();
    let fifo = dir.join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let huge = dir.join("huge.toml");
    std::fs::write(&huge, format!("# {}\n", "x".repeat(1024 * 1024))).unwrap();
    let at_cap = dir.join("at-cap.toml");
    let mut text = "[server]\nlisten = \"127.0.0.1:0\"\n".to_owned();
    text.push('#');
    text.push_str(&"x".repeat(1024 * 1024 - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), 1024 * 1024);
    std::fs::write(&at_cap, &text).unwrap();
    for (what, path, expected) in [
        (
            "a device that never ends",
            "/dev/zero".into(),
            "not a regular file",
        ),
        ("a FIFO nobody writes", fifo, "not a regular file"),
        ("a directory", dir.clone(), "not a regular file"),
        ("a file over 1 MiB", huge, "larger than 1 MiB"),
    ] {
        let mut cmd = probe();
        cmd.arg("serve").arg("--config").arg(&path);
        let out = run(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{what}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("{}: {expected}", path.display())),
            "{what}: {stderr}"
        );
    }
    let mut cmd = probe();
    cmd.arg("serve").arg("--config").arg(&at_cap);
    let p = Running::start(cmd);
    assert_eq!(get(p.addr, "/livez").0, 200, "exactly 1 MiB is still read");
}

#[test]
fn bad_values_outside_the_file_exit_64_too() {
    let mut missing = probe();
    missing.args(["serve", "--config", "/nonexistent/probe.toml"]);
    let out = run(missing);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("/nonexistent/probe.toml: cannot read: no such file or directory"));

    let mut listen = probe();
    listen.args(["serve", "--listen", "nowhere"]);
    let out = run(listen);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen: invalid address \"nowhere\""));

    let mut level = probe();
    level.args(["serve", "--log-level", "loud"]);
    let out = run(level);
    assert_eq!(out.status.code(), Some(64));

    let mut usage = probe();
    usage.args(["serve", "--frobnicate"]);
    assert_eq!(
        run(usage).status.code(),
        Some(2),
        "malformed usage is clap's exit 2"
    );
}

#[test]
fn an_address_in_use_is_reported_before_anything_claims_to_listen() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = probe();
    cmd.args([
        "serve",
        "--listen",
        &taken.local_addr().unwrap().to_string(),
    ]);
    let out = run(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("address already in use"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[test]
fn sigterm_fails_readiness_keeps_liveness_and_exits_0_after_the_drain() {
    let config = write_config("[server]\nlisten = \"127.0.0.1:0\"\ndrain = \"1s\"\n");
    let mut cmd = probe();
    cmd.arg("serve").arg("--config").arg(&config);
    let mut p = Running::start(cmd);
    assert_eq!(get(p.addr, "/readyz").0, 200);
    p.terminate();
    // Readiness turns as soon as the signal is handled; poll briefly for it.
    let mut ready = 200;
    for _ in 0..50 {
        ready = get(p.addr, "/readyz").0;
        if ready == 503 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ready, 503, "readiness fails during the drain");
    assert_eq!(
        get(p.addr, "/readyz?verbose").1,
        "[-]shutdown failed: shutting down\nreadyz check failed\n"
    );
    assert_eq!(
        get(p.addr, "/livez").0,
        200,
        "liveness stays green during the drain"
    );
    let status = p
        .wait_exit(Duration::from_secs(5))
        .expect("exits after the drain");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_drain_sigterm_stops_it_at_once_with_status_0() {
    let mut p = Serve::listening(&["--drain", "0s"], &[]).await;
    p.terminate().await;
    assert_eq!(p.exit_within(AT_ONCE).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_drain_readiness_fails_liveness_holds_and_a_second_sigterm_ends_it() {
    let mut p = Serve::listening(&["--drain", "10s"], &[]).await;
    let addr = p.addr.to_string();
    assert_eq!(support::child::get(&addr, "/readyz").await.0, 200);
    p.terminate().await;
    let turned = async {
        while support::child::get(&addr, "/readyz").await.0 != 503 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), turned)
        .await
        .expect("/readyz turns 503 after SIGTERM");
    assert_eq!(support::child::get(&addr, "/livez").await.0, 200);
    assert!(p.is_running(), "still draining");
    p.terminate().await;
    assert_eq!(
        p.exit_within(AT_ONCE).await,
        Some(0),
        "the second SIGTERM ends the 10 s drain"
    );
}

/// `GET /livez` over a kept-alive connection: the answer's head, lower-case.
async fn livez_head(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nhost: x\r\n\r\n")
            .await?;
        let mut raw = Vec::new();
        let mut chunk = [0u8; 1024];
        while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("an answer within 5 s")
        .expect("an answer");
    String::from_utf8_lossy(&raw).to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_during_the_drain_tell_keep_alive_clients_to_reconnect() {
    let mut p = Serve::listening(&["--drain", "10s"], &[]).await;
    let head = livez_head(p.addr).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    p.terminate().await;
    let addr = p.addr.to_string();
    let turned = async {
        while support::child::get(&addr, "/readyz").await.0 != 503 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), turned)
        .await
        .expect("/readyz turns 503 after SIGTERM");
    let head = livez_head(p.addr).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    p.terminate().await;
    assert_eq!(p.exit_within(AT_ONCE).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_comes_from_the_flag_then_probe_drain_then_the_file() {
    let long_in_file = write_config("[server]\ndrain = \"1h\"\n");
    let file = long_in_file.to_string_lossy().into_owned();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 3] = [
        (&[], &[("PROBE_DRAIN", "0s")]),
        (&["--config", &file], &[("PROBE_DRAIN", "0s")]),
        (&["--drain", "0s"], &[("PROBE_DRAIN", "1h")]),
    ];
    for (args, env) in cases {
        let mut p = Serve::listening(args, env).await;
        p.terminate().await;
        assert_eq!(p.exit_within(AT_ONCE).await, Some(0), "{args:?} {env:?}");
    }
}

#[test]
fn a_bad_drain_exits_64_with_one_line_naming_the_flag_or_variable() {
    let cases: [(&[&str], Option<&str>, &str); 3] = [
        (
            &["--drain", "soon"],
            None,
            "--drain: invalid duration \"soon\"",
        ),
        (
            &["--drain", "-1s"],
            None,
            "--drain: invalid duration \"-1s\"",
        ),
        (&[], Some("10"), "PROBE_DRAIN: invalid duration \"10\""),
    ];
    for (args, var, expected) in cases {
        let mut cmd = probe();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        if let Some(v) = var {
            cmd.env("PROBE_DRAIN", v);
        }
        let out = run(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?} {var:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?} {var:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("probe: configuration error: {expected}")),
            "{args:?} {var:?}: {stderr}"
        );
    }
}

#[test]
fn help_and_version() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["check", "--help"],
        &["--version"],
    ] {
        let mut cmd = probe();
        cmd.args(args);
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}
