//! The Kafka wire protocol, as far as ApiVersions (api_key 18) needs it.
//!
//! Every message is `size:int32 | header | body`, big-endian. The request header is v1
//! (`api_key, api_version, correlation_id, client_id`) for ApiVersions v0–v2 and v2 (the
//! same plus an empty tag buffer) for v3+, whose body adds the client software name and
//! version as compact strings. Every ApiVersions response starts with header v0 (just the
//! correlation id) and `error_code:int16`; an UNSUPPORTED_VERSION (35) answer lays its body
//! out as v0 whatever version was asked, so the supported range can always be read.
//!
//! Everything here is a pure function over bytes: the check in `checks::kafka` does the I/O.
//!
//! ```
//! use probe_core::proto::kafka::{decode_response, encode_request, frame_size, API_VERSIONS};
//!
//! let request = encode_request(0, 1, "probe", "probe", "0.1.0");
//! assert_eq!(request.len(), 19);
//!
//! // A v0 success listing one API: ApiVersions itself, versions 0 to 4.
//! let answer = [0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 18, 0, 0, 0, 4];
//! let size = frame_size([answer[0], answer[1], answer[2], answer[3]]).unwrap();
//! let response = decode_response(&answer[4..4 + size], 0, 1).unwrap();
//! assert_eq!(response.error_code, 0);
//! assert_eq!(response.range(API_VERSIONS).map(|r| r.max), Some(4));
//! ```

mod reader;

use self::reader::Reader;

/// The ApiVersions api_key.
pub const API_VERSIONS: i16 = 18;
/// The highest ApiVersions version this module encodes and decodes.
pub const MAX_VERSION: i16 = 3;
/// error_code NONE.
pub const NONE: i16 = 0;
/// error_code UNSUPPORTED_VERSION: the body lists the supported range in v0 layout.
pub const UNSUPPORTED_VERSION: i16 = 35;
/// error_code INVALID_REQUEST: a v3+ client name or version the broker refused.
pub const INVALID_REQUEST: i16 = 42;
/// The largest response frame accepted. Real ApiVersions answers are around a kilobyte.
pub const MAX_FRAME: usize = 64 * 1024;

/// Why a response frame cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The peer speaks HTTP.
    #[error("answered HTTP, not the Kafka protocol")]
    Http,
    /// The peer answered with a TLS record: a TLS listener.
    #[error("answered with TLS, not plaintext Kafka (is this a TLS listener?)")]
    Tls,
    /// The size prefix is larger than [`MAX_FRAME`] or negative.
    #[error("answer announces {0} bytes, not a Kafka ApiVersions response")]
    BadSize(i64),
    /// The frame ends before a field does.
    #[error("answer ends inside {0}")]
    Truncated(&'static str),
    /// The answer is for another request.
    #[error("answer has correlation id {got}, expected {expected}")]
    CorrelationMismatch {
        /// The id that was sent.
        expected: i32,
        /// The id that came back.
        got: i32,
    },
    /// A length or count field is negative or does not fit.
    #[error("answer has an invalid {0}")]
    Invalid(&'static str),
}

/// The version range a broker supports for one API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRange {
    /// The API.
    pub api_key: i16,
    /// The lowest supported version.
    pub min: i16,
    /// The highest supported version.
    pub max: i16,
}

/// A decoded ApiVersions response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    /// 0 on success; [`UNSUPPORTED_VERSION`] with the supported range in `api_keys`.
    pub error_code: i16,
    /// The APIs and versions the broker lists (empty for errors other than 35).
    pub api_keys: Vec<ApiRange>,
    /// `throttle_time_ms`, present from v1 on a success.
    pub throttle_time_ms: Option<i32>,
}

impl ApiVersionsResponse {
    /// The range listed for `api_key`, if any.
    pub fn range(&self, api_key: i16) -> Option<ApiRange> {
        self.api_keys.iter().copied().find(|r| r.api_key == api_key)
    }
}

/// The name of a Kafka error code, for messages.
pub fn error_name(code: i16) -> &'static str {
    match code {
        NONE => "NONE",
        -1 => "UNKNOWN_SERVER_ERROR",
        UNSUPPORTED_VERSION => "UNSUPPORTED_VERSION",
        INVALID_REQUEST => "INVALID_REQUEST",
        _ => "unknown error",
    }
}

/// The ApiVersions version to retry with, given the broker's range: the highest version
/// both sides speak, or `None` when the ranges do not meet.
pub fn negotiate(broker: ApiRange) -> Option<i16> {
    let top = broker.max.min(MAX_VERSION);
    (top >= broker.min.max(0)).then_some(top)
}

/// Encodes an ApiVersions request of `version`, size prefix included.
///
/// v0–v2 have header v1 and an empty body; v3 and later have header v2 and a body with the
/// client software name and version (compact strings), each ending in an empty tag buffer.
/// `software_name` and `software_version` are ignored below v3.
pub fn encode_request(
    version: i16,
    correlation_id: i32,
    client_id: &str,
    software_name: &str,
    software_version: &str,
) -> Vec<u8> {
    let mut out = vec![0; 4];
    out.extend_from_slice(&API_VERSIONS.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&correlation_id.to_be_bytes());
    let id = &client_id.as_bytes()[..client_id.len().min(i16::MAX as usize)];
    out.extend_from_slice(&(id.len() as i16).to_be_bytes());
    out.extend_from_slice(id);
    if version >= 3 {
        out.push(0); // header tag buffer
        compact_string(&mut out, software_name);
        compact_string(&mut out, software_version);
        out.push(0); // body tag buffer
    }
    let size = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&size.to_be_bytes());
    out
}

fn compact_string(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len() as u64 + 1;
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Reads a response's 4-byte size prefix: the number of bytes that follow.
///
/// Refuses sizes too small for a header and an error code, larger than [`MAX_FRAME`],
/// and prefixes that are plainly HTTP or TLS, so a wrong port fails with a plain message.
pub fn frame_size(prefix: [u8; 4]) -> Result<usize, DecodeError> {
    if &prefix == b"HTTP" {
        return Err(DecodeError::Http);
    }
    if matches!(prefix[0], 0x15 | 0x16) && prefix[1] == 0x03 {
        return Err(DecodeError::Tls);
    }
    let size = i32::from_be_bytes(prefix);
    match usize::try_from(size) {
        Ok(n) if (6..=MAX_FRAME).contains(&n) => Ok(n),
        _ => Err(DecodeError::BadSize(size.into())),
    }
}

/// Decodes a response payload (the bytes after the size prefix) to a request of
/// `version` sent with `correlation_id`.
pub fn decode_response(
    payload: &[u8],
    version: i16,
    correlation_id: i32,
) -> Result<ApiVersionsResponse, DecodeError> {
    let mut r = Reader(payload);
    let got = r.i32("the correlation id")?;
    if got != correlation_id {
        return Err(DecodeError::CorrelationMismatch {
            expected: correlation_id,
            got,
        });
    }
    let error_code = r.i16("the error code")?;
    let mut response = ApiVersionsResponse {
        error_code,
        api_keys: Vec::new(),
        throttle_time_ms: None,
    };
    match error_code {
        UNSUPPORTED_VERSION => response.api_keys = r.ranges_v0()?,
        NONE if version >= 3 => {
            response.api_keys = r.ranges_compact()?;
            response.throttle_time_ms = Some(r.i32("throttle_time_ms")?);
            r.skip_tags()?;
        }
        NONE => {
            response.api_keys = r.ranges_v0()?;
            if version >= 1 {
                response.throttle_time_ms = Some(r.i32("throttle_time_ms")?);
            }
        }
        _ => {}
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .filter(|b| *b != "|")
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn the_v0_request_matches_the_documented_bytes() {
        let expected = hex("00 00 00 0f  00 12  00 00  00 00 00 01  00 05 70 72 6f 62 65");
        assert_eq!(encode_request(0, 1, "probe", "probe", "0.1.0"), expected);
        // v1 and v2 share the layout; only the version differs.
        let v2 = encode_request(2, 1, "probe", "ignored", "ignored");
        assert_eq!(
            (&v2[..6], &v2[6..8], &v2[8..]),
            (&expected[..6], &[0, 2][..], &expected[8..])
        );
    }

    #[test]
    fn the_v3_request_matches_the_documented_bytes() {
        let expected = hex(
            "00 00 00 1d  00 12 00 03 00 00 00 01  00 05 70 72 6f 62 65  00  \
             06 70 72 6f 62 65  06 30 2e 31 2e 30  00",
        );
        assert_eq!(encode_request(3, 1, "probe", "probe", "0.1.0"), expected);
    }

    #[test]
    fn the_documented_v0_success_decodes() {
        let frame = hex("00 00 00 10 | 00 00 00 01 | 00 00 | 00 00 00 01 | 00 12 00 00 00 04");
        let size = frame_size(frame[..4].try_into().unwrap()).unwrap();
        assert_eq!(size, 16);
        let r = decode_response(&frame[4..4 + size], 0, 1).unwrap();
        assert_eq!(r.error_code, NONE);
        let expected = ApiRange {
            api_key: 18,
            min: 0,
            max: 4,
        };
        assert_eq!((r.api_keys, r.throttle_time_ms), (vec![expected], None));
    }

    #[test]
    fn a_v3_success_with_tagged_fields_decodes() {
        // corr 2, error 0, 2 entries (varint 3), each with an empty tag buffer,
        // throttle 0, then one tagged field (tag 0, 2 bytes).
        let payload = hex(
            "00 00 00 02 00 00 03 00 12 00 00 00 04 00 00 03 00 00 00 0c 00 \
             00 00 00 00 01 00 02 ab cd",
        );
        let r = decode_response(&payload, 3, 2).unwrap();
        assert_eq!(r.api_keys.len(), 2);
        assert_eq!(r.range(3).map(|r| r.max), Some(12));
        assert_eq!(r.throttle_time_ms, Some(0));
    }

    #[test]
    fn unsupported_version_lists_the_range_in_v0_layout_whatever_was_asked() {
        let payload = hex("00 00 00 01 00 23 00 00 00 01 00 12 00 03 00 04");
        let r = decode_response(&payload, 0, 1).unwrap();
        assert_eq!(r.error_code, UNSUPPORTED_VERSION);
        let range = r.range(API_VERSIONS).unwrap();
        assert_eq!((range.min, range.max), (3, 4));
        assert_eq!(negotiate(range), Some(3));
    }

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        let r = |min, max| ApiRange {
            api_key: 18,
            min,
            max,
        };
        assert_eq!(negotiate(r(0, 0)), Some(0));
        assert_eq!(negotiate(r(0, 2)), Some(2));
        assert_eq!(negotiate(r(0, 9)), Some(3));
        assert_eq!(negotiate(r(4, 9)), None);
        assert_eq!(negotiate(r(2, 1)), None);
    }

    #[test]
    fn wrong_ports_and_absurd_sizes_are_refused() {
        assert_eq!(frame_size(*b"HTTP"), Err(DecodeError::Http));
        assert_eq!(frame_size([0x15, 0x03, 0x03, 0x00]), Err(DecodeError::Tls));
        assert_eq!(
            frame_size([0x7f, 0xff, 0xff, 0xff]),
            Err(DecodeError::BadSize(i32::MAX.into()))
        );
        assert_eq!(frame_size([0xff; 4]), Err(DecodeError::BadSize(-1)));
        assert_eq!(frame_size([0, 0, 0, 2]), Err(DecodeError::BadSize(2)));
    }

    #[test]
    fn truncated_and_mismatched_answers_fail_without_panicking() {
        let full = hex("00 00 00 01 00 00 00 00 00 01 00 12 00 00 00 04");
        for cut in 0..full.len() {
            let r = decode_response(&full[..cut], 0, 1);
            assert!(matches!(r, Err(DecodeError::Truncated(_))), "{cut}: {r:?}");
        }
        assert_eq!(
            decode_response(&full, 0, 9),
            Err(DecodeError::CorrelationMismatch {
                expected: 9,
                got: 1
            })
        );
        // A count claiming far more entries than the bytes hold.
        let huge = hex("00 00 00 01 00 00 7f ff ff ff");
        assert!(decode_response(&huge, 0, 1).is_err());
        let negative = hex("00 00 00 01 00 00 ff ff ff ff");
        assert!(decode_response(&negative, 0, 1).is_err());
        // A v3 compact array with a null (0) count, and an endless varint.
        assert!(decode_response(&hex("00 00 00 01 00 00 00"), 3, 1).is_err());
        assert!(decode_response(&hex("00 00 00 01 00 00 ff ff ff ff ff ff"), 3, 1).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator: every prefix of a pseudo-random stream.
        let mut x: u32 = 0x1234_5678;
        let bytes: Vec<u8> = (0..512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        for start in 0..64 {
            for v in 0..=3 {
                let _ = decode_response(&bytes[start..], v, 1);
                let _ = decode_response(&[&[0, 0, 0, 1, 0, 0][..], &bytes[start..]].concat(), v, 1);
            }
        }
    }
}
