//! The `brstackinsn` / `brstackinsnlen` fields: perf 6.1's
//! `perf_sample__fprintf_brstackinsn` (builtin-script.c) as built without
//! libxed or capstone. Each basic block between consecutive branches is read
//! from the DSO's file (`grab_bb`) and its instructions listed as
//! `insn: <bytes>` (perf's intel-pt `dump_insn`, lengths here decoded with
//! iced-x86), with a symbol line where the symbol changes, the branch line's
//! flags, cycles and IPC, and perf's notes ("... not reaching sample ...",
//! "mismatch of LBR data and executable"), at most `--max-blocks` blocks.
//!
//! The text is made here, where maps, symbols and the DSO files are at hand,
//! and printed by `writers::fields`.

use std::io::Write;

use super::insn::{insn_len, is_branch};
use super::{resolve_ip, Frame, InlineFrames, SymbolTable};
use crate::mappings::{DsoId, DsoKind, Machine, Thread, CPUMODE_KERNEL, CPUMODE_USER};
use crate::reader::sample::{Branch, Sample};
use crate::script_options::fields::*;

/// perf's `MAXBB` and `MAXINSN`.
const MAXBB: u64 = 16384;
const MAXINSN: u64 = 15;
/// `grab_bb`'s -ENXIO: a block crossing between kernel and user space.
const CROSSES_RING: i64 = -6;

/// Where the listing reads code and source lines (`SampleExtras` keeps the
/// open files and the per-thread `srccode` state).
pub(super) trait BlockSource {
    /// Up to `buf.len()` bytes of the DSO's file from `offset`, and whether
    /// it is 64-bit; `None` without a readable file.
    fn read_dso(
        &mut self,
        machine: &Machine,
        symbols: &mut SymbolTable,
        dso: DsoId,
        offset: u64,
        buf: &mut [u8],
    ) -> Option<(usize, bool)>;

    /// Appends `srccode`'s text for `f` to `out` (nothing if the thread
    /// printed that line last).
    fn source_line(
        &mut self,
        machine: &Machine,
        symbols: &mut SymbolTable,
        inlines: &mut InlineFrames,
        th: &Thread,
        f: &Frame,
        out: &mut Vec<u8>,
    );
}

/// The decoding state perf keeps in `struct perf_insn` and its locals.
struct Walk<'a> {
    machine: &'a mut Machine,
    symbols: &'a mut SymbolTable,
    inlines: &'a mut InlineFrames,
    thread: &'a Thread,
    fields: FieldMask,
    /// perf's `machine->kernel_start`.
    kernel_start: u64,
    cpumode: u8,
    is64: bool,
    buf: Vec<u8>,
    /// The last symbol printed: (start, end) in map addresses.
    lastsym: Option<(u64, u64)>,
    total_cycles: u64,
}

/// One instruction as `dump_insn` prints it, and its length (0: `<bad>`).
fn dump_insn(out: &mut Vec<u8>, bytes: &[u8], is64: bool) -> usize {
    let len = insn_len(bytes, is64);
    if len == 0 {
        out.extend_from_slice(b"<bad>");
        return 0;
    }
    out.extend_from_slice(b"insn: ");
    for b in &bytes[..len] {
        let _ = write!(out, "{b:02x} ");
    }
    len
}

impl Walk<'_> {
    /// perf's `grab_bb`: the bytes of `start..end` (plus one instruction)
    /// into `self.buf`; the length read, 0 or less when none.
    fn grab_bb(&mut self, extras: &mut dyn BlockSource, start: u64, end: u64, _last: bool) -> i64 {
        if start == 0 || end == 0 {
            return 0;
        }
        let kernel_start = self.kernel_start;
        let kernel = start >= kernel_start;
        self.cpumode = if kernel { CPUMODE_KERNEL } else { CPUMODE_USER };
        if kernel != (end >= kernel_start) {
            return CROSSES_RING;
        }
        if end.wrapping_sub(start) > MAXBB - MAXINSN {
            return 0;
        }
        let Some(map) = self.machine.find_map(self.thread, self.cpumode, start).copied() else {
            return 0;
        };
        if self.machine.dsos.get(map.dso).kind != DsoKind::File {
            return -1; // no file bytes (kallsyms, anonymous memory)
        }
        self.symbols.lookup(self.machine, map.dso, map.map_ip(start));
        let want = (end - start + MAXINSN) as usize;
        self.buf.resize(want, 0);
        match extras.read_dso(self.machine, self.symbols, map.dso, map.map_ip(start), &mut self.buf) {
            Some((n, is64)) => {
                self.is64 = is64;
                n as i64
            }
            None => -1,
        }
    }

    /// perf's `ip__fprintf_sym`: `\t<sym>[+off]:` when the symbol changes.
    fn sym_line(&mut self, out: &mut Vec<u8>, addr: u64) {
        let map = self.machine.find_map(self.thread, self.cpumode, addr).copied();
        let al_addr = map.map_or(addr, |m| m.map_ip(addr));
        if self
            .lastsym
            .is_some_and(|(s, e)| al_addr >= s && al_addr < e)
        {
            return;
        }
        let Some(map) = map else { return };
        let (Some(id), _) = self.symbols.lookup(self.machine, map.dso, al_addr) else {
            return;
        };
        let sym = self.symbols.get(id);
        let (start, end) = (sym.start, sym.end);
        let off = if al_addr < end {
            al_addr.wrapping_sub(start)
        } else {
            al_addr.wrapping_sub(map.start).wrapping_sub(start)
        } as i32;
        out.push(b'\t');
        out.extend_from_slice(sym.name.as_bytes());
        if off != 0 {
            let _ = write!(out, "{off:+}");
        }
        out.push(b':');
        if self.fields & SRCLINE != 0 {
            let f = resolve_ip(self.machine, self.symbols, self.thread, self.cpumode, addr, false);
            if let Some(line) = self.inlines.srcline(self.symbols, self.machine, &f, false) {
                out.push(b'\t');
                out.extend_from_slice(&line);
            }
        }
        out.push(b'\n');
        self.lastsym = Some((start, end));
    }

    /// perf's `ip__fprintf_jump`.
    fn jump_line(&mut self, out: &mut Vec<u8>, ip: u64, e: &Branch, off: usize, len: usize, insn: u32) {
        let _ = write!(out, "\t{ip:016x}\t");
        let mut text = Vec::new();
        let bytes = if off < len { &self.buf[off..len] } else { &[][..] };
        let ilen = dump_insn(&mut text, bytes, self.is64);
        out.extend_from_slice(&text);
        out.extend(std::iter::repeat_n(b' ', 30usize.saturating_sub(text.len())));
        out.push(b'\t');
        if self.fields & BRSTACKINSNLEN != 0 {
            let _ = write!(out, "ilen: {ilen}\t");
        }
        out.push(b'#');
        let bit = |n: u32| e.flags >> n & 1 != 0;
        for (n, word) in [(1, " PRED"), (0, " MISPRED"), (2, " INTX"), (3, " ABORT")] {
            if bit(n) {
                out.extend_from_slice(word.as_bytes());
            }
        }
        let cycles = (e.flags >> 4) & 0xffff;
        if cycles != 0 {
            self.total_cycles += cycles;
            let _ = write!(out, " {cycles} cycles [{}]", self.total_cycles);
            if insn != 0 {
                let _ = write!(out, " {:.2} IPC", f64::from(insn as f32 / cycles as f32));
            }
        }
        out.push(b'\n');
    }

    /// `\t<ip>\tinsn: ..[\tilen: n]\n`; the length.
    fn insn_line(&mut self, out: &mut Vec<u8>, ip: u64, off: usize, len: usize) -> usize {
        let _ = write!(out, "\t{ip:016x}\t");
        let bytes = if off < len { &self.buf[off..len] } else { &[][..] };
        let ilen = dump_insn(out, bytes, self.is64);
        if self.fields & BRSTACKINSNLEN != 0 {
            let _ = write!(out, "\tilen: {ilen}");
        }
        out.push(b'\n');
        ilen
    }

    /// perf's `print_srccode` (with `srccode` among the fields).
    fn srccode(&mut self, extras: &mut dyn BlockSource, out: &mut Vec<u8>, addr: u64) {
        if self.fields & SRCCODE == 0 {
            return;
        }
        let f = resolve_ip(self.machine, self.symbols, self.thread, self.cpumode, addr, false);
        if f.dso.is_none() {
            return;
        }
        let before = out.len();
        extras.source_line(self.machine, self.symbols, self.inlines, self.thread, &f, out);
        if out.len() != before {
            out.push(b'\n');
        }
    }
}

/// Appends perf's `brstackinsn` text of sample `s` to `out`.
#[allow(clippy::too_many_arguments)]
pub(super) fn brstackinsn(
    extras: &mut dyn BlockSource,
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    inlines: &mut InlineFrames,
    thread: &Thread,
    s: &Sample,
    fields: FieldMask,
    (max_blocks, kernel_start): (u32, u64),
    out: &mut Vec<u8>,
) {
    let Some(stack) = &s.branch_stack else { return };
    let mut nr = stack.len();
    if nr == 0 {
        return;
    }
    let max = max_blocks as usize;
    if max != 0 && nr > max + 1 {
        nr = max + 1;
    }
    let e: Vec<Branch> = (0..nr).map(|i| stack.get(i)).collect();
    let mut w = Walk {
        machine,
        symbols,
        inlines,
        thread,
        fields,
        kernel_start,
        cpumode: CPUMODE_USER,
        is64: true,
        buf: Vec::new(),
        lastsym: None,
        total_cycles: 0,
    };
    out.push(b'\n');
    // The first branch's source: its block's start is unknown.
    let first = e[nr - 1].from;
    let len = w.grab_bb(extras, first, first, false);
    if len > 0 {
        w.sym_line(out, first);
        w.jump_line(out, first, &e[nr - 1], 0, len as usize, 0);
        w.srccode(extras, out, first);
    }
    let mut i = nr as i64 - 2;
    while i >= 0 {
        let start = e[i as usize + 1].to;
        let mut end = e[i as usize].from;
        let mut len = w.grab_bb(extras, start, end, false);
        if len == CROSSES_RING && i > 0 {
            // Patch up missing kernel transfers due to ring filters.
            i -= 1;
            end = e[i as usize].from;
            len = w.grab_bb(extras, start, end, false);
        }
        if len <= 0 {
            i -= 1;
            continue;
        }
        let len = len as usize;
        let mut insn = 0;
        let mut off = 0usize;
        while off < len {
            let ip = start.wrapping_add(off as u64);
            w.sym_line(out, ip);
            if ip == end {
                insn += 1;
                w.jump_line(out, ip, &e[i as usize], off, len, insn);
                w.srccode(extras, out, ip);
                break;
            }
            let ilen = w.insn_line(out, ip, off, len);
            if ilen == 0 {
                break;
            }
            w.srccode(extras, out, ip);
            insn += 1;
            off += ilen;
        }
        if off as u64 != end.wrapping_sub(start) {
            out.extend_from_slice(b"\tmismatch of LBR data and executable\n");
        }
        i -= 1;
    }
    // Hit the branch, or an aborted transaction: the target did not run yet.
    if e[0].from == s.ip || e[0].flags >> 3 & 1 != 0 {
        return;
    }
    // The final block, up to the sample (or 128 bytes past a missing jump).
    let start = e[0].to;
    let mut end = s.ip;
    if end < start {
        end = start.wrapping_add(128);
    }
    let len = w.grab_bb(extras, start, end, true);
    w.sym_line(out, start);
    if len <= 0 {
        let len = w.grab_bb(extras, s.ip, s.ip, false);
        if len <= 0 {
            return;
        }
        w.insn_line(out, s.ip, 0, len as usize);
        w.srccode(extras, out, s.ip);
        return;
    }
    let len = len as usize;
    let mut off = 0u64;
    while off <= end.wrapping_sub(start) {
        let ilen = w.insn_line(out, start.wrapping_add(off), off as usize, len);
        if ilen == 0 {
            break;
        }
        let at = (off as usize).min(len);
        if is_branch(&w.buf[at..len], w.is64) && start.wrapping_add(off) != s.ip {
            out.extend_from_slice(b"\t... not reaching sample ...\n");
            break;
        }
        w.srccode(extras, out, start.wrapping_add(off));
        off += ilen as u64;
    }
}
