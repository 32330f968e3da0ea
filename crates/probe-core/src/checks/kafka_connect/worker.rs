//! The worker itself, apart from its connectors: alive (it answers through its herder),
//! and started (it finished joining the group and reading its configuration).
//!
//! With `GET /health` (Kafka 3.9+, KIP-1017): 200 is started, 503 `starting` is alive but
//! not started, 500 or no answer within the request timeout is dead. Older workers (404 to
//! `/health`), or without [`KafkaConnectCheck::worker_health`]: `GET /connectors/<name>`
//! for a name no connector has, which Connect routes through its herder like any request
//! about a connector: a 404 (or 200) error object proves the herder answers; 409 is a
//! rebalance, asked once more and then counted as alive; a 500 (`Request timed out`) or no
//! answer is dead. `GET /` would not do: the REST server answers it while the herder is stuck.

use super::{transient, ConnectError, KafkaConnectCheck};
use crate::proto::connect_rest::{self, WorkerHealth};
use crate::{BoxFuture, Check, Outcome, Scope};

/// The connector name asked about to reach the herder; its absence is the expected answer.
pub const HERDER_PROBE: &str = "probe-worker-liveness";

/// What the worker's answers say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerState {
    /// It answers and has started.
    Started(String),
    /// It answers, and says it is still starting.
    Starting(String),
    /// It answered, but refused us (401, 403): it is alive, and the credentials are wrong.
    Refused(String),
    /// It does not answer, or says it cannot handle requests.
    Dead(String),
}

/// What a probe asks of the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerNeed {
    /// Liveness: it answers (a worker still starting is alive).
    Alive,
    /// Startup and readiness: it has finished starting.
    Started,
}

/// A check of the worker process (scope [`Scope::Local`]: it is what the sidecar answers
/// for), built on the Connect check's target, authentication and timeout.
///
/// ```
/// use probe_core::checks::kafka_connect::{ConnectWorkerCheck, WorkerNeed};
/// use probe_core::checks::KafkaConnectCheck;
/// use probe_core::evaluators::connect::ConnectRules;
///
/// let connect = KafkaConnectCheck::new("http://localhost:8083", ConnectRules::default())
///     .unwrap()
///     .worker_health(true);
/// let live = ConnectWorkerCheck::new(&connect, WorkerNeed::Alive);
/// let started = ConnectWorkerCheck::new(&connect, WorkerNeed::Started);
/// # let _ = (live, started);
/// ```
#[derive(Clone, Debug)]
pub struct ConnectWorkerCheck {
    check: KafkaConnectCheck,
    need: WorkerNeed,
}

impl ConnectWorkerCheck {
    /// The worker behind `check`, judged for `need`.
    pub fn new(check: &KafkaConnectCheck, need: WorkerNeed) -> Self {
        ConnectWorkerCheck {
            check: check.clone(),
            need,
        }
    }

    /// Asks the worker.
    pub async fn state(&self) -> WorkerState {
        if self.check.worker_health {
            match self.check.ask_health().await {
                Ok(Some(state)) => return state,
                Ok(None) => {}
                Err(e) => return WorkerState::Dead(e.to_string()),
            }
        }
        self.check.ask_herder().await
    }
}

/// The outcome of `state` for `need`.
pub fn judge_worker(state: &WorkerState, need: WorkerNeed) -> Outcome {
    match (state, need) {
        (WorkerState::Started(m), _) => Outcome::pass().with_message(m.clone()),
        (WorkerState::Starting(m), WorkerNeed::Alive) => Outcome::pass().with_message(m.clone()),
        (WorkerState::Starting(m), WorkerNeed::Started) => Outcome::fail(m.clone()),
        (WorkerState::Refused(m), _) => Outcome::warn(m.clone()),
        (WorkerState::Dead(m), _) => Outcome::fail(m.clone()),
    }
}

impl Check for ConnectWorkerCheck {
    fn scope(&self) -> Scope {
        Scope::Local
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move { judge_worker(&self.state().await, self.need) })
    }
}

impl KafkaConnectCheck {
    /// `GET /health`: `None` when the worker predates it (404).
    async fn ask_health(&self) -> Result<Option<WorkerState>, ConnectError> {
        let path = format!("{}/health", self.base_path);
        let (url, status, body) = self.get(&path).await?;
        Ok(match connect_rest::read_worker_health(status, &body) {
            Ok(WorkerHealth::Healthy) => Some(WorkerState::Started(format!(
                "GET {url}: the worker is healthy"
            ))),
            Ok(WorkerHealth::Unsupported) => None,
            Ok(WorkerHealth::Unhealthy {
                status: 503,
                state,
                message,
            }) if state.eq_ignore_ascii_case("starting") => Some(WorkerState::Starting(format!(
                "GET {url}: the worker is still starting (503): {message}"
            ))),
            Ok(WorkerHealth::Unhealthy {
                status,
                state,
                message,
            }) => Some(WorkerState::Dead(format!(
                "GET {url}: the worker reports itself {state} ({status}): {message}"
            ))),
            Err(_) if matches!(status, 401 | 403) => Some(WorkerState::Refused(format!(
                "GET {url} answered {status}: the worker refuses our credentials"
            ))),
            Err(source) => Some(WorkerState::Dead(
                ConnectError::Answer { url, source }.to_string(),
            )),
        })
    }

    /// `GET /connectors/<HERDER_PROBE>`, once more after a 409 or an HTML error page.
    async fn ask_herder(&self) -> WorkerState {
        let path = format!("{}/connectors/{HERDER_PROBE}", self.base_path);
        let mut answer = self.get(&path).await;
        if let Ok((_, status, body)) = &answer {
            if transient::is_transient(*status, body) {
                answer = self.get(&path).await;
            }
        }
        let (url, status, body) = match answer {
            Ok(answer) => answer,
            Err(e) => return WorkerState::Dead(e.to_string()),
        };
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
        match status {
            200..=299 | 404 if is_json => {
                WorkerState::Started(format!("GET {url}: the worker's herder answered {status}"))
            }
            409 => WorkerState::Started(format!(
                "GET {url} answered 409 twice: the group is rebalancing"
            )),
            401 | 403 => WorkerState::Refused(format!(
                "GET {url} answered {status}: the worker refuses our credentials"
            )),
            _ => WorkerState::Dead(
                ConnectError::Answer {
                    url,
                    source: connect_rest::refusal_of(status, &body),
                }
                .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn a_starting_worker_is_alive_but_not_started() {
        let starting = WorkerState::Starting("starting".into());
        assert_eq!(
            judge_worker(&starting, WorkerNeed::Alive).status,
            Status::Pass
        );
        assert_eq!(
            judge_worker(&starting, WorkerNeed::Started).status,
            Status::Fail
        );
        let dead = WorkerState::Dead("no answer".into());
        assert_eq!(judge_worker(&dead, WorkerNeed::Alive).status, Status::Fail);
        let refused = WorkerState::Refused("401".into());
        assert_eq!(
            judge_worker(&refused, WorkerNeed::Alive).status,
            Status::Warn
        );
    }
}
