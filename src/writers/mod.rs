//! Writers: the sinks the pipeline feeds with resolved samples.
//!
//! - [`script::ScriptWriter`]: `perf script` text;
//! - [`folded::FoldWriter`]: folded stacks as `inferno-collapse-perf` writes
//!   them, or ([`flamegraph`]) those stacks drawn by the `inferno` crate.
//!
//! Both render perf's text in one place, [`text`], from the fields
//! [`layout`] chose; [`fmt`] formats numbers. Dependencies point one way:
//! script, folded -> text -> layout, fmt; folded -> inferno_rules, flamegraph.

pub mod branches;
pub mod fields;
pub mod flamegraph;
pub mod fmt;
pub mod folded;
pub mod inferno_rules;
pub mod layout;
pub mod line_start;
pub mod output;
pub mod script;
pub mod side_band;
pub mod text;

use std::io;

use crate::frames::{ExtraFields, Frame, InlineFrames, SymbolTable};
use crate::hw::memory::MemoryValues;
use crate::mappings::Machine;
pub use layout::Formats;

/// One resolved sample, as the writers see it.
pub struct SampleView<'a> {
    /// The event's index in the recording's attributes.
    pub event: usize,
    /// The values of the sample's header line.
    pub header: Header<'a>,
    /// The sample's own ip, for samples printed without a callchain.
    pub ip_frame: Frame,
    /// Callchain frames, callee first (used when the event prints callchains).
    pub frames: &'a [Frame],
    /// A tracepoint's fields as perf prints them (its TRACE field).
    pub trace: Option<&'a [u8]>,
    /// The sample address (`ip` holds it), resolved when perf prints its
    /// symbol (`-F addr` of page-fault events).
    pub addr: Frame,
    /// The user registers (`-F uregs`).
    pub user_regs: Option<crate::reader::sample::Regs<'a>>,
    /// The interrupt registers (`-F iregs`).
    pub intr_regs: Option<crate::reader::sample::Regs<'a>>,
    /// `-F srcline`: the source line of each printed frame (callchain
    /// order, or the sample's own frame); empty otherwise.
    pub srclines: &'a [Option<Vec<u8>>],
    /// Memory-sampling values, printed as the event's `memory` fields say.
    pub memory: MemoryValues,
    /// Lookups for the other `-F` fields (branch stacks, ...).
    pub extras: &'a ExtraFields,
}

/// A side-band record perf script prints with `--show-*-events`.
pub struct SideBand<'a> {
    /// The event whose fields start the line (none: no start printed).
    pub event: Option<usize>,
    pub start: line_start::StartValues<'a>,
    /// `PERF_RECORD_...` and its fields, with the newline.
    pub text: &'a [u8],
}

/// Tables the writers need to turn ids into names.
pub struct Names<'a> {
    /// How each event's lines are laid out.
    pub formats: &'a Formats,
    /// Threads, comms and DSOs.
    pub machine: &'a Machine,
    /// Interned symbols, and the inline frames of pending frames.
    pub symbols: &'a SymbolTable,
    /// Inline frames, for frames left pending.
    pub inlines: &'a InlineFrames,
}

impl Names<'_> {
    /// Appends the text perf script prints for `frame` after its address:
    /// `sym+0xoff (dso)`.
    pub fn frame_text(&self, frame: &Frame, out: &mut Vec<u8>) {
        text::frame_text(out, frame, self);
    }
}

/// A consumer of resolved samples.
pub trait SampleSink {
    /// Takes one sample, in perf's order.
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()>;
    /// Whether the sink can take `pending` frames (inline lookups finished
    /// later, see `frames::inline`) and resolve them in
    /// [`Self::resolve_deferred`]; only for samples of the default shape.
    fn takes_pending_frames(&self) -> bool {
        false
    }
    /// `Some(n)` when the sink needs inline answers while the run goes on
    /// (it passes pending frames to a thread that renders them in order):
    /// the pipeline names the answers that came, after waiting for the first
    /// `n` lookups. `None`: the sink waits for [`Self::resolve_deferred`].
    fn inline_answers_needed(&self) -> Option<u32> {
        None
    }
    /// Called after the last sample, once pending frames can be resolved
    /// (`names.inlines.deferred`), before [`Self::finish`].
    fn resolve_deferred(&mut self, _names: &Names) {}
    /// A side-band record to print (only sinks that print them get any).
    fn side_band(&mut self, _sb: &SideBand, _names: &Names) -> io::Result<()> {
        Ok(())
    }
    /// Called once after the last sample.
    fn finish(&mut self) -> io::Result<()>;
    /// Called after each record when pipelines run side by side (`-j`,
    /// `crate::workers::replicas` numbers items by record); sinks that
    /// render ignore it.
    fn record_done(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The values of one sample's header line.
pub struct Header<'a> {
    /// The thread's command name at the sample's time.
    pub comm: &'a [u8],
    /// The interned comm, for per-comm caches.
    pub comm_id: u32,
    /// Process id (-1 when the sample has none).
    pub pid: i32,
    /// Thread id (-1 when the sample has none).
    pub tid: i32,
    /// The record's header misc (cpumode and flags).
    pub misc: u16,
    /// CPU the sample was taken on.
    pub cpu: u32,
    /// Timestamp, in nanoseconds.
    pub time: u64,
    /// The sample's period (weight).
    pub period: u64,
}
