//! `probe lint` as a user runs it: the built binary on the project's own manifests and
//! chart, on manifests written the way widely used charts write them, and on one that
//! breaks each rule once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/lint")
        .join(name)
        .display()
        .to_string()
}

fn lint(args: &[&str]) -> (Option<i32>, String, String) {
    lint_stdin(args, None)
}

fn lint_stdin(args: &[&str], stdin: Option<&str>) -> (Option<i32>, String, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_probe"))
        .arg("lint")
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run probe lint");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("probe lint ends");
    (
        status.code(),
        String::from_utf8(stdout).expect("utf-8"),
        String::from_utf8(stderr).expect("utf-8"),
    )
}

#[test]
fn the_projects_own_manifests_are_clean() {
    let mut manifests: Vec<String> = std::fs::read_dir(root().join("deploy"))
        .expect("deploy/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 4, "{manifests:?}");
    for m in &manifests {
        let (code, out, err) = lint(&[m]);
        assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "", ""), "{m}");
    }
    let (code, out, err) = lint(&["--dockerfile", "Containerfile"]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "", ""));
}

#[test]
fn manifests_written_like_widely_used_charts_are_read_and_clean() {
    let (code, out, err) = lint(&[
        "--config",
        &data("charts-style.toml"),
        &data("charts-style.yaml"),
    ]);
    assert_eq!((code, out.as_str(), err.as_str()), (Some(0), "", ""));
    // Without the configuration the sidecar's probes cannot be judged: a warning, exit 0.
    let (code, out, _) = lint(&[&data("charts-style.yaml")]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("warning[config-unknown] StatefulSet/release-app container probe args:"),
        "{out}"
    );
    assert!(out.contains("/etc/probe/probe.toml"), "{out}");
}

#[test]
fn each_rule_fires_once_on_the_wrong_manifest() {
    let configs = ["deps.toml", "optin.toml", "cached.toml", "grpc.toml"].map(data);
    let mut args = Vec::new();
    for c in &configs {
        args.extend(["--config", c.as_str()]);
    }
    let wrong_docker = data("wrong.Containerfile");
    let wrong = data("wrong.yaml");
    args.extend(["--dockerfile", wrong_docker.as_str(), wrong.as_str()]);
    let (code, out, err) = lint(&args);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(err, "");
    let ids = [
        (
            "timeout-below-deadline",
            "Deployment/timeout container probe readinessProbe",
        ),
        (
            "liveness-on-dependency",
            "Deployment/liveness-dep container probe livenessProbe",
        ),
        (
            "shared-endpoint",
            "Deployment/shared container probe livenessProbe",
        ),
        (
            "startup-missing",
            "Deployment/slow-start container app livenessProbe",
        ),
        (
            "startup-budget",
            "Deployment/kpow-budget container kpow startupProbe",
        ),
        (
            "reuse-over-decision",
            "Deployment/reuse container probe livenessProbe",
        ),
        (
            "period-under-reuse",
            "Deployment/period container probe livenessProbe",
        ),
        (
            "port-not-served",
            "Deployment/port container probe livenessProbe",
        ),
        (
            "path-not-served",
            "Deployment/path container probe readinessProbe",
        ),
        (
            "grpc-unknown-service",
            "Deployment/grpc-service container probe readinessProbe",
        ),
        (
            "grpc-named-port",
            "Deployment/grpc-port container probe livenessProbe",
        ),
        (
            "success-threshold",
            "Deployment/success container probe livenessProbe",
        ),
        ("dockerfile-timeout", "Dockerfile container - HEALTHCHECK"),
        (
            "config-invalid",
            "Deployment/kpow-invalid container kpow args",
        ),
        ("config-unknown", "Deployment/unknown container probe args"),
    ];
    assert_eq!(out.lines().count(), ids.len(), "{out}");
    for (id, place) in ids {
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(&format!("[{id}]")))
            .collect();
        assert_eq!(lines.len(), 1, "{id}: {out}");
        assert!(lines[0].contains(place), "{id}: {}", lines[0]);
        assert!(lines[0].contains("; fix: "), "{}", lines[0]);
    }
    let line = |id: &str| {
        out.lines()
            .find(|l| l.contains(&format!("[{id}]")))
            .unwrap()
            .to_owned()
    };
    assert!(
        line("timeout-below-deadline")
            .contains("timeoutSeconds 1 is shorter than /readyz's evaluation deadline 2.1s"),
        "{out}"
    );
    assert!(
        line("timeout-below-deadline").contains("set timeoutSeconds: 3"),
        "{out}"
    );
    assert!(line("liveness-on-dependency").contains("(db)"), "{out}");
    assert!(line("startup-budget").contains("48s"), "{out}");
    assert!(
        line("startup-budget").contains("raise failureThreshold to 24"),
        "{out}"
    );
    assert!(line("config-invalid").contains("BOOTSTRAP"), "{out}");
    assert!(line("path-not-served").contains("/healthz"), "{out}");
    assert!(line("dockerfile-timeout").contains("--timeout=1s"), "{out}");
    // Each finding names its file and line.
    assert!(
        line("success-threshold").starts_with(&format!("{wrong}:")),
        "{out}"
    );
}

#[test]
fn json_has_the_same_findings() {
    let wrong = data("wrong.yaml");
    let deps = data("deps.toml");
    let (code, out, _) = lint(&["--format", "json", "--config", &deps, &wrong]);
    assert_eq!(code, Some(1));
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let findings = doc["findings"].as_array().unwrap();
    let (text_code, text, _) = lint(&["--config", &deps, &wrong]);
    assert_eq!(text_code, Some(1));
    assert_eq!(findings.len(), text.lines().count());
    let f = findings
        .iter()
        .find(|f| f["rule"] == "timeout-below-deadline")
        .unwrap();
    assert_eq!(f["severity"], "error");
    assert_eq!(f["object"], "Deployment/timeout");
    assert_eq!(f["container"], "probe");
    assert_eq!(f["probe"], "readinessProbe");
    assert_eq!(f["document"], 1);
    assert!(f["fix"].as_str().unwrap().contains("timeoutSeconds: 3"));
    assert_eq!(
        doc["errors"].as_u64().unwrap() + doc["warnings"].as_u64().unwrap(),
        findings.len() as u64
    );
}

#[test]
fn exec_probes_are_held_to_their_own_limit_and_the_endpoint_they_ask() {
    let deps = data("deps.toml");
    let yaml = r#"
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: probe
    image: probe:dev
    args: ["serve", "--config", "/etc/probe/deps.toml"]
  - name: app
    image: app:1
    readinessProbe:
      exec: {command: ["/usr/local/bin/probe", "check", "http://localhost:8080/readyz", "--timeout", "1"]}
      timeoutSeconds: 1
    livenessProbe:
      exec: {command: ["probe", "worker-check", "--ping-timeout", "3", "--worker-name", "w@h"]}
      timeoutSeconds: 4
"#;
    let (code, out, _) = lint_stdin(&["--config", &deps, "-"], Some(yaml));
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("timeoutSeconds 1 is shorter than probe check --timeout 1 may take"),
        "{out}"
    );
    assert!(lines[0].contains("set timeoutSeconds: 2"), "{out}");
    assert!(
        lines[1].contains("probe check --timeout 1 gives up before /readyz answers"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("Pod/p container app readinessProbe")),
        "{out}"
    );
}

#[test]
fn unreadable_or_malformed_input_is_64_naming_file_document_and_path() {
    let (code, _, err) = lint(&["/nonexistent/m.yaml"]);
    assert_eq!(code, Some(64));
    assert!(
        err.starts_with("probe lint: /nonexistent/m.yaml: cannot read"),
        "{err}"
    );
    let (code, _, err) = lint_stdin(&["-"], Some("kind: Pod\n---\na: [\n"));
    assert_eq!(code, Some(64));
    assert!(err.starts_with("probe lint: -: document 2, line "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = lint_stdin(
        &["-"],
        Some("kind: Pod\nspec:\n  containers:\n  - name: a\n    readinessProbe: {timeoutSeconds: five}\n"),
    );
    assert_eq!(code, Some(64));
    assert_eq!(
        err,
        "probe lint: -: document 1, line 5: spec.containers[0].readinessProbe.timeoutSeconds: expected a whole number, found \"five\"\n"
    );
    let bad = std::env::temp_dir().join(format!("probe-lint-bad-{}.toml", std::process::id()));
    std::fs::write(&bad, "[server]\ncolour = \"red\"\n").unwrap();
    let (code, _, err) = lint(&["--config", &bad.display().to_string(), "deploy/kpow.yaml"]);
    std::fs::remove_file(&bad).ok();
    assert_eq!(code, Some(64));
    assert!(err.contains("colour"), "{err}");
    // No manifest at all is a usage error, as clap reports it.
    let (code, _, _) = lint(&[]);
    assert_eq!(code, Some(2));
}
