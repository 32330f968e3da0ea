//! What an exec probe (or a Dockerfile `HEALTHCHECK`) running `probe` does: how long it
//! may take, and which local endpoint it asks.

use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::env::MapEnv;
use crate::{check_cmd, exec, worker_cmd};

/// Process start, runtime and output on top of the command's own time limit.
pub const EXEC_MARGIN: Duration = Duration::from_millis(500);

/// A local endpoint an exec probe asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Local {
    /// `http://localhost:PORT/PATH`.
    Http(u16, String),
    /// `grpc://localhost:PORT?service=NAME`.
    Grpc(u16, String),
}

/// An exec probe running `probe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlan {
    /// The command as a user reads it: `probe check --timeout 3`.
    pub what: String,
    /// The command's own time limit (`--timeout`, `--ping-timeout`).
    pub limit: Duration,
    /// The flag that sets the limit, for the fix.
    pub flag: &'static str,
    /// The endpoint asked, when it is on this pod (localhost).
    pub local: Option<Local>,
}

impl ExecPlan {
    /// The longest the probe can take: its limit and [`EXEC_MARGIN`].
    pub fn deadline(&self) -> Duration {
        self.limit + EXEC_MARGIN
    }
}

/// `None` when `command` does not run `probe`; `Err` with the line the command would print
/// when its arguments are wrong.
pub fn plan(command: &[String], env: &[(String, String)]) -> Option<Result<ExecPlan, String>> {
    let first = command.first()?;
    if !super::serves::is_probe_program(first) {
        return None;
    }
    let argv = std::iter::once("probe".to_owned()).chain(command[1..].iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let text = e.to_string();
            return Some(Err(format!(
                "the exec command would exit 2: {}",
                text.lines().next().unwrap_or("invalid arguments").trim()
            )));
        }
    };
    let bad = |e: crate::config::ConfigError| format!("the exec command would exit 64: {e}");
    Some(match cli.command {
        Command::Check(mut args) => {
            args.ca_file = None;
            let env = MapEnv(env.iter().cloned().collect());
            check_cmd::plan(&args, &env).map_err(bad).map(|p| ExecPlan {
                what: format!("probe check --timeout {}", args.timeout.trim()),
                limit: p.timeout,
                flag: "--timeout",
                local: local(&p.url),
            })
        }
        Command::WorkerCheck(args) => {
            let env = MapEnv(env.iter().cloned().collect());
            worker_cmd::plan(&args, &env).map_err(bad).and_then(|_| {
                let limit = if args.skip_ping {
                    Duration::ZERO
                } else {
                    exec::seconds("--ping-timeout", &args.ping_timeout, false).map_err(bad)?
                };
                Ok(ExecPlan {
                    what: format!(
                        "probe worker-check --ping-timeout {}",
                        args.ping_timeout.trim()
                    ),
                    limit,
                    flag: "--ping-timeout",
                    local: None,
                })
            })
        }
        Command::BeatCheck(_) => Ok(ExecPlan {
            what: "probe beat-check".into(),
            limit: Duration::ZERO,
            flag: "--max-age",
            local: None,
        }),
        _ => return None,
    })
}

/// The local endpoint of a completed `probe check` URL.
fn local(url: &str) -> Option<Local> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !matches!(host, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0") {
        return None;
    }
    match scheme {
        "http" => Some(Local::Http(
            port,
            if path.starts_with('/') {
                path.to_owned()
            } else {
                format!("/{path}")
            },
        )),
        "grpc" => {
            let service = path
                .split_once("service=")
                .map(|(_, s)| s.split('&').next().unwrap_or("").to_owned())
                .unwrap_or_default();
            Some(Local::Grpc(port, service))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn probe_check_and_worker_check_are_read() {
        let p = plan(
            &argv("/usr/local/bin/probe check http://127.0.0.1:8000/_healthz/livez/ --timeout 2"),
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.limit, Duration::from_secs(2));
        assert_eq!(p.local, Some(Local::Http(8000, "/_healthz/livez/".into())));
        let p = plan(&argv("probe check --endpoint localhost:8080/readyz"), &[])
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.limit, p.local),
            (
                Duration::from_secs(3),
                Some(Local::Http(8080, "/readyz".into()))
            )
        );
        let p = plan(
            &argv("probe check grpc://localhost:9090?service=liveness"),
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.local, Some(Local::Grpc(9090, "liveness".into())));
        let p = plan(
            &argv("probe worker-check --ping-timeout 5 --worker-name w@h"),
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.limit, Duration::from_secs(5));
        assert!(plan(&argv("celery inspect ping"), &[]).is_none());
        let e = plan(&argv("probe check --timeout soon"), &[])
            .unwrap()
            .unwrap_err();
        assert!(e.contains("--timeout"), "{e}");
    }
}
