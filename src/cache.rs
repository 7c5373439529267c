//! The persistent cache: bytes derived from slow inputs (the kernel's symbol
//! table, inflated debug sections, perf's symbol-tree shapes, decoded DWARF
//! units), stored under
//! the user's cache directory so the next run can skip the work.
//!
//! Where: `$PERFOLD_CACHE_DIR` (set but empty: no cache), else
//! `$XDG_CACHE_HOME/perfold`, else `$HOME/.cache/perfold`.
//!
//! What this module guarantees, and the callers rely on:
//! - An entry is found only under the exact key it was stored with (the
//!   file name is a hash of the key; the file holds the whole key, which is
//!   compared byte for byte).
//! - An entry whose bytes were changed or cut short is not returned (a
//!   checksum over key and payload), so a torn or corrupt file reads as a
//!   miss and the caller does the work instead.
//! - Writes go to a temporary file in the same directory, renamed over the
//!   final name: concurrent runs storing the same key each rename a whole
//!   file, and a reader sees either no file or a complete one.
//! - Every failure (no directory, full disk, permissions) is a miss or a
//!   skipped store: the cache never makes a run fail and never changes what
//!   it prints.
//! - The directory is trimmed back when it passes [`MAX_BYTES`]: a hit sets
//!   its file's modification time, and the first store of a process that
//!   finds the directory larger deletes the entries used longest ago, down
//!   to [`KEEP_BYTES`] (a concurrent run that has one mapped keeps reading
//!   it; one that looks it up finds a miss).
//!
//! What a key must cover, so that equal keys mean equal payloads, is each
//! caller's argument (see their module docs).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// File layout version; part of every file's header.
const MAGIC: &[u8; 8] = b"PFCACHE1";

/// The size of the directory's entries past which a store trims it.
pub const MAX_BYTES: u64 = 1 << 30;
/// What trimming leaves.
pub const KEEP_BYTES: u64 = MAX_BYTES / 4 * 3;

/// The cache directory, or `None` when caching is off.
pub fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PERFOLD_CACHE_DIR") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("perfold"));
    }
    let home = std::env::var_os("HOME").filter(|d| !d.is_empty())?;
    Some(PathBuf::from(home).join(".cache").join("perfold"))
}

/// A 64-bit hash of `data` (not cryptographic: names files and detects
/// damage; four independent lanes of eight bytes, so a 5 MB payload costs
/// well under a millisecond).
pub fn hash(data: &[u8]) -> u64 {
    let mut h = Hasher::new(data.len() as u64);
    h.update(data);
    h.finish()
}

/// [`hash`] over data given in pieces.
struct Hasher {
    lanes: [u64; 4],
    tail: Vec<u8>,
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;
const BLOCK: usize = 32;

impl Hasher {
    fn new(len: u64) -> Hasher {
        let seed = len.wrapping_mul(K) ^ 0x5851_f42d_4c95_7f2d;
        Hasher {
            lanes: [seed, seed ^ 1, seed ^ 2, seed ^ 3],
            tail: Vec::with_capacity(BLOCK),
        }
    }

    fn block(&mut self, b: &[u8]) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            let w = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            *lane = (*lane ^ w).wrapping_mul(K).rotate_left(29);
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        if !self.tail.is_empty() {
            let take = (BLOCK - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < BLOCK {
                return;
            }
            let t = std::mem::take(&mut self.tail);
            self.block(&t);
            self.tail = t;
            self.tail.clear();
        }
        let mut chunks = data.chunks_exact(BLOCK);
        for c in &mut chunks {
            self.block(c);
        }
        self.tail.extend_from_slice(chunks.remainder());
    }

    fn finish(mut self) -> u64 {
        let mut last = [0u8; BLOCK];
        last[..self.tail.len()].copy_from_slice(&self.tail);
        self.block(&last);
        let mut h = 0u64;
        for lane in self.lanes {
            h = (h ^ lane).wrapping_mul(K).rotate_left(31);
        }
        h ^= h >> 31;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^ (h >> 29)
    }
}

/// The key as stored: the caller's key after the identity of the running
/// perfold binary (device, inode, size, modification time), so that another
/// build, whose rules may differ, never reads this build's entries. (Not
/// the change time: cargo's hard links to the binary change it.)
fn full_key(key: &[u8]) -> Vec<u8> {
    static EXE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let exe = EXE.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let mut id = b"perfold ".to_vec();
        id.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
        if let Ok(m) = fs::metadata("/proc/self/exe") {
            for v in [m.dev(), m.ino(), m.size()] {
                id.extend_from_slice(&v.to_le_bytes());
            }
            for v in [m.mtime(), m.mtime_nsec()] {
                id.extend_from_slice(&v.to_le_bytes());
            }
        }
        id.push(b'\n');
        id
    });
    let mut k = exe.clone();
    k.extend_from_slice(key);
    k
}

fn file_of(dir: &Path, kind: &str, key: &[u8]) -> PathBuf {
    dir.join(format!("{kind}-{:016x}", hash(key)))
}

/// The payload stored under (`kind`, `key`), if a whole, undamaged entry is there.
pub fn load(kind: &str, key: &[u8]) -> Option<Vec<u8>> {
    load_in(&dir()?, kind, key)
}

/// [`load`] from a given directory.
pub fn load_in(dir: &Path, kind: &str, key: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let key = &full_key(key)[..];
    let mut f = fs::File::open(file_of(dir, kind, key)).ok()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (klen, rest) = split_u64(rest)?;
    let klen = usize::try_from(klen).ok()?;
    if klen != key.len() || rest.len() < klen {
        return None;
    }
    let (stored_key, rest) = rest.split_at(klen);
    if stored_key != key {
        return None;
    }
    let (plen, rest) = split_u64(rest)?;
    let plen = usize::try_from(plen).ok()?;
    if rest.len() != plen.checked_add(8)? {
        return None;
    }
    let (payload, sum) = rest.split_at(plen);
    let body = &bytes[..bytes.len() - 8];
    if u64::from_le_bytes(sum.try_into().ok()?) != hash(body) {
        return None;
    }
    used(&f);
    Some(payload.to_vec())
}

/// Marks a hit's file as just used (its modification time), so that
/// trimming keeps it longest. Failures are ignored.
fn used(f: &fs::File) {
    let _ = f.set_modified(std::time::SystemTime::now());
}

/// The payload stored under (`kind`, `key`) as a read-only map of the
/// entry's file: its pages are read only where the caller touches them, so
/// they add to the resident set only then. The checksum is checked by
/// reading the file (not through the map), and the map is made from the
/// same open file: a concurrent store renames another file over the name
/// and leaves this one as it is.
pub fn load_mapped(kind: &str, key: &[u8]) -> Option<Mapped> {
    load_mapped_in(&dir()?, kind, key)
}

/// A payload in a mapped cache file.
pub struct Mapped {
    map: memmap2::Mmap,
    start: usize,
}

impl Mapped {
    /// The payload bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map[self.start..self.map.len() - 8]
    }
}

/// [`load_mapped`] from a given directory.
pub fn load_mapped_in(dir: &Path, kind: &str, key: &[u8]) -> Option<Mapped> {
    use std::io::Read;
    let key = &full_key(key)[..];
    let mut f = fs::File::open(file_of(dir, kind, key)).ok()?;
    let total = usize::try_from(f.metadata().ok()?.len()).ok()?;
    let start = MAGIC.len() + 8 + key.len() + 8;
    if total < start + 8 {
        return None;
    }
    let mut head = vec![0u8; start];
    f.read_exact(&mut head).ok()?;
    let mut expect = Vec::with_capacity(start);
    expect.extend_from_slice(MAGIC);
    expect.extend_from_slice(&(key.len() as u64).to_le_bytes());
    expect.extend_from_slice(key);
    expect.extend_from_slice(&((total - start - 8) as u64).to_le_bytes());
    if head != expect {
        return None;
    }
    let mut h = Hasher::new((total - 8) as u64);
    h.update(&head);
    let mut buf = vec![0u8; 1 << 16];
    let mut left = total - 8 - start;
    while left > 0 {
        let n = left.min(buf.len());
        f.read_exact(&mut buf[..n]).ok()?;
        h.update(&buf[..n]);
        left -= n;
    }
    let mut sum = [0u8; 8];
    f.read_exact(&mut sum).ok()?;
    if u64::from_le_bytes(sum) != h.finish() {
        return None;
    }
    // SAFETY: cache files are never written in place (each store renames a
    // new file over the name), so the mapped file does not change.
    let map = unsafe { memmap2::Mmap::map(&f) }.ok()?;
    if map.len() != total {
        return None;
    }
    used(&f);
    Some(Mapped { map, start })
}

fn split_u64(b: &[u8]) -> Option<(u64, &[u8])> {
    let (n, rest) = b.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*n), rest))
}

/// Removes the entries of `kind` (and temporary files a stopped run left)
/// last written or used before `before`: for entries whose key holds something
/// that changed since, so they can never be found again (the kernel's
/// symbols of an earlier boot). Failures are ignored; a concurrent run that
/// has such an entry mapped keeps reading it.
pub fn remove_written_before(kind: &str, before: std::time::SystemTime) {
    if let Some(d) = dir() {
        remove_written_before_in(&d, kind, before);
    }
}

/// [`remove_written_before`] in a given directory.
pub fn remove_written_before_in(dir: &Path, kind: &str, before: std::time::SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{kind}-");
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < before);
        if old
            && e.file_name()
                .as_encoded_bytes()
                .starts_with(prefix.as_bytes())
        {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Stores `payload` under (`kind`, `key`); failures are ignored.
pub fn store(kind: &str, key: &[u8], payload: &[u8]) {
    if let Some(d) = dir() {
        store_in(&d, kind, key, payload);
    }
}

/// [`store`] into a given directory; whether the entry was written.
pub fn store_in(dir: &Path, kind: &str, key: &[u8], payload: &[u8]) -> bool {
    store_streamed_in(dir, kind, key, payload.len() as u64, |put| put(payload))
}

/// [`store`] of a payload of `len` bytes that `write` hands to `put` in
/// pieces, so that it is never whole in memory (a kallsyms entry is 7 MB,
/// made from a table that is in memory already). Nothing is stored when
/// the pieces do not add up to `len`.
pub fn store_streamed(kind: &str, key: &[u8], len: u64, write: impl FnOnce(&mut dyn FnMut(&[u8]))) {
    if let Some(d) = dir() {
        store_streamed_in(&d, kind, key, len, write);
    }
}

/// [`store_streamed`] into a given directory; whether the entry was written.
pub fn store_streamed_in(
    dir: &Path,
    kind: &str,
    key: &[u8],
    len: u64,
    write: impl FnOnce(&mut dyn FnMut(&[u8])),
) -> bool {
    let key = &full_key(key)[..];
    let mut head = Vec::with_capacity(key.len() + 32);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&(key.len() as u64).to_le_bytes());
    head.extend_from_slice(key);
    head.extend_from_slice(&len.to_le_bytes());
    let written = write_atomically(dir, &file_of(dir, kind, key), |file| {
        let mut out = HashingWriter {
            file,
            hasher: Hasher::new(head.len() as u64 + len),
            chunk: Vec::with_capacity(HashingWriter::CHUNK),
            written: 0,
            error: None,
        };
        out.put(&head);
        write(&mut |piece| out.put(piece));
        out.finish(head.len() as u64 + len)
    })
    .is_ok();
    static TRIMMED: std::sync::Once = std::sync::Once::new();
    if written {
        TRIMMED.call_once(|| trim_in(dir, MAX_BYTES, KEEP_BYTES));
    }
    written
}

/// An entry's bytes on their way to its file: hashed and written a chunk at
/// a time, the first error kept.
struct HashingWriter<'f> {
    file: &'f mut fs::File,
    hasher: Hasher,
    chunk: Vec<u8>,
    written: u64,
    error: Option<std::io::Error>,
}

impl HashingWriter<'_> {
    const CHUNK: usize = 1 << 16;

    fn put(&mut self, piece: &[u8]) {
        self.written += piece.len() as u64;
        if self.chunk.len() + piece.len() > Self::CHUNK {
            self.flush();
        }
        if piece.len() >= Self::CHUNK {
            self.hasher.update(piece);
            self.write(piece);
        } else {
            self.chunk.extend_from_slice(piece);
        }
    }

    fn flush(&mut self) {
        let chunk = std::mem::take(&mut self.chunk);
        self.hasher.update(&chunk);
        self.write(&chunk);
        self.chunk = chunk;
        self.chunk.clear();
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            if let Err(e) = self.file.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }

    /// The checksum after the bytes; an error if any write failed or the
    /// bytes were not `expected` in all.
    fn finish(mut self, expected: u64) -> std::io::Result<()> {
        self.flush();
        if self.written != expected {
            return Err(std::io::Error::other("cache entry of the wrong length"));
        }
        let sum = std::mem::replace(&mut self.hasher, Hasher::new(0)).finish();
        self.write(&sum.to_le_bytes());
        self.error.map_or(Ok(()), Err)
    }
}

/// When the entries in `dir` take more than `max` bytes, deletes those
/// used longest ago (oldest modification time first) until `keep` bytes
/// are left. Temporary files are counted but left to their writers.
/// Failures are ignored.
pub fn trim_in(dir: &Path, max: u64, keep: u64) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut total = 0u64;
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if !m.is_file() {
            continue;
        }
        total += m.len();
        let name = e.file_name();
        let is_entry = !name.as_encoded_bytes().contains(&b'.');
        if let (true, Ok(t)) = (is_entry, m.modified()) {
            files.push((t, m.len(), e.path()));
        }
    }
    if total <= max {
        return;
    }
    files.sort();
    for (_, len, path) in files {
        if total <= keep {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

fn write_atomically(
    dir: &Path,
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    // The cache may hold kernel addresses: the owner's only.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = path.with_extension(format!("tmp.{}.{nanos}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| write(&mut f));
    match written.and_then(|()| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("perfold-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    /// Trimming deletes the entries used longest ago until `keep` bytes
    /// are left, counts temporary files without deleting them, and leaves
    /// a directory under `max` alone.
    #[test]
    fn trimming_keeps_the_entries_used_last() {
        let d = scratch("trim");
        fs::create_dir_all(&d).unwrap();
        let t0 = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let put = |name: &str, len: usize, age: u64| {
            let f = fs::File::create(d.join(name)).unwrap();
            f.set_len(len as u64).unwrap();
            f.set_modified(t0 - std::time::Duration::from_secs(age))
                .unwrap();
        };
        put("symtab-0000000000000001", 400, 50);
        put("symtab-0000000000000002", 300, 40);
        put("debugsec-0000000000000003", 200, 30);
        put("kallsyms-0000000000000004", 100, 20);
        put("symtab-0000000000000005.tmp.1.2", 100, 60);
        let left = || {
            let mut v: Vec<String> = fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        // 1 100 bytes in all: under 1 100, nothing goes.
        trim_in(&d, 1_100, 500);
        assert_eq!(left().len(), 5);
        // Over 1 000: the oldest entries go until 500 bytes are left; the
        // temporary file (oldest of all) stays.
        trim_in(&d, 1_000, 500);
        assert_eq!(
            left(),
            [
                "debugsec-0000000000000003",
                "kallsyms-0000000000000004",
                "symtab-0000000000000005.tmp.1.2"
            ]
        );
        let _ = fs::remove_dir_all(&d);
    }

    /// A payload stored in pieces (small ones, and one past a chunk) reads
    /// back whole, mapped or not; pieces short of or past the length given
    /// store nothing, and leave no temporary file behind.
    #[test]
    fn streamed_store_round_trips_and_checks_its_length() {
        let d = scratch("streamed");
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let pieces = |put: &mut dyn FnMut(&[u8])| {
            put(&payload[..3]);
            put(&payload[3..70_000]);
            for c in payload[70_000..].chunks(1000) {
                put(c);
            }
        };
        assert!(store_streamed_in(
            &d,
            "s",
            b"key",
            payload.len() as u64,
            pieces
        ));
        assert_eq!(load_in(&d, "s", b"key").as_deref(), Some(&payload[..]));
        let mapped = load_mapped_in(&d, "s", b"key").unwrap();
        assert_eq!(mapped.bytes(), &payload[..]);
        for len in [payload.len() as u64 - 1, payload.len() as u64 + 1] {
            assert!(!store_streamed_in(&d, "s", b"other", len, pieces));
            assert_eq!(load_in(&d, "s", b"other"), None);
        }
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        let _ = fs::remove_dir_all(&d);
    }

    /// A hit marks its entry as used: its modification time moves.
    #[test]
    fn a_hit_marks_its_entry_used() {
        let d = scratch("used");
        assert!(store_in(&d, "k", b"key", b"payload"));
        let path = fs::read_dir(&d).unwrap().next().unwrap().unwrap().path();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let age = || {
            let f = fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(old).unwrap();
        };
        let used = || fs::metadata(&path).unwrap().modified().unwrap() > old;
        age();
        assert_eq!(load_in(&d, "k", b"key").as_deref(), Some(&b"payload"[..]));
        assert!(used());
        age();
        assert!(load_mapped_in(&d, "k", b"key").is_some());
        assert!(used());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn round_trip_and_damage() {
        let d = scratch("unit");
        assert_eq!(load_in(&d, "k", b"key"), None);
        assert!(store_in(&d, "k", b"key", b"payload bytes"));
        assert_eq!(
            load_in(&d, "k", b"key").as_deref(),
            Some(&b"payload bytes"[..])
        );
        assert_eq!(load_in(&d, "k", b"other key"), None);
        assert_eq!(load_in(&d, "j", b"key"), None);
        // Any changed or missing byte is a miss.
        let f = file_of(&d, "k", &full_key(b"key"));
        let good = fs::read(&f).unwrap();
        for i in [0, 9, 20, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            fs::write(&f, &bad).unwrap();
            assert_eq!(load_in(&d, "k", b"key"), None, "byte {i}");
        }
        fs::write(&f, &good[..good.len() - 3]).unwrap();
        assert_eq!(load_in(&d, "k", b"key"), None);
        fs::write(&f, &good).unwrap();
        // The mapped reader agrees, for payloads of every length around its
        // 64 KiB reads.
        for len in [0usize, 1, 7, 8, 9, 65535, 65536, 65537, 200_003] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + i / 300) as u8).collect();
            assert!(store_in(&d, "m", b"key", &payload));
            let m = load_mapped_in(&d, "m", b"key").unwrap();
            assert_eq!(m.bytes(), &payload[..], "{len}");
            assert_eq!(load_in(&d, "m", b"key").unwrap(), payload);
            let f = file_of(&d, "m", &full_key(b"key"));
            let mut bad = fs::read(&f).unwrap();
            let at = bad.len() - 9;
            bad[at] ^= 1;
            fs::write(&f, &bad).unwrap();
            assert!(load_mapped_in(&d, "m", b"key").is_none(), "{len}");
        }
        fs::remove_file(file_of(&d, "m", &full_key(b"key"))).unwrap();
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn removes_only_older_entries_of_a_kind() {
        let d = scratch("stale");
        assert!(store_in(&d, "k", b"old", b"1"));
        assert!(store_in(&d, "j", b"old", b"2"));
        let cut = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
        remove_written_before_in(&d, "k", cut);
        assert_eq!(load_in(&d, "k", b"old"), None);
        assert_eq!(load_in(&d, "j", b"old").as_deref(), Some(&b"2"[..]));
        assert!(store_in(&d, "k", b"new", b"3"));
        remove_written_before_in(&d, "k", std::time::UNIX_EPOCH);
        assert_eq!(load_in(&d, "k", b"new").as_deref(), Some(&b"3"[..]));
        fs::remove_dir_all(&d).unwrap();
    }
}
