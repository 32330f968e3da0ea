//! `kafka`: a broker is up when it answers ApiVersions with no error.
//!
//! ApiVersions is answered before SASL authentication by every broker since 0.10, so it
//! proves a broker is alive without credentials. Each bootstrap address gets a fresh
//! connection and a v0 request; a broker that answers UNSUPPORTED_VERSION lists the range
//! it speaks, and the check retries once, on a new connection, with the highest version
//! both sides know (up to v3).

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::proto::kafka::{self as wire, DecodeError};
use crate::text::io_reason;
use crate::time::human;
use crate::{BoxFuture, Check, Outcome, Scope};

/// The client id sent in every request header.
const CLIENT_ID: &str = "probe";

/// Asks each bootstrap broker, in parallel, for its API versions; passes when any of them
/// answers with error 0.
///
/// ```
/// use std::time::Duration;
/// use probe_core::checks::KafkaCheck;
///
/// let kafka = KafkaCheck::new(vec!["kafka-0:9092".into(), "kafka-1:9092".into()])
///     .timeout(Duration::from_millis(500));
/// ```
#[derive(Clone, Debug)]
pub struct KafkaCheck {
    bootstrap: Vec<String>,
    timeout: Duration,
}

impl KafkaCheck {
    /// The default time one broker has to connect and answer: 700 ms, inside the
    /// engine's default 800 ms, so a slow broker is named in the message.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(700);

    /// A check of the brokers at `bootstrap` (`host:port` each).
    pub fn new(bootstrap: Vec<String>) -> Self {
        bootstrap
            .iter()
            .for_each(|b| crate::secrets::register_in(b));
        KafkaCheck {
            bootstrap,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The same check giving each broker `timeout` to connect and answer (negotiation
    /// included).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Check for KafkaCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            if self.bootstrap.is_empty() {
                return Outcome::fail("no Kafka bootstrap address configured");
            }
            let mut set = JoinSet::new();
            for (i, address) in self.bootstrap.iter().enumerate() {
                let (address, timeout) = (address.clone(), self.timeout);
                set.spawn(async move {
                    let answer = tokio::time::timeout(timeout, api_versions(&address))
                        .await
                        .unwrap_or(Err(BrokerError::Timeout(timeout)));
                    (i, answer)
                });
            }
            let mut answers: Vec<Option<Result<Answered, BrokerError>>> =
                self.bootstrap.iter().map(|_| None).collect();
            while let Some(joined) = set.join_next().await {
                if let Ok((i, answer)) = joined {
                    answers[i] = Some(answer);
                }
            }
            summarize(&self.bootstrap, answers)
        })
    }
}

/// What a broker that answered said.
#[derive(Debug)]
struct Answered {
    version: i16,
    apis: usize,
}

/// Why one broker did not answer ApiVersions with error 0.
#[derive(Debug, thiserror::Error)]
enum BrokerError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("connection failed during ApiVersions: {0}")]
    Io(String),
    #[error("no answer within {}", human(*.0))]
    Timeout(Duration),
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("broker answered error {code} ({})", wire::error_name(*code))]
    Broker { code: i16 },
    #[error(
        "broker speaks ApiVersions v{min} to v{max}, this probe v0 to v{}",
        wire::MAX_VERSION
    )]
    NoCommonVersion { min: i16, max: i16 },
    #[error("broker answered UNSUPPORTED_VERSION without listing the versions it speaks")]
    NoRange,
}

/// One broker: v0, then (on UNSUPPORTED_VERSION) the negotiated version.
async fn api_versions(address: &str) -> Result<Answered, BrokerError> {
    let first = exchange(address, 0, 1).await?;
    let version = match first.error_code {
        wire::NONE => return Ok(answered(0, &first)),
        wire::UNSUPPORTED_VERSION => {
            let range = first
                .range(wire::API_VERSIONS)
                .ok_or(BrokerError::NoRange)?;
            wire::negotiate(range).ok_or(BrokerError::NoCommonVersion {
                min: range.min,
                max: range.max,
            })?
        }
        code => return Err(BrokerError::Broker { code }),
    };
    let second = exchange(address, version, 2).await?;
    match second.error_code {
        wire::NONE => Ok(answered(version, &second)),
        code => Err(BrokerError::Broker { code }),
    }
}

fn answered(version: i16, r: &wire::ApiVersionsResponse) -> Answered {
    Answered {
        version,
        apis: r.api_keys.len(),
    }
}

/// One request and its response on a fresh connection; reads at most one bounded frame.
async fn exchange(
    address: &str,
    version: i16,
    correlation_id: i32,
) -> Result<wire::ApiVersionsResponse, BrokerError> {
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|e| BrokerError::Connect(io_reason(&e)))?;
    let request = wire::encode_request(
        version,
        correlation_id,
        CLIENT_ID,
        CLIENT_ID,
        env!("CARGO_PKG_VERSION"),
    );
    let io = |e: std::io::Error| BrokerError::Io(io_reason(&e));
    stream.write_all(&request).await.map_err(io)?;
    let mut prefix = [0; 4];
    stream.read_exact(&mut prefix).await.map_err(io)?;
    let size = wire::frame_size(prefix)?;
    let mut payload = vec![0; size];
    stream.read_exact(&mut payload).await.map_err(io)?;
    Ok(wire::decode_response(&payload, version, correlation_id)?)
}

/// The outcome: pass when any broker answered; the message names every broker.
fn summarize(bootstrap: &[String], answers: Vec<Option<Result<Answered, BrokerError>>>) -> Outcome {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut details = Vec::new();
    for (address, answer) in bootstrap.iter().zip(answers) {
        match answer {
            Some(Ok(a)) => {
                ok.push(format!("{address} (v{})", a.version));
                details.push(json!({"address": address, "answered": true,
                    "version": a.version, "apis": a.apis}));
            }
            Some(Err(e)) => {
                failed.push(format!("{address}: {e}"));
                details.push(json!({"address": address, "answered": false,
                    "error": e.to_string()}));
            }
            None => {
                failed.push(format!("{address}: the request task failed"));
                details.push(json!({"address": address, "answered": false,
                    "error": "the request task failed"}));
            }
        }
    }
    let details: Value = json!({ "brokers": details });
    if ok.is_empty() {
        return Outcome::fail(format!(
            "no Kafka broker answered ApiVersions: {}",
            failed.join("; ")
        ))
        .with_details(details);
    }
    let mut message = format!(
        "{} of {} Kafka brokers answered ApiVersions: {}",
        ok.len(),
        bootstrap.len(),
        ok.join(", ")
    );
    if !failed.is_empty() {
        message.push_str("; failed: ");
        message.push_str(&failed.join("; "));
    }
    Outcome::pass().with_message(message).with_details(details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn the_message_names_brokers_that_answered_and_those_that_failed() {
        let bootstrap = vec!["a:9092".to_owned(), "b:9092".to_owned()];
        let out = summarize(
            &bootstrap,
            vec![
                Some(Ok(Answered {
                    version: 3,
                    apis: 60,
                })),
                Some(Err(BrokerError::Connect("connection refused".into()))),
            ],
        );
        assert_eq!(out.status, Status::Pass);
        assert_eq!(
            out.message.as_deref(),
            Some("1 of 2 Kafka brokers answered ApiVersions: a:9092 (v3); failed: b:9092: cannot connect: connection refused")
        );
        assert_eq!(out.details.unwrap()["brokers"][0]["apis"], 60);
    }

    #[test]
    fn no_answer_fails_with_every_reason() {
        let bootstrap = vec!["a:9092".to_owned()];
        let out = summarize(
            &bootstrap,
            vec![Some(Err(BrokerError::Timeout(Duration::from_millis(700))))],
        );
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message.as_deref(),
            Some("no Kafka broker answered ApiVersions: a:9092: no answer within 700ms")
        );
    }
}
