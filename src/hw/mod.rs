//! What hardware (PMU) sampling adds to a sample, as perf 6.1 prints it:
//! the memory-sampling fields of `perf mem` / raw events ([`memory`],
//! [`data_src`]) and the call chains perf builds from an LBR call stack
//! ([`lbr`]). AUX area trace data is skipped by the reader
//! (`reader::auxtrace`), never decoded.

pub mod data_src;
pub mod lbr;
pub mod memory;
