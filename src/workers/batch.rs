//! A batch of samples and side-band records on their way from a pipeline to
//! the sink's thread: fixed values in items, the borrowed parts (frames,
//! byte fields, registers, extra fields) copied into a few buffers that are
//! reused from batch to batch, and what the name tables gained ([`Delta`]).

use std::io;
use std::ops::Range;

use super::mirror::Delta;
use crate::frames::{ExtraFields, Frame, FrameKey};
use crate::hw::memory::MemoryValues;
use crate::reader::sample::Regs;
use crate::writers::line_start::StartValues;
use crate::writers::{Header, Names, SampleSink, SampleView, SideBand};

/// Samples and side-band records with their variable parts in shared buffers.
#[derive(Default)]
pub struct Batch {
    pub delta: Delta,
    pub items: Vec<Item>,
    frames: Vec<Frame>,
    bytes: Vec<u8>,
    srclines: Vec<Option<Vec<u8>>>,
    /// The extra `-F` fields of the samples that print any: the first
    /// `extras_used`, the rest kept for their buffers.
    extras: Vec<ExtraFields>,
    extras_used: usize,
    /// One past the highest pending inline lookup its frames name: the
    /// batch can be rendered once that many are answered.
    pub pending_upto: u32,
}

/// A [`Regs`] in a batch: abi, mask, and its values' range of the bytes.
type RegsItem = (u64, u64, Range<usize>);

/// What a sample without extra fields points to.
static NO_EXTRAS: ExtraFields = ExtraFields::NONE;

// Samples are nearly every item: boxing them would allocate per sample.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Sample(SampleItem),
    SideBand(SideItem),
}

/// A [`SampleView`] with its borrowed parts as ranges of the batch's buffers.
pub struct SampleItem {
    event: usize,
    comm: Range<usize>,
    comm_id: u32,
    pid: i32,
    tid: i32,
    misc: u16,
    cpu: u32,
    time: u64,
    period: u64,
    ip_frame: Frame,
    frames: Range<usize>,
    trace: Option<Range<usize>>,
    addr: Frame,
    user_regs: Option<RegsItem>,
    intr_regs: Option<RegsItem>,
    srclines: Range<usize>,
    memory: MemoryValues,
    /// Index into the batch's `extras`; None when they print nothing.
    extras: Option<usize>,
}

/// A [`SideBand`] with its borrowed parts as ranges of the batch's bytes.
pub struct SideItem {
    event: Option<usize>,
    comm: Range<usize>,
    pid: i32,
    tid: i32,
    cpu: u32,
    time: u64,
    misc: u16,
    record_type: u32,
    text: Range<usize>,
}

impl Batch {
    /// The bytes its items, frames and byte fields take (what holding it
    /// back costs; buffers kept for reuse not counted).
    pub fn size(&self) -> usize {
        self.items.len() * std::mem::size_of::<Item>()
            + self.frames.len() * std::mem::size_of::<Frame>()
            + self.bytes.len()
    }

    pub fn clear(&mut self) {
        self.delta.clear();
        self.items.clear();
        self.frames.clear();
        self.bytes.clear();
        self.srclines.clear();
        self.extras_used = 0;
        self.pending_upto = 0;
    }

    fn bytes(&mut self, b: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        start..self.bytes.len()
    }

    /// Copies a sample's extra fields into the next slot; its index.
    fn push_extras(&mut self, extras: &ExtraFields) -> usize {
        let i = self.extras_used;
        match self.extras.get_mut(i) {
            Some(slot) => slot.copy_from(extras),
            None => self.extras.push(extras.clone()),
        }
        self.extras_used += 1;
        i
    }

    /// Copies a sample into the batch.
    pub fn add_sample(&mut self, s: &SampleView) {
        let item = self.push_sample(s);
        self.items.push(Item::Sample(item));
    }

    /// Copies a side-band record into the batch.
    pub fn add_side_band(&mut self, sb: &SideBand) {
        let item = self.push_side_band(sb);
        self.items.push(Item::SideBand(item));
    }

    /// Gives every item, in order, to `sink`. With `expand`, pending inline
    /// frames are first replaced by the frames `names` has for them, in
    /// that buffer (for a sink that does not take pending frames).
    pub fn give_all(
        &self,
        sink: &mut dyn SampleSink,
        names: &Names,
        mut expand: Option<&mut Vec<Frame>>,
    ) -> io::Result<()> {
        for item in &self.items {
            match item {
                Item::Sample(s) => {
                    let mut view = self.sample_view(s);
                    if let Some(buf) = expand.as_deref_mut() {
                        if expand_pending(view.frames, names, buf) {
                            view.frames = buf;
                        }
                    }
                    sink.sample(&view, names)?
                }
                Item::SideBand(sb) => sink.side_band(&self.side_band(sb), names)?,
            }
        }
        Ok(())
    }

    fn push_sample(&mut self, s: &SampleView) -> SampleItem {
        let h = &s.header;
        let start = self.frames.len();
        self.frames.extend_from_slice(s.frames);
        for f in s.frames {
            if let FrameKey::Pending(id) = f.key {
                self.pending_upto = self.pending_upto.max(id + 1);
            }
        }
        let lines = self.srclines.len();
        self.srclines.extend(s.srclines.iter().cloned());
        SampleItem {
            event: s.event,
            comm: self.bytes(h.comm),
            comm_id: h.comm_id,
            pid: h.pid,
            tid: h.tid,
            misc: h.misc,
            cpu: h.cpu,
            time: h.time,
            period: h.period,
            ip_frame: s.ip_frame,
            frames: start..self.frames.len(),
            trace: s.trace.map(|t| self.bytes(t)),
            addr: s.addr,
            user_regs: s.user_regs.map(|r| self.push_regs(r)),
            intr_regs: s.intr_regs.map(|r| self.push_regs(r)),
            srclines: lines..self.srclines.len(),
            memory: s.memory,
            extras: (!s.extras.is_empty()).then(|| self.push_extras(s.extras)),
        }
    }

    fn push_side_band(&mut self, sb: &SideBand) -> SideItem {
        let st = &sb.start;
        SideItem {
            event: sb.event,
            comm: self.bytes(st.comm),
            pid: st.pid,
            tid: st.tid,
            cpu: st.cpu,
            time: st.time,
            misc: st.misc,
            record_type: st.record_type,
            text: self.bytes(sb.text),
        }
    }

    /// A sample's registers with their values copied into the batch.
    fn push_regs(&mut self, r: Regs) -> RegsItem {
        (r.abi, r.mask, self.bytes(r.values))
    }

    fn regs_view(&self, &(abi, mask, ref values): &RegsItem) -> Regs<'_> {
        Regs {
            abi,
            mask,
            values: &self.bytes[values.clone()],
        }
    }

    fn sample_view(&self, s: &SampleItem) -> SampleView<'_> {
        SampleView {
            event: s.event,
            header: Header {
                comm: &self.bytes[s.comm.clone()],
                comm_id: s.comm_id,
                pid: s.pid,
                tid: s.tid,
                misc: s.misc,
                cpu: s.cpu,
                time: s.time,
                period: s.period,
            },
            ip_frame: s.ip_frame,
            frames: &self.frames[s.frames.clone()],
            trace: s.trace.clone().map(|r| &self.bytes[r]),
            addr: s.addr,
            user_regs: s.user_regs.as_ref().map(|r| self.regs_view(r)),
            intr_regs: s.intr_regs.as_ref().map(|r| self.regs_view(r)),
            srclines: &self.srclines[s.srclines.clone()],
            memory: s.memory,
            extras: s.extras.map_or(&NO_EXTRAS, |i| &self.extras[i]),
        }
    }

    fn side_band(&self, sb: &SideItem) -> SideBand<'_> {
        SideBand {
            event: sb.event,
            start: StartValues {
                comm: &self.bytes[sb.comm.clone()],
                pid: sb.pid,
                tid: sb.tid,
                cpu: sb.cpu,
                time: sb.time,
                misc: sb.misc,
                record_type: sb.record_type,
            },
            text: &self.bytes[sb.text.clone()],
        }
    }
}

/// Writes `frames` into `out` with each pending frame replaced by its
/// inline frames (perf's `append_inlines` result: the records' names and
/// slots, at the pending frame's own address); false when none is pending.
fn expand_pending(frames: &[Frame], names: &Names, out: &mut Vec<Frame>) -> bool {
    if !frames.iter().any(|f| matches!(f.key, FrameKey::Pending(_))) {
        return false;
    }
    out.clear();
    for f in frames {
        match f.key {
            FrameKey::Pending(id) => {
                out.extend(names.inlines.deferred(id).iter().map(|d| Frame {
                    ip: f.ip,
                    map_start: f.map_start,
                    ..*d
                }))
            }
            _ => out.push(*f),
        }
    }
    true
}
