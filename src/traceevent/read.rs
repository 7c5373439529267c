//! The tracing-data container perf stores in HEADER_TRACING_DATA (or after
//! PERF_RECORD_HEADER_TRACING_DATA in pipe mode), read as perf 6.1's
//! `trace_report` (util/trace-event-read.c) does: magic, version, byte
//! order, long and page size, header_page/header_event, ftrace and event
//! format files, kallsyms (skipped), printk formats, saved cmdlines.
//!
//! perf reads this from the file descriptor without bounding it to the
//! section; here a read past the section's end behaves as a read past the
//! end of the file (a failed `read4` yields 0, a failed `do_read` is an error).

use std::collections::HashMap;

use super::clib::strtoull_base;
use super::event::Tracepoint;
use super::format::{header_page_commit_size, parse_event};
use super::tracing_data::TracingData;
use crate::error::{Error, Result};

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    big_endian: bool,
    /// `trace_data_size`: bytes perf counts as read.
    consumed: u64,
}

impl<'a> Reader<'a> {
    fn err(&self, what: impl Into<String>) -> Error {
        Error::data(self.base + self.pos as u64, what.into())
    }

    /// `do_read`: exactly `n` (> 0) bytes; a short read consumes what is left.
    fn read(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let left = (self.data.len() - self.pos) as u64;
        if n == 0 || n > left || n > i32::MAX as u64 {
            let e = self.err(format!(
                "tracing data: {what} needs {n} bytes, {left} are left"
            ));
            if n <= i32::MAX as u64 {
                self.pos = self.data.len();
            }
            return Err(e);
        }
        let s = &self.data[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        self.consumed += n;
        Ok(s)
    }

    /// `read4`/`read8`: a number in the file's byte order, 0 when short.
    fn number(&mut self, n: u64) -> u64 {
        let Ok(b) = self.read(n, "number") else {
            return 0;
        };
        let mut v = [0u8; 8];
        v[..b.len()].copy_from_slice(b);
        let le = u64::from_le_bytes(v);
        if self.big_endian {
            le.swap_bytes() >> (64 - 8 * n)
        } else {
            le
        }
    }

    fn read4(&mut self) -> u32 {
        self.number(4) as u32
    }

    fn read8(&mut self) -> u64 {
        self.number(8)
    }

    /// `read_string`: up to and including a NUL.
    fn read_string(&mut self, what: &str) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == 0) else {
            self.pos = self.data.len();
            return Err(self.err(format!("tracing data: {what} has no terminating NUL")));
        };
        self.pos += n + 1;
        self.consumed += n as u64 + 1;
        Ok(&rest[..n])
    }

    /// `skip`: up to `n` bytes, failures ignored.
    fn skip(&mut self, n: u64) {
        let left = (self.data.len() - self.pos) as u64;
        let k = n.min(left);
        self.pos += k as usize;
        self.consumed += k;
    }
}

/// `trace_report`.
pub(crate) fn parse(bytes: &[u8], base: u64) -> Result<TracingData> {
    let mut r = Reader {
        data: bytes,
        pos: 0,
        base,
        big_endian: false,
        consumed: 0,
    };
    if r.read(3, "magic")? != [23, 8, 68] {
        return Err(Error::data(base, "no trace data in the file"));
    }
    if r.read(7, "tag")? != b"tracing" {
        return Err(Error::data(
            base + 3,
            "not a trace file (missing 'tracing' tag)",
        ));
    }
    let version = r.read_string("version")?.to_vec();
    r.big_endian = r.read(1, "byte order")?[0] != 0;
    // The file's long size is replaced by the header page's below.
    let _file_long_size = r.read(1, "long size")?[0];
    let page_size = r.read4();
    if page_size == 0 {
        return Err(r.err("tracing data: page size is 0"));
    }

    // read_header_files
    if r.read(12, "header_page tag")? != b"header_page\0" {
        return Err(r.err("tracing data: did not read header page"));
    }
    let size = r.read8();
    let header_page = r.read(size, "header page")?;
    let long_size = header_page_commit_size(header_page) as u32;
    if r.read(13, "header_event tag")? != b"header_event\0" {
        return Err(r.err("tracing data: did not read header event"));
    }
    let size = r.read8();
    r.skip(size);

    let mut events: Vec<Tracepoint> = Vec::new();
    // read_ftrace_files
    let count = r.read4() as i32;
    for _ in 0..count.max(0) {
        let size = r.read8();
        let at = r.base + r.pos as u64;
        let buf = r.read(size, "ftrace format")?;
        let ev = parse_event(buf, "ftrace", long_size)
            .ok_or_else(|| Error::data(at, "tracing data: bad ftrace event format"))?;
        add_event(&mut events, ev);
    }
    // read_event_files
    let systems = r.read4() as i32;
    for _ in 0..systems.max(0) {
        let sys = String::from_utf8_lossy(r.read_string("system name")?).into_owned();
        let count = r.read4() as i32;
        for _ in 0..count.max(0) {
            let size = r.read8();
            let at = r.base + r.pos as u64;
            let buf = r.read(size, "event format")?;
            let ev = parse_event(buf, &sys, long_size)
                .ok_or_else(|| Error::data(at, "tracing data: bad event format"))?;
            add_event(&mut events, ev);
        }
    }
    // read_proc_kallsyms: perf skips it (lseek, unchecked).
    let size = r.read4();
    if size != 0 {
        let left = (r.data.len() - r.pos) as u64;
        r.pos += u64::from(size).min(left) as usize;
        r.consumed += u64::from(size);
    }
    // read_ftrace_printk
    let mut printk = HashMap::new();
    let size = r.read4();
    if size != 0 {
        let buf = r.read(u64::from(size), "printk formats")?;
        parse_ftrace_printk(buf, &mut printk);
    }
    if atof(&version) >= 0.6 {
        let size = r.read8();
        if size != 0 {
            r.read(size, "saved cmdlines")?;
        }
    }
    let common_type = events
        .first()
        .and_then(|e| e.find_common_field(b"common_type").map(|f| &e.fields[f]))
        .map(|f| (f.offset, f.size));
    Ok(TracingData {
        big_endian: r.big_endian,
        long_size,
        page_size,
        version: String::from_utf8_lossy(&version).into_owned(),
        events,
        printk,
        common_type,
        consumed: r.consumed,
    })
}

/// `add_event`: sorted by id, after events with the same id.
fn add_event(events: &mut Vec<Tracepoint>, ev: Tracepoint) {
    let at = events.partition_point(|e| e.id <= ev.id);
    events.insert(at, ev);
}

/// `parse_ftrace_printk` + `tep_register_print_string`: lines of
/// `ADDR : "format"`, the quotes and a final `\n` stripped.
fn parse_ftrace_printk(buf: &[u8], out: &mut HashMap<u64, Vec<u8>>) {
    let buf = &buf[..buf.iter().position(|&b| b == 0).unwrap_or(buf.len())];
    for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let start = line.iter().position(|&b| b != b':');
        let Some(start) = start else {
            break; // "printk format with empty entry"
        };
        let line = &line[start..];
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let addr = strtoull_base(&line[..colon], 16);
        let mut s = line.get(colon + 2..).unwrap_or(&[]);
        if s.first() == Some(&b'"') {
            s = &s[1..];
        }
        let mut s = s.to_vec();
        if s.last() == Some(&b'"') {
            s.pop();
            if s.ends_with(b"\\n") {
                s.truncate(s.len() - 2);
            }
        }
        out.entry(addr).or_insert(s);
    }
}

/// C `atof` of the version string (`0.6` and the like).
fn atof(s: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(s);
    let s = s.trim_start();
    let end = s
        .char_indices()
        .scan(false, |dot, (i, c)| {
            let ok = c.is_ascii_digit() || (c == '.' && !std::mem::replace(dot, true));
            ok.then_some(i + c.len_utf8())
        })
        .last()
        .unwrap_or(0);
    s[..end].parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printk_formats_lose_quotes_and_newline() {
        let mut m = HashMap::new();
        parse_ftrace_printk(
            b"0xffffffff81000000 : \"hello %d\\n\"\nffffffff82000000 : \"plain\"\n",
            &mut m,
        );
        assert_eq!(m[&0xffffffff81000000], b"hello %d");
        assert_eq!(m[&0xffffffff82000000], b"plain");
    }

    #[test]
    fn version_number() {
        assert_eq!(atof(b"0.6"), 0.6);
        assert_eq!(atof(b"0.5x"), 0.5);
        assert_eq!(atof(b"x"), 0.0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"", 0).is_err());
        assert!(parse(&[23, 8, 68], 0).is_err());
        let mut v = vec![23, 8, 68];
        v.extend_from_slice(b"tracing0.6\0\0\x08\0\0\0\0");
        assert!(parse(&v, 0).is_err());
    }
}
