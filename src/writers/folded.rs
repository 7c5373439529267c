//! Folded stacks, byte-identical to `perf script | inferno-collapse-perf`
//! (inferno 0.12.8, default options).
//!
//! The folder renders each sample's event line and frames exactly as perf
//! script would and reads them with inferno's rules ([`super::inferno_rules`]),
//! so the result is the same even for names inferno mangles. The expensive
//! part, folding one frame's text, is cached per (DSO, symbol); stacks are
//! counted in a hash map keyed by their folded bytes and sorted once at the end.

use std::borrow::Cow;
use std::io::{self, Write};

use rustc_hash::FxHashMap;

use super::inferno_rules as rules;
use super::{format, frame_text, Names, SampleSink, SampleView};
use crate::frames::{Frame, SymId};
use crate::mappings::DsoIndex;

type FrameKey = (Option<DsoIndex>, Option<SymId>, bool);

/// Folds samples into `stack count` lines.
pub struct Folder {
    /// The event whose samples are kept: inferno keeps the first event it sees.
    event_filter: Option<String>,
    counts: FxHashMap<Box<[u8]>, u64>,
    frames: FxHashMap<FrameKey, Option<Box<str>>>,
    line: Vec<u8>,
    key: Vec<u8>,
}

impl Folder {
    pub fn new(event_filter: Option<String>) -> Self {
        Folder {
            event_filter,
            counts: FxHashMap::default(),
            frames: FxHashMap::default(),
            line: Vec::with_capacity(256),
            key: Vec::with_capacity(1024),
        }
    }

    /// The sorted `stack count` lines.
    pub fn into_lines(self) -> Vec<(Box<[u8]>, u64)> {
        let mut lines: Vec<_> = self.counts.into_iter().collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        lines
    }

    /// Writes the folded lines to `out`.
    pub fn write_to(self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        for (stack, count) in self.into_lines() {
            buf.extend_from_slice(&stack);
            buf.push(b' ');
            super::fmt::dec_padded(&mut buf, count, 0, b' ');
            buf.push(b'\n');
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        out.write_all(&buf)?;
        out.flush()
    }

    /// Counts one sample; returns without counting what inferno would drop.
    pub fn add(&mut self, s: &SampleView, names: &Names) {
        let formats = names.formats;
        let ev = &formats.events[s.event];
        self.line.clear();
        format::header_line(&mut self.line, ev, formats.name_width, &s.header);
        let single_line = !(ev.ip && ev.callchain);
        if single_line && ev.ip {
            self.line.push(b' ');
            super::fmt::hex_padded(&mut self.line, s.ip_frame.ip, 16);
            self.line.push(b' ');
            frame_text(&mut self.line, &s.ip_frame, names);
        }
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end();
        let Some((comm, end)) = rules::event_line_parts(text) else {
            return;
        };
        let (event, period, post_event) = rules::event_and_period(&text[end..]);
        if let Some(event) = event {
            match &self.event_filter {
                Some(filter) if filter != event => return,
                Some(_) => {}
                None => self.event_filter = Some(event.to_string()),
            }
        }
        let pname: Cow<str> = if comm.contains(' ') {
            comm.replace(' ', "_").into()
        } else {
            comm.into()
        };
        let java = pname.starts_with("java");
        let weight = period.unwrap_or(1);

        self.key.clear();
        self.key.extend_from_slice(pname.as_bytes());
        let mut any = false;
        if single_line {
            if let Some(stack) = post_event.and_then(rules::single_line_stack) {
                if let Some(f) = rules::fold_stack_line(stack, java) {
                    self.key.push(b';');
                    self.key.extend_from_slice(f.as_bytes());
                    any = true;
                }
            }
        } else {
            // Frames are printed callee first; the folded stack is root first.
            for f in s.frames.iter().rev() {
                if let Some(text) = fold_frame(&mut self.frames, f, java, names) {
                    self.key.push(b';');
                    self.key.extend_from_slice(text.as_bytes());
                    any = true;
                }
            }
        }
        if !any {
            return;
        }
        match self.counts.get_mut(self.key.as_slice()) {
            Some(c) => *c += weight,
            None => {
                self.counts.insert(self.key.as_slice().into(), weight);
            }
        }
    }
}

/// The folded text of one frame (cached), or `None` if inferno drops it.
fn fold_frame<'c>(
    cache: &'c mut FxHashMap<FrameKey, Option<Box<str>>>,
    f: &Frame,
    java: bool,
    names: &Names,
) -> Option<&'c str> {
    cache
        .entry((f.dso, f.sym, java))
        .or_insert_with(|| {
            // The line as perf prints it; the address does not matter to
            // inferno, and any hex offset is stripped the same way.
            let mut line = b"0 ".to_vec();
            frame_text(&mut line, f, names);
            let text = String::from_utf8_lossy(&line);
            rules::fold_stack_line(text.trim_end(), java).map(Into::into)
        })
        .as_deref()
}

/// A folder writing its lines to `out` when the input ends.
pub struct FoldWriter<W: Write> {
    folder: Option<Folder>,
    out: W,
}

impl<W: Write> FoldWriter<W> {
    pub fn new(folder: Folder, out: W) -> Self {
        FoldWriter {
            folder: Some(folder),
            out,
        }
    }
}

impl<W: Write> SampleSink for FoldWriter<W> {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        if let Some(f) = &mut self.folder {
            f.add(s, names);
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.folder.take() {
            Some(f) => f.write_to(&mut self.out),
            None => Ok(()),
        }
    }
}
