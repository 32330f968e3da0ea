//! A bounds-checked cursor over a Kafka response payload: big-endian integers, unsigned
//! varints, the two array layouts of ApiVersions, and tag buffers.

use super::{ApiRange, DecodeError};

/// A cursor over a payload; every read is bounds-checked.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(super) fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub(super) fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn varint(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.take(1, what)?[0];
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Invalid(what))
    }

    fn range(&mut self) -> Result<ApiRange, DecodeError> {
        Ok(ApiRange {
            api_key: self.i16("the api_keys array")?,
            min: self.i16("the api_keys array")?,
            max: self.i16("the api_keys array")?,
        })
    }

    /// `[api_key min max]` with an int32 count.
    pub(super) fn ranges_v0(&mut self) -> Result<Vec<ApiRange>, DecodeError> {
        let count = self.i32("the api_keys count")?;
        let count = usize::try_from(count).map_err(|_| DecodeError::Invalid("api_keys count"))?;
        if count > self.0.len() / 6 {
            return Err(DecodeError::Truncated("the api_keys array"));
        }
        (0..count).map(|_| self.range()).collect()
    }

    /// A compact array (count + 1 as a varint) of `api_key min max tags`.
    pub(super) fn ranges_compact(&mut self) -> Result<Vec<ApiRange>, DecodeError> {
        let n = self.varint("the api_keys count")? as usize;
        let count = n
            .checked_sub(1)
            .ok_or(DecodeError::Invalid("api_keys count"))?;
        if count > self.0.len() / 7 {
            return Err(DecodeError::Truncated("the api_keys array"));
        }
        (0..count)
            .map(|_| {
                let range = self.range()?;
                self.skip_tags()?;
                Ok(range)
            })
            .collect()
    }

    /// A tag buffer: a varint count of `tag:varint size:varint bytes`.
    pub(super) fn skip_tags(&mut self) -> Result<(), DecodeError> {
        let count = self.varint("a tag buffer")?;
        for _ in 0..count {
            self.varint("a tag buffer")?;
            let size = self.varint("a tag buffer")? as usize;
            self.take(size, "a tag buffer")?;
        }
        Ok(())
    }
}
