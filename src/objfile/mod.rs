//! Object files as perf opens them, below every stage that reads them
//! (unwind, frames' inline lookups, symbolize): which file perf picks for a
//! DSO, the ELF reader, build-ids and the build-id cache.
//!
//! Files: `fs.rs` (memory maps, `is_regular_file`), `elf.rs` (panic-free ELF
//! reader and the ELF constants), `build_id.rs` (build-id notes, cache paths,
//! comparison), `locate.rs` (the candidate files of `dso__load` and the data
//! file of `dso__data_get_fd`, the `/tmp/perf-<pid>.map` names).
//!
//! This module depends on no other perfold module.

pub mod build_id;
pub mod elf;
pub mod fs;
pub mod locate;
