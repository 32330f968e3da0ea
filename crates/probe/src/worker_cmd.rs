//! `probe worker-check`: maykin-common's `worker-health-check` without Python.
//!
//! The checks run in maykin-common's order and the first failure ends the run, with its
//! exit status:
//!
//! | step | passes when | message on failure | exit |
//! |---|---|---|---|
//! | event loop liveness | the liveness file exists and is at most `--max-age` old | `File '<path>' does not exist or is not a file.` / `File '<path>' is older than max-age.` | 1 |
//! | ping | the worker answers Celery's control ping within `--ping-timeout` | `No reply to ping from '<worker>' after <t>.` | 2 |
//! | readiness (opt-in) | the readiness file exists | `File '<path>' does not exist - worker is not ready.` | 4 |
//!
//! Passing steps print one line each on standard output, the failing one on standard
//! error; all pass: exit 0.

use std::path::{Path, PathBuf};
use std::time::Duration;

use probe_core::celery::{CeleryPing, PingAnswer};
use probe_core::checks::{FileAge, FileAgeCheck, FileExistsCheck, FileProblem};
use probe_core::time::human;

use crate::cli::WorkerCheckArgs;
use crate::config::ConfigError;
use crate::env::Env;
use crate::exec::{bounded, seconds};

/// Exit status: the event loop liveness file is missing or too old.
pub const EXIT_EVENT_LOOP_BROKEN: u8 = 1;
/// Exit status: the worker did not answer the ping.
pub const EXIT_PING_FAILURE: u8 = 2;
/// Exit status: the readiness file is missing.
pub const EXIT_NOT_READY: u8 = 4;

/// The steps to run, validated.
#[derive(Clone, Debug)]
pub struct WorkerPlan {
    /// The liveness file and its maximum age, unless skipped.
    pub liveness: Option<(PathBuf, Duration)>,
    /// The ping, unless skipped.
    pub ping: Option<CeleryPing>,
    /// The readiness file, when asked for.
    pub readiness: Option<PathBuf>,
}

/// One line of output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Standard output when true, standard error when false.
    pub ok: bool,
    /// The text, at most [`crate::exec::MAX_LINE`] bytes.
    pub text: String,
}

/// What a run printed and how it exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The lines, in order.
    pub lines: Vec<Line>,
    /// The exit status.
    pub code: u8,
}

/// Validates the flags (bad values exit 64) and resolves the worker name:
/// `--worker-name`, else env `CELERY_WORKER_NAME`, else `celery@<hostname>`.
pub fn plan(args: &WorkerCheckArgs, env: &dyn Env) -> Result<WorkerPlan, ConfigError> {
    let max_age = seconds("--max-age", &args.max_age, true)?;
    let ping_timeout = seconds("--ping-timeout", &args.ping_timeout, false)?;
    let liveness = (!args.skip_event_loop_liveness).then(|| (args.liveness_file.clone(), max_age));
    let readiness = args.no_skip_readiness.then(|| args.readiness_file.clone());
    let ping = if args.skip_ping {
        None
    } else {
        let worker = match &args.worker_name {
            Some(name) if !name.trim().is_empty() => name.clone(),
            Some(_) => return Err(ConfigError::key("--worker-name", "empty")),
            None => default_worker_name(env, kernel_hostname()),
        };
        let ping = CeleryPing::new(&args.broker, worker)
            .map_err(|e| ConfigError::key("--broker", e.to_string()))?
            .timeout(ping_timeout);
        Some(ping)
    };
    Ok(WorkerPlan {
        liveness,
        ping,
        readiness,
    })
}

/// `CELERY_WORKER_NAME` when set, else `celery@<hostname>` (the kernel's host name, then
/// env `HOSTNAME`, then `localhost`), as maykin-common defaults it.
pub fn default_worker_name(env: &dyn Env, kernel_hostname: Option<String>) -> String {
    if let Some(name) = env
        .var("CELERY_WORKER_NAME")
        .filter(|n| !n.trim().is_empty())
    {
        return name;
    }
    let host = kernel_hostname
        .or_else(|| env.var("HOSTNAME"))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("celery@{host}")
}

/// The host name Python's `socket.gethostname()` returns on Linux.
fn kernel_hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// Runs the steps of `plan` in order, stopping at the first failure.
pub async fn run(plan: &WorkerPlan) -> Verdict {
    let mut lines = Vec::new();
    let mut say = |ok: bool, text: String| {
        lines.push(Line {
            ok,
            text: bounded(text),
        })
    };
    if let Some((path, max_age)) = &plan.liveness {
        let seen = whole_seconds(not_a_file(
            path,
            FileAgeCheck::new(path, *max_age).inspect().await,
        ));
        match liveness_failure(path, &seen) {
            Some(text) => {
                say(false, text);
                return Verdict {
                    lines,
                    code: EXIT_EVENT_LOOP_BROKEN,
                };
            }
            None => say(true, "The event loop appears to be running.".to_owned()),
        }
    }
    if let Some(ping) = &plan.ping {
        let worker = ping.worker();
        match ping.ping().await {
            Ok(PingAnswer::Pong { .. }) => say(true, format!("{worker}: PONG.")),
            Ok(PingAnswer::NoReply { listeners, .. }) => {
                let text = if listeners == 0 {
                    // Nobody received the request, so the ping did not wait.
                    format!(
                        "No reply to ping from '{worker}': no worker listens on {}.",
                        ping.broker()
                    )
                } else {
                    format!(
                        "No reply to ping from '{worker}' after {}.",
                        human(ping.time_limit())
                    )
                };
                say(false, text);
                return Verdict {
                    lines,
                    code: EXIT_PING_FAILURE,
                };
            }
            Err(e) => {
                say(false, format!("The ping of '{worker}' failed: {e}."));
                return Verdict {
                    lines,
                    code: EXIT_PING_FAILURE,
                };
            }
        }
    }
    if let Some(path) = &plan.readiness {
        let seen = FileExistsCheck::new(path).inspect().await;
        let seen = seen.and_then(|()| {
            if is_other_than_a_file(path) {
                Err(FileProblem::Missing)
            } else {
                Ok(())
            }
        });
        if let Err(problem) = seen {
            say(false, not_ready(path, &problem));
            return Verdict {
                lines,
                code: EXIT_NOT_READY,
            };
        }
        say(
            true,
            "The worker appears ready to process tasks.".to_owned(),
        );
    }
    Verdict { lines, code: 0 }
}

/// maykin-common's sentence for a failed liveness file, with what the check saw; `None`
/// while the file is fresh.
pub(crate) fn liveness_failure(path: &Path, seen: &FileAge) -> Option<String> {
    let shown = path.display();
    Some(match seen {
        FileAge::Fresh { .. } => return None,
        FileAge::TooOld { age, max_age } => format!(
            "File '{shown}' is older than max-age. (last modified {} ago, max-age {})",
            human(whole_seconds_up(*age)),
            human(*max_age)
        ),
        FileAge::Unusable(FileProblem::Missing) => {
            format!("File '{shown}' does not exist or is not a file.")
        }
        FileAge::Unusable(problem) => {
            format!("File '{shown}' cannot be used: {}.", problem.message(path))
        }
    })
}

/// Something that exists at `path` but is not a regular file (a directory, a socket...),
/// following symbolic links as Python's `Path.is_file` does.
fn is_other_than_a_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// A directory where the liveness file should be is "missing", as maykin-common's
/// `is_file()` test sees it, whatever its modification time.
fn not_a_file(path: &Path, seen: FileAge) -> FileAge {
    if is_other_than_a_file(path) {
        FileAge::Unusable(FileProblem::Missing)
    } else {
        seen
    }
}

/// maykin-common compares the age in whole seconds (`int(now - mtime) > max_age`): a
/// file 70.6 s old passes a 70 s limit.
fn whole_seconds(seen: FileAge) -> FileAge {
    match seen {
        FileAge::TooOld { age, max_age } if Duration::from_secs(age.as_secs()) <= max_age => {
            FileAge::Fresh { age, max_age }
        }
        other => other,
    }
}

/// An age in whole seconds, rounded up: an age over the limit never reads as equal to it.
fn whole_seconds_up(age: Duration) -> Duration {
    Duration::from_secs(age.as_secs() + u64::from(age.subsec_nanos() > 0))
}

fn not_ready(path: &Path, problem: &FileProblem) -> String {
    match problem {
        FileProblem::Missing => format!(
            "File '{}' does not exist - worker is not ready.",
            path.display()
        ),
        FileProblem::Unreadable(_) => format!(
            "File '{}' cannot be used: {}.",
            path.display(),
            problem.message(path)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;

    #[test]
    fn the_worker_name_comes_from_the_flag_the_env_or_the_host_name() {
        let none = MapEnv::default();
        assert_eq!(
            default_worker_name(&none, Some("web-1\n".into())),
            "celery@web-1"
        );
        let env = MapEnv::of(&[("CELERY_WORKER_NAME", "mail@docker"), ("HOSTNAME", "h")]);
        assert_eq!(
            default_worker_name(&env, Some("web-1".into())),
            "mail@docker"
        );
        let env = MapEnv::of(&[("CELERY_WORKER_NAME", ""), ("HOSTNAME", "pod-7")]);
        assert_eq!(default_worker_name(&env, None), "celery@pod-7");
        assert_eq!(default_worker_name(&none, None), "celery@localhost");
    }

    #[test]
    fn liveness_failures_read_like_maykin_common() {
        let p = Path::new("/app/tmp/w.live");
        let missing = FileAge::Unusable(FileProblem::Missing);
        assert_eq!(
            liveness_failure(p, &missing).unwrap(),
            "File '/app/tmp/w.live' does not exist or is not a file."
        );
        let old = FileAge::TooOld {
            age: Duration::from_millis(300_200),
            max_age: Duration::from_secs(60),
        };
        assert_eq!(
            liveness_failure(p, &old).unwrap(),
            "File '/app/tmp/w.live' is older than max-age. (last modified 301s ago, max-age 1m)"
        );
        let denied = FileAge::Unusable(FileProblem::Unreadable("permission denied".into()));
        assert_eq!(
            liveness_failure(p, &denied).unwrap(),
            "File '/app/tmp/w.live' cannot be used: cannot read /app/tmp/w.live: permission denied."
        );
        let fresh = FileAge::Fresh {
            age: Duration::from_secs(5),
            max_age: Duration::from_secs(60),
        };
        assert_eq!(liveness_failure(p, &fresh), None);
    }

    #[test]
    fn a_missing_or_unreadable_readiness_file_reads_like_maykin_common() {
        let p = Path::new("/app/tmp/w.ready");
        assert_eq!(
            not_ready(p, &FileProblem::Missing),
            "File '/app/tmp/w.ready' does not exist - worker is not ready."
        );
        assert_eq!(
            not_ready(p, &FileProblem::Unreadable("permission denied".into())),
            "File '/app/tmp/w.ready' cannot be used: cannot read /app/tmp/w.ready: permission denied."
        );
    }
}
