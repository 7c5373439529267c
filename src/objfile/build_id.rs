//! Build-ids as perf handles them: reading one from an ELF file or a raw
//! notes file, printing it, comparing a recorded one with a file's, and the
//! build-id cache paths (`~/.debug/.build-id/xx/rest`) of util/build-id.c.

use super::elf::{parse_build_id_notes, Elf};
use super::fs::{is_regular_file, map_file};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// perf `build_id__is_defined`: some non-zero byte.
pub fn defined(bid: Option<&[u8]>) -> Option<&[u8]> {
    bid.filter(|b| b.iter().any(|&x| x != 0))
}

/// perf `build_id__sprintf`: lower-case hex of all `size` bytes.
pub fn build_id_hex(bid: &[u8]) -> String {
    bid.iter().map(|b| format!("{b:02x}")).collect()
}

/// perf `build_id_cache__linkname`: `<dir>/.build-id/<2 hex>/<rest>`.
pub fn build_id_linkname(buildid_dir: &Path, bid: &[u8]) -> PathBuf {
    let hex = build_id_hex(bid);
    let (a, b) = hex.split_at(hex.len().min(2));
    let mut p = buildid_dir.as_os_str().as_bytes().to_vec();
    p.extend_from_slice(format!("/.build-id/{a}/{b}").as_bytes());
    PathBuf::from(OsStr::from_bytes(&p))
}

/// perf `__dso__build_id_filename`: the old-style regular file itself, or
/// `<linkname>/<kallsyms|vdso|debug|elf>`.
pub fn build_id_filename(buildid_dir: &Path, bid: &[u8], basename: &str) -> PathBuf {
    let link = build_id_linkname(buildid_dir, bid);
    if is_regular_file(&link) {
        return link;
    }
    link.join(basename)
}

/// perf `dso__build_id_equal`: a 20-byte recorded id may carry trailing
/// zero padding beyond the file's shorter id.
pub fn build_id_equal(recorded: &[u8], file: &[u8]) -> bool {
    if recorded.len() > file.len() && recorded.len() == 20 {
        return recorded.starts_with(file) && recorded[file.len()..].iter().all(|&b| b == 0);
    }
    recorded == file
}

/// perf `filename__read_build_id` for an ELF file.
pub fn read_file_build_id(path: &Path) -> Option<Vec<u8>> {
    let m = map_file(path)?;
    Elf::parse(&m)?.build_id()
}

/// perf `sysfs__read_build_id`: the same note walk over a raw notes file
/// such as /sys/kernel/notes (host byte order).
pub fn read_sysfs_build_id(path: &Path) -> Option<Vec<u8>> {
    let data = std::fs::read(path).ok()?;
    parse_build_id_notes(&data, cfg!(target_endian = "big"))
}
