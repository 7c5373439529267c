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
use crate::mappings::DsoKind;
use crate::script_options::fields::*;
use crate::script_options::regs::fprintf_regs;

pub struct FieldsWriter {
    out: Output,
    times: TimeFormat,
    arm64: bool,
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
        FieldsWriter { out, times, arm64 }
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
fn render(out: &mut Vec<u8>, times: &mut TimeFormat, arm64: bool, s: &SampleView, names: &Names) {
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
    if fields & UREGS != 0 {
        if let Some(r) = &s.user_regs {
            if r.abi != 0 {
                fprintf_regs(out, arm64, r.abi, r.mask, r.values);
            }
        }
    }
    out.push(b'\n');
}

impl SampleSink for FieldsWriter {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        render(&mut self.out.buf, &mut self.times, self.arm64, s, names);
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
