//! `celery-ping`: a Celery worker answers the control `ping` through its Redis broker.

use std::time::Duration;

use serde_json::json;

use crate::celery::{BrokerUrlError, CeleryPing, PingAnswer, PingError};
use crate::time::human;
use crate::{BoxFuture, Check, Outcome, Scope};

/// Passes when the named worker answers Celery's control `ping` within the ping's
/// timeout; see [`CeleryPing`].
///
/// The scope is [`Scope::Dependency`]: the ping goes through the broker, so a broker
/// outage fails it too. Give the check's policy a timeout longer than the ping's, or the
/// engine cuts the ping off before it can report "no answer".
///
/// ```
/// use std::time::Duration;
/// use probe_core::checks::CeleryPingCheck;
/// let worker = CeleryPingCheck::new("redis://redis:6379/0", "celery@worker-0")
///     .unwrap()
///     .timeout(Duration::from_secs(3));
/// ```
#[derive(Clone, Debug)]
pub struct CeleryPingCheck {
    ping: CeleryPing,
}

impl CeleryPingCheck {
    /// A check of `worker` (`celery@host`) through the broker at `broker_url`
    /// (`redis://[:password@]host[:port][/db]`).
    pub fn new(broker_url: &str, worker: impl Into<String>) -> Result<Self, BrokerUrlError> {
        Ok(CeleryPingCheck {
            ping: CeleryPing::new(broker_url, worker)?,
        })
    }

    /// A check running `ping`.
    pub fn from_ping(ping: CeleryPing) -> Self {
        CeleryPingCheck { ping }
    }

    /// The same check with the ping's time limit (default 3 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.ping = self.ping.timeout(timeout);
        self
    }

    /// The outcome for a ping's result: what the check reports, and what a command line
    /// can print.
    pub fn outcome(&self, result: Result<PingAnswer, PingError>) -> Outcome {
        let ping = &self.ping;
        let details = |extra: serde_json::Value| {
            let mut d = json!({
                "worker": ping.worker(),
                "broker": ping.broker().to_string(),
            });
            if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
                d.extend(extra.clone());
            }
            d
        };
        match result {
            Ok(PingAnswer::Pong { elapsed }) => Outcome::pass()
                .with_message(format!(
                    "{} answered pong in {}",
                    ping.worker(),
                    human(elapsed)
                ))
                .with_details(details(json!({ "elapsed_ms": elapsed.as_millis() as u64 }))),
            Ok(PingAnswer::NoReply { listeners: 0, .. }) => Outcome::fail(format!(
                "no celery worker listens on {} (nothing subscribed to {})",
                ping.broker(),
                ping.channel()
            ))
            .with_details(details(json!({ "listeners": 0 }))),
            Ok(PingAnswer::NoReply { listeners, waited }) => Outcome::fail(format!(
                "{} did not answer the ping within {} ({listeners} {} received it)",
                ping.worker(),
                human(ping.time_limit()),
                if listeners == 1 { "worker" } else { "workers" },
            ))
            .with_details(details(json!({
                "listeners": listeners,
                "waited_ms": waited.as_millis() as u64,
            }))),
            Err(e) => Outcome::fail(e.to_string()).with_details(details(json!({}))),
        }
    }
}

impl Check for CeleryPingCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { self.outcome(self.ping.ping().await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn check() -> CeleryPingCheck {
        CeleryPingCheck::new("redis://:secret@redis:6379/2", "celery@w1").unwrap()
    }

    #[test]
    fn pong_passes_and_says_how_fast() {
        let o = check().outcome(Ok(PingAnswer::Pong {
            elapsed: Duration::from_millis(4),
        }));
        assert_eq!(o.status, Status::Pass);
        assert_eq!(o.message.as_deref(), Some("celery@w1 answered pong in 4ms"));
        assert_eq!(o.details.unwrap()["broker"], "redis://redis:6379/2");
    }

    #[test]
    fn silence_fails_saying_whether_anyone_listens() {
        let o = check().outcome(Ok(PingAnswer::NoReply {
            listeners: 0,
            waited: Duration::ZERO,
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message.as_deref(),
            Some("no celery worker listens on redis://redis:6379/2 (nothing subscribed to /2.celery.pidbox)")
        );
        let o = check().outcome(Ok(PingAnswer::NoReply {
            listeners: 2,
            waited: Duration::from_secs(3),
        }));
        assert_eq!(
            o.message.as_deref(),
            Some("celery@w1 did not answer the ping within 3s (2 workers received it)")
        );
    }

    #[test]
    fn errors_fail_without_the_password() {
        let o = check().outcome(Err(PingError::Connect {
            addr: "redis:6379".into(),
            reason: "connection refused".into(),
        }));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(
            o.message.as_deref(),
            Some("cannot connect to redis at redis:6379: connection refused")
        );
        assert!(!o.details.unwrap().to_string().contains("secret"));
    }
}
