//! `perf script` text with the fields `-F` chose (and `--ns`, `--reltime`,
//! `--deltatime`, `-G`, `--show-*-events`): perf 6.1's `process_event`,
//! `sample__fprintf_sym` / `sample__fprintf_callchain` with print options,
//! `perf_sample__fprintf_addr` and `print_event_with_time`. The default
//! text keeps its own fast writer (`writers::script`).

use std::io::{self, Write};

use super::line_start::{empty_flags, start, StartValues, TimeFormat};
use super::output::Output;
use super::{fmt, Names, SampleSink, SampleView, SideBand};
use crate::frames::Frame;
use crate::hw::memory::{MemoryColumns, MemoryFields};
use crate::mappings::DsoKind;
use crate::script_options::fields::*;
use crate::script_options::regs::fprintf_regs;

pub struct FieldsWriter {
    out: Output,
    times: TimeFormat,
    arm64: bool,
    memory: MemoryColumns,
}

impl FieldsWriter {
    /// `preamble` (the `--header` block) is written first.
    pub fn new(
        out: Box<dyn Write + Send>,
        times: TimeFormat,
        arm64: bool,
        preamble: &[u8],
    ) -> Self {
        let mut out = Output::new(out);
        out.buf.extend_from_slice(preamble);
        FieldsWriter {
            out,
            times,
            arm64,
            memory: MemoryColumns::default(),
        }
    }
}

/// Whether a frame's DSO is the kernel's (perf prints raw addresses there).
fn kernel_dso(f: &Frame, names: &Names) -> bool {
    f.dso.is_some_and(|d| {
        matches!(
            names.machine.dsos.get(d).kind,
            DsoKind::Kernel | DsoKind::Module
        )
    })
}

/// ` sym[+0xoff]`, ` (dso)` and the source line as the print options say
/// (`__symbol__fprintf_symname_offs`, `map__fprintf_dsoname`,
/// `map__fprintf_srcline`).
fn sym_dso(
    out: &mut Vec<u8>,
    f: &Frame,
    names: &Names,
    fields: FieldMask,
    srcline: Option<&Option<Vec<u8>>>,
) {
    if fields & SYM != 0 {
        out.push(b' ');
        match f.sym {
            Some(id) => {
                let sym = names.symbols.get(id);
                out.extend_from_slice(sym.name.as_bytes());
                if fields & SYMOFFSET != 0 {
                    out.extend_from_slice(b"+0x");
                    fmt::hex(out, super::text::symbol_offset(f, sym.start, sym.end));
                }
            }
            None => out.extend_from_slice(b"[unknown]"),
        }
    }
    if fields & DSO != 0 && !f.inlined {
        out.extend_from_slice(b" (");
        match f.dso {
            Some(d) => out.extend_from_slice(&names.machine.dsos.get(d).name),
            None => out.extend_from_slice(b"[unknown]"),
        }
        out.push(b')');
    }
    if let (true, Some(Some(line))) = (fields & SRCLINE != 0, srcline) {
        out.extend_from_slice(b"\n  ");
        out.extend_from_slice(line);
    }
    if f.inlined {
        out.extend_from_slice(b" (inlined)");
    }
}

/// The text of one sample with the event's fields.
fn render(w: &mut FieldsWriter, s: &SampleView, names: &Names) {
    let (out, times, arm64) = (&mut w.out.buf, &mut w.times, w.arm64);
    let formats = names.formats;
    let ev = &formats.events[s.event];
    let fields = ev.fields;
    if fields == 0 {
        return;
    }
    let h = &s.header;
    let v = StartValues {
        comm: h.comm,
        pid: h.pid,
        tid: h.tid,
        cpu: h.cpu,
        time: h.time,
        misc: h.misc,
        record_type: 9,
    };
    start(out, fields, ev.ip && ev.callchain, &v, times);
    if fields & PERIOD != 0 {
        fmt::dec_padded(out, h.period, 10, b' ');
        out.push(b' ');
    }
    if fields & EVNAME != 0 {
        fmt::str_padded(out, ev.name.as_bytes(), formats.name_width);
        out.extend_from_slice(b": ");
    }
    if formats.print_flags {
        empty_flags(out);
    }
    if let (true, Some(trace)) = (fields & TRACE != 0, s.trace) {
        out.extend_from_slice(trace);
    }
    if fields & ADDR != 0 {
        fmt::hex_padded(out, s.addr.ip, 16);
        if ev.addr_correlates {
            sym_dso(out, &s.addr, names, fields & (SYM | SYMOFFSET | DSO), None);
        }
    }
    // The memory fields of `-F` (process_event): data_src, weight and
    // ins_lat before the ip, phys_addr and the page sizes after the rest.
    let memory = MemoryFields {
        addr: false,
        data_src: fields & DATA_SRC != 0,
        weight: fields & WEIGHT != 0,
        ins_lat: fields & INS_LAT != 0,
        phys_addr: fields & PHYS_ADDR != 0,
        data_page_size: fields & DATA_PAGE_SIZE != 0,
        code_page_size: fields & CODE_PAGE_SIZE != 0,
    };
    w.memory.before_ip(out, &memory, &s.memory);
    if ev.ip {
        if ev.callchain {
            out.push(b'\n');
            for (i, f) in s.frames.iter().enumerate() {
                out.push(b'\t');
                fmt::hex_padded(out, f.printed_addr(kernel_dso(f, names)), 16);
                sym_dso(out, f, names, fields, s.srclines.get(i));
                out.push(b'\n');
            }
        } else {
            out.push(b' ');
            fmt::hex_padded(out, s.ip_frame.ip, 16);
            sym_dso(out, &s.ip_frame, names, fields, s.srclines.first());
        }
    }
    for (field, regs) in [(IREGS, &s.intr_regs), (UREGS, &s.user_regs)] {
        if let (true, Some(r)) = (fields & field != 0, regs) {
            if r.abi != 0 {
                fprintf_regs(out, arm64, r.abi, r.mask, r.values);
            }
        }
    }
    super::branches::branch_stack(out, fields, &s.extras.branches, names);
    // perf_sample__fprintf_insn
    if fields & INSNLEN != 0 {
        out.extend_from_slice(b" ilen: ");
        fmt::dec_padded(out, s.extras.insn_len as u64, 0, b' ');
    }
    if fields & INSN != 0 && s.extras.insn_len != 0 {
        out.extend_from_slice(b" insn:");
        for &b in &s.extras.insn[..s.extras.insn_len] {
            let hex = b"0123456789abcdef";
            out.extend_from_slice(&[b' ', hex[usize::from(b >> 4)], hex[usize::from(b & 15)]]);
        }
    }
    out.extend_from_slice(&s.extras.brstackinsn);
    MemoryColumns::after_ip(out, &memory, &s.memory);
    out.push(b'\n');
    if !s.extras.srccode.is_empty() {
        out.extend_from_slice(&s.extras.srccode);
        out.push(b'\n');
    }
}

impl SampleSink for FieldsWriter {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        render(self, s, names);
        self.out.maybe_flush()
    }

    fn side_band(&mut self, sb: &SideBand, names: &Names) -> io::Result<()> {
        if let Some(event) = sb.event {
            let ev = &names.formats.events[event];
            start(
                &mut self.out.buf,
                ev.fields,
                ev.ip && ev.has_callchain && names.formats.use_callchain,
                &sb.start,
                &mut self.times,
            );
        }
        self.out.buf.extend_from_slice(sb.text);
        self.out.maybe_flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.finish()
    }
}
