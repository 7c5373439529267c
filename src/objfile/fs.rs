//! Opening files the way perf does: read-only memory maps and perf's
//! `is_regular_file` test, shared by every reader of object files.

use memmap2::Mmap;
use std::fs::File;
use std::path::Path;

/// Memory-maps a file read-only. Any failure (missing, directory, empty,
/// unreadable) gives `None`.
pub fn map_file(path: &Path) -> Option<Mmap> {
    let f = File::open(path).ok()?;
    // SAFETY: the mapping is read-only; perf input files are not expected to
    // change while we read them (a concurrent truncation could still SIGBUS,
    // as it would for perf's own libelf mmap).
    unsafe { Mmap::map(&f) }.ok()
}

/// perf `is_regular_file` (stat, following symlinks).
pub fn is_regular_file(p: &Path) -> bool {
    std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
}
