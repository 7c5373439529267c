//! A bounds-checked little cursor over a record's bytes.
//!
//! Every read checks what is left, so a hostile size or count becomes an
//! error naming the field's offset instead of a panic or a huge allocation.

use crate::error::{Error, Result};

/// Reads little-endian fields from `data`; `base` is the file offset of
/// `data[0]`, used in error messages.
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Cursor { data, pos: 0, base }
    }

    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    #[cold]
    #[inline(never)]
    fn short(&self, what: &str, need: usize) -> Error {
        Error::data(
            self.offset(),
            format!(
                "{what} needs {need} bytes but the record has {} left",
                self.remaining()
            ),
        )
    }

    #[inline]
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.short(what, n));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.bytes(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    }

    #[inline]
    pub fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()))
    }

    #[inline]
    pub fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_le_bytes(b.try_into().unwrap()))
    }

    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.bytes(1, what)?[0])
    }

    pub fn skip(&mut self, n: usize, what: &str) -> Result<()> {
        self.bytes(n, what).map(|_| ())
    }

    /// `count` items of `size` bytes each, checked against what is left.
    pub fn array(&mut self, count: u64, size: usize, what: &str) -> Result<&'a [u8]> {
        let total = count
            .checked_mul(size as u64)
            .filter(|&t| t <= self.remaining() as u64)
            .ok_or_else(|| {
                Error::data(
                    self.offset(),
                    format!(
                        "{what}: count {count} does not fit in the {} bytes left",
                        self.remaining()
                    ),
                )
            })?;
        self.bytes(total as usize, what)
    }

    /// A NUL-terminated string filling (at most) the rest of the record.
    pub fn c_string_rest(&mut self) -> &'a [u8] {
        let rest = self.rest();
        self.pos = self.data.len();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }
}

/// Reads a little-endian u64 at `at` of a slice known to be long enough.
pub fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Reads a little-endian u32 at `at` of a slice known to be long enough.
pub fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
