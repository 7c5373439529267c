//! The side-band records `perf script --show-*-events` prints after the
//! sample-style prefix: perf 6.1's `perf_event__fprintf` (util/event.c) for
//! COMM, FORK, EXIT, MMAP, MMAP2, SWITCH, SWITCH_CPU_WIDE and LOST.

use std::io::Write;

use crate::reader::records::MmapRecord;

/// `PERF_RECORD_MISC_MMAP_DATA`.
const MISC_MMAP_DATA: u16 = 1 << 13;
const MISC_COMM_EXEC: u16 = 1 << 13;
const MISC_SWITCH_OUT: u16 = 1 << 13;
const MISC_SWITCH_OUT_PREEMPT: u16 = 1 << 14;
pub const RECORD_SWITCH: u32 = 14;
pub const RECORD_SWITCH_CPU_WIDE: u32 = 15;

/// C's `%#lx`: `0` for zero, `0x...` otherwise.
fn alt_hex(out: &mut Vec<u8>, v: u64) {
    if v == 0 {
        out.push(b'0');
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

/// `PERF_RECORD_COMM[ exec]: comm:pid/tid`.
pub fn comm(out: &mut Vec<u8>, misc: u16, comm: &[u8], pid: i32, tid: i32) {
    out.extend_from_slice(b"PERF_RECORD_COMM");
    if misc & MISC_COMM_EXEC != 0 {
        out.extend_from_slice(b" exec");
    }
    out.extend_from_slice(b": ");
    out.extend_from_slice(comm);
    let _ = writeln!(out, ":{pid}/{tid}");
}

/// `PERF_RECORD_FORK(pid:tid):(ppid:ptid)` (or EXIT).
pub fn task(out: &mut Vec<u8>, exit: bool, pid: i32, tid: i32, ppid: i32, ptid: i32) {
    let name = if exit { "EXIT" } else { "FORK" };
    let _ = writeln!(out, "PERF_RECORD_{name}({pid}:{tid}):({ppid}:{ptid})");
}

/// `PERF_RECORD_MMAP pid/tid: [start(len) @ pgoff]: x file` and the MMAP2 form.
pub fn mmap(out: &mut Vec<u8>, v2: bool, misc: u16, m: &MmapRecord) {
    out.extend_from_slice(if v2 {
        b"PERF_RECORD_MMAP2"
    } else {
        b"PERF_RECORD_MMAP"
    });
    let _ = write!(out, " {}/{}: [", m.pid, m.tid);
    alt_hex(out, m.start);
    out.push(b'(');
    alt_hex(out, m.len);
    out.extend_from_slice(b") @ ");
    alt_hex(out, m.pgoff);
    if !v2 {
        let kind = if misc & MISC_MMAP_DATA != 0 {
            'r'
        } else {
            'x'
        };
        let _ = write!(out, "]: {kind} ");
    } else {
        match (m.build_id, m.inode) {
            (Some(id), _) => {
                out.extend_from_slice(b" <");
                for b in id {
                    let _ = write!(out, "{b:02x}");
                }
                out.push(b'>');
            }
            (None, Some((maj, min, ino, generation))) => {
                let _ = write!(out, " {maj:02x}:{min:02x} {ino} {generation}");
            }
            (None, None) => {}
        }
        let flag = |on: bool, c: u8| if on { c } else { b'-' };
        out.extend_from_slice(b"]: ");
        out.push(flag(m.prot & 1 != 0, b'r'));
        out.push(flag(m.prot & 2 != 0, b'w'));
        out.push(flag(m.prot & 4 != 0, b'x'));
        out.push(if m.flags & 1 != 0 { b's' } else { b'p' });
        out.push(b' ');
    }
    out.extend_from_slice(m.filename);
    out.push(b'\n');
}

/// `PERF_RECORD_SWITCH IN/OUT` and the CPU-wide form with the other task.
pub fn switch(out: &mut Vec<u8>, type_: u32, misc: u16, next_prev: Option<(i32, i32)>) {
    let is_out = misc & MISC_SWITCH_OUT != 0;
    let in_out = if !is_out {
        "IN         "
    } else if misc & MISC_SWITCH_OUT_PREEMPT == 0 {
        "OUT        "
    } else {
        "OUT preempt"
    };
    if type_ == RECORD_SWITCH {
        let _ = writeln!(out, "PERF_RECORD_SWITCH {in_out}");
        return;
    }
    let (pid, tid) = next_prev.unwrap_or((0, 0));
    let which = if is_out { "next" } else { "prev" };
    let _ = writeln!(
        out,
        "PERF_RECORD_SWITCH_CPU_WIDE {in_out}  {which} pid/tid: {pid:5}/{tid:<5}"
    );
}

/// The count of a LOST record (`id`, `lost`).
pub fn lost_count(payload: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?))
}

/// The other task of a SWITCH_CPU_WIDE record (`next_prev_pid`, `_tid`).
pub fn switch_other(payload: &[u8]) -> Option<(i32, i32)> {
    let pid = i32::from_le_bytes(payload.get(0..4)?.try_into().ok()?);
    let tid = i32::from_le_bytes(payload.get(4..8)?.try_into().ok()?);
    Some((pid, tid))
}

/// `PERF_RECORD_LOST lost N`.
pub fn lost(out: &mut Vec<u8>, lost: u64) {
    let _ = writeln!(out, "PERF_RECORD_LOST lost {lost}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn lines_as_perf_prints_them() {
        assert_eq!(
            text(|o| comm(o, MISC_COMM_EXEC, b"c-fp", 7, 7)),
            "PERF_RECORD_COMM exec: c-fp:7/7\n"
        );
        assert_eq!(
            text(|o| task(o, false, 1, 2, 1, 1)),
            "PERF_RECORD_FORK(1:2):(1:1)\n"
        );
        let m = MmapRecord {
            cpumode: 2,
            pid: 19813,
            tid: 19813,
            start: 0x5581e0ec7000,
            len: 0x5000,
            pgoff: 0,
            inode: Some((0xfe, 0, 10019754, 3831019987)),
            build_id: None,
            prot: 1,
            flags: 2,
            filename: b"/tmp/perfold-fx/bin/c-fp",
        };
        assert_eq!(
            text(|o| mmap(o, true, 0, &m)),
            "PERF_RECORD_MMAP2 19813/19813: [0x5581e0ec7000(0x5000) @ 0 fe:00 10019754 3831019987]: r--p /tmp/perfold-fx/bin/c-fp\n"
        );
        assert_eq!(
            text(|o| switch(
                o,
                RECORD_SWITCH,
                MISC_SWITCH_OUT | MISC_SWITCH_OUT_PREEMPT,
                None
            )),
            "PERF_RECORD_SWITCH OUT preempt\n"
        );
        assert_eq!(
            text(|o| switch(o, RECORD_SWITCH_CPU_WIDE, 0, Some((12, 13)))),
            "PERF_RECORD_SWITCH_CPU_WIDE IN           prev pid/tid:    12/13   \n"
        );
    }
}
