//! The perf.data reader: header, attributes, feature sections, and a stream
//! of records with their file offsets.
//!
//! A regular file is memory-mapped and records are handed out as ranges of
//! the map (no copies); a pipe is read sequentially and each record is copied
//! once, because it may have to wait in the ordering queue. A file that
//! shrinks while mapped would raise SIGBUS: perfold reads the size once and
//! treats perf.data as immutable while it runs, as perf does.
//!
//! Own code rather than `linux-perf-data`: perfold needs the file offset of
//! every record and field for its error lines, perf's exact round-based
//! ordering (which that crate's sorter does not reproduce), and records that
//! stay borrowed from the map until the ordering queue delivers them.

pub mod attrs;
pub mod auxtrace;
pub mod bytes;
mod compressed;
pub mod features;
mod pages;
pub mod records;
pub mod sample;
mod swap;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use crate::error::{Error, Result};
pub use attrs::Attr;
use bytes::{le_u32, le_u64, Cursor};
pub use features::BuildIdEntry;

const MAGIC: &[u8; 8] = b"PERFILE2";
/// The magic of perf.data version 1 (perf 3.2 and older), in either byte order.
const MAGIC_V1: &[u8; 8] = b"PERFFILE";
const FILE_HEADER_SIZE: u64 = 104;
/// A version-1 header may end before the feature bits (`adds_features`).
const FILE_HEADER_SIZE_NO_FEATURES: u64 = 72;
/// `perf_file_attr` sizes of the attribute ABIs 0 to 4 (attr + ids section),
/// by which perf tells the byte order of a version-1 file (`try_all_file_abis`).
const V1_ATTR_ENTRY_SIZES: [u64; 5] = [80, 88, 96, 112, 120];
const PIPE_HEADER_SIZE: u64 = 16;
/// Largest record the kernel can write (the size field is 16 bits).
const RECORD_HEADER_SIZE: usize = 8;

pub const RECORD_MMAP: u32 = 1;
#[allow(dead_code)] // the record-type table is kept whole
pub const RECORD_LOST: u32 = 2;
pub const RECORD_COMM: u32 = 3;
pub const RECORD_EXIT: u32 = 4;
pub const RECORD_FORK: u32 = 7;
pub const RECORD_SAMPLE: u32 = 9;
pub const RECORD_MMAP2: u32 = 10;
pub const RECORD_USER_TYPE_START: u32 = 64;
pub const RECORD_HEADER_ATTR: u32 = 64;
pub const RECORD_FINISHED_ROUND: u32 = 68;
pub const RECORD_HEADER_FEATURE: u32 = 80;
pub const RECORD_COMPRESSED: u32 = 81;
pub const RECORD_HEADER_TRACING_DATA: u32 = 66;
pub const RECORD_HEADER_MAX: u32 = 83;
/// PERF_RECORD_COMPRESSED2 (perf 6.15 and newer `perf record -z`): a u64 size
/// of the zstd data, then the data padded to 8 bytes.
pub const RECORD_COMPRESSED2: u32 = 83;

/// Where a record's bytes live.
#[derive(Debug)]
pub enum Payload {
    /// `len` bytes at `start` of the mapped file.
    Mapped { start: usize, len: usize },
    /// A copy, for input read from a pipe.
    Owned(Box<[u8]>),
}

/// The records [`PerfData::prefetch`] asks for: those of this size or more
/// (samples with a user stack copy; smaller records lie side by side, where
/// the CPU's own prefetching finds them).
const PREFETCH_FROM: usize = 2048;
/// How much of a record's head it asks for: sample fields, registers and
/// the top of the stack copy, where unwinding starts.
const PREFETCH_HEAD: usize = 1024;

#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One record: its header fields and where its payload (after the 8-byte header) is.
#[derive(Debug)]
pub struct Record {
    pub offset: u64,
    pub type_: u32,
    pub misc: u16,
    pub payload: Payload,
}

enum Input {
    Mapped {
        map: Arc<Mmap>,
        pos: usize,
        end: usize,
        /// Pages below this offset were handed back to the kernel.
        released: usize,
    },
    Stream {
        reader: Box<dyn Read>,
        pos: u64,
    },
}

/// An open perf.data file.
pub struct PerfData {
    input: Input,
    pub attrs: Vec<Attr>,
    pub build_ids: Vec<BuildIdEntry>,
    pub arch: Option<String>,
    pub pipe_mode: bool,
    /// The tracing data (event formats of tracepoints): its file offset and bytes.
    pub tracing_data: Option<(u64, Vec<u8>)>,
    /// Where the data and feature sections are (not for pipes).
    pub layout: Option<FileLayout>,
    /// HEADER_SAMPLE_TIME: the first and last sample times.
    pub sample_time: Option<(u64, u64)>,
    /// HEADER_NRCPUS: the number of CPUs available when recording.
    pub nr_cpus_avail: Option<u32>,
    /// The file was written on a machine of the other byte order (perf's
    /// `needs_swap`): every record is turned little-endian as it is read.
    pub swapped: bool,
    /// AUX area trace data skipped so far (never decoded).
    pub aux: auxtrace::AuxSkipped,
    decompressor: compressed::Decompressor,
    /// The thread faulting pages in ahead and dropping them behind, once
    /// [`Self::keep_pages`] started it.
    keeper: Option<pages::PageKeeper>,
}

/// The sections of a perf.data file, as `perf script --header` prints them.
#[derive(Debug, Clone, Default)]
pub struct FileLayout {
    pub data_offset: u64,
    pub data_size: u64,
    pub feat_offset: u64,
    /// Feature sections present, in bit order: (feature bit, offset, size).
    pub features: Vec<(u32, u64, u64)>,
}

impl PerfData {
    /// Length of the mapped file (0 for a stream).
    fn len(&self) -> u64 {
        match &self.input {
            Input::Mapped { map, .. } => map.len() as u64,
            Input::Stream { .. } => 0,
        }
    }

    /// Opens `path`, or standard input for `-`.
    pub fn open(path: &Path) -> Result<PerfData> {
        if path.as_os_str() == "-" {
            return Self::from_stdin();
        }
        let file = File::open(path).map_err(Error::Io)?;
        Self::from_file(&file)
    }

    fn from_stdin() -> Result<PerfData> {
        use std::os::fd::AsFd;
        let stdin = io::stdin();
        let owned = stdin.as_fd().try_clone_to_owned().map_err(Error::Io)?;
        let file = File::from(owned);
        let is_regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if is_regular {
            return Self::from_file(&file);
        }
        Self::from_stream(Box::new(io::BufReader::with_capacity(1 << 17, file)))
    }

    fn from_file(file: &File) -> Result<PerfData> {
        // SAFETY: the file is opened read-only; perf.data is not modified while
        // perfold runs (see the module doc about SIGBUS).
        let map = unsafe { Mmap::map(file) }.map_err(Error::Io)?;
        if map.len() >= 16 {
            if let Some(swapped) = pipe_magic(&map[..16]) {
                let len = map.len();
                return Self::from_parts(
                    Input::Mapped {
                        map: Arc::new(map),
                        pos: 16,
                        end: len,
                        released: 0,
                    },
                    swapped,
                );
            }
        }
        let swapped = file_magic(&map)?;
        let header = file_header(&map, swapped)?;
        let mut c = Cursor::new(&header, 0);
        let _magic = c.u64("magic")?;
        let header_size = c.u64("header size")?;
        if header_size != FILE_HEADER_SIZE && header_size != FILE_HEADER_SIZE_NO_FEATURES {
            return Err(Error::data(
                8,
                format!("header size {header_size} is not {FILE_HEADER_SIZE}"),
            ));
        }
        if (map.len() as u64) < header_size {
            return Err(Error::data(map.len() as u64, "file ends inside the header"));
        }
        let attr_size = c.u64("attr size")?;
        let attrs_sec = section(&mut c, map.len(), "attrs")?;
        // The data section may run past a truncated file's end: records before
        // the cut are still read, and the cut is reported where it is met.
        let data_sec = (c.u64("data offset")?, c.u64("data size")?);
        let data_end = data_sec.0.saturating_add(data_sec.1);
        let _event_types = (c.u64("event types offset")?, c.u64("event types size")?);
        let features = c.bytes(32, "feature bits")?.to_vec();

        let mut attrs = parse_attr_section(&map, attrs_sec, attr_size, swapped)?;
        let mut data = PerfData {
            input: Input::Mapped {
                pos: data_sec.0 as usize,
                end: data_end.min(usize::MAX as u64) as usize,
                released: 0,
                map: Arc::new(map),
            },
            attrs: Vec::new(),
            build_ids: Vec::new(),
            arch: None,
            pipe_mode: false,
            tracing_data: None,
            layout: Some(FileLayout {
                data_offset: data_sec.0,
                data_size: data_sec.1,
                feat_offset: data_end,
                features: Vec::new(),
            }),
            sample_time: None,
            nr_cpus_avail: None,
            swapped,
            decompressor: compressed::Decompressor::new(swapped),
            keeper: None,
            aux: Default::default(),
        };
        if data_sec.1 == 0 {
            return Err(Error::data(
                40,
                "the data size field is 0 (was perf record properly terminated?)",
            ));
        }
        if data_end <= data.len() {
            data.read_features(&features, data_end, &mut attrs)?;
        }
        data.attrs = attrs;
        Ok(data)
    }

    fn from_stream(mut reader: Box<dyn Read>) -> Result<PerfData> {
        let mut head = [0u8; 16];
        read_full(&mut reader, &mut head, 0)?;
        if let Some(swapped) = pipe_magic(&head) {
            return Self::from_parts(Input::Stream { reader, pos: 16 }, swapped);
        }
        file_magic(&head)?;
        Err(Error::data(
            8,
            "standard input is a perf.data file, not a pipe: pass it as a path or redirect it with <",
        ))
    }

    /// A pipe-mode input (`perf record -o -`).
    fn from_parts(input: Input, swapped: bool) -> Result<PerfData> {
        Ok(PerfData {
            input,
            attrs: Vec::new(),
            build_ids: Vec::new(),
            arch: None,
            pipe_mode: true,
            tracing_data: None,
            layout: None,
            sample_time: None,
            nr_cpus_avail: None,
            swapped,
            decompressor: compressed::Decompressor::new(swapped),
            keeper: None,
            aux: Default::default(),
        })
    }

    fn read_features(&mut self, bits: &[u8], table_at: u64, attrs: &mut [Attr]) -> Result<()> {
        let Input::Mapped { map, .. } = &self.input else {
            return Ok(());
        };
        let len = map.len() as u64;
        let mut slot = 0u64;
        for feat in 1..256u32 {
            if bits[(feat / 8) as usize] & (1 << (feat % 8)) == 0 {
                continue;
            }
            let at = table_at + slot * 16;
            slot += 1;
            if at + 16 > len {
                return Err(Error::data(at, "feature section table is truncated"));
            }
            let (mut off, mut size) = (le_u64(map, at as usize), le_u64(map, at as usize + 8));
            if self.swapped {
                (off, size) = (off.swap_bytes(), size.swap_bytes());
            }
            if off.checked_add(size).is_none_or(|e| e > len) {
                return Err(Error::data(
                    at,
                    format!("feature {feat} section is out of the file"),
                ));
            }
            let mut owned;
            let mut bytes = &map[off as usize..(off + size) as usize];
            if self.swapped {
                owned = bytes.to_vec();
                match feat {
                    features::FEAT_BUILD_ID => swap::build_ids(&mut owned),
                    features::FEAT_ARCH => swap::string(&mut owned),
                    features::FEAT_EVENT_DESC => swap::event_desc(&mut owned),
                    _ => {}
                }
                bytes = &owned;
            }
            if let Some(layout) = &mut self.layout {
                layout.features.push((feat, off, size));
            }
            match feat {
                features::FEAT_NRCPUS if bytes.len() >= 4 => {
                    self.nr_cpus_avail = Some(le_u32(bytes, 0));
                }
                features::FEAT_SAMPLE_TIME if bytes.len() >= 16 => {
                    self.sample_time = Some((le_u64(bytes, 0), le_u64(bytes, 8)));
                }
                features::FEAT_BUILD_ID => self.build_ids = features::parse_build_ids(bytes, off)?,
                features::FEAT_ARCH => self.arch = Some(features::parse_string(bytes, off)?),
                features::FEAT_TRACING_DATA => self.tracing_data = Some((off, bytes.to_vec())),
                features::FEAT_EVENT_DESC => {
                    name_attrs(attrs, features::parse_event_desc(bytes, off)?)
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The bytes of a feature section of a mapped file (see [`FileLayout`]).
    pub fn feature_bytes(&self, off: u64, size: u64) -> Option<&[u8]> {
        let Input::Mapped { map, .. } = &self.input else {
            return None;
        };
        map.get(off as usize..off.checked_add(size)? as usize)
    }

    /// File offset of the next record to be read.
    pub fn position(&self) -> u64 {
        match &self.input {
            Input::Mapped { pos, .. } => *pos as u64,
            Input::Stream { pos, .. } => *pos,
        }
    }

    /// From now on a second thread faults the mapped file's pages in ahead
    /// of the reader and drops them behind it ([`pages`]); nothing for a
    /// stream.
    pub fn keep_pages(&mut self) {
        if let (Input::Mapped { map, pos, .. }, None) = (&self.input, &self.keeper) {
            self.keeper = pages::PageKeeper::start(Arc::clone(map), *pos);
        }
    }

    /// Hands the mapped pages below `offset` back to the kernel: the
    /// records there were delivered, so they only inflate the resident set.
    /// Memory then grows with what waits in the ordering queue, not with the file.
    pub fn release_before(&mut self, offset: u64) {
        if let Some(k) = &self.keeper {
            k.release_below(usize::try_from(offset).unwrap_or(usize::MAX));
            return;
        }
        let Input::Mapped { map, released, .. } = &mut self.input else {
            return;
        };
        const PAGE: usize = 4096;
        let upto = (offset as usize).min(map.len()) / PAGE * PAGE;
        if upto <= *released {
            return;
        }
        // SAFETY: the range is page-aligned inside the map, and no record
        // below `offset` is read again (the caller passes the lowest offset
        // still queued); a private read-only file mapping refaults from the
        // file if it ever were.
        let advised = unsafe {
            map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                *released,
                upto - *released,
            )
        };
        if advised.is_ok() {
            *released = upto;
        }
    }

    /// The bytes of a record's payload.
    pub fn payload<'a>(&'a self, p: &'a Payload) -> &'a [u8] {
        match (p, &self.input) {
            (Payload::Mapped { start, len }, Input::Mapped { map, .. }) => {
                &map[*start..*start + *len]
            }
            (Payload::Owned(b), _) => b,
            (Payload::Mapped { .. }, Input::Stream { .. }) => &[],
        }
    }

    /// Asks the CPU to bring the bytes of a large record that parsing and
    /// unwinding read into its caches: its head (sample fields, registers,
    /// the top of a user stack copy) and its last line (the stack's dynamic
    /// size). A hint: it changes no byte read and faults nothing in.
    pub fn prefetch(&self, p: &Payload) {
        let bytes = self.payload(p);
        if bytes.len() < PREFETCH_FROM {
            return;
        }
        for line in bytes[..PREFETCH_HEAD].chunks(64) {
            prefetch_line(line.as_ptr());
        }
        prefetch_line(bytes[bytes.len() - 8..].as_ptr());
    }

    /// The u64 at `at` bytes into a record's payload, read past the payload's
    /// end into the mapped file when it lies beyond (as perf reads a sample's
    /// empty LBR stack); `None` where neither holds it.
    pub fn payload_word(&self, p: &Payload, at: usize) -> Option<u64> {
        let payload = self.payload(p);
        if let Some(b) = payload.get(at..at.checked_add(8)?) {
            return Some(le_u64(b, 0));
        }
        match (p, &self.input) {
            (Payload::Mapped { start, .. }, Input::Mapped { map, .. }) => {
                let from = start.checked_add(at)?;
                map.get(from..from.checked_add(8)?).map(|b| le_u64(b, 0))
            }
            _ => None,
        }
    }

    /// The next record of the data section, or `None` at its end. Attribute
    /// records of pipe-mode files are consumed here and update [`Self::attrs`].
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            let (rec, raw) = match self.decompressor.next_record()? {
                Some(rec) => (rec, false),
                None => match self.next_raw()? {
                    Some(rec) => (rec, true),
                    None if self.decompressor.leftover() > 0 => {
                        return Err(Error::data(
                            self.position(),
                            "compressed data ends inside a record",
                        ))
                    }
                    None => return Ok(None),
                },
            };
            let rec = if self.swapped {
                self.to_little_endian(rec)
            } else {
                rec
            };
            if rec.type_ == RECORD_COMPRESSED || rec.type_ == RECORD_COMPRESSED2 {
                let bytes = self.payload(&rec.payload);
                let zstd = if rec.type_ == RECORD_COMPRESSED2 {
                    compressed2_data(bytes, rec.offset)?
                } else {
                    bytes
                };
                let zstd = zstd.to_vec();
                self.decompressor.feed(&zstd, rec.offset)?;
                continue;
            }
            if rec.type_ == RECORD_HEADER_TRACING_DATA {
                // Pipe mode: the tracing data follows the record, padded to 8 bytes.
                let size = Cursor::new(self.payload(&rec.payload), rec.offset + 8)
                    .u32("tracing data size")? as u64;
                let at = self.position();
                let data = self.read_extra(size, rec.offset)?;
                self.skip_extra(size.next_multiple_of(8) - size, rec.offset)?;
                self.tracing_data = Some((at, data));
                continue;
            }
            if rec.type_ == auxtrace::RECORD_AUXTRACE_INFO {
                let mut aux = self.aux;
                aux.note_info(self.payload(&rec.payload));
                self.aux = aux;
            }
            if rec.type_ == auxtrace::RECORD_AUXTRACE {
                // The trace bytes follow the record, outside its size (perf
                // writes them uncompressed, after the record, also with -z).
                if !raw {
                    return Err(Error::data(
                        rec.offset,
                        "AUXTRACE record inside compressed data",
                    ));
                }
                let mut aux = self.aux;
                let size = aux.note_trace(self.payload(&rec.payload), rec.offset + 8)?;
                self.aux = aux;
                self.skip_trace(size, rec.offset)?;
            }
            if rec.type_ == RECORD_HEADER_ATTR {
                let bytes = self.payload(&rec.payload);
                let attr = parse_pipe_attr(bytes, rec.offset + 8)?;
                self.attrs.push(attr);
                continue;
            }
            if rec.type_ == RECORD_HEADER_FEATURE {
                // Pipe mode: a feature section as a record (u64 feature id, then its data).
                let bytes = self.payload(&rec.payload);
                let mut c = Cursor::new(bytes, rec.offset + 8);
                let feat = c.u64("feature id")?;
                if feat == u64::from(features::FEAT_EVENT_DESC) {
                    let named = features::parse_event_desc(c.rest(), c.offset())?;
                    name_attrs(&mut self.attrs, named);
                }
                continue;
            }
            return Ok(Some(rec));
        }
    }

    /// A record of a big-endian file, turned little-endian (a copy).
    fn to_little_endian(&self, rec: Record) -> Record {
        let mut body: Box<[u8]> = match rec.payload {
            Payload::Owned(b) => b,
            ref p => self.payload(p).into(),
        };
        swap::record(rec.type_, rec.misc, &mut body, &self.attrs);
        Record {
            payload: Payload::Owned(body),
            ..rec
        }
    }

    /// `n` bytes that follow a record outside of it (pipe-mode tracing data).
    fn read_extra(&mut self, n: u64, record: u64) -> Result<Vec<u8>> {
        let short = |left: u64| {
            Error::data(
                record,
                format!("tracing data of {n} bytes is cut short ({left} left)"),
            )
        };
        match &mut self.input {
            Input::Mapped { map, pos, end, .. } => {
                let left = ((*end).min(map.len()) - *pos) as u64;
                if n > left {
                    return Err(short(left));
                }
                let out = map[*pos..*pos + n as usize].to_vec();
                *pos += n as usize;
                Ok(out)
            }
            Input::Stream { reader, pos } => {
                // Grows with what arrives, not with the claimed size.
                let mut out = Vec::new();
                let got = (&mut *reader).take(n).read_to_end(&mut out);
                got.map_err(|e| Error::data(*pos, format!("read error: {e}")))?;
                *pos += out.len() as u64;
                if (out.len() as u64) < n {
                    return Err(short(out.len() as u64));
                }
                Ok(out)
            }
        }
    }

    /// Skips the `n` AUX trace bytes after the AUXTRACE record at `record`, without keeping them.
    fn skip_trace(&mut self, n: u64, record: u64) -> Result<()> {
        let short = |left: u64| {
            Error::data(
                record,
                format!("AUX trace data of {n} bytes is cut short ({left} left)"),
            )
        };
        match &mut self.input {
            Input::Mapped { map, pos, end, .. } => {
                let left = ((*end).min(map.len()).saturating_sub(*pos)) as u64;
                if n > left {
                    return Err(short(left));
                }
                *pos += n as usize;
            }
            Input::Stream { reader, pos } => {
                let got = io::copy(&mut (&mut *reader).take(n), &mut io::sink());
                let got = got.map_err(|e| Error::data(*pos, format!("read error: {e}")))?;
                *pos += got;
                if got < n {
                    return Err(short(got));
                }
            }
        }
        Ok(())
    }

    fn skip_extra(&mut self, n: u64, record: u64) -> Result<()> {
        self.read_extra(n, record).map(|_| ())
    }

    fn next_raw(&mut self) -> Result<Option<Record>> {
        match &mut self.input {
            Input::Mapped { map, pos, end, .. } => {
                if *pos >= *end {
                    return Ok(None);
                }
                let offset = *pos as u64;
                let avail = (*end).min(map.len()) - (*pos).min(map.len());
                if avail < RECORD_HEADER_SIZE {
                    return Err(Error::data(
                        offset,
                        format!("file is truncated: record header needs 8 bytes, {avail} left"),
                    ));
                }
                let (type_, misc, size) = record_header(&map[*pos..*pos + 8], self.swapped);
                if size < RECORD_HEADER_SIZE {
                    return Err(Error::data(
                        offset,
                        format!("record size {size} is invalid"),
                    ));
                }
                if size > avail {
                    return Err(Error::data(
                        offset,
                        format!("file is truncated: record of {size} bytes, {avail} left"),
                    ));
                }
                let start = *pos + RECORD_HEADER_SIZE;
                *pos += size;
                if let Some(k) = &mut self.keeper {
                    k.reading(*pos);
                }
                Ok(Some(Record {
                    offset,
                    type_,
                    misc,
                    payload: Payload::Mapped {
                        start,
                        len: size - RECORD_HEADER_SIZE,
                    },
                }))
            }
            Input::Stream { reader, pos } => {
                let mut head = [0u8; 8];
                let offset = *pos;
                let got = read_some(reader, &mut head, offset)?;
                if got == 0 {
                    return Ok(None);
                }
                if got < 8 {
                    return Err(Error::data(
                        offset,
                        "stream is truncated inside a record header",
                    ));
                }
                let (type_, misc, size) = record_header(&head, self.swapped);
                if size < RECORD_HEADER_SIZE {
                    return Err(Error::data(
                        offset,
                        format!("record size {size} is invalid"),
                    ));
                }
                let mut body = vec![0u8; size - RECORD_HEADER_SIZE].into_boxed_slice();
                if read_some(reader, &mut body, offset + 8)? < body.len() {
                    return Err(Error::data(
                        offset,
                        format!("stream is truncated: record of {size} bytes"),
                    ));
                }
                *pos += size as u64;
                Ok(Some(Record {
                    offset,
                    type_,
                    misc,
                    payload: Payload::Owned(body),
                }))
            }
        }
    }
}

/// Gives each attribute the name HEADER_EVENT_DESC lists for its ids.
fn name_attrs(attrs: &mut [Attr], named: Vec<(String, Vec<u64>)>) {
    for (name, ids) in named {
        let found = attrs
            .iter_mut()
            .find(|a| a.name.is_none() && (ids.is_empty() || a.ids == ids));
        if let Some(attr) = found {
            attr.name = Some(name);
        }
    }
}

/// Type, misc and size of the record header at `b`, written in the other
/// byte order if `swapped`.
pub(crate) fn record_header(b: &[u8], swapped: bool) -> (u32, u16, usize) {
    let mut h: [u8; 8] = b[..8].try_into().unwrap();
    if swapped {
        swap::header(&mut h);
    }
    let type_ = u32::from_le_bytes(h[0..4].try_into().unwrap());
    let misc = u16::from_le_bytes(h[4..6].try_into().unwrap());
    let size = u16::from_le_bytes(h[6..8].try_into().unwrap()) as usize;
    (type_, misc, size)
}

/// The zstd bytes of a COMPRESSED2 payload: u64 size, then the data (the
/// record is padded to 8 bytes after it).
fn compressed2_data(payload: &[u8], offset: u64) -> Result<&[u8]> {
    let mut c = Cursor::new(payload, offset + 8);
    let size = c.u64("compressed data size")?;
    c.array(size, 1, "compressed data")
}

/// The byte order of a pipe-mode header (magic, then size 16), if `b` is one.
fn pipe_magic(b: &[u8]) -> Option<bool> {
    let size: [u8; 8] = b.get(8..16)?.try_into().ok()?;
    let magic = b.get(..8)?;
    let mut reversed = *MAGIC;
    reversed.reverse();
    let native = size == PIPE_HEADER_SIZE.to_le_bytes();
    let swapped = size == PIPE_HEADER_SIZE.to_be_bytes();
    if magic == MAGIC && native {
        Some(false)
    } else if magic == reversed && swapped {
        Some(true)
    } else if magic == MAGIC_V1 && (native || swapped) {
        Some(swapped)
    } else {
        None
    }
}

/// Checks the magic of a perf.data file and tells whether it was written in
/// the other byte order: by the magic for version 2, by the attr entry size
/// for version 1 (perf's `check_magic_endian`).
fn file_magic(b: &[u8]) -> Result<bool> {
    if b.len() < 8 {
        return Err(Error::data(0, "file is too short to be a perf.data file"));
    }
    let mut reversed = *MAGIC;
    reversed.reverse();
    if &b[..8] == MAGIC {
        return Ok(false);
    }
    if b[..8] == reversed {
        return Ok(true);
    }
    if &b[..8] != MAGIC_V1 {
        return Err(Error::data(0, "not a perf.data file (bad magic)"));
    }
    if b.len() < 24 {
        return Err(Error::data(0, "file is too short to be a perf.data file"));
    }
    let attr_size = le_u64(b, 16);
    if V1_ATTR_ENTRY_SIZES.contains(&attr_size) {
        Ok(false)
    } else if V1_ATTR_ENTRY_SIZES.contains(&attr_size.swap_bytes()) {
        Ok(true)
    } else {
        Err(Error::data(
            16,
            format!("version-1 perf.data file with an unknown attr size {attr_size}: its byte order cannot be told"),
        ))
    }
}

/// The 104-byte file header, little-endian. A header that ends before the
/// feature bits (version 1) has none; a big-endian file's feature bits were
/// written as u64 or u32 words, which perf tells apart by the HOSTNAME bit
/// that every perf since 2.6.37 sets (`perf_file_header__read`).
fn file_header(map: &[u8], swapped: bool) -> Result<[u8; 104]> {
    let mut h = [0u8; FILE_HEADER_SIZE as usize];
    let n = map.len().min(h.len());
    h[..n].copy_from_slice(&map[..n]);
    if swapped {
        for w in h[8..72].chunks_exact_mut(8) {
            w.reverse();
        }
    }
    let size = le_u64(&h, 8);
    if size == FILE_HEADER_SIZE_NO_FEATURES {
        h[72..].fill(0);
    } else if swapped {
        let bits = &mut h[72..104];
        for w in bits.chunks_exact_mut(8) {
            w.reverse();
        }
        const HOSTNAME: usize = 3;
        if bits[0] & (1 << HOSTNAME) == 0 {
            for w in bits.chunks_exact_mut(8) {
                w.reverse();
            }
            for w in bits.chunks_exact_mut(4) {
                w.reverse();
            }
        }
        if bits[0] & (1 << HOSTNAME) == 0 {
            bits.fill(0);
            bits[0] = 1 << features::FEAT_BUILD_ID;
        }
    }
    Ok(h)
}

fn section(c: &mut Cursor, file_len: usize, what: &str) -> Result<(u64, u64)> {
    let at = c.offset();
    let off = c.u64(what)?;
    let size = c.u64(what)?;
    if off.checked_add(size).is_none_or(|e| e > file_len as u64) {
        return Err(Error::data(
            at,
            format!("{what} section ({size} bytes at {off}) extends past the end of the file ({file_len} bytes)"),
        ));
    }
    Ok((off, size))
}

/// The attrs section holds `perf_file_attr` entries: an attribute followed by
/// the file section of its ids; the header's attr size covers both.
fn parse_attr_section(
    map: &[u8],
    (off, size): (u64, u64),
    entry: u64,
    swapped: bool,
) -> Result<Vec<Attr>> {
    if !(64 + 16..=4096).contains(&entry) {
        return Err(Error::data(16, format!("attr size {entry} is invalid")));
    }
    let attr_size = entry - 16;
    let mut attrs = Vec::new();
    let mut at = off;
    while at + entry <= off + size {
        let mut raw = map[at as usize..(at + attr_size) as usize].to_vec();
        if swapped {
            swap::attr(&mut raw);
        }
        let mut attr = Attr::parse(&raw);
        let ids_at = (at + attr_size) as usize;
        let (mut ids_off, mut ids_size) = (le_u64(map, ids_at), le_u64(map, ids_at + 8));
        if swapped {
            (ids_off, ids_size) = (ids_off.swap_bytes(), ids_size.swap_bytes());
        }
        if ids_off
            .checked_add(ids_size)
            .is_none_or(|e| e > map.len() as u64)
        {
            return Err(Error::data(
                ids_at as u64,
                "attribute ids section is out of the file",
            ));
        }
        attr.ids = map[ids_off as usize..(ids_off + ids_size) as usize]
            .chunks_exact(8)
            .map(|b| {
                let id = u64::from_le_bytes(b.try_into().unwrap());
                if swapped {
                    id.swap_bytes()
                } else {
                    id
                }
            })
            .collect();
        attrs.push(attr);
        at += entry;
    }
    if attrs.is_empty() {
        return Err(Error::data(off, "the file has no event attributes"));
    }
    Ok(attrs)
}

fn parse_pipe_attr(bytes: &[u8], base: u64) -> Result<Attr> {
    let mut c = Cursor::new(bytes, base);
    c.skip(4, "attr type")?;
    let size = c.u32("attr size")? as usize;
    if size < 64 || size > bytes.len() {
        return Err(Error::data(
            base + 4,
            format!("attr size {size} is invalid"),
        ));
    }
    let mut attr = Attr::parse(&bytes[..size]);
    attr.ids = bytes[size..]
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    Ok(attr)
}

fn read_some(r: &mut dyn Read, buf: &mut [u8], offset: u64) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::data(offset + got as u64, format!("read error: {e}"))),
        }
    }
    Ok(got)
}

fn read_full(r: &mut dyn Read, buf: &mut [u8], offset: u64) -> Result<()> {
    if read_some(r, buf, offset)? < buf.len() {
        return Err(Error::data(
            offset,
            "file is too short to be a perf.data file",
        ));
    }
    Ok(())
}
