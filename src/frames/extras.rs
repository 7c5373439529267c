//! What `-F` fields beyond the ip and callchain need looked up in maps and
//! DSOs for one sample (perf 6.1 `process_event`):
//! - the branch-stack entries of `brstack`/`brstacksym`/`brstackoff`
//!   ([`super::branches`]);
//! - `insn`/`insnlen`: perf's x86 `arch_fetch_insn`, which reads up to 16
//!   bytes at the sample ip from the DSO's file (`thread__memcpy`: the map of
//!   the address's own space, the DSO's data file) and keeps the length
//!   of the first instruction, decoded here with iced-x86 (perf uses its
//!   copy of the kernel's instruction decoder); nothing on other hosts or for
//!   recordings of another architecture (perf's `native_arch`);
//! - `brstackinsn`/`brstackinsnlen` ([`super::brstackinsn`]);
//! - `srccode`: perf's `map__fprintf_srccode`, the source line of the sample
//!   ip (addr2line's first record) read from the source file, printed once
//!   per thread while the line stays the same.
//!
//! Filled by the pipeline once per sample, only for the fields the event
//! prints, and rendered by `writers::fields`.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;

use rustc_hash::FxHashMap;

use super::branches::{resolve_branches, BranchFrames, BranchLookup};
use super::brstackinsn::BlockSource;
use super::{load_kernel_map, resolve_ip, Frame, FrameKey, InlineFrames, SymbolTable};
use crate::mappings::{DsoId, DsoKind, Machine, Thread, CPUMODE_KERNEL, CPUMODE_USER};
use crate::reader::sample::Sample;
use crate::script_options::fields::*;

/// perf's `MAX_INSN`: the bytes read at the ip.
const MAX_INSN: usize = 16;

/// What the extra fields print for one sample: the part of [`SampleExtras`]
/// the writers read (and `-j`'s sink thread receives a copy of).
#[derive(Default, Clone)]
pub struct ExtraFields {
    /// The branch stack, most recent first (empty unless a brstack field).
    pub branches: Vec<BranchFrames>,
    /// The instruction at the sample ip (`insn`, `insnlen`): its bytes and
    /// length (0 when perf reads none).
    pub insn: [u8; MAX_INSN],
    pub insn_len: usize,
    /// `|<line>    <text>` of `srccode`, empty when perf prints nothing.
    pub srccode: Vec<u8>,
    /// The `brstackinsn` text (from its leading newline), or empty.
    pub brstackinsn: Vec<u8>,
}

impl ExtraFields {
    /// Nothing to print: what samples of events without extra fields carry.
    pub const NONE: ExtraFields = ExtraFields {
        branches: Vec::new(),
        insn: [0; MAX_INSN],
        insn_len: 0,
        srccode: Vec::new(),
        brstackinsn: Vec::new(),
    };

    /// Makes `self` a copy of `from`, reusing `self`'s buffers.
    pub fn copy_from(&mut self, from: &ExtraFields) {
        self.branches.clone_from(&from.branches);
        self.insn = from.insn;
        self.insn_len = from.insn_len;
        self.srccode.clone_from(&from.srccode);
        self.brstackinsn.clone_from(&from.brstackinsn);
    }

    /// Whether the fields print nothing.
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
            && self.insn_len == 0
            && self.srccode.is_empty()
            && self.brstackinsn.is_empty()
    }
}

/// Per-sample lookups of the extra fields; the buffers are reused.
#[derive(Default)]
pub struct SampleExtras {
    /// What the last filled sample prints.
    pub fields: ExtraFields,
    /// perf fetches instructions (x86 host and recording).
    native_x86: bool,
    /// The recording is x86_64 (perf's kernel_start is then 1 << 63).
    x86_64: bool,
    /// `--max-blocks` (0: no limit).
    pub(super) max_blocks: u32,
    /// Each DSO's data file, whether it is 64-bit ELF (perf's default when
    /// not ELFCLASS32), and its size.
    files: FxHashMap<DsoId, Option<(File, bool, u64)>>,
    /// Source files read for `srccode`: their lines (None: unreadable).
    sources: FxHashMap<Vec<u8>, Option<SourceFile>>,
    /// The last source line printed per thread (perf's `srccode_state`).
    last_line: FxHashMap<(i32, i32), (Vec<u8>, u32)>,
}

struct SourceFile {
    text: Vec<u8>,
    /// Start of each line ended by a newline (perf's `fill_lines` leaves a
    /// last line without one empty).
    lines: Vec<usize>,
}

impl SampleExtras {
    /// `arch` is the recording's HEADER_ARCH; a pipe counts as native, as in
    /// perf. `max_blocks` bounds `brstackinsn` (`--max-blocks`, 0: all).
    pub fn new(arch: Option<&str>, pipe: bool, max_blocks: u32) -> Self {
        SampleExtras {
            max_blocks,
            native_x86: cfg!(target_arch = "x86_64")
                && (pipe || matches!(arch, Some("x86_64" | "i386"))),
            x86_64: arch == Some("x86_64"),
            ..Default::default()
        }
    }

    /// Whether [`Self::fill`] has anything to do for a sample of `s`'s ip
    /// with `fields`: with perf script's default fields nothing is looked
    /// up once the kernel's map is loaded, and nothing is left from an
    /// earlier sample to clear (so the pipeline makes no call per sample).
    #[inline]
    pub fn fills(&self, machine: &Machine, s: &Sample, fields: FieldMask) -> bool {
        const LOOKED_UP: FieldMask = BRSTACK
            | BRSTACKSYM
            | BRSTACKOFF
            | INSN
            | INSNLEN
            | BRSTACKINSN
            | BRSTACKINSNLEN
            | SRCCODE;
        let loads_kernel = self.native_x86 && s.ip != 0 && !machine.kernel_loaded;
        let f = &self.fields;
        let clear = f.branches.is_empty()
            && f.insn_len == 0
            && f.srccode.is_empty()
            && f.brstackinsn.is_empty();
        fields & LOOKED_UP != 0 || loads_kernel || !clear
    }

    /// Looks up what the fields in `fields` print of sample `s`; `ip_frame`
    /// is the sample ip's frame when the pipeline resolved it.
    #[allow(clippy::too_many_arguments)]
    pub fn fill(
        &mut self,
        machine: &mut Machine,
        symbols: &mut SymbolTable,
        inlines: &mut InlineFrames,
        thread: &Thread,
        s: &Sample,
        ip_frame: &Frame,
        fields: FieldMask,
    ) {
        self.fields.branches.clear();
        self.fields.insn_len = 0;
        self.fields.srccode.clear();
        // perf prints one of the three, in this order of preference.
        let lookup = if fields & BRSTACK != 0 {
            Some(if fields & DSO != 0 {
                BranchLookup::Map
            } else {
                BranchLookup::None
            })
        } else if fields & BRSTACKSYM != 0 {
            Some(BranchLookup::Symbol)
        } else if fields & BRSTACKOFF != 0 {
            Some(BranchLookup::Map)
        } else {
            None
        };
        if let (Some(lookup), Some(stack)) = (lookup, &s.branch_stack) {
            resolve_branches(
                machine,
                symbols,
                thread,
                s.cpumode(),
                stack,
                lookup,
                &mut self.fields.branches,
            );
        }
        if self.native_x86 && s.ip != 0 {
            // perf fetches every printed sample's instruction on a native
            // x86 host (script_fetch_insn, whatever the fields):
            // thread__memcpy asks machine__kernel_ip, whose first call loads
            // the kernel's map (machine__get_kernel_start: map__load).
            load_kernel_map(machine, symbols);
        }
        if fields & (INSN | INSNLEN) != 0 && self.native_x86 && s.ip != 0 {
            self.fetch_insn(machine, symbols, thread, s.ip);
        }
        self.fields.brstackinsn.clear();
        if fields & (BRSTACKINSN | BRSTACKINSNLEN) != 0 {
            let mut text = std::mem::take(&mut self.fields.brstackinsn);
            let limits = (self.max_blocks, self.kernel_start(machine));
            super::brstackinsn::brstackinsn(
                self, machine, symbols, inlines, thread, s, fields, limits, &mut text,
            );
            self.fields.brstackinsn = text;
        }
        if fields & SRCCODE != 0 {
            let frame = if ip_frame.dso.is_some() || ip_frame.key != FrameKey::Unmapped {
                *ip_frame
            } else {
                resolve_ip(machine, symbols, thread, s.cpumode(), s.ip, false)
            };
            let mut text = std::mem::take(&mut self.fields.srccode);
            self.source_line(machine, symbols, inlines, thread, &frame, &mut text);
            self.fields.srccode = text;
        }
    }

    /// Whether perf loads the kernel's map at the first printed sample
    /// (see [`Self::fill`]): a native x86 host and recording.
    pub fn loads_kernel_first(&self) -> bool {
        self.native_x86
    }

    /// perf's `machine->kernel_start` for `machine__kernel_ip`: 1 << 63 on
    /// x86_64 (`machine__get_kernel_start`), else the kernel map's start.
    pub(super) fn kernel_start(&self, machine: &Machine) -> u64 {
        if self.x86_64 {
            1 << 63
        } else {
            machine.kernel_start
        }
    }

    /// perf's `arch_fetch_insn` (x86).
    fn fetch_insn(&mut self, machine: &Machine, symbols: &mut SymbolTable, th: &Thread, ip: u64) {
        let cpumode = if ip >= self.kernel_start(machine) {
            CPUMODE_KERNEL
        } else {
            CPUMODE_USER
        };
        let Some(map) = machine.find_map(th, cpumode, ip).copied() else {
            return;
        };
        if machine.dsos.get(map.dso).kind != DsoKind::File {
            return; // kallsyms and anonymous memory have no file bytes
        }
        // perf's map__load here answers 0: the sample's own lookup already
        // tried to load the DSO (a failed load still marks it loaded), so the
        // bytes come from the data file whether or not symbols were found.
        symbols.lookup(machine, map.dso, map.map_ip(ip));
        let mut buf = [0u8; MAX_INSN];
        let Some((len, is64)) = self.read_dso(machine, symbols, map.dso, map.map_ip(ip), &mut buf)
        else {
            return;
        };
        if len == 0 {
            return;
        }
        self.fields.insn = buf;
        self.fields.insn_len = super::insn::insn_len(&buf[..len], is64);
    }

}

impl BlockSource for SampleExtras {
    /// perf's `dso__data_read_offset`: up to `buf.len()` bytes of the DSO's
    /// data file from `offset` (fewer at its end), and whether the file is
    /// 64-bit ELF; `None` without a readable file or past its end.
    fn read_dso(
        &mut self,
        machine: &Machine,
        symbols: &mut SymbolTable,
        dso: DsoId,
        offset: u64,
        buf: &mut [u8],
    ) -> Option<(usize, bool)> {
        let (file, is64, size) = self
            .files
            .entry(dso)
            .or_insert_with(|| {
                let id = symbols.dso_id(machine, dso);
                let file = File::open(symbols.symbolizer.data_file(id)?).ok()?;
                let size = file.metadata().ok()?.len();
                let mut ident = [0u8; 5];
                let is64 = file.read_exact_at(&mut ident, 0).is_err() || ident[4] != 1;
                Some((file, is64, size))
            })
            .as_ref()?;
        if offset > *size {
            return None;
        }
        let mut len = 0;
        while len < buf.len() {
            match file.read_at(&mut buf[len..], offset + len as u64) {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
        Some((len, *is64))
    }

    /// perf's `map__fprintf_srccode`: appends `|<line>    <text>` of `f`'s
    /// address to `out` unless the thread printed that line last.
    fn source_line(
        &mut self,
        machine: &Machine,
        symbols: &mut SymbolTable,
        inlines: &mut InlineFrames,
        th: &Thread,
        f: &Frame,
        out: &mut Vec<u8>,
    ) {
        let Some(srcline) = inlines.srcline(symbols, machine, f, true) else {
            return;
        };
        let Some(colon) = srcline.iter().rposition(|&b| b == b':') else {
            return;
        };
        let (file, line) = (&srcline[..colon], &srcline[colon + 1..]);
        let Some(line) = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.parse::<u32>().ok())
        else {
            return;
        };
        let key = (th.pid, th.tid);
        if self
            .last_line
            .get(&key)
            .is_some_and(|(f, l)| f == file && *l == line)
        {
            return;
        }
        let source = self
            .sources
            .entry(file.to_vec())
            .or_insert_with(|| read_source(file));
        let Some(src) = source else {
            return;
        };
        let Some(text) = line
            .checked_sub(1)
            .and_then(|i| src.line(i as usize))
        else {
            return;
        };
        out.push(b'|');
        out.extend_from_slice(format!("{line:<8} ").as_bytes());
        out.extend_from_slice(text);
        self.last_line.insert(key, (file.to_vec(), line));
    }
}

fn read_source(path: &[u8]) -> Option<SourceFile> {
    let text = std::fs::read(std::ffi::OsStr::from_bytes(path)).ok()?;
    let mut lines = vec![0];
    lines.extend(
        text.iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1),
    );
    // `lines` now holds each line's start plus the end of the text.
    Some(SourceFile { text, lines })
}

impl SourceFile {
    /// Line `i` (0-based) without its newline, if a newline ends it.
    fn line(&self, i: usize) -> Option<&[u8]> {
        let start = *self.lines.get(i)?;
        let end = *self.lines.get(i + 1)?;
        Some(&self.text[start..end - 1])
    }
}