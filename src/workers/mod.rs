//! `-j N`: the sink (rendering perf script text, folding stacks) on a thread
//! of its own, next to the pipeline's thread that reads, orders, unwinds and
//! symbolizes.
//!
//! [`ThreadedSink`] stands in for the real sink on the pipeline's thread. It
//! copies each sample the pipeline hands it ([`crate::writers::SampleView`],
//! which borrows from the record and the pipeline's tables) into a batch:
//! header values, frames and byte fields into a few reused buffers, plus what
//! the tables gained since the previous batch ([`mirror`]). Full batches go
//! through a bounded channel (so memory stays bounded when the sink is the
//! slower side) to the sink thread, which gives every sample to the real sink,
//! in the order the pipeline delivered them, with names from its mirror. The
//! sink sees the same calls with the same values as without `-j`, so its bytes
//! are the same at any N; only the thread it runs on changes.
//!
//! At the end the sink thread is joined and the real sink comes back to the
//! pipeline's thread for `resolve_deferred` (pending inline frames need the
//! pipeline's `InlineFrames`) and `finish`.

mod mirror;

use std::io;
use std::ops::Range;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use crate::frames::{ExtraFields, Frame};
use crate::hw::memory::MemoryValues;
use crate::reader::sample::Regs;
use crate::writers::line_start::StartValues;
use crate::writers::{Header, Names, SampleSink, SampleView, SideBand};
use mirror::{Delta, Mirror, Sent};

/// Samples per batch: large enough that the channel costs nothing per
/// sample, small enough that the sink thread starts early.
const BATCH_ITEMS: usize = 1024;
/// Batches in flight between the two threads.
const DEPTH: usize = 4;

/// Runs `f` with a sink that hands `sink`'s work to a second thread.
pub fn with_sink_thread<R>(
    sink: &mut (dyn SampleSink + Send),
    f: impl FnOnce(&mut dyn SampleSink) -> R,
) -> R {
    std::thread::scope(|scope| {
        let mut threaded = ThreadedSink::start(scope, sink);
        let r = f(&mut threaded);
        // `f` normally ended with `finish`; after a panic or an early
        // return the thread is still joined here.
        threaded.join();
        r
    })
}

/// The sink the pipeline feeds when the real one runs on a second thread.
pub struct ThreadedSink<'scope, 'env> {
    tx: Option<SyncSender<Batch>>,
    spare: Receiver<Batch>,
    thread: Option<ScopedJoinHandle<'scope, Joined<'env>>>,
    /// The real sink once the thread is joined.
    inner: Option<&'env mut (dyn SampleSink + Send)>,
    /// The sink thread's error, reported once.
    error: Option<io::Error>,
    batch: Batch,
    sent: Sent,
    takes_pending: bool,
}

type Joined<'env> = (&'env mut (dyn SampleSink + Send), io::Result<()>);

impl<'scope, 'env> ThreadedSink<'scope, 'env> {
    fn start(
        scope: &'scope Scope<'scope, 'env>,
        sink: &'env mut (dyn SampleSink + Send),
    ) -> ThreadedSink<'scope, 'env> {
        let (tx, rx) = sync_channel::<Batch>(DEPTH);
        let (spare_tx, spare_rx) = channel::<Batch>();
        let takes_pending = sink.takes_pending_frames();
        let thread = std::thread::Builder::new()
            .name("perfold-sink".into())
            .spawn_scoped(scope, move || {
                let r = drain(rx, spare_tx, &mut *sink);
                (sink, r)
            })
            .expect("spawn the sink thread");
        ThreadedSink {
            tx: Some(tx),
            spare: spare_rx,
            thread: Some(thread),
            inner: None,
            error: None,
            batch: Batch::default(),
            sent: Sent::default(),
            takes_pending,
        }
    }

    /// Sends the current batch; the sink thread's error if it stopped.
    fn send(&mut self) -> io::Result<()> {
        if self.batch.items.is_empty() {
            return Ok(());
        }
        let next = self.spare.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(full).is_ok());
        if !sent {
            self.join();
            return Err(self
                .error
                .take()
                .unwrap_or_else(|| io::Error::other("the sink thread stopped")));
        }
        Ok(())
    }

    /// Sends what is left, waits for the sink thread and takes the real sink
    /// back (once).
    fn join(&mut self) {
        if self.thread.is_none() {
            return;
        }
        if self.error.is_none() {
            if let Err(e) = self.send_last() {
                self.error = Some(e);
            }
        }
        self.tx = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok((sink, r))) => {
                self.inner = Some(sink);
                if let Err(e) = r {
                    self.error.get_or_insert(e);
                }
            }
            Some(Err(_)) => {
                self.error
                    .get_or_insert_with(|| io::Error::other("the sink thread panicked"));
            }
            None => {}
        }
    }

    fn send_last(&mut self) -> io::Result<()> {
        if self.batch.items.is_empty() {
            return Ok(());
        }
        let full = std::mem::take(&mut self.batch);
        match &self.tx {
            // A closed channel: the thread stopped and its result says why.
            Some(tx) => {
                let _ = tx.send(full);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Brings the mirror up to date before an item that `names` describes.
    fn catch_up(&mut self, names: &Names) -> io::Result<()> {
        if self.sent.dso_changed(names) {
            // The items before print the old name: they go first.
            self.send()?;
        }
        self.sent.catch_up(names, &mut self.batch.delta);
        Ok(())
    }

    fn after_item(&mut self) -> io::Result<()> {
        if self.batch.items.len() >= BATCH_ITEMS {
            self.send()?;
        }
        Ok(())
    }
}

impl SampleSink for ThreadedSink<'_, '_> {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        self.catch_up(names)?;
        let item = self.batch.push_sample(s);
        self.batch.items.push(Item::Sample(item));
        self.after_item()
    }

    fn side_band(&mut self, sb: &SideBand, names: &Names) -> io::Result<()> {
        self.catch_up(names)?;
        let item = self.batch.push_side_band(sb);
        self.batch.items.push(Item::SideBand(item));
        self.after_item()
    }

    fn takes_pending_frames(&self) -> bool {
        self.takes_pending
    }

    fn resolve_deferred(&mut self, names: &Names) {
        self.join();
        if let Some(sink) = self.inner.as_deref_mut() {
            sink.resolve_deferred(names);
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.join();
        let finished = match self.inner.as_deref_mut() {
            Some(sink) => sink.finish(),
            None => Ok(()),
        };
        match self.error.take() {
            Some(e) => Err(e),
            None => finished,
        }
    }
}

/// The sink thread: every item of every batch to the real sink, in order.
fn drain(rx: Receiver<Batch>, spare: Sender<Batch>, sink: &mut dyn SampleSink) -> io::Result<()> {
    let mut mirror = Mirror::new();
    for mut batch in rx {
        mirror.apply(&mut batch.delta);
        if let Some(names) = mirror.names() {
            for item in &batch.items {
                match item {
                    Item::Sample(s) => sink.sample(&batch.sample_view(s), &names)?,
                    Item::SideBand(sb) => sink.side_band(&batch.side_band(sb), &names)?,
                }
            }
        }
        batch.clear();
        // The pipeline may have finished; a lost spare batch is fine.
        let _ = spare.send(batch);
    }
    Ok(())
}

/// Samples and side-band records with their variable parts in shared buffers.
#[derive(Default)]
struct Batch {
    delta: Delta,
    items: Vec<Item>,
    frames: Vec<Frame>,
    bytes: Vec<u8>,
    srclines: Vec<Option<Vec<u8>>>,
    /// The extra `-F` fields of the samples that print any: the first
    /// `extras_used`, the rest kept for their buffers.
    extras: Vec<ExtraFields>,
    extras_used: usize,
}

/// A [`Regs`] in a batch: abi, mask, and its values' range of the bytes.
type RegsItem = (u64, u64, Range<usize>);

/// What a sample without extra fields points to.
static NO_EXTRAS: ExtraFields = ExtraFields::NONE;

// Samples are nearly every item: boxing them would allocate per sample.
#[allow(clippy::large_enum_variant)]
enum Item {
    Sample(SampleItem),
    SideBand(SideItem),
}

/// A [`SampleView`] with its borrowed parts as ranges of the batch's buffers.
struct SampleItem {
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
struct SideItem {
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
    fn clear(&mut self) {
        self.delta.clear();
        self.items.clear();
        self.frames.clear();
        self.bytes.clear();
        self.srclines.clear();
        self.extras_used = 0;
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

    fn push_sample(&mut self, s: &SampleView) -> SampleItem {
        let h = &s.header;
        let start = self.frames.len();
        self.frames.extend_from_slice(s.frames);
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
