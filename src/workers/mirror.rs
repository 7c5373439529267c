//! The sink thread's copy of what the writers read by id while a run goes
//! on: DSO names and kinds, interned symbols, the event formats.
//!
//! The pipeline's tables only grow (ids are dense and never reused), so the
//! copy follows them by appending what each batch of samples added; a
//! change to an existing DSO (a rename from the build-id table) sends the
//! whole DSO table again. Threads, maps and symbol lookups stay on the
//! pipeline's thread: the writers never ask for them while samples come in.
//!
//! Batches held back for inline answers (`super::ThreadedSink`) go out with
//! the symbols and inline frames named while they waited: those parts say
//! where they start, and the mirror skips what it already has.

use crate::frames::{Frame, InlineFrames, InternedSymbol, SymbolTable};
use crate::mappings::dso::Dso;
use crate::mappings::{Dsos, Machine};
use crate::symbolize::{SymbolizeOptions, Symbolizer};
use crate::writers::{Formats, Names};

/// What one batch adds to the mirror, taken before its first sample.
#[derive(Default)]
pub struct Delta {
    /// The event formats (the first batch only: they never change).
    pub formats: Option<Formats>,
    /// The whole DSO table, when an existing entry changed.
    pub dsos: Option<Dsos>,
    /// DSOs added since the previous batch.
    pub new_dsos: Vec<Dso>,
    /// Symbols interned since the previous batch, the first with id `syms_from`.
    pub new_syms: Vec<InternedSymbol>,
    pub syms_from: usize,
    /// Deferred inline lookups named since the previous batch, the first
    /// with id `deferred_from`: each one's frame count, then all their frames.
    pub deferred_from: u32,
    pub deferred_lens: Vec<u32>,
    pub deferred_frames: Vec<Frame>,
}

impl Delta {
    pub fn clear(&mut self) {
        self.formats = None;
        self.dsos = None;
        self.new_dsos.clear();
        self.new_syms.clear();
        self.deferred_lens.clear();
        self.deferred_frames.clear();
    }
}

/// The pipeline side: how much of each table the mirror has.
#[derive(Default)]
pub struct Sent {
    formats: bool,
    dsos: usize,
    dso_generation: u64,
    syms: usize,
    deferred: u32,
}

impl Sent {
    /// Whether an existing DSO changed since the last [`Self::catch_up`].
    pub fn dso_changed(&self, names: &Names) -> bool {
        names.machine.dsos.generation() != self.dso_generation
    }

    /// Records in `delta` what `names` holds beyond what was sent.
    pub fn catch_up(&mut self, names: &Names, delta: &mut Delta) {
        if !self.formats {
            self.formats = true;
            delta.formats = Some(names.formats.clone());
        }
        let dsos = &names.machine.dsos;
        if dsos.generation() != self.dso_generation {
            self.dso_generation = dsos.generation();
            delta.dsos = Some(dsos.clone());
            delta.new_dsos.clear();
            self.dsos = dsos.len();
        } else if dsos.len() > self.dsos {
            delta.new_dsos.extend(dsos.since(self.dsos).iter().cloned());
            self.dsos = dsos.len();
        }
        if delta.new_syms.is_empty() {
            delta.syms_from = self.syms;
        }
        if names.symbols.len() > self.syms {
            delta
                .new_syms
                .extend(names.symbols.since(self.syms).iter().cloned());
            self.syms = names.symbols.len();
        }
    }

    /// Adds to the delta of a batch that waited for inline answers what was
    /// named while it waited: symbols past its own, and the inline frames of
    /// the lookups answered since. Later batches still carry those symbols
    /// (each batch's list stays whole from its `syms_from`); the mirror skips
    /// the ones it has.
    pub fn catch_up_late(&mut self, names: &Names, delta: &mut Delta) {
        let end = delta.syms_from + delta.new_syms.len();
        delta
            .new_syms
            .extend(names.symbols.since(end).iter().cloned());
        let (lens, frames) = names.inlines.deferred_since(self.deferred);
        delta.deferred_from = self.deferred;
        delta.deferred_lens.extend(lens);
        delta.deferred_frames.extend_from_slice(frames);
        self.deferred = names.inlines.answered();
    }
}

/// The sink thread side: the tables [`Names`] points into.
pub struct Mirror {
    formats: Option<Formats>,
    machine: Machine,
    symbols: SymbolTable,
    inlines: InlineFrames,
}

impl Mirror {
    pub fn new() -> Mirror {
        let mut machine = Machine::new();
        machine.dsos = Dsos::default();
        Mirror {
            formats: None,
            machine,
            // Never asked to look anything up: a symbolizer with no files.
            symbols: SymbolTable::new(Symbolizer::new(SymbolizeOptions {
                symfs: None,
                kallsyms: None,
                buildid_dir: Default::default(),
            })),
            inlines: InlineFrames::default(),
        }
    }

    /// Applies a batch's additions.
    pub fn apply(&mut self, delta: &mut Delta) {
        if let Some(f) = delta.formats.take() {
            self.formats = Some(f);
        }
        if let Some(d) = delta.dsos.take() {
            self.machine.dsos = d;
        }
        self.machine.dsos.extend_mirrored(delta.new_dsos.drain(..));
        let have = self.symbols.len().saturating_sub(delta.syms_from);
        self.symbols
            .extend_mirrored(delta.new_syms.drain(..).skip(have));
        self.inlines.extend_mirrored(
            delta.deferred_from,
            &delta.deferred_lens,
            &delta.deferred_frames,
        );
    }

    /// The names as the pipeline's thread had them at the batch's last sample
    /// (`None` before the formats arrived, which come with the first batch).
    pub fn names(&self) -> Option<Names<'_>> {
        Some(Names {
            formats: self.formats.as_ref()?,
            machine: &self.machine,
            symbols: &self.symbols,
            inlines: &self.inlines,
        })
    }
}
