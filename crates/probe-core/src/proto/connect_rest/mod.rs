//! Kafka Connect's REST answers, judged by HTTP status and shape together.
//!
//! Pure readers over `(status, body)`: the Kafka Connect check does the requests, these
//! decide what an answer means. Connect's errors are `{"error_code": .., "message": ..}`
//! objects with the same HTTP status, except basic-auth refusals (401, plain text).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::evaluators::connect::ConnectorStatus;

/// Connect's message is cut to this many characters in error texts.
const MAX_MESSAGE: usize = 300;

/// What `GET /connectors?expand=status` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListAnswer {
    /// A worker before Kafka 2.3 ignores `expand` and lists names only: ask each status.
    Names(Vec<String>),
    /// Every status in one answer, in the order Connect sent them, each named by its key.
    Statuses(Vec<ConnectorStatus>),
}

/// What `GET /health` (Kafka 3.9+, KIP-1017) answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerHealth {
    /// 200 `healthy`.
    Healthy,
    /// 404: the worker predates the endpoint.
    Unsupported,
    /// The worker says it is not healthy: 503 `starting`, 500 `unhealthy`.
    Unhealthy {
        /// The HTTP status.
        status: u16,
        /// Connect's `status` word.
        state: String,
        /// Connect's `message`.
        message: String,
    },
}

/// Why an answer from Connect cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// An error status or an error object, with Connect's message.
    #[error("answered {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Connect's message (an error object's `message`, or a short plain-text body).
        message: String,
    },
    /// An error status with nothing to say why.
    #[error("answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// A success status with a body that is not JSON.
    #[error("answered {status} with a body that is not JSON")]
    NotJson {
        /// The HTTP status.
        status: u16,
    },
    /// JSON that is not what Connect sends for this request.
    #[error("answered {status} with unexpected JSON: {reason}")]
    Shape {
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
}

/// Reads the answer to `GET /connectors?expand=status`, which must be 2xx: a map of
/// statuses, or (old workers) a list of names.
pub fn read_list(status: u16, body: &[u8]) -> Result<ListAnswer, AnswerError> {
    if !is_success(status) {
        return Err(refusal(status, body));
    }
    let answer: RawList = serde_json::from_slice(body).map_err(|e| json_error(status, &e))?;
    match answer {
        RawList::Names(names) => Ok(ListAnswer::Names(names)),
        RawList::Entries(entries) => {
            if let Some(message) = error_object_message(&entries) {
                return Err(AnswerError::Refused { status, message });
            }
            entries
                .into_iter()
                .map(|(name, entry)| {
                    let Expanded { status: mut found } =
                        serde_json::from_value(entry).map_err(|e| AnswerError::Shape {
                            status,
                            reason: format!("the entry of connector `{name}` has no status: {e}"),
                        })?;
                    found.name = name;
                    Ok(found)
                })
                .collect::<Result<_, _>>()
                .map(ListAnswer::Statuses)
        }
    }
}

/// Reads the answer to `GET /connectors/{name}/status`. A well-formed status object is
/// used whatever the HTTP status; a 404 without one means the connector was deleted
/// since it was listed (`Ok(None)`).
pub fn read_status(
    name: &str,
    status: u16,
    body: &[u8],
) -> Result<Option<ConnectorStatus>, AnswerError> {
    match serde_json::from_slice::<ConnectorStatus>(body) {
        Ok(mut found) => {
            found.name = name.to_owned();
            Ok(Some(found))
        }
        Err(_) if status == 404 => Ok(None),
        Err(e) => Err(unusable(status, body, &e)),
    }
}

/// Reads the answer to `GET /connectors/{name}` (the broker probe): usable when the
/// status is below 400 and the body is JSON.
pub fn read_info(status: u16, body: &[u8]) -> Result<(), AnswerError> {
    if status >= 400 {
        return Err(refusal(status, body));
    }
    serde_json::from_slice::<de::IgnoredAny>(body)
        .map(drop)
        .map_err(|e| json_error(status, &e))
}

/// Reads the answer to `GET /health`.
pub fn read_worker_health(status: u16, body: &[u8]) -> Result<WorkerHealth, AnswerError> {
    #[derive(Deserialize)]
    struct Health {
        status: String,
        #[serde(default)]
        message: String,
    }
    if status == 404 {
        return Ok(WorkerHealth::Unsupported);
    }
    match serde_json::from_slice::<Health>(body) {
        Ok(h) if status == 200 && h.status.eq_ignore_ascii_case("healthy") => {
            Ok(WorkerHealth::Healthy)
        }
        Ok(h) if matches!(status, 200 | 500 | 503) => Ok(WorkerHealth::Unhealthy {
            status,
            state: h.status,
            message: cut(&h.message),
        }),
        Ok(_) => Err(refusal(status, body)),
        Err(e) => Err(unusable(status, body, &e)),
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Why an error answer is one: Connect's message from an error object or a short text
/// body, else the status alone.
pub fn refusal_of(status: u16, body: &[u8]) -> AnswerError {
    refusal(status, body)
}

/// An error answer: Connect's message from an error object or a short text body.
fn refusal(status: u16, body: &[u8]) -> AnswerError {
    if let Ok(RawList::Entries(entries)) = serde_json::from_slice::<RawList>(body) {
        if let Some(message) = error_object_message(&entries) {
            return AnswerError::Refused { status, message };
        }
    }
    match std::str::from_utf8(body).map(str::trim) {
        Ok(text)
            if !text.is_empty()
                && !text.starts_with(['{', '[', '<'])
                && !text.contains('\n')
                && text.len() <= MAX_MESSAGE =>
        {
            AnswerError::Refused {
                status,
                message: text.to_owned(),
            }
        }
        _ => AnswerError::Status { status },
    }
}

/// A body that is not what was asked for: an error if the status says so, else a shape
/// or syntax problem.
fn unusable(status: u16, body: &[u8], e: &serde_json::Error) -> AnswerError {
    if !is_success(status) {
        return refusal(status, body);
    }
    match serde_json::from_slice::<RawList>(body) {
        Ok(RawList::Entries(entries)) => match error_object_message(&entries) {
            Some(message) => AnswerError::Refused { status, message },
            None => json_error(status, e),
        },
        _ => json_error(status, e),
    }
}

fn json_error(status: u16, e: &serde_json::Error) -> AnswerError {
    match e.classify() {
        serde_json::error::Category::Data => AnswerError::Shape {
            status,
            reason: e.to_string(),
        },
        _ => AnswerError::NotJson { status },
    }
}

/// `Some(message)` when the entries are an error object (`error_code` is a number).
fn error_object_message(entries: &[(String, Value)]) -> Option<String> {
    let is_error = entries
        .iter()
        .any(|(k, v)| k == "error_code" && v.is_number());
    is_error.then(|| {
        let message = entries
            .iter()
            .find(|(k, _)| k == "message")
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("(no message)");
        cut(message)
    })
}

fn cut(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}...", &message[..i]),
        None => message.to_owned(),
    }
}

#[derive(Deserialize)]
struct Expanded {
    status: ConnectorStatus,
}

/// A JSON array of names, or an object read entry by entry in the order sent.
enum RawList {
    Names(Vec<String>),
    Entries(Vec<(String, Value)>),
}

impl<'de> Deserialize<'de> for RawList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawListVisitor)
    }
}

struct RawListVisitor;

impl<'de> Visitor<'de> for RawListVisitor {
    type Value = RawList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of connector names or an object of connector statuses")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawList, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<String>()? {
            names.push(name);
        }
        Ok(RawList::Names(names))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawList, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(RawList::Entries(entries))
    }
}

#[cfg(test)]
mod tests;
