//! perfold: perf.data → `perf script` text, folded stacks and flame graphs,
//! byte-identical to perf 6.1 and inferno 0.12.8, in one process.
//!
//! ```text
//! reader ──► ordering ──► mappings ──► frames ──► symbolize ──► writers
//! (records    (perf's      (threads,    (callchain  (ELF symtab,  (script,
//!  + offsets)  rounds)      maps, DSOs)  markers)    kallsyms)     fold, svg)
//! ```
//!
//! [`pipeline::run`] is the only place that wires the stages; the binary
//! (`main.rs`, `cli.rs`) only parses flags into [`pipeline::Options`] and
//! picks a writer.

pub mod cli;
pub mod error;
pub mod frames;
pub mod mappings;
pub mod objfile;
pub mod ordering;
pub mod pipeline;
pub mod progress;
pub mod reader;
pub mod report;
pub mod symbolize;
pub mod traceevent;
pub mod unwind;
pub mod writers;
