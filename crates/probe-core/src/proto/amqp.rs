//! AMQP 0-9-1 as far as the opening handshake: the protocol header a client sends, the
//! frame that answers it, and `Connection.Start` with its server properties.
//!
//! ```
//! use probe_core::proto::amqp::{read_answer, Answer, PROTOCOL_HEADER};
//!
//! assert_eq!(&PROTOCOL_HEADER, b"AMQP\x00\x00\x09\x01");
//! // A broker that only speaks AMQP 1.0 answers with its own header and closes.
//! let (answer, _) = read_answer(b"AMQP\x00\x01\x00\x00", 4096).unwrap().unwrap();
//! assert_eq!(answer, Answer::ProtocolHeader([0, 1, 0, 0]));
//! ```

/// The header a client opens an AMQP 0-9-1 connection with.
pub const PROTOCOL_HEADER: [u8; 8] = *b"AMQP\x00\x00\x09\x01";

/// The octet that ends every frame.
pub const FRAME_END: u8 = 0xce;

/// Frame type 1: a method frame.
pub const FRAME_METHOD: u8 = 1;

/// The broker's answer to the protocol header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A frame (normally the `Connection.Start` method frame).
    Frame(Frame),
    /// A protocol header back: the broker does not speak 0-9-1 and names what it speaks
    /// (the four bytes after `AMQP`).
    ProtocolHeader([u8; 4]),
}

/// One frame: type, channel, payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// 1 method, 2 header, 3 body, 8 heartbeat.
    pub kind: u8,
    /// The channel; 0 for the connection.
    pub channel: u16,
    /// The payload.
    pub payload: Vec<u8>,
}

/// `Connection.Start`, the broker's greeting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStart {
    /// The protocol major version the broker speaks (0).
    pub version_major: u8,
    /// The protocol minor version (9).
    pub version_minor: u8,
    /// Server properties that are strings: `product`, `version`, `platform`,
    /// `cluster_name`..., in the order sent. Other types are skipped.
    pub properties: Vec<(String, String)>,
    /// The SASL mechanisms offered, space separated.
    pub mechanisms: String,
}

impl ConnectionStart {
    /// The string server property `key`.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why bytes are not the AMQP answer that was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmqpError {
    /// A frame declares a payload larger than the reader accepts.
    #[error("a frame of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The declared size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The frame does not end with `0xCE`.
    #[error("the frame does not end with the frame-end octet")]
    NoFrameEnd,
    /// The bytes start neither a frame nor a protocol header.
    #[error("not an AMQP answer (it starts with byte 0x{0:02x})")]
    NotAmqp(u8),
    /// The method frame is not `Connection.Start` (class 10, method 10).
    #[error("expected Connection.Start (10.10), got method {class}.{method}")]
    UnexpectedMethod {
        /// The class id.
        class: u16,
        /// The method id.
        method: u16,
    },
    /// A frame of another type than method arrived first.
    #[error("expected a method frame, got frame type {0}")]
    UnexpectedFrame(u8),
    /// The method's arguments are cut short or do not add up.
    #[error("malformed Connection.Start")]
    Malformed,
}

/// Reads the broker's first answer from `buf`: `Ok(Some((answer, bytes used)))`,
/// `Ok(None)` when more bytes are needed, or an error.
pub fn read_answer(buf: &[u8], max_frame: usize) -> Result<Option<(Answer, usize)>, AmqpError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first == b'A' {
        if buf.len() < 8 {
            return if b"AMQP".starts_with(&buf[..buf.len().min(4)]) {
                Ok(None)
            } else {
                Err(AmqpError::NotAmqp(first))
            };
        }
        if &buf[..4] != b"AMQP" {
            return Err(AmqpError::NotAmqp(first));
        }
        return Ok(Some((
            Answer::ProtocolHeader([buf[4], buf[5], buf[6], buf[7]]),
            8,
        )));
    }
    if !matches!(first, 1 | 2 | 3 | 8) {
        return Err(AmqpError::NotAmqp(first));
    }
    let Some(header) = buf.get(0..7) else {
        return Ok(None);
    };
    let channel = u16::from_be_bytes([header[1], header[2]]);
    let len = u32::from_be_bytes([header[3], header[4], header[5], header[6]]) as usize;
    if len > max_frame {
        return Err(AmqpError::TooLarge {
            len,
            limit: max_frame,
        });
    }
    let Some(&end) = buf.get(7 + len) else {
        return Ok(None);
    };
    if end != FRAME_END {
        return Err(AmqpError::NoFrameEnd);
    }
    Ok(Some((
        Answer::Frame(Frame {
            kind: first,
            channel,
            payload: buf[7..7 + len].to_vec(),
        }),
        8 + len,
    )))
}

/// Parses a frame as `Connection.Start`.
pub fn connection_start(frame: &Frame) -> Result<ConnectionStart, AmqpError> {
    if frame.kind != FRAME_METHOD {
        return Err(AmqpError::UnexpectedFrame(frame.kind));
    }
    let mut r = Cursor(&frame.payload);
    let class = r.u16()?;
    let method = r.u16()?;
    if (class, method) != (10, 10) {
        return Err(AmqpError::UnexpectedMethod { class, method });
    }
    let version_major = r.u8()?;
    let version_minor = r.u8()?;
    let table = r.long_bytes()?;
    let properties = string_fields(table)?;
    let mechanisms = String::from_utf8_lossy(r.long_bytes()?).into_owned();
    Ok(ConnectionStart {
        version_major,
        version_minor,
        properties,
        mechanisms,
    })
}

/// The string entries (`S`) of a field table; every other type is skipped by its size.
fn string_fields(table: &[u8]) -> Result<Vec<(String, String)>, AmqpError> {
    let mut r = Cursor(table);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let name_len = usize::from(r.u8()?);
        let name = String::from_utf8_lossy(r.take(name_len)?).into_owned();
        let kind = r.u8()?;
        let fixed = match kind {
            b'S' => {
                let value = String::from_utf8_lossy(r.long_bytes()?).into_owned();
                out.push((name, value));
                continue;
            }
            b'x' | b'A' | b'F' => {
                r.long_bytes()?;
                continue;
            }
            b's' => {
                let len = usize::from(r.u8()?);
                r.take(len)?;
                continue;
            }
            b'V' => 0,
            b't' | b'b' | b'B' => 1,
            b'U' | b'u' => 2,
            b'I' | b'i' | b'f' => 4,
            b'D' => 5,
            b'L' | b'l' | b'd' | b'T' => 8,
            _ => return Err(AmqpError::Malformed),
        };
        r.take(fixed)?;
    }
    Ok(out)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AmqpError> {
        if self.0.len() < n {
            return Err(AmqpError::Malformed);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, AmqpError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, AmqpError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn long_bytes(&mut self) -> Result<&'a [u8], AmqpError> {
        let b = self.take(4)?;
        let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(bytes: &[u8]) -> Vec<u8> {
        let mut v = (bytes.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(bytes);
        v
    }

    fn start_frame() -> Vec<u8> {
        let mut table = Vec::new();
        table.extend_from_slice(b"\x0ccapabilities");
        table.push(b'F');
        table.extend(long(b"\x12publisher_confirmst\x01"));
        table.extend_from_slice(b"\x07product");
        table.push(b'S');
        table.extend(long(b"RabbitMQ"));
        table.extend_from_slice(b"\x04port");
        table.push(b'I');
        table.extend_from_slice(&5672u32.to_be_bytes());
        table.extend_from_slice(b"\x07version");
        table.push(b'S');
        table.extend(long(b"3.10.8"));
        let mut payload = vec![0, 10, 0, 10, 0, 9];
        payload.extend(long(&table));
        payload.extend(long(b"PLAIN AMQPLAIN"));
        payload.extend(long(b"en_US"));
        let mut frame = vec![1, 0, 0];
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend(payload);
        frame.push(FRAME_END);
        frame
    }

    #[test]
    fn connection_start_yields_product_and_version() {
        let bytes = start_frame();
        let (answer, used) = read_answer(&bytes, 4096).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let Answer::Frame(frame) = answer else {
            panic!("not a frame")
        };
        let start = connection_start(&frame).unwrap();
        assert_eq!((start.version_major, start.version_minor), (0, 9));
        assert_eq!(start.property("product"), Some("RabbitMQ"));
        assert_eq!(start.property("version"), Some("3.10.8"));
        assert_eq!(start.property("capabilities"), None);
        assert_eq!(start.mechanisms, "PLAIN AMQPLAIN");
        for cut in 0..bytes.len() {
            assert_eq!(read_answer(&bytes[..cut], 4096), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn bad_answers_are_errors() {
        assert_eq!(
            read_answer(b"HTTP/1.1", 4096),
            Err(AmqpError::NotAmqp(b'H'))
        );
        assert_eq!(
            read_answer(b"AMQX\0\0\0\0", 4096),
            Err(AmqpError::NotAmqp(b'A'))
        );
        assert_eq!(read_answer(b"AB", 4096), Err(AmqpError::NotAmqp(b'A')));
        assert!(matches!(
            read_answer(b"\x01\0\0\xff\xff\xff\xff", 4096),
            Err(AmqpError::TooLarge { .. })
        ));
        assert_eq!(
            read_answer(b"\x01\0\0\0\0\0\x01\0\0", 4096),
            Err(AmqpError::NoFrameEnd)
        );
        let frame = Frame {
            kind: 1,
            channel: 0,
            payload: vec![0, 10, 0, 50],
        };
        assert_eq!(
            connection_start(&frame),
            Err(AmqpError::UnexpectedMethod {
                class: 10,
                method: 50
            })
        );
        let frame = Frame {
            kind: 1,
            channel: 0,
            payload: vec![0, 10, 0, 10, 0, 9, 0, 0, 0, 9],
        };
        assert_eq!(connection_start(&frame), Err(AmqpError::Malformed));
        let frame = Frame {
            kind: 8,
            channel: 0,
            payload: vec![],
        };
        assert_eq!(connection_start(&frame), Err(AmqpError::UnexpectedFrame(8)));
    }
}
