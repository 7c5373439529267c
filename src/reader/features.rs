//! Feature sections of the perf.data header that perfold uses: the build-id
//! table (HEADER_BUILD_ID) and event names (HEADER_EVENT_DESC).

use super::bytes::Cursor;
use crate::error::Result;

pub const FEAT_TRACING_DATA: u32 = 1;
pub const FEAT_BUILD_ID: u32 = 2;
pub const FEAT_ARCH: u32 = 6;
pub const FEAT_NRCPUS: u32 = 7;
pub const FEAT_EVENT_DESC: u32 = 12;
pub const FEAT_SAMPLE_TIME: u32 = 21;

/// `PERF_RECORD_MISC_BUILD_ID_SIZE`: the build-id entry carries its size.
const MISC_BUILD_ID_SIZE: u16 = 1 << 15;

/// One row of the build-id table.
#[derive(Debug, Clone)]
pub struct BuildIdEntry {
    #[allow(dead_code)] // part of the record; perf 6.1 matches entries by name
    pub pid: i32,
    #[allow(dead_code)]
    pub cpumode: u8,
    pub build_id: Vec<u8>,
    pub filename: Vec<u8>,
}

/// Parses HEADER_BUILD_ID: a run of `perf_record_header_build_id` entries.
/// A short tail (padding) ends the table, as in perf's `perf_header__read_build_ids`.
pub fn parse_build_ids(data: &[u8], base: u64) -> Result<Vec<BuildIdEntry>> {
    let mut out = Vec::new();
    let mut c = Cursor::new(data, base);
    while c.remaining() >= 8 + 4 + 24 {
        let entry_start = c.offset();
        let _type = c.u32("build-id entry type")?;
        let misc = c.u16("build-id entry misc")?;
        let size = c.u16("build-id entry size")? as usize;
        if size < 8 + 4 + 24 || size - 8 > c.remaining() {
            return Err(crate::error::Error::data(
                entry_start,
                format!("build-id entry size {size} is invalid"),
            ));
        }
        let body = c.bytes(size - 8, "build-id entry")?;
        let mut b = Cursor::new(body, entry_start + 8);
        let pid = b.u32("build-id pid")? as i32;
        let id = b.bytes(24, "build-id")?;
        let len = if misc & MISC_BUILD_ID_SIZE != 0 {
            (id[20] as usize).min(20)
        } else {
            20
        };
        let filename = b.c_string_rest().to_vec();
        out.push(BuildIdEntry {
            pid,
            cpumode: (misc & 7) as u8,
            build_id: id[..len].to_vec(),
            filename,
        });
    }
    Ok(out)
}

/// Parses HEADER_EVENT_DESC into (name, ids) per event, in file order.
pub fn parse_event_desc(data: &[u8], base: u64) -> Result<Vec<(String, Vec<u64>)>> {
    let mut c = Cursor::new(data, base);
    let nr = c.u32("event count")?;
    let attr_size = c.u32("event attr size")? as usize;
    let mut out = Vec::new();
    for _ in 0..nr {
        c.skip(attr_size, "event attr")?;
        let nr_ids = c.u32("event id count")?;
        let len = c.u32("event name length")? as usize;
        let name = c.bytes(len, "event name")?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let name = String::from_utf8_lossy(&name[..end]).into_owned();
        let ids = c.array(nr_ids as u64, 8, "event ids")?;
        let ids = ids
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        out.push((name, ids));
    }
    Ok(out)
}

/// Parses a perf header string (u32 length, then NUL-padded bytes).
pub fn parse_string(data: &[u8], base: u64) -> Result<String> {
    let mut c = Cursor::new(data, base);
    let len = c.u32("string length")? as usize;
    let s = c.bytes(len, "string")?;
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    Ok(String::from_utf8_lossy(&s[..end]).into_owned())
}
