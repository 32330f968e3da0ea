//! Celery's remote-control `ping`, as kombu's Redis transport carries it: pure building
//! of the request and reading of the reply, no sockets.
//!
//! The wire format is described in the documentation of the parent module.

use serde_json::{json, Map, Value};

pub(super) use super::ids::Ids;
use crate::text::base64;

/// kombu's separator between the parts of a binding.
const SEP: &str = "\x06\x16";

/// The names one control exchange uses on a Redis broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Names {
    /// `celery.pidbox`: the fanout exchange requests go to.
    pub(super) exchange: String,
    /// `reply.celery.pidbox`: the direct exchange replies go to.
    pub(super) reply_exchange: String,
}

impl Names {
    /// The names for control exchange `control` (Celery's `control_exchange`, `celery`
    /// unless configured).
    pub(super) fn new(control: &str) -> Names {
        Names {
            exchange: format!("{control}.pidbox"),
            reply_exchange: format!("reply.{control}.pidbox"),
        }
    }

    /// The pub/sub channel requests are published on: `/<db>.celery.pidbox`.
    pub(super) fn request_channel(&self, db: u32) -> String {
        format!("/{db}.{}", self.exchange)
    }

    /// The set holding the reply exchange's bindings.
    pub(super) fn binding_table(&self) -> String {
        format!("_kombu.binding.{}", self.reply_exchange)
    }

    /// The set that keeps kombu (5.7 and later) from sweeping the binding table while
    /// a queue without expiry is listed in it.
    pub(super) fn binding_permanent(&self) -> String {
        format!("_kombu.binding_permanent.{}", self.reply_exchange)
    }

    /// The list the reply is pushed onto for routing key `oid`.
    pub(super) fn reply_queue(&self, oid: &str) -> String {
        format!("{oid}.{}", self.reply_exchange)
    }

    /// The binding of the reply queue for `oid`: routing key, (no) pattern, queue.
    pub(super) fn binding(&self, oid: &str) -> String {
        format!("{oid}{SEP}{SEP}{}", self.reply_queue(oid))
    }

    /// The keys kombu reads a queue from, highest priority first: the queue itself,
    /// then one list per priority step (3, 6, 9).
    pub(super) fn reply_lists(&self, oid: &str) -> [String; 4] {
        let q = self.reply_queue(oid);
        [
            q.clone(),
            format!("{q}{SEP}3"),
            format!("{q}{SEP}6"),
            format!("{q}{SEP}9"),
        ]
    }
}

/// The request envelope: a `ping` addressed to `worker`, expiring at `expires` (seconds
/// since the Unix epoch, as Celery writes it).
pub(super) fn ping_request(names: &Names, worker: &str, ids: &Ids, expires: f64) -> String {
    let body = json!({
        "method": "ping",
        "arguments": {},
        "destination": [worker],
        "pattern": null,
        "matcher": null,
        "ticket": ids.ticket,
        "reply_to": { "exchange": names.reply_exchange, "routing_key": ids.oid },
    });
    json!({
        "body": base64(body.to_string().as_bytes()),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": { "clock": 1, "expires": expires },
        "properties": {
            "delivery_mode": 2,
            "delivery_info": { "exchange": names.exchange, "routing_key": "" },
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": ids.delivery_tag,
        },
    })
    .to_string()
}

/// A reply envelope read from the reply queue.
#[derive(Debug, PartialEq)]
pub(super) enum Reply {
    /// An answer to this request: worker name → what it answered.
    Answer(Map<String, Value>),
    /// An answer to some other request (another ticket); ignore it.
    Other,
}

/// Reads a reply envelope; `ticket` is the request's.
pub(super) fn parse_reply(raw: &[u8], ticket: &str) -> Result<Reply, String> {
    let envelope: Value =
        serde_json::from_slice(raw).map_err(|_| "the reply envelope is not JSON".to_owned())?;
    let envelope = envelope
        .as_object()
        .ok_or("the reply envelope is not a JSON object")?;
    match envelope
        .get("headers")
        .and_then(|h| h.get("ticket"))
        .and_then(Value::as_str)
    {
        Some(t) if t == ticket => {}
        Some(_) => return Ok(Reply::Other),
        None => return Err("the reply has no ticket".into()),
    }
    let content_type = envelope
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if content_type != "application/json" {
        return Err(format!(
            "the reply is `{}`, not application/json (set the worker's serializer to json)",
            truncated(content_type)
        ));
    }
    let body = envelope
        .get("body")
        .and_then(Value::as_str)
        .ok_or("the reply has no body")?;
    let encoding = envelope
        .get("properties")
        .and_then(|p| p.get("body_encoding"))
        .and_then(Value::as_str);
    let body = match encoding {
        Some("base64") => unbase64(body).ok_or("the reply body is not valid base64")?,
        None => body.as_bytes().to_vec(),
        Some(other) => {
            return Err(format!(
                "the reply body has an unknown encoding `{}`",
                truncated(other)
            ))
        }
    };
    match serde_json::from_slice(&body) {
        Ok(Value::Object(answers)) => Ok(Reply::Answer(answers)),
        _ => Err("the reply body is not a JSON object".into()),
    }
}

/// Whether a worker's answer is the one `ping` gives: `{"ok": "pong"}`.
pub(super) fn is_pong(answer: &Value) -> bool {
    answer.get("ok").and_then(Value::as_str) == Some("pong")
}

/// At most 64 characters of something a server sent, for a message.
pub(super) fn truncated(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Standard base64 (padding optional); `None` on anything else.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Ids {
        Ids {
            ticket: "8309add3-e185-4411-8a55-a9da9bd4659f".into(),
            oid: "b0471c8d-b9b1-3efe-90bb-31fdc3896afe".into(),
            delivery_tag: "1909c3fa-0840-4570-b820-564213b746d3".into(),
        }
    }

    #[test]
    fn names_follow_kombus_redis_layout() {
        let n = Names::new("celery");
        let oid = "b0471c8d-b9b1-3efe-90bb-31fdc3896afe";
        assert_eq!(n.request_channel(9), "/9.celery.pidbox");
        assert_eq!(n.binding_table(), "_kombu.binding.reply.celery.pidbox");
        assert_eq!(
            n.binding_permanent(),
            "_kombu.binding_permanent.reply.celery.pidbox"
        );
        assert_eq!(
            n.binding(oid),
            format!("{oid}\x06\x16\x06\x16{oid}.reply.celery.pidbox")
        );
        assert_eq!(
            n.reply_lists(oid)[3],
            format!("{oid}.reply.celery.pidbox\x06\x169")
        );
    }

    #[test]
    fn the_request_is_the_envelope_celery_inspect_publishes() {
        let raw = ping_request(&Names::new("celery"), "exp@host", &ids(), 1795217800.25);
        let env: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(env["content-type"], "application/json");
        assert_eq!(env["content-encoding"], "utf-8");
        assert_eq!(env["headers"]["expires"], 1795217800.25);
        assert_eq!(env["properties"]["body_encoding"], "base64");
        assert_eq!(
            env["properties"]["delivery_info"]["exchange"],
            "celery.pidbox"
        );
        assert_eq!(env["properties"]["delivery_info"]["routing_key"], "");
        let body: Value =
            serde_json::from_slice(&unbase64(env["body"].as_str().unwrap()).unwrap()).unwrap();
        // What `celery inspect ping -d exp@host` sent, decoded from its base64 body.
        let seen: Value = serde_json::from_str(
            r#"{"method": "ping", "arguments": {}, "destination": ["exp@host"],
                "pattern": null, "matcher": null,
                "ticket": "8309add3-e185-4411-8a55-a9da9bd4659f",
                "reply_to": {"exchange": "reply.celery.pidbox",
                             "routing_key": "b0471c8d-b9b1-3efe-90bb-31fdc3896afe"}}"#,
        )
        .unwrap();
        assert_eq!(body, seen);
    }

    /// The reply a Celery 5.7 worker pushed, byte for byte.
    const REPLY: &str = r#"{"body": "eyJleHBAaG9zdCI6IHsib2siOiAicG9uZyJ9fQ==", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"ticket": "8309add3-e185-4411-8a55-a9da9bd4659f", "clock": 3}, "properties": {"delivery_mode": 1, "delivery_info": {"exchange": "reply.celery.pidbox", "routing_key": "b0471c8d-b9b1-3efe-90bb-31fdc3896afe"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "14a2df29-c84d-42fa-b2d4-f6c72e0c44bd"}}"#;

    #[test]
    fn a_workers_reply_reads_as_pong() {
        let Reply::Answer(answers) = parse_reply(REPLY.as_bytes(), &ids().ticket).unwrap() else {
            panic!("not an answer")
        };
        assert!(is_pong(&answers["exp@host"]));
        assert_eq!(
            parse_reply(REPLY.as_bytes(), "another-ticket"),
            Ok(Reply::Other)
        );
    }

    #[test]
    fn an_error_answer_is_not_pong() {
        assert!(!is_pong(&json!({"error": "KeyError('ping')"})));
        assert!(!is_pong(&json!("pong")));
    }

    #[test]
    fn broken_replies_are_plain_errors() {
        let t = &ids().ticket;
        let cases: &[(&str, &str)] = &[
            ("not json", "the reply envelope is not JSON"),
            ("[1]", "the reply envelope is not a JSON object"),
            (r#"{"body": "e30="}"#, "the reply has no ticket"),
            (
                r#"{"headers": {"ticket": "TICKET"}, "content-type": "application/x-python-serialize", "body": ""}"#,
                "the reply is `application/x-python-serialize`, not application/json (set the worker's serializer to json)",
            ),
            (
                r#"{"headers": {"ticket": "TICKET"}, "content-type": "application/json"}"#,
                "the reply has no body",
            ),
            (
                r#"{"headers": {"ticket": "TICKET"}, "content-type": "application/json", "body": "!!", "properties": {"body_encoding": "base64"}}"#,
                "the reply body is not valid base64",
            ),
            (
                r#"{"headers": {"ticket": "TICKET"}, "content-type": "application/json", "body": "[]"}"#,
                "the reply body is not a JSON object",
            ),
        ];
        for (raw, want) in cases {
            let raw = raw.replace("TICKET", t);
            assert_eq!(
                parse_reply(raw.as_bytes(), t),
                Err((*want).to_owned()),
                "{raw}"
            );
        }
        // A plain (not base64) body is what older transports sent.
        let raw = format!(
            r#"{{"headers": {{"ticket": "{t}"}}, "content-type": "application/json", "body": "{{\"w@h\": {{\"ok\": \"pong\"}}}}"}}"#
        );
        assert!(matches!(
            parse_reply(raw.as_bytes(), t),
            Ok(Reply::Answer(_))
        ));
    }

    #[test]
    fn base64_round_trips() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\x80"] {
            assert_eq!(unbase64(&base64(input)).as_deref(), Some(input));
        }
        assert_eq!(unbase64("Zm9v"), Some(b"foo".to_vec()));
        assert_eq!(unbase64("Z"), None);
    }

    #[test]
    fn long_server_text_is_cut() {
        let long = "x".repeat(100);
        assert_eq!(truncated(&long).chars().count(), 65);
        assert_eq!(truncated("short"), "short");
    }
}
