//! `mysql`: a MySQL or MariaDB server is alive, the way `mysqladmin ping` means it.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::endpoint::{Endpoint, UrlError};
use crate::proto::mysql::{
    auth_reply, handshake_response, read_packet, write_packet, AuthReply, Greeting, Handshake,
    COM_QUIT,
};
use crate::text::io_reason;
use crate::{BoxFuture, Check, Outcome, Scope};

/// The largest greeting or reply accepted: 64 KiB.
const MAX_PACKET: usize = 64 * 1024;

/// How long the login that follows the greeting may take; its result never changes the
/// verdict, it only ends the connection cleanly.
const LOGIN_BUDGET: Duration = Duration::from_millis(300);

/// Passes when the server greets with an Initial Handshake (protocol 10), whatever it
/// would think of the credentials, as `mysqladmin ping` exits 0 on "access denied".
///
/// The URL is `mysql://[user@]host[:port]` (`mariadb://` too). After the greeting the check
/// logs in as the URL's user (default `probe`) with an empty password and then quits, so
/// the server never counts the probe as an aborted handshake (which, repeated
/// `max_connect_errors` times, would block the probing host). A password in the URL is
/// never sent. A login refusal is reported in the details, not as a failure.
///
/// When the server greets with an ERR packet instead (1040 too many connections, 1129 host
/// blocked, 1130 host not allowed), it is running but refusing: `mysqladmin ping` still
/// exits 0, so the check does not fail, but reports `warn` with the server's error.
/// Nothing listening, a dropped connection or an answer that is not MySQL's fails.
///
/// ```
/// use probe_core::checks::MysqlCheck;
/// let db = MysqlCheck::new("mysql://healthcheck@127.0.0.1:3306").unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct MysqlCheck {
    endpoint: Endpoint,
}

impl MysqlCheck {
    /// A check of the server at `url`.
    pub fn new(url: &str) -> Result<Self, UrlError> {
        Ok(MysqlCheck {
            endpoint: Endpoint::parse(url, &["mysql", "mariadb"], 3306)?,
        })
    }

    async fn run(&self) -> Outcome {
        let e = &self.endpoint;
        let addr = e.addr();
        let mut stream = match e.connect().await {
            Ok(s) => s,
            Err(message) => return Outcome::fail(message),
        };
        let mut buf = Vec::with_capacity(256);
        let greeting = match read_one(&mut stream, &mut buf).await {
            Ok((_, payload)) => Greeting::parse(&payload),
            Err(reason) => return Outcome::fail(format!("{addr} did not greet: {reason}")),
        };
        match greeting {
            Ok(Greeting::Handshake(h)) => {
                let login =
                    tokio::time::timeout(LOGIN_BUDGET, self.login(&mut stream, &mut buf, &h))
                        .await
                        .unwrap_or_else(|_| "no answer in time".into());
                Outcome::pass()
                    .with_message(format!("{addr} - alive ({})", h.version()))
                    .with_details(json!({
                        "server_version": h.server_version,
                        "connection_id": h.connection_id,
                        "login": login,
                    }))
            }
            Ok(Greeting::Refused(err)) => Outcome::warn(format!(
                "{addr} - alive, but refusing connections: {} {}",
                err.code,
                e.scrub(&err.message)
            ))
            .with_details(
                json!({ "error_code": err.code, "server_message": e.scrub(&err.message) }),
            ),
            Err(err) => Outcome::fail(format!("{addr} answered, but not as MySQL: {err}")),
        }
    }

    /// Logs in with an empty password and quits; returns what became of the login.
    async fn login(&self, stream: &mut TcpStream, buf: &mut Vec<u8>, h: &Handshake) -> Value {
        let user = self.endpoint.user().unwrap_or("probe");
        let mut seq = 1u8;
        let mut payload = handshake_response(user, h.capabilities);
        for _ in 0..3 {
            if let Err(err) = stream.write_all(&write_packet(seq, &payload)).await {
                return io_reason(&err).into();
            }
            let (reply_seq, reply) = match read_one(stream, buf).await {
                Ok(r) => r,
                Err(reason) => return reason.into(),
            };
            match auth_reply(&reply) {
                Ok(AuthReply::Ok) => {
                    let _ = stream.write_all(&write_packet(0, &COM_QUIT)).await;
                    return "ok".into();
                }
                Ok(AuthReply::Err(err)) => {
                    return format!(
                        "refused: {} {}",
                        err.code,
                        self.endpoint.scrub(&err.message)
                    )
                    .into()
                }
                Ok(AuthReply::Continue) => {
                    // Answer an auth switch or a plugin's request with an empty password.
                    seq = reply_seq.wrapping_add(1);
                    payload = Vec::new();
                }
                Err(err) => return err.to_string().into(),
            }
        }
        "the authentication dialog did not end".into()
    }
}

/// Reads one packet (bounded), returning its sequence id and payload.
async fn read_one(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u8, Vec<u8>), String> {
    loop {
        match read_packet(buf, MAX_PACKET) {
            Ok(Some((packet, used))) => {
                let out = (packet.seq, packet.payload.to_vec());
                buf.drain(..used);
                return Ok(out);
            }
            Ok(None) => {}
            Err(err) => return Err(err.to_string()),
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) => return Err("connection closed".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(err) => return Err(io_reason(&err)),
        }
    }
}

impl Check for MysqlCheck {
    fn scope(&self) -> Scope {
        Scope::Dependency
    }

    fn check(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(self.run())
    }
}
