//! `perf script` text with perf 6.1's default fields
//! (`process_event`, `sample__fprintf_callchain`, `sample__fprintf_sym`).

use std::io::{self, Write};

use super::output::Output;
use super::{fmt, format, frame_text, Names, SampleSink, SampleView};
use crate::frames::{Frame, NO_SLOT};
use crate::mappings::DsoKind;

pub struct ScriptWriter {
    out: Output,
    texts: FrameTexts,
}

impl ScriptWriter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        ScriptWriter {
            out: Output::new(out),
            texts: FrameTexts::default(),
        }
    }
}

/// The text of each (DSO, address) pair, `sym+0xoff (dso)`, rendered once
/// and then copied: indexed by the frame's slot, no hashing.
#[derive(Default)]
pub struct FrameTexts {
    ranges: Vec<(u32, u32)>,
    arena: Vec<u8>,
}

impl FrameTexts {
    fn append(&mut self, out: &mut Vec<u8>, f: &Frame, names: &Names) {
        let slot = f.slot as usize;
        // The offset of an address past its symbol's end depends on the map
        // (perf's rule), so only the usual case is cached.
        let cacheable = f.slot != NO_SLOT
            && f.sym.is_none_or(|id| f.addr < names.symbols.get(id).end)
            && self.arena.len() < u32::MAX as usize / 2;
        if !cacheable {
            return frame_text(out, f, names);
        }
        if let Some(&(start, len)) = self.ranges.get(slot).filter(|r| r.1 != u32::MAX) {
            out.extend_from_slice(&self.arena[start as usize..(start + len) as usize]);
            return;
        }
        let start = self.arena.len();
        frame_text(&mut self.arena, f, names);
        let len = self.arena.len() - start;
        if self.ranges.len() <= slot {
            self.ranges.resize(slot + 1, (0, u32::MAX));
        }
        self.ranges[slot] = (start as u32, len as u32);
        out.extend_from_slice(&self.arena[start..]);
    }
}

/// Appends the whole text of one sample to `out`.
pub fn render_sample(out: &mut Vec<u8>, texts: &mut FrameTexts, s: &SampleView, names: &Names) {
    let formats = names.formats;
    let ev = &formats.events[s.event];
    format::header_line(out, ev, formats.name_width, &s.header);
    if let Some(trace) = s.trace {
        out.extend_from_slice(trace);
    }
    if ev.ip {
        if ev.callchain {
            out.push(b'\n');
            for f in s.frames {
                out.push(b'\t');
                let kernel = f.dso.is_some_and(|d| {
                    matches!(
                        names.machine.dsos.get(d).kind,
                        DsoKind::Kernel | DsoKind::Module
                    )
                });
                fmt::hex_padded(out, f.printed_addr(kernel), 16);
                out.push(b' ');
                texts.append(out, f, names);
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
        render_sample(&mut self.out.buf, &mut self.texts, s, names);
        self.out.maybe_flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.finish()
    }
}
