//! Whether `-j` may split a recording's samples across replicas
//! (`crate::workers::replicas`) with the output unchanged.

use super::options::Options;
use crate::reader::{self, PerfData};
use crate::workers::Share;
use crate::writers::Formats;

/// What the output of a split run is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitOutput {
    /// perf script's default text, sample by sample.
    ScriptText,
    /// Folded stacks; `true` with an event filter.
    Folded { event_filter: bool },
}

/// Whether `-j` may split the samples of `opts.input` across replicas with
/// the output unchanged, and the file is large enough to gain from it
/// (`workers::worth_splitting`). Not for a pipe (read once), nor with the symbol
/// report (`--verbose`, one pipeline's lookups), nor where perf carries
/// state from sample to sample that a replica could not see:
/// - inline frames come from binutils' addr2line, whose answers depend on
///   the questions asked of the same file before (bfd reads compilation
///   units lazily and keeps them), so a DWARF recording with inline frames
///   keeps one pipeline, with its inline lookups on a second thread;
/// - folding: inferno reads each sample on its own only when every event
///   has perf's default shape, and keeps the first event it sees, so one
///   event or an event filter;
/// - perf script's default text of memory-sampling events: the columns'
///   widths grow with the samples printed before.
///
/// libunwind's register-state cache (per address space) is handled by
/// owning DWARF samples per address space (`State::part_in`).
pub fn splits(opts: &Options, output: SplitOutput) -> bool {
    if opts.input.as_os_str() == "-" || opts.verbose {
        return false;
    }
    let size = std::fs::metadata(&opts.input).map_or(0, |m| m.len());
    if !crate::workers::worth_splitting(size) {
        return false;
    }
    let Ok(data) = PerfData::open(&opts.input) else {
        // The error is reported by the pipeline that reads it.
        return false;
    };
    let inline_frames = !opts.no_inline
        && data
            .attrs
            .iter()
            .any(|a| a.has(reader::attrs::SAMPLE_STACK_USER));
    if inline_frames || data.attrs.is_empty() {
        return false;
    }
    let script = &opts.script;
    let Ok(formats) = Formats::with_fields(&data.attrs, &script.fields, script.hide_call_graph)
    else {
        return false;
    };
    match output {
        // The memory columns' widths grow with the samples printed before.
        SplitOutput::ScriptText => formats.events.iter().all(|e| !e.memory.any()),
        SplitOutput::Folded { event_filter } => {
            formats.default_fields
                && formats.events.iter().all(|e| e.has_default_shape())
                && (event_filter || data.attrs.len() == 1)
        }
    }
}

/// A replica's part in one sample (`crate::workers::replicas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Resolve and render it: the only pipeline, or the sample's owner.
    Render,
    /// Resolve it and drop the result: another replica owns it, but perf's
    /// first load of the kernel's map may come with it (a lookup in the map,
    /// or the first printed sample on a native x86 host,
    /// `SampleExtras::fill`), which resizes the map
    /// (`Machine::kernel_map_loaded`); every replica must do so at the same
    /// sample.
    Shadow,
    /// Only what every replica applies (the thread lookup).
    Skip,
}

impl Part {
    /// The part of a replica with `share` (none: the only pipeline) in a
    /// sample of address space `space` in record `record`. Samples with user
    /// registers (`by_space`: unwound through libunwind's per-space
    /// register-state cache) are owned by address space, the others by
    /// record; `may_load_kernel` says whether perf's first load of the
    /// kernel's map may come with the sample.
    pub(super) fn of(
        share: Option<Share>,
        by_space: bool,
        space: u32,
        record: u64,
        may_load_kernel: impl FnOnce() -> bool,
    ) -> Part {
        let Some(share) = share else {
            return Part::Render;
        };
        let owned = if by_space {
            share.owns_space(space)
        } else {
            share.owns_record(record)
        };
        if owned {
            Part::Render
        } else if may_load_kernel() {
            Part::Shadow
        } else {
            Part::Skip
        }
    }
}
