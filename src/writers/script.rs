//! `perf script` text with perf 6.1's default fields
//! (`process_event`, `sample__fprintf_callchain`, `sample__fprintf_sym`).

use std::io::{self, Write};

use super::output::Output;
use super::{fmt, format, frame_text, Names, SampleSink, SampleView};
use crate::mappings::DsoKind;

pub struct ScriptWriter {
    out: Output,
}

impl ScriptWriter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        ScriptWriter {
            out: Output::new(out),
        }
    }
}

/// Appends the whole text of one sample to `out`.
pub fn render_sample(out: &mut Vec<u8>, s: &SampleView, names: &Names) {
    let formats = names.formats;
    let ev = &formats.events[s.event];
    format::header_line(out, ev, formats.name_width, &s.header);
    if ev.ip {
        if ev.callchain {
            out.push(b'\n');
            for f in s.frames {
                out.push(b'\t');
                let kernel = f.dso.is_some_and(|d| {
                    names.machine.dsos.get(d).kind == DsoKind::Kernel
                        || names.machine.dsos.get(d).kind == DsoKind::Module
                });
                fmt::hex_padded(out, f.printed_addr(kernel), 16);
                out.push(b' ');
                frame_text(out, f, names);
                out.push(b'\n');
            }
        } else {
            out.push(b' ');
            fmt::hex_padded(out, s.ip_frame.ip, 16);
            out.push(b' ');
            frame_text(out, &s.ip_frame, names);
        }
    }
    out.push(b'\n');
}

impl SampleSink for ScriptWriter {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        render_sample(&mut self.out.buf, s, names);
        self.out.maybe_flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.finish()
    }
}
