//! PERF_RECORD_COMPRESSED and COMPRESSED2 (`perf record -z`): zstd-compressed
//! runs of records, decompressed as one stream.
//!
//! As perf 6.1's `perf_session__process_compressed_event` does, one zstd
//! decompression context lives for the whole file, and bytes of a record cut
//! at the end of one compressed record wait for the next one. Decompressed
//! records are reported at the file offset of the compressed record that
//! completed them.

use std::io;

use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

use super::{record_header, Payload, Record, RECORD_HEADER_SIZE};
use crate::error::{Error, Result};

/// Most bytes one compressed record may expand to (perf: `mmap_len` of its
/// decompression buffer is of this order); a hostile frame cannot make
/// perfold allocate more.
const MAX_EXPANSION: usize = 64 << 20;

#[derive(Default)]
pub struct Decompressor {
    decoder: Option<Decoder<'static>>,
    /// Decompressed bytes not handed out yet; `start` is the first.
    pending: Vec<u8>,
    start: usize,
    /// File offset of the compressed record that produced `pending`.
    offset: u64,
    /// The records inside are in the other byte order.
    swapped: bool,
}

impl Decompressor {
    pub fn new(swapped: bool) -> Decompressor {
        Decompressor {
            swapped,
            ..Default::default()
        }
    }

    /// Decompresses one COMPRESSED record's payload at file offset `offset`.
    pub fn feed(&mut self, data: &[u8], offset: u64) -> Result<()> {
        let broken =
            |e: io::Error| Error::data(offset, format!("zstd data cannot be decompressed: {e}"));
        if self.decoder.is_none() {
            self.decoder = Some(Decoder::new().map_err(broken)?);
        }
        let decoder = self.decoder.as_mut().unwrap();
        self.pending.drain(..self.start);
        self.start = 0;
        self.offset = offset;
        let mut input = InBuffer::around(data);
        let mut chunk = vec![0u8; 1 << 16];
        let mut produced = 0;
        // Run until the input is consumed and the decoder has no more output
        // to give (a full output buffer may leave decompressed bytes inside).
        loop {
            let before = input.pos;
            let mut out = OutBuffer::around(&mut chunk[..]);
            decoder.run(&mut input, &mut out).map_err(broken)?;
            let n = out.pos();
            produced += n;
            if produced > MAX_EXPANSION {
                return Err(Error::data(offset, "zstd data expands beyond 64 MiB"));
            }
            self.pending.extend_from_slice(&chunk[..n]);
            if input.pos == data.len() && n < chunk.len() {
                break;
            }
            if n == 0 && input.pos == before {
                return Err(Error::data(offset, "zstd data cannot be decompressed"));
            }
        }
        Ok(())
    }

    /// The next whole record decompressed so far.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        // An uncompressed file never fills `pending`: no call per record.
        if self.pending.len() - self.start < RECORD_HEADER_SIZE {
            return Ok(None);
        }
        self.next_pending()
    }

    fn next_pending(&mut self) -> Result<Option<Record>> {
        let left = &self.pending[self.start..];
        if left.len() < RECORD_HEADER_SIZE {
            return Ok(None);
        }
        let (type_, misc, size) = record_header(&left[..8], self.swapped);
        if size < RECORD_HEADER_SIZE {
            return Err(Error::data(
                self.offset,
                format!("compressed record holds a record of invalid size {size}"),
            ));
        }
        if size > left.len() {
            return Ok(None);
        }
        let body: Box<[u8]> = left[RECORD_HEADER_SIZE..size].into();
        self.start += size;
        Ok(Some(Record {
            offset: self.offset,
            type_,
            misc,
            payload: Payload::Owned(body),
        }))
    }

    /// Bytes of an incomplete record left at the end of the input.
    pub fn leftover(&self) -> usize {
        self.pending.len() - self.start
    }
}
