//! The text of perf script's optional fields: the start of a line
//! (`perf_sample__fprintf_start`: comm, pid/tid, cpu, misc, time with
//! `--ns`, `--reltime`, `--deltatime`) and the `flags` column, for samples
//! and for the side-band records `--show-*-events` prints.
//!
//! perf 6.1 `builtin-script.c`. Numbers go through the writers'
//! allocation-free formatting.

use super::fmt;
use crate::script_options::fields::{FieldMask, COMM, CPU, MISC, PID, TID, TIME};

/// How times print (`--ns`, `--reltime`, `--deltatime`), with the state
/// perf keeps across lines (`initial_time`, `previous_time`).
#[derive(Debug, Clone, Default)]
pub struct TimeFormat {
    pub ns: bool,
    pub reltime: bool,
    pub deltatime: bool,
    initial: u64,
    previous: u64,
}

impl TimeFormat {
    pub fn new(ns: bool, reltime: bool, deltatime: bool) -> TimeFormat {
        TimeFormat {
            ns,
            reltime,
            deltatime,
            initial: 0,
            previous: 0,
        }
    }

    /// Appends the time field and `: `.
    pub fn append(&mut self, out: &mut Vec<u8>, time: u64) {
        let mut t = time;
        if self.reltime {
            if self.initial == 0 {
                self.initial = time;
            }
            t = time.wrapping_sub(self.initial);
        } else if self.deltatime {
            t = if self.previous != 0 {
                time.wrapping_sub(self.previous)
            } else {
                0
            };
            self.previous = time;
        }
        let secs = t / 1_000_000_000;
        let nsecs = t % 1_000_000_000;
        if self.ns {
            // "%5lu.%09llu: "
            fmt::dec_padded(out, secs, 5, b' ');
            out.push(b'.');
            fmt::dec_padded(out, nsecs, 9, b'0');
        } else {
            // "%12s: " of "%lu.%06lu"
            let digits = secs.checked_ilog10().unwrap_or(0) as usize + 1;
            for _ in (digits + 7)..12 {
                out.push(b' ');
            }
            fmt::dec_padded(out, secs, 0, b' ');
            out.push(b'.');
            fmt::dec_padded(out, nsecs / 1000, 6, b'0');
        }
        out.extend_from_slice(b": ");
    }
}

/// The values `perf_sample__fprintf_start` reads.
pub struct StartValues<'a> {
    /// The thread's comm (perf prints ":-1" without a thread).
    pub comm: &'a [u8],
    pub pid: i32,
    pub tid: i32,
    pub cpu: u32,
    pub time: u64,
    /// The record's header misc.
    pub misc: u16,
    /// The record type (9 for samples), for the misc letters.
    pub record_type: u32,
}

const RECORD_MMAP: u32 = 1;
const RECORD_COMM: u32 = 3;
const RECORD_MMAP2: u32 = 10;
const RECORD_SWITCH: u32 = 14;
const RECORD_SWITCH_CPU_WIDE: u32 = 15;

/// The `misc` column: perf tests the cpumode values as bit masks (so a
/// hypervisor sample shows "KUH"), then a record-specific letter, padded
/// to 6 columns.
fn misc_column(out: &mut Vec<u8>, misc: u16, record_type: u32) {
    let has = |m: u16| misc & m == m;
    let start = out.len();
    for (m, c) in [(1, b'K'), (2, b'U'), (3, b'H'), (4, b'G'), (5, b'g')] {
        if has(m) {
            out.push(c);
        }
    }
    match record_type {
        RECORD_MMAP | RECORD_MMAP2 if has(1 << 13) => out.push(b'M'),
        RECORD_COMM if has(1 << 13) => out.push(b'E'),
        RECORD_SWITCH | RECORD_SWITCH_CPU_WIDE if has(1 << 13) => {
            out.push(b'S');
            if misc & (1 << 14) != 0 {
                out.push(b'p');
            }
        }
        _ => {}
    }
    let used = out.len() - start;
    // "%*s" of " " with width 6 - used.
    for _ in used + 1..6 {
        out.push(b' ');
    }
    out.push(b' ');
}

/// perf's `perf_sample__fprintf_start` for one line. `comm_unpadded` is
/// perf's test `PRINT_FIELD(IP) && evsel__has_callchain && use_callchain`
/// (comm as "%s " instead of "%16s ").
pub fn start(
    out: &mut Vec<u8>,
    fields: FieldMask,
    comm_unpadded: bool,
    v: &StartValues,
    times: &mut TimeFormat,
) {
    if fields & COMM != 0 {
        if comm_unpadded {
            out.extend_from_slice(v.comm);
        } else {
            fmt::str_padded(out, v.comm, 16);
        }
        out.push(b' ');
    }
    let (pid, tid) = (fields & PID != 0, fields & TID != 0);
    if pid && tid {
        // "%5d/%-5d "
        fmt::signed_padded(out, i64::from(v.pid), 5);
        out.push(b'/');
        let at = out.len();
        fmt::signed_padded(out, i64::from(v.tid), 0);
        for _ in out.len() - at..5 {
            out.push(b' ');
        }
        out.push(b' ');
    } else if pid || tid {
        fmt::signed_padded(out, i64::from(if pid { v.pid } else { v.tid }), 5);
        out.push(b' ');
    }
    if fields & CPU != 0 {
        // "[%03d] " of an int.
        out.push(b'[');
        let cpu = v.cpu as i32;
        if cpu < 0 {
            out.push(b'-');
            fmt::dec_padded(out, u64::from(cpu.unsigned_abs()), 2, b'0');
        } else {
            fmt::dec_padded(out, cpu as u64, 3, b'0');
        }
        out.extend_from_slice(b"] ");
    }
    if fields & MISC != 0 {
        misc_column(out, v.misc, v.record_type);
    }
    if fields & TIME != 0 {
        times.append(out, v.time);
    }
}

/// The `flags` column of a sample whose flags are 0 (no branch sample
/// flags outside instruction traces): "  %-21s " of "".
pub fn empty_flags(out: &mut Vec<u8>) {
    out.extend_from_slice(&[b' '; 24]);
}

#[cfg(test)]
mod tests {
    use crate::script_options::fields::*;
    use super::*;

    fn line(fields: FieldMask, unpadded: bool, v: &StartValues, t: &mut TimeFormat) -> String {
        let mut out = Vec::new();
        start(&mut out, fields, unpadded, v, t);
        String::from_utf8(out).unwrap()
    }

    fn values(time: u64) -> StartValues<'static> {
        StartValues {
            comm: b"c-fib",
            pid: 19813,
            tid: 19815,
            cpu: 1,
            time,
            misc: 2,
            record_type: 9,
        }
    }

    #[test]
    fn columns_as_perf_prints_them() {
        let mut t = TimeFormat::default();
        let all = COMM | PID | TID | CPU | TIME;
        assert_eq!(
            line(all, true, &values(1_935_915_475_123), &mut t),
            "c-fib 19813/19815 [001]  1935.915475: "
        );
        assert_eq!(
            line(COMM | TID | MISC, false, &values(0), &mut t),
            "           c-fib 19815 U     "
        );
        let mut v = values(0);
        v.misc = 3;
        assert_eq!(line(MISC, false, &v, &mut t), "KUH   ");
        let mut v = values(0);
        v.pid = 1;
        v.tid = 2;
        assert_eq!(line(PID | TID, false, &v, &mut t), "    1/2     ");
    }

    #[test]
    fn time_modes() {
        let mut ns = TimeFormat::new(true, false, false);
        assert_eq!(
            line(TIME, false, &values(5_000_000_001), &mut ns),
            "    5.000000001: "
        );
        let mut rel = TimeFormat::new(false, true, false);
        assert_eq!(
            line(TIME, false, &values(5_000_000_000), &mut rel),
            "    0.000000: "
        );
        assert_eq!(
            line(TIME, false, &values(6_500_000_000), &mut rel),
            "    1.500000: "
        );
        let mut delta = TimeFormat::new(false, false, true);
        assert_eq!(
            line(TIME, false, &values(5_000_000_000), &mut delta),
            "    0.000000: "
        );
        assert_eq!(
            line(TIME, false, &values(5_000_100_000), &mut delta),
            "    0.000100: "
        );
    }
}
