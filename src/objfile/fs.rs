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

/// What identifies a file's contents for the persistent cache: device,
/// inode, size, modification and change times (a write changes the change
/// time, which users cannot set back).
pub fn file_identity(path: &Path) -> Option<[i64; 7]> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some([
        m.dev() as i64,
        m.ino() as i64,
        m.size() as i64,
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    ])
}

/// perf `is_regular_file` (stat, following symlinks).
pub fn is_regular_file(p: &Path) -> bool {
    std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
}
