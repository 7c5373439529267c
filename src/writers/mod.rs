//! Writers: the sinks the pipeline feeds with resolved samples.
//!
//! - [`script::ScriptWriter`]: `perf script` text;
//! - [`folded::FoldWriter`]: folded stacks as `inferno-collapse-perf` writes
//!   them, or ([`flamegraph`]) those stacks drawn by the `inferno` crate.

pub mod flamegraph;
pub mod fmt;
pub mod folded;
pub mod format;
pub mod inferno_rules;
pub mod output;
pub mod script;

use std::io;

use crate::frames::{Frame, SymbolTable};
use crate::mappings::Machine;
pub use format::{EventFormat, Formats, Header};

/// One resolved sample, as the writers see it.
pub struct SampleView<'a> {
    pub event: usize,
    pub header: Header<'a>,
    /// The sample's own ip, for samples printed without a callchain.
    pub ip_frame: Frame,
    /// Callchain frames, callee first (used when the event prints callchains).
    pub frames: &'a [Frame],
    /// A tracepoint's fields as perf prints them (its TRACE field).
    pub trace: Option<&'a [u8]>,
}

/// Tables the writers need to turn ids into names.
pub struct Names<'a> {
    pub formats: &'a Formats,
    pub machine: &'a Machine,
    pub symbols: &'a SymbolTable,
}

/// A consumer of resolved samples.
pub trait SampleSink {
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()>;
    /// Whether the sink can take `pending` frames (inline lookups finished
    /// later, see `frames::inline`) and resolve them in
    /// [`Self::resolve_deferred`]; only for samples of the default shape.
    fn takes_pending_frames(&self) -> bool {
        false
    }
    /// Called after the last sample, once pending frames can be resolved
    /// (`names.symbols.deferred`), before [`Self::finish`].
    fn resolve_deferred(&mut self, _names: &Names) {}
    /// Called once after the last sample.
    fn finish(&mut self) -> io::Result<()>;
}

/// Appends what perf prints for a frame's symbol (`__symbol__fprintf_symname_offs`)
/// and, if `with_dso`, ` (<dso>)`.
pub fn frame_text(out: &mut Vec<u8>, f: &Frame, names: &Names) {
    match f.sym {
        Some(id) => {
            let sym = names.symbols.get(id);
            out.extend_from_slice(sym.name.as_bytes());
            // perf: past the symbol's end the offset is taken from the map start.
            let off = if f.addr < sym.end {
                f.addr.wrapping_sub(sym.start)
            } else {
                f.addr.wrapping_sub(f.map_start).wrapping_sub(sym.start)
            };
            out.extend_from_slice(b"+0x");
            fmt::hex(out, off);
        }
        None => out.extend_from_slice(b"[unknown]"),
    }
    if f.inlined {
        // perf prints no DSO for an inline frame, then " (inlined)".
        out.extend_from_slice(b" (inlined)");
        return;
    }
    out.extend_from_slice(b" (");
    match f.dso {
        Some(d) => out.extend_from_slice(&names.machine.dsos.get(d).name),
        None => out.extend_from_slice(b"[unknown]"),
    }
    out.push(b')');
}
