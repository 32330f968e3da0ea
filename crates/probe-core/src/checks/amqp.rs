//! `amqp`: an AMQP 0-9-1 broker (RabbitMQ) answers the protocol header with
//! `Connection.Start`.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::endpoint::{Endpoint, UrlError};
use crate::proto::amqp::{connection_start, read_answer, Answer, PROTOCOL_HEADER};
use crate::text::io_reason;
use crate::{BoxFuture, Check, Outcome, Scope};

/// The largest first frame accepted: 64 KiB (brokers send well under 4 KiB).
const MAX_FRAME: usize = 64 * 1024;

/// Sends the AMQP 0-9-1 protocol header and passes when the broker answers with
/// `Connection.Start`; the message names the broker's product and version.
///
/// The URL is `amqp://[user:password@]host[:port][/vhost]`; the check stops before
/// authentication, so credentials and vhost are not used (and never shown). A broker that
/// answers with its own protocol header (it does not speak 0-9-1), closes the connection,
/// or sends anything else fails.
///
/// ```
/// use probe_core::checks::AmqpCheck;
/// let broker = AmqpCheck::new("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct AmqpCheck {
    endpoint: Endpoint,
}

impl AmqpCheck {
    /// A check of the broker at `url` (`amqp://`; TLS `amqps://` is not spoken).
    pub fn new(url: &str) -> Result<Self, UrlError> {
        Ok(AmqpCheck {
            endpoint: Endpoint::parse(url, &["amqp"], 5672)?,
        })
    }

    async fn run(&self) -> Outcome {
        let e = &self.endpoint;
        let addr = e.addr();
        let mut stream = match e.connect().await {
            Ok(s) => s,
            Err(message) => return Outcome::fail(message),
        };
        if let Err(err) = stream.write_all(&PROTOCOL_HEADER).await {
            return Outcome::fail(format!(
                "cannot send the protocol header to {addr}: {}",
                io_reason(&err)
            ));
        }
        let mut buf = Vec::with_capacity(1024);
        let answer = loop {
            match read_answer(&buf, MAX_FRAME) {
                Ok(Some((answer, _))) => break answer,
                Ok(None) => {}
                Err(err) => {
                    return Outcome::fail(format!("{addr} answered, but not as AMQP 0-9-1: {err}"))
                }
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) => {
                    return Outcome::fail(format!("{addr} closed the connection without answering"))
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(err) => {
                    return Outcome::fail(format!("no answer from {addr}: {}", io_reason(&err)))
                }
            }
        };
        let frame = match answer {
            Answer::Frame(frame) => frame,
            Answer::ProtocolHeader(offered) => {
                return Outcome::fail(format!(
                    "{addr} does not accept AMQP 0-9-1; it offered {}",
                    describe_header(offered)
                ))
            }
        };
        match connection_start(&frame) {
            Ok(start) => {
                let product = start.property("product").unwrap_or("an AMQP broker");
                let version = start.property("version").unwrap_or("");
                let shown = format!("{product} {version}");
                Outcome::pass()
                    .with_message(format!("{addr} - {} (AMQP 0-9-1)", shown.trim()))
                    .with_details(json!({
                        "product": start.property("product"),
                        "version": start.property("version"),
                        "platform": start.property("platform"),
                        "cluster_name": start.property("cluster_name"),
                        "mechanisms": start.mechanisms,
                    }))
            }
            Err(err) => Outcome::fail(format!("{addr} answered, but not as AMQP 0-9-1: {err}")),
        }
    }
}

/// A readable name for the four bytes after `AMQP` in a protocol header.
fn describe_header(h: [u8; 4]) -> String {
    match h {
        [0, 1, 0, 0] => "AMQP 1.0".into(),
        [3, 1, 0, 0] => "AMQP 1.0 (SASL)".into(),
        [1, 1, 0, 10] => "AMQP 0-10".into(),
        [1, 1, 0, 9] => "AMQP 0-9".into(),
        [1, 1, 8, 0] | [1, 1, 0, 8] => "AMQP 0-8".into(),
        [0, 0, 9, 1] => "AMQP 0-9-1, yet refused it".into(),
        [a, b, c, d] => format!("an unknown protocol header (AMQP {a}.{b}.{c}.{d})"),
    }
}

impl Check for AmqpCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_protocols_have_plain_names() {
        assert_eq!(describe_header([0, 1, 0, 0]), "AMQP 1.0");
        assert_eq!(describe_header([1, 1, 0, 10]), "AMQP 0-10");
        assert!(describe_header([9, 9, 9, 9]).contains("9.9.9.9"));
    }
}
