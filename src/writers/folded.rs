//! Folded stacks, byte-identical to `perf script | inferno-collapse-perf`
//! (inferno 0.12.8, default options).
//!
//! The folder reads each sample the way inferno reads perf script's text
//! ([`super::inferno_rules`]), but does the text work once per distinct
//! thing instead of once per sample:
//!
//! - the event line (comm, event, period) is rendered and parsed once per
//!   (comm, tid, event): with perf's default layout (`comm tid time: period
//!   event:`) inferno's reading of it does not depend on the time and period
//!   values, only on the comm and tid;
//! - each frame's folded text is computed once per (DSO, address) slot;
//! - a stack is counted under the sequence of interned text ids, and the
//!   strings are built, merged and sorted once at the end.
//!
//! Samples whose layout is not the default
//! ([`super::layout::EventLayout::reads_as_default_shape`]: tracepoints,
//! memory fields) are read from their rendered text directly, exactly as
//! inferno would; see [`Reading`]. Event lines inferno misreads only for a
//! missing or negative tid or a missing time are read as their default-shape
//! form (a deviation kept on purpose, docs/parity.md).

use std::borrow::Cow;
use std::io::{self, Write};

use rustc_hash::FxHashMap;

use super::inferno_rules as rules;
use super::layout::EventLayout;
use super::text::{frame_text, header_line, ip_suffix, render_sample, FrameTexts, HeaderMemo};
use super::{flamegraph, fmt, Header, Names, SampleSink, SampleView};
use crate::frames::{Frame, FrameKey};

/// Marks a placeholder id of a pending frame.
const PENDING: u32 = 1 << 31;
/// A placeholder's frames are folded by the Java rule.
const JAVA_PENDING: u32 = 1 << 30;
/// Slot-cache marker: not computed yet.
const UNSET: u32 = u32::MAX;
/// Slot-cache marker: inferno drops this frame.
const DROPPED: u32 = u32::MAX - 1;

/// What inferno reads from an event line.
#[derive(Clone, Copy)]
struct EventLine {
    /// Interned comm with spaces made `_`; `None` for a line inferno finds weird.
    pname: Option<u32>,
    /// Interned event name.
    event: Option<u32>,
    /// The period word parsed (else inferno counts 1).
    has_period: bool,
    java: bool,
}

/// What a frame's folded text depends on: its symbol, its DSO (or that
/// it is an inline frame) and the comm's Java rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct SymbolText {
    sym: u32,
    dso: u32,
    java: bool,
}

/// How the folder reads one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// From its fields: the event line's reading (cached per comm, tid and
    /// event), then one frame per line.
    Fields,
    /// From its full rendered text, by inferno's line rules.
    Text,
}

impl Reading {
    fn of(ev: &EventLayout) -> Reading {
        if !ev.reads_as_default_shape() {
            // Samples of these events never carry pending frames: the
            // pipeline defers inline frames only when every event has the
            // default shape.
            return Reading::Text;
        }
        // Default shape, or a line inferno misreads only because its tid is
        // missing or negative (`-1`) or it has no time: read as inferno reads
        // the same line in the default shape (docs/parity.md, issue 11 item
        // 8), see [`Folder::render_line`].
        Reading::Fields
    }
}

/// Folds samples into `stack count` lines.
pub struct Folder {
    /// The event whose samples are kept: inferno keeps the first event it sees.
    event_filter: Option<String>,
    texts: Vec<Box<str>>,
    text_ids: FxHashMap<Box<str>, u32>,
    /// Folded text id per frame slot, for non-Java (0) and Java (1) comms.
    slot_texts: [Vec<u32>; 2],
    unmapped_text: [u32; 2],
    /// Folded text id per symbol and DSO (the only parts of a frame's line
    /// inferno keeps: it drops the address and a hex `+0x` offset), for
    /// the many slots of one function; emptied when a DSO is renamed.
    symbol_texts: FxHashMap<SymbolText, u32>,
    symbol_texts_generation: u64,
    /// The folded text ids a pending placeholder stands for, once
    /// [`Folder::resolve_deferred`] found them.
    expanded: FxHashMap<u32, Vec<u32>>,
    events: FxHashMap<(u32, i32, usize), EventLine>,
    counts: FxHashMap<Box<[u32]>, u64>,
    key: Vec<u32>,
    line: Vec<u8>,
    /// Samples read from their full text (see [`Folder::add`]).
    by_text: rules::LineFolder,
    text_counts: FxHashMap<String, u64>,
    texts_cache: FrameTexts,
    /// The numbers of the header lines `render_line` writes.
    header_memo: HeaderMemo,
}

impl Folder {
    /// A folder keeping only samples of `event_filter` (inferno's
    /// `--event-filter`; `None`: the first event seen).
    pub fn new(event_filter: Option<String>) -> Self {
        Folder {
            event_filter,
            texts: Vec::new(),
            text_ids: FxHashMap::default(),
            slot_texts: [Vec::new(), Vec::new()],
            unmapped_text: [UNSET; 2],
            symbol_texts: FxHashMap::default(),
            symbol_texts_generation: 0,
            expanded: FxHashMap::default(),
            events: FxHashMap::default(),
            counts: FxHashMap::default(),
            key: Vec::with_capacity(256),
            line: Vec::with_capacity(256),
            by_text: rules::LineFolder::default(),
            text_counts: FxHashMap::default(),
            texts_cache: FrameTexts::default(),
            header_memo: HeaderMemo::default(),
        }
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.text_ids.get(s) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(s.into());
        self.text_ids.insert(s.into(), id);
        id
    }

    /// The folded text id of a stack line's text, or [`DROPPED`].
    fn fold_line(&mut self, line: &str, java: bool) -> u32 {
        match rules::fold_stack_line(line, java) {
            Some(f) => self.intern(&f),
            None => DROPPED,
        }
    }

    /// The folded text id of one frame, computed once per slot; a pending
    /// frame gets a placeholder that [`Self::resolve_deferred`] replaces.
    /// The cache hit is inlined into the per-frame loop; the first sight of
    /// a slot goes to [`Self::new_frame_id`].
    #[inline]
    fn frame_id(&mut self, f: &Frame, java: bool, names: &Names) -> u32 {
        let j = java as usize;
        let cached = match f.key {
            FrameKey::Pending(id) => {
                return PENDING | (u32::from(java) * JAVA_PENDING) | id;
            }
            FrameKey::Unmapped => self.unmapped_text[j],
            FrameKey::Slot(slot) => self.slot_texts[j]
                .get(slot as usize)
                .copied()
                .unwrap_or(UNSET),
        };
        if cached != UNSET {
            return cached;
        }
        self.new_frame_id(f, java, names)
    }

    /// The folded text id of a frame whose slot has none yet: computed and
    /// cached.
    #[cold]
    #[inline(never)]
    fn new_frame_id(&mut self, f: &Frame, java: bool, names: &Names) -> u32 {
        let j = java as usize;
        let generation = names.machine.dsos.generation();
        if generation != self.symbol_texts_generation {
            self.symbol_texts.clear();
            self.symbol_texts_generation = generation;
        }
        let key = SymbolText {
            sym: f.sym.map_or(u32::MAX, |s| s.0),
            // An inline frame's line names no DSO (`(inlined)`).
            dso: match (f.inlined, f.dso) {
                (true, _) => u32::MAX - 1,
                (false, Some(d)) => d.0,
                (false, None) => u32::MAX,
            },
            java,
        };
        let id = match self.symbol_texts.get(&key) {
            Some(&id) => id,
            None => {
                // The line as perf prints it; inferno ignores the address,
                // and the offset is stripped whatever its value.
                let mut line = b"0 ".to_vec();
                frame_text(&mut line, f, names);
                let text = match std::str::from_utf8(&line) {
                    Ok(text) => std::borrow::Cow::Borrowed(text),
                    Err(_) => String::from_utf8_lossy(&line),
                };
                let id = self.fold_line(text.trim_end(), java);
                self.symbol_texts.insert(key, id);
                id
            }
        };
        match f.key {
            FrameKey::Slot(slot) => {
                let v = &mut self.slot_texts[j];
                if v.len() <= slot as usize {
                    v.resize(slot as usize + 1, UNSET);
                }
                v[slot as usize] = id;
            }
            // (A pending frame returned its placeholder above.)
            FrameKey::Unmapped | FrameKey::Pending(_) => self.unmapped_text[j] = id,
        }
        id
    }

    /// Renders the sample's event line (and, without callchain, its frame).
    ///
    /// A line without tid or time, or with a negative tid (`-1`), is rendered
    /// in perf's default shape instead (a tid of 0 or without its sign, a time
    /// of 0): inferno-collapse-perf misreads the real line (it takes the
    /// period for the tid, or its event and period from the wrong words, and
    /// then one junk stack or one stack per sample), so perfold folds what
    /// inferno folds from that line made readable
    /// (`scripts/foreign/fix-event-lines.py`; docs/parity.md, issue 11 item 8).
    fn render_line(&mut self, s: &SampleView, names: &Names) {
        let formats = names.formats;
        let ev = &formats.events[s.event];
        self.line.clear();
        if ev.tid && ev.time && s.header.tid >= 0 {
            let memo = &mut self.header_memo;
            header_line(&mut self.line, ev, formats.name_width, &s.header, memo);
        } else {
            let fixed = EventLayout {
                tid: true,
                time: true,
                ..ev.clone()
            };
            let header = Header {
                tid: s.header.tid.checked_abs().unwrap_or(0).max(0),
                time: if ev.time { s.header.time } else { 0 },
                ..s.header
            };
            let memo = &mut self.header_memo;
            header_line(&mut self.line, &fixed, formats.name_width, &header, memo);
        }
        if ev.ip && !ev.callchain {
            ip_suffix(&mut self.line, s, names);
        }
    }

    /// Counts a sample read from its full text, as inferno reads it.
    fn add_by_text(&mut self, s: &SampleView, names: &Names) {
        self.line.clear();
        render_sample(&mut self.line, &mut self.texts_cache, s, names);
        let text = String::from_utf8_lossy(&self.line);
        let counts = &mut self.text_counts;
        self.by_text
            .feed(&text, &mut self.event_filter, &mut |stack, weight| {
                let c = counts.entry(stack).or_insert(0);
                *c = c.wrapping_add(weight);
            });
    }

    /// inferno's reading of the sample's event line, rendered.
    fn read_event_line(&mut self, s: &SampleView, names: &Names) -> EventLine {
        self.render_line(s, names);
        let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
        self.parse_event_line(&text)
    }

    /// inferno's reading of an event line.
    fn parse_event_line(&mut self, text: &str) -> EventLine {
        let Some((comm, end)) = rules::event_line_parts(text) else {
            return EventLine {
                pname: None,
                event: None,
                has_period: false,
                java: false,
            };
        };
        let (event, period, _) = rules::event_and_period(&text[end..]);
        let pname: Cow<str> = if comm.contains(' ') {
            comm.replace(' ', "_").into()
        } else {
            comm.into()
        };
        let java = pname.starts_with("java");
        EventLine {
            pname: Some(self.intern(&pname)),
            event: event.map(|e| self.intern(e)),
            has_period: period.is_some(),
            java,
        }
    }

    /// Counts one sample; returns without counting what inferno would drop.
    ///
    /// With perf's default line shape (`EventLayout::has_default_shape`)
    /// inferno's reading depends only on the comm, tid and event, and frames
    /// are read one per line: the fast path below. Any other shape
    /// (tracepoints, whose fields follow the event name; missing fields) is
    /// read from the sample's full text by inferno's own line rules.
    pub fn add(&mut self, s: &SampleView, names: &Names) {
        let ev = &names.formats.events[s.event];
        // A sample whose text left inferno's stack open (no blank line after
        // it) makes inferno read the next one as part of that stack.
        let reading = match self.by_text.is_idle() {
            true => Reading::of(ev),
            false => Reading::Text,
        };
        let line = match reading {
            Reading::Text => return self.add_by_text(s, names),
            Reading::Fields => {
                let cache_key = (s.header.comm_id, s.header.tid, s.event);
                match self.events.get(&cache_key) {
                    Some(&l) => l,
                    None => {
                        let line = self.read_event_line(s, names);
                        self.events.insert(cache_key, line);
                        line
                    }
                }
            }
        };
        let Some(pname) = line.pname else {
            return;
        };
        if let Some(event) = line.event {
            let event = &self.texts[event as usize];
            match &self.event_filter {
                Some(filter) if **filter != **event => return,
                Some(_) => {}
                None => self.event_filter = Some(event.to_string()),
            }
        }
        let weight = if line.has_period { s.header.period } else { 1 };

        let mut key = std::mem::take(&mut self.key);
        key.clear();
        key.push(pname);
        if ev.ip && ev.callchain {
            // Frames are printed callee first; the folded stack is root first.
            for f in s.frames.iter().rev() {
                let id = self.frame_id(f, line.java, names);
                if id != DROPPED {
                    key.push(id);
                }
            }
        } else if ev.ip {
            // The frame shares the event line; with the default shape
            // inferno finds exactly the frame's text there.
            let id = self.frame_id(&s.ip_frame, line.java, names);
            if id != DROPPED {
                key.push(id);
            }
        }
        if key.len() > 1 {
            match self.counts.get_mut(key.as_slice()) {
                // Wrapping, as inferno's release build adds (and never panics).
                Some(c) => *c = c.wrapping_add(weight),
                None => {
                    self.counts.insert(key.as_slice().into(), weight);
                }
            }
        }
        self.key = key;
    }

    /// Finds the folded texts of the frames each pending placeholder stands
    /// for (callee first there, root first here); [`Self::into_lines`] puts
    /// them in place, and its merge of equal lines merges the stacks that
    /// become equal.
    pub fn resolve_deferred(&mut self, names: &Names) {
        let mut seen = rustc_hash::FxHashSet::default();
        let wanted: Vec<u32> = self
            .counts
            .keys()
            .flat_map(|key| key.iter().copied())
            .filter(|&id| id & PENDING != 0 && seen.insert(id))
            .collect();
        for id in wanted {
            let java = id & JAVA_PENDING != 0;
            let frames = names.inlines.deferred(id & !(PENDING | JAVA_PENDING));
            let mut ids = Vec::with_capacity(frames.len());
            for f in frames.iter().rev() {
                let t = self.frame_id(f, java, names);
                if t != DROPPED {
                    ids.push(t);
                }
            }
            self.expanded.insert(id, ids);
        }
    }

    /// The sorted `stack count` lines. Different id sequences that spell the
    /// same text (a comm containing `;`, pending frames) are merged, as
    /// inferno's string keys are. With many stacks, half of them are spelt
    /// and sorted on a second thread (this is the last step of a run, with
    /// a core to spare), and the two halves merged.
    pub fn into_lines(mut self) -> Vec<(String, u64)> {
        let counts = &mut self.text_counts;
        self.by_text.finish(&mut |stack, weight| {
            let c = counts.entry(stack).or_insert(0);
            *c = c.wrapping_add(weight);
        });
        let mut stacks: Vec<(Box<[u32]>, u64)> = self.counts.into_iter().collect();
        let theirs = stacks.split_off(if stacks.len() >= LINES_ON_TWO_THREADS_FROM {
            stacks.len() / 2
        } else {
            stacks.len()
        });
        let (texts, expanded) = (&self.texts, &self.expanded);
        let spell = |stacks: &[(Box<[u32]>, u64)], more: Vec<(String, u64)>| {
            let mut lines: Vec<(String, u64)> = stacks
                .iter()
                .map(|(ids, count)| (spell_stack(ids, texts, expanded), *count))
                .chain(more)
                .collect();
            lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            lines
        };
        let (mine, theirs) = std::thread::scope(|s| {
            let helper = match theirs.is_empty() {
                true => None,
                false => std::thread::Builder::new()
                    .spawn_scoped(s, || spell(&theirs, Vec::new()))
                    .ok(),
            };
            let mine = spell(&stacks, self.text_counts.into_iter().collect());
            let theirs = match helper.map(|h| h.join()) {
                Some(Ok(lines)) => lines,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                // No second thread: this one spells the other half too.
                None => spell(&theirs, Vec::new()),
            };
            (mine, theirs)
        });
        merge_sorted(vec![mine, theirs])
    }

    /// Writes the folded lines to `out`.
    pub fn write_to(self, out: &mut dyn Write) -> io::Result<()> {
        write_lines(&self.into_lines(), out)
    }
}

/// Stacks from this many on are spelt on two threads ([`Folder::into_lines`]).
const LINES_ON_TWO_THREADS_FROM: usize = 4096;

/// A stack's folded line: the texts of its ids, pending placeholders
/// replaced by the ids they stand for, joined by `;`.
fn spell_stack(ids: &[u32], texts: &[Box<str>], expanded: &FxHashMap<u32, Vec<u32>>) -> String {
    let mut s = String::with_capacity(256);
    let frames = ids.iter().flat_map(|id| match id & PENDING {
        0 => std::slice::from_ref(id),
        _ => expanded.get(id).map_or(&[][..], Vec::as_slice),
    });
    for (i, id) in frames.enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(&texts[*id as usize]);
    }
    s
}

/// Sorted `(stack, count)` lists merged into one, the counts of equal
/// stacks added (wrapping, as inferno's).
pub fn merge_sorted(parts: Vec<Vec<(String, u64)>>) -> Vec<(String, u64)> {
    let total = parts.iter().map(Vec::len).sum();
    let mut merged: Vec<(String, u64)> = Vec::with_capacity(total);
    let mut heads: Vec<_> = parts.into_iter().map(|p| p.into_iter().peekable()).collect();
    loop {
        let next = heads
            .iter_mut()
            .enumerate()
            .filter_map(|(i, h)| h.peek().map(|(s, _)| (i, s)))
            .min_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| i);
        let Some(i) = next else { return merged };
        let (stack, count) = heads[i].next().expect("a peeked line");
        match merged.last_mut() {
            Some(last) if last.0 == stack => last.1 = last.1.wrapping_add(count),
            _ => merged.push((stack, count)),
        }
    }
}

/// Writes sorted `(stack, count)` lines as inferno-collapse-perf does.
pub fn write_lines(lines: &[(String, u64)], out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for (stack, count) in lines {
        buf.extend_from_slice(stack.as_bytes());
        buf.push(b' ');
        fmt::dec_padded(&mut buf, *count, 0, b' ');
        buf.push(b'\n');
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

/// What a [`FoldWriter`] makes of its stacks when the input ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldOutput {
    /// `stack count` lines, as inferno-collapse-perf.
    Folded,
    /// The SVG, as inferno-flamegraph draws those lines.
    FlameGraph,
}

/// Folds every sample, then writes the folded lines or the flame graph.
pub struct FoldWriter<W: Write + Send> {
    folder: Option<Folder>,
    output: FoldOutput,
    out: W,
}

impl<W: Write + Send> FoldWriter<W> {
    /// A writer folding with `folder`, writing `output` to `out` at the end.
    pub fn new(folder: Folder, output: FoldOutput, out: W) -> Self {
        FoldWriter {
            folder: Some(folder),
            output,
            out,
        }
    }
}

impl<W: Write + Send> SampleSink for FoldWriter<W> {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        if let Some(f) = &mut self.folder {
            f.add(s, names);
        }
        Ok(())
    }

    fn takes_pending_frames(&self) -> bool {
        true
    }

    fn resolve_deferred(&mut self, names: &Names) {
        if let Some(f) = &mut self.folder {
            f.resolve_deferred(names);
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match (self.folder.take(), self.output) {
            (Some(f), FoldOutput::Folded) => f.write_to(&mut self.out),
            (Some(f), FoldOutput::FlameGraph) => flamegraph::draw(f.into_lines(), &mut self.out),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many stacks (spelt in two halves on two threads): the lines come out
    /// sorted and unique, stacks of different ids that spell the same text
    /// are added up wherever the halves put them, and pending placeholders
    /// are spelt as the ids they stand for.
    #[test]
    fn lines_of_many_stacks_are_sorted_merged_and_expanded() {
        let mut f = Folder::new(None);
        let (a, bc, b, c) = (f.intern("a"), f.intern("b;c"), f.intern("b"), f.intern("c"));
        let pending = PENDING | 7;
        f.expanded.insert(pending, vec![b, c]);
        // Three spellings of "a;b;c", counted 1, 2 and 4.
        f.counts.insert(vec![a, bc].into(), 1);
        f.counts.insert(vec![a, b, c].into(), 2);
        f.counts.insert(vec![a, pending].into(), 4);
        let many = LINES_ON_TWO_THREADS_FROM * 2;
        for k in 0..many {
            let id = f.intern(&format!("f{k:05}"));
            f.counts.insert(vec![a, id].into(), 1);
        }
        let lines = f.into_lines();
        assert_eq!(lines.len(), many + 1);
        assert!(lines.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(lines.iter().find(|l| l.0 == "a;b;c").map(|l| l.1), Some(7));
        assert_eq!(lines.iter().map(|l| l.1).sum::<u64>(), many as u64 + 7);
    }
}
