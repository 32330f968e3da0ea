//! The MySQL/MariaDB client/server protocol, as far as a ping needs it: packet framing, the
//! server's greeting (Initial Handshake, protocol 10, or an ERR packet), a minimal
//! HandshakeResponse41, and the generic answers (OK, ERR, auth switch).
//!
//! ```
//! use probe_core::proto::mysql::{read_packet, Greeting};
//!
//! // An ERR packet as greeting: 1040, too many connections.
//! let bytes = b"\x17\0\0\0\xff\x10\x04Too many connections";
//! let (packet, used) = read_packet(bytes, 1024).unwrap().unwrap();
//! assert_eq!(used, bytes.len());
//! let Greeting::Refused(err) = Greeting::parse(packet.payload).unwrap() else { panic!() };
//! assert_eq!(err.code, 1040);
//! ```

/// CLIENT_LONG_PASSWORD.
const LONG_PASSWORD: u32 = 1;
/// CLIENT_PROTOCOL_41.
const PROTOCOL_41: u32 = 0x200;
/// CLIENT_SECURE_CONNECTION (length-prefixed auth response).
const SECURE_CONNECTION: u32 = 0x8000;
/// CLIENT_PLUGIN_AUTH.
const PLUGIN_AUTH: u32 = 0x8_0000;

/// The largest packet payload the protocol allows in one frame.
pub const MAX_PAYLOAD: usize = 0xff_ffff;

/// One framed packet: its sequence id and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The sequence id.
    pub seq: u8,
    /// The payload.
    pub payload: &'a [u8],
}

/// Why bytes are not the MySQL packet that was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MysqlError {
    /// A packet declares a payload larger than the reader accepts.
    #[error("a packet of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The declared payload length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The greeting has no payload.
    #[error("empty greeting packet")]
    Empty,
    /// The greeting is of a protocol version other than 10.
    #[error("unsupported protocol version {0} (expected 10)")]
    Protocol(u8),
    /// A packet is cut short or its fields do not add up.
    #[error("malformed {0} packet")]
    Malformed(&'static str),
}

/// Reads one packet from `buf`: `Ok(Some((packet, bytes used)))`, `Ok(None)` when more
/// bytes are needed, or an error when it declares more than `max_payload` bytes.
pub fn read_packet(
    buf: &[u8],
    max_payload: usize,
) -> Result<Option<(Packet<'_>, usize)>, MysqlError> {
    let Some(header) = buf.get(0..4) else {
        return Ok(None);
    };
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    if len > max_payload {
        return Err(MysqlError::TooLarge {
            len,
            limit: max_payload,
        });
    }
    match buf.get(4..4 + len) {
        Some(payload) => Ok(Some((
            Packet {
                seq: header[3],
                payload,
            },
            4 + len,
        ))),
        None => Ok(None),
    }
}

/// Frames `payload` as a packet with sequence id `seq`.
pub fn write_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().min(MAX_PAYLOAD);
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_le_bytes()[..3]);
    out.push(seq);
    out.extend_from_slice(&payload[..len]);
    out
}

/// An ERR packet: `0xff`, a code, an optional `#` and SQL state, a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// The error number: 1040 too many connections, 1045 access denied, 1129 host blocked...
    pub code: u16,
    /// The five-character SQL state, when present.
    pub sql_state: Option<String>,
    /// The message.
    pub message: String,
}

impl ServerError {
    /// Parses an ERR packet payload (starting with `0xff`).
    pub fn parse(payload: &[u8]) -> Result<Self, MysqlError> {
        let rest = payload
            .strip_prefix(&[0xff])
            .ok_or(MysqlError::Malformed("ERR"))?;
        let code = rest.get(0..2).ok_or(MysqlError::Malformed("ERR"))?;
        let code = u16::from_le_bytes([code[0], code[1]]);
        let mut rest = &rest[2..];
        let mut sql_state = None;
        if rest.first() == Some(&b'#') && rest.len() >= 6 {
            sql_state = Some(String::from_utf8_lossy(&rest[1..6]).into_owned());
            rest = &rest[6..];
        }
        Ok(ServerError {
            code,
            sql_state,
            message: String::from_utf8_lossy(rest).into_owned(),
        })
    }
}

/// The server's first packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Greeting {
    /// An Initial Handshake, protocol 10.
    Handshake(Handshake),
    /// An ERR packet instead: too many connections, host blocked, host not allowed...
    Refused(ServerError),
}

/// The parts of an Initial Handshake (protocol 10) a ping uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The server version string, e.g. `5.5.5-10.11.6-MariaDB-0+deb12u1` or `8.0.36`.
    pub server_version: String,
    /// The connection id.
    pub connection_id: u32,
    /// The server's capability flags (lower and upper halves joined).
    pub capabilities: u32,
    /// The default authentication plugin, when announced.
    pub auth_plugin: Option<String>,
}

impl Handshake {
    /// The version without MariaDB's `5.5.5-` replication prefix.
    pub fn version(&self) -> &str {
        self.server_version
            .strip_prefix("5.5.5-")
            .unwrap_or(&self.server_version)
    }
}

impl Greeting {
    /// Parses the payload of the server's first packet.
    pub fn parse(payload: &[u8]) -> Result<Self, MysqlError> {
        match payload.first() {
            None => Err(MysqlError::Empty),
            Some(0xff) => Ok(Greeting::Refused(ServerError::parse(payload)?)),
            Some(10) => Ok(Greeting::Handshake(handshake(&payload[1..])?)),
            Some(&other) => Err(MysqlError::Protocol(other)),
        }
    }
}

fn handshake(p: &[u8]) -> Result<Handshake, MysqlError> {
    let bad = MysqlError::Malformed("handshake");
    let nul = p.iter().position(|b| *b == 0).ok_or(bad.clone())?;
    let server_version = String::from_utf8_lossy(&p[..nul]).into_owned();
    let p = &p[nul + 1..];
    // connection id (4), auth data part 1 (8), filler (1), capabilities low (2)
    let fixed = p.get(0..15).ok_or(bad.clone())?;
    let connection_id = u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
    let mut capabilities = u32::from(u16::from_le_bytes([fixed[13], fixed[14]]));
    let mut auth_plugin = None;
    // charset (1), status (2), capabilities high (2), auth data length (1), reserved (10)
    if let Some(more) = p.get(15..31) {
        capabilities |= u32::from(u16::from_le_bytes([more[3], more[4]])) << 16;
        let data_len = usize::from(more[5]);
        let rest = &p[31..];
        if capabilities & PLUGIN_AUTH != 0 {
            let part2 = data_len.saturating_sub(8).max(13);
            if let Some(name) = rest.get(part2..) {
                let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
                auth_plugin = Some(String::from_utf8_lossy(&name[..end]).into_owned());
            }
        }
    }
    Ok(Handshake {
        server_version,
        connection_id,
        capabilities,
        auth_plugin,
    })
}

/// A HandshakeResponse41 logging in as `user` with an empty password (an empty
/// `mysql_native_password` response): enough to finish the handshake politely, so the
/// server does not count an aborted connection against the client's host.
pub fn handshake_response(user: &str, server_capabilities: u32) -> Vec<u8> {
    let wanted = LONG_PASSWORD | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH;
    let caps = wanted & server_capabilities | PROTOCOL_41;
    let mut p = Vec::with_capacity(64 + user.len());
    p.extend_from_slice(&caps.to_le_bytes());
    p.extend_from_slice(&(16u32 * 1024 * 1024).to_le_bytes());
    p.push(45); // utf8mb4_general_ci
    p.extend_from_slice(&[0; 23]);
    p.extend(user.bytes().filter(|b| *b != 0));
    p.push(0);
    p.push(0); // auth response: zero bytes
    if caps & PLUGIN_AUTH != 0 {
        p.extend_from_slice(b"mysql_native_password\0");
    }
    p
}

/// COM_QUIT, the polite goodbye after a successful login.
pub const COM_QUIT: [u8; 1] = [0x01];

/// The server's answer to a handshake response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthReply {
    /// OK: logged in.
    Ok,
    /// ERR: login refused (access denied, ...).
    Err(ServerError),
    /// An auth switch request or more plugin data: the dialog goes on.
    Continue,
}

/// Classifies the payload of an answer to a handshake response.
pub fn auth_reply(payload: &[u8]) -> Result<AuthReply, MysqlError> {
    match payload.first() {
        Some(0x00) => Ok(AuthReply::Ok),
        Some(0xff) => Ok(AuthReply::Err(ServerError::parse(payload)?)),
        Some(0xfe) | Some(0x01) => Ok(AuthReply::Continue),
        _ => Err(MysqlError::Malformed("authentication reply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A MariaDB 10.11 greeting as it appears on the wire (auth data zeroed).
    fn mariadb_greeting() -> Vec<u8> {
        let mut p = vec![10];
        p.extend_from_slice(b"5.5.5-10.11.6-MariaDB\0");
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(&[0; 8]);
        p.push(0);
        p.extend_from_slice(&0xf7feu16.to_le_bytes());
        p.push(45);
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&0x81ffu16.to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(&[0; 13]);
        p.extend_from_slice(b"mysql_native_password\0");
        write_packet(0, &p)
    }

    #[test]
    fn a_greeting_yields_version_and_plugin() {
        let bytes = mariadb_greeting();
        let (packet, used) = read_packet(&bytes, 4096).unwrap().unwrap();
        assert_eq!((packet.seq, used), (0, bytes.len()));
        let Greeting::Handshake(h) = Greeting::parse(packet.payload).unwrap() else {
            panic!("not a handshake")
        };
        assert_eq!(h.version(), "10.11.6-MariaDB");
        assert_eq!(h.connection_id, 7);
        assert_eq!(h.auth_plugin.as_deref(), Some("mysql_native_password"));
        assert_ne!(h.capabilities & PLUGIN_AUTH, 0);
        for cut in 0..bytes.len() {
            assert_eq!(read_packet(&bytes[..cut], 4096).unwrap(), None);
        }
    }

    #[test]
    fn err_greetings_and_bad_bytes() {
        let err = ServerError::parse(b"\xff\x69\x04#HY000Host 'x' is blocked").unwrap();
        assert_eq!((err.code, err.sql_state.as_deref()), (1129, Some("HY000")));
        assert_eq!(Greeting::parse(&[9, b'3', 0]), Err(MysqlError::Protocol(9)));
        assert_eq!(Greeting::parse(&[]), Err(MysqlError::Empty));
        assert_eq!(
            Greeting::parse(&[10, b'8']),
            Err(MysqlError::Malformed("handshake"))
        );
        assert_eq!(
            Greeting::parse(&[0xff, 1]),
            Err(MysqlError::Malformed("ERR"))
        );
        assert!(matches!(
            read_packet(b"\xff\xff\xff\0", 1 << 16),
            Err(MysqlError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_handshake_response_names_the_user_and_no_password() {
        let p = handshake_response("probe", 0xffff_ffff);
        assert_eq!(&p[32..38], b"probe\0");
        assert_eq!(p[38], 0, "empty auth response");
        assert!(p.ends_with(b"mysql_native_password\0"));
        assert_eq!(auth_reply(&[0, 0, 0, 2, 0, 0, 0]), Ok(AuthReply::Ok));
        assert!(
            matches!(auth_reply(b"\xff\x15\x04#28000Access denied"), Ok(AuthReply::Err(e)) if e.code == 1045)
        );
        assert_eq!(auth_reply(b"\xfeplugin\0"), Ok(AuthReply::Continue));
        assert!(auth_reply(b"").is_err());
    }
}
