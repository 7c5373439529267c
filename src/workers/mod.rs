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
//! Where the output allows it (`crate::pipeline::splits`), `-j N` runs N
//! whole pipelines instead, each resolving and rendering a share of the
//! samples ([`replicas`], [`ordered_text`]).
//!
//! DWARF samples with inline frames: the pipeline looks them up on a
//! worker thread (`InlineFrames::defer`) and hands on pending frames. A
//! sink that takes pending frames (folding) resolves them at the end; for
//! one that does not (perf script's text), a batch is held back until every
//! lookup it names is answered, then sent with the frames named for them,
//! and the sink thread puts those in place of the pending frames. So the
//! pipeline's thread neither decodes DWARF for inline frames nor waits for
//! it, until [`MAX_HELD`] batches wait.
//!
//! At the end the sink thread is joined and the real sink comes back to the
//! pipeline's thread for `resolve_deferred` (pending inline frames need the
//! pipeline's `InlineFrames`) and `finish`.

mod batch;
mod mirror;
mod ordered_text;
mod replicas;

pub use ordered_text::write_split;
pub use replicas::{run_split, worth_splitting, Share};

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use crate::frames::Frame;
use crate::writers::{Names, SampleSink, SampleView, SideBand};
use batch::Batch;
use mirror::{Mirror, Sent};

/// Samples per batch: large enough that the channel costs nothing per
/// sample, small enough that the sink thread starts early.
const BATCH_ITEMS: usize = 1024;
/// Batches in flight between the two threads.
const DEPTH: usize = 4;
/// Batches held back for inline answers before the pipeline waits for
/// them: at least this many, and more while they hold under
/// [`MAX_HELD_BYTES`]. The first lookups in a large DWARF file (libc's)
/// take the worker tens of milliseconds; four batches made the pipeline
/// wait for them (docs/performance.md, session 9).
const MAX_HELD: usize = 4;
/// The memory held-back batches may take before the pipeline waits.
const MAX_HELD_BYTES: usize = 16 << 20;

/// [`BATCH_ITEMS`], or `$PERFOLD_SINK_BATCH` when set to a number: the
/// tests hand over every item or few on their own, so that even the
/// smallest fixture has batches held back for inline answers and waited for.
fn batch_items() -> usize {
    static ITEMS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *ITEMS.get_or_init(|| test_knob("PERFOLD_SINK_BATCH").map_or(BATCH_ITEMS, |n| n as usize))
}

/// [`MAX_HELD_BYTES`]; none with `$PERFOLD_SINK_BATCH` set, so that the
/// tests' tiny batches still make the pipeline wait for inline answers.
fn max_held_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| match test_knob("PERFOLD_SINK_BATCH") {
        Some(_) => 0,
        None => MAX_HELD_BYTES,
    })
}

/// A test knob: environment variable `var` when it holds a positive number.
fn test_knob(var: &str) -> Option<u64> {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
}

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
    /// The real sink does not take pending frames: batches wait in `held`
    /// for their inline answers, and the sink thread expands them.
    expand: bool,
    held: VecDeque<Batch>,
    /// What the batches in `held` take ([`Batch::size`]).
    held_bytes: usize,
}

type Joined<'env> = (&'env mut (dyn SampleSink + Send), io::Result<()>);

impl<'scope, 'env> ThreadedSink<'scope, 'env> {
    fn start(
        scope: &'scope Scope<'scope, 'env>,
        sink: &'env mut (dyn SampleSink + Send),
    ) -> ThreadedSink<'scope, 'env> {
        let (tx, rx) = sync_channel::<Batch>(DEPTH);
        let (spare_tx, spare_rx) = channel::<Batch>();
        let expand = !sink.takes_pending_frames();
        let thread = std::thread::Builder::new()
            .name("perfold-sink".into())
            .spawn_scoped(scope, move || {
                let r = drain(rx, spare_tx, &mut *sink, expand);
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
            expand,
            held: VecDeque::new(),
            held_bytes: 0,
        }
    }

    /// Sends the current batch (or holds it back behind those waiting for
    /// inline answers); the sink thread's error if it stopped.
    fn send(&mut self, names: &Names) -> io::Result<()> {
        if self.batch.items.is_empty() {
            return Ok(());
        }
        let next = self.spare.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        if !self.expand {
            return self.transmit(full);
        }
        self.held_bytes += full.size();
        self.held.push_back(full);
        self.release_answered(names)
    }

    /// Sends the held batches whose inline lookups are all answered.
    fn release_answered(&mut self, names: &Names) -> io::Result<()> {
        let answered = names.inlines.answered();
        while self
            .held
            .front()
            .is_some_and(|b| b.pending_upto <= answered)
        {
            let Some(mut batch) = self.held.pop_front() else {
                break;
            };
            self.held_bytes -= batch.size();
            self.sent.catch_up_late(names, &mut batch.delta);
            self.transmit(batch)?;
        }
        Ok(())
    }

    /// Hands a batch to the sink thread; its error if it stopped.
    fn transmit(&mut self, full: Batch) -> io::Result<()> {
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
            self.send(names)?;
        }
        self.sent.catch_up(names, &mut self.batch.delta);
        Ok(())
    }

    fn after_item(&mut self, names: &Names) -> io::Result<()> {
        if self.batch.items.len() >= batch_items() {
            self.send(names)?;
        } else if !self.held.is_empty() {
            self.release_answered(names)?;
        }
        Ok(())
    }
}

impl SampleSink for ThreadedSink<'_, '_> {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        self.catch_up(names)?;
        self.batch.add_sample(s);
        self.after_item(names)
    }

    fn side_band(&mut self, sb: &SideBand, names: &Names) -> io::Result<()> {
        self.catch_up(names)?;
        self.batch.add_side_band(sb);
        self.after_item(names)
    }

    fn takes_pending_frames(&self) -> bool {
        true
    }

    fn inline_answers_needed(&self) -> Option<u32> {
        if !self.expand {
            return None;
        }
        match self.held.front() {
            Some(b) if self.held.len() > MAX_HELD && self.held_bytes > max_held_bytes() => {
                Some(b.pending_upto)
            }
            _ => Some(0),
        }
    }

    fn resolve_deferred(&mut self, names: &Names) {
        // Every lookup is answered now: what is held goes out.
        if let Err(e) = self
            .send(names)
            .and_then(|()| self.release_answered(names))
        {
            self.error.get_or_insert(e);
        }
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
fn drain(
    rx: Receiver<Batch>,
    spare: Sender<Batch>,
    sink: &mut dyn SampleSink,
    expand: bool,
) -> io::Result<()> {
    let mut mirror = Mirror::new();
    let mut expanded: Vec<Frame> = Vec::new();
    for mut batch in rx {
        mirror.apply(&mut batch.delta);
        if let Some(names) = mirror.names() {
            batch.give_all(sink, &names, expand.then_some(&mut expanded))?;
        }
        batch.clear();
        // The pipeline may have finished; a lost spare batch is fine.
        let _ = spare.send(batch);
    }
    Ok(())
}
