//! The `celery-ping` check type: Celery's control ping to one worker, over its broker.

use probe_core::celery::DEFAULT_TIMEOUT;
use probe_core::checks::CeleryPingCheck;

use super::built::Built;
use super::{ConfigError, Fields};

/// The broker `celery-ping` uses when none is given (Celery's own default).
const DEFAULT_BROKER: &str = "redis://localhost:6379/0";

/// `celery-ping`: `broker` (default [`DEFAULT_BROKER`]), `worker` (required),
/// `ping_timeout` (default 3 s), which bounds the check's own time.
pub(super) fn celery_ping(f: &mut Fields) -> Result<Built, ConfigError> {
    let broker = f
        .string("broker")?
        .unwrap_or_else(|| DEFAULT_BROKER.to_owned());
    let worker = f.required_string("worker")?;
    if worker.trim().is_empty() {
        return Err(f.error(
            "worker",
            "empty (write the worker's node name, e.g. \"celery@worker-0\")",
        ));
    }
    let ping_timeout = f.duration("ping_timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    if ping_timeout.is_zero() {
        return Err(f.error("ping_timeout", "must be greater than zero"));
    }
    let check = CeleryPingCheck::new(&broker, worker)
        .map_err(|e| f.error("broker", e.to_string()))?
        .timeout(ping_timeout);
    Ok(Built::one(check).own_time(ping_timeout))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use probe_core::Scope;

    use crate::config::testing::{one, refused};

    #[test]
    fn celery_ping_gets_a_policy_timeout_longer_than_its_ping() {
        let c = one("type = \"celery-ping\"\nworker = \"celery@w\"").unwrap();
        assert_eq!(c.check.scope(), Scope::Dependency);
        assert_eq!(c.policy.timeout, Duration::from_secs(4));
        let c = one("type = \"celery-ping\"\nworker = \"celery@w\"\nping_timeout = \"1s\"\ntimeout = \"1500ms\"")
            .unwrap();
        assert_eq!(c.policy.timeout, Duration::from_millis(1500));
        let e = refused("type = \"celery-ping\"\nworker = \"celery@w\"\ntimeout = \"2s\"");
        assert!(
            e.starts_with(
                "check[0] \"c\".timeout: 2s must be longer than the check's own time limit (3s)"
            ),
            "{e}"
        );
        let e = refused("type = \"celery-ping\"");
        assert_eq!(e, "check[0] \"c\".worker: missing (required)");
        let e = refused("type = \"celery-ping\"\nworker = \"w\"\nbroker = \"amqp://:pw@h/\"");
        assert!(
            e.starts_with("check[0] \"c\".broker: unsupported broker URL scheme `amqp`"),
            "{e}"
        );
        let e = refused(
            "type = \"celery-ping\"\nworker = \"w\"\nbroker = \"redis://:secret@h:port/0\"",
        );
        assert!(!e.contains("secret"), "{e}");
    }
}
