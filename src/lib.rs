//! perfold: perf.data → `perf script` text, folded stacks and flame graphs,
//! byte-identical to perf 6.1 and inferno 0.12.8, in one process.
//!
//! # The library
//!
//! Open a recording and feed its resolved samples, in perf's order, to a
//! sink: [`run`] with [`Options`] (the perf.data file, `--symfs`,
//! `--kallsyms`, ...) and a [`SampleSink`]. The sinks perfold's commands use
//! are public:
//!
//! - [`ScriptWriter`]: the text `perf script` prints;
//! - [`Folder`] / [`FoldWriter`]: folded stacks as `inferno-collapse-perf`
//!   writes them, or ([`FoldOutput::FlameGraph`]) drawn as `inferno-flamegraph`
//!   draws them.
//!
//! ```no_run
//! use perfold::{run, FoldOutput, FoldWriter, Folder, Options};
//!
//! let opts = Options::new("perf.data".into());
//! let mut sink = FoldWriter::new(Folder::new(None), FoldOutput::Folded, std::io::stdout());
//! run(&opts, &mut sink)?;
//! # Ok::<(), perfold::Error>(())
//! ```
//!
//! [`LineFolder`] folds `perf script` text by inferno's line rules (the
//! restatement perfold's folding is checked against), and [`addr2line`]
//! answers `addr2line -i -f` queries as binutils 2.40 does.
//!
//! # Inside
//!
//! The modules follow the data flow, and no module uses one of a higher
//! layer (`tests/layers.rs` checks it; docs/architecture.md draws the graph):
//!
//! ```text
//! reader ──► ordering ──► mappings ──► unwind ──► frames ──► writers ──► stacks ──► cli
//! (records    (perf's      (threads,    (DWARF     (callchains (script,    (inferno's
//!  + offsets)  rounds)      maps, DSOs)  stacks)    + inlines)  fold, svg)  own flags)
//! objfile, symbolize, hw: the libraries frames calls; traceevent, script_options: leaves
//! workers (-j): the sink on a thread of its own, between writers and the pipeline
//! ```
//!
//! `pipeline/` is the only place that wires the stages; the binary
//! (`main.rs`, [`cli`]) only parses flags into [`Options`] and picks a sink.
//! The stage modules are private; the `fuzzing` feature makes them public
//! for the fuzz targets under `fuzz/`.
#![cfg_attr(not(feature = "fuzzing"), deny(missing_docs))]

/// Declares the stage modules: private, or public (hidden) for the fuzz
/// targets when the `fuzzing` feature is on.
macro_rules! stages {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "fuzzing")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "fuzzing"))]
        mod $name;
    )*};
}

stages!(
    frames,
    hw,
    mappings,
    objfile,
    ordering,
    pipeline,
    progress,
    reader,
    report,
    script_options,
    stacks,
    symbolize,
    traceevent,
    unwind,
    workers,
    writers,
);

/// The persistent cache under the user's cache directory.
mod cache;

/// C's integer parsing, shared by the perf-map, `--time` and tracepoint readers.
mod cnum;

/// The binary's command line (clap); not part of the library's API.
#[doc(hidden)]
pub mod cli;
pub mod error;

pub use error::{Error, Result};
pub use pipeline::{run, Options};
pub use writers::folded::{FoldOutput, FoldWriter, Folder};
pub use writers::inferno_rules::LineFolder;
pub use writers::script::ScriptWriter;
pub use writers::{Header, Names, SampleSink, SampleView};

/// binutils 2.40 `addr2line -i -f`, in-process: the inline records perf 6.1
/// reads from it for an address of a DWARF-unwound frame.
pub mod addr2line {
    pub use crate::symbolize::inlines::{InlineRecord, InlineResolver};
}
