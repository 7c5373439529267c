//! User-space symbol tables kept in the persistent cache
//! ([`crate::cache`]), so that a later run neither walks the ELF symbol
//! tables again nor replays perf's red-black tree. Every table is kept,
//! small ones too: a table of a hundred symbols can cost a millisecond to
//! load (walking a `.symtab` of thousands, demangling C++ aliases to choose
//! between them), against tens of microseconds to read from the cache.
//!
//! What is stored, in the tree's in-order: each symbol perf keeps after its
//! fix-ups (start, end, binding and where its name is in the files), and,
//! once a run needed perf's tree shape (`user_table.rs`), each node's depth
//! in that tree. Depths and in-order give back the tree
//! ([`SymTree::from_shape`](super::rbtree::SymTree::from_shape)), and every
//! `symbols__find` walk only reads ranges along the path: a table with
//! depths answers every lookup from the rebuilt tree; one without answers
//! as a fresh load's array does.
//!
//! The key: the identity ([`file_identity`](crate::objfile::fs::file_identity):
//! device, inode, size, modification and change time) of the file the
//! symbols come from and of the runtime image, which of their tables perf
//! reads, and whether names are demangled (perf's alias choice compares
//! demangled names). Names stay in the files: they are read from the
//! mapped files, as on a fresh load, when a lookup returns a symbol.

use super::flat::{Entry, NameRef};
use crate::objfile::locate::Sources;

const KIND: &str = "symtab";
const ROW: usize = 32;

/// The cache key of a DSO's sources, `None` if one is not a plain file.
pub fn key(src: &Sources, demangle: bool) -> Option<Vec<u8>> {
    let syms = src.syms.identity?;
    let rt = src.runtime();
    let runtime = rt.identity?;
    let mut key = b"symtab v1\n".to_vec();
    for v in syms.iter().chain(runtime.iter()) {
        key.extend_from_slice(&v.to_le_bytes());
    }
    key.extend_from_slice(&[
        u8::from(src.syms.has_symtab),
        u8::from(src.syms.has_dynsym),
        u8::from(rt.has_dynsym),
        u8::from(src.runtime.is_some()),
        u8::from(demangle),
    ]);
    Some(key)
}

/// A stored table: entries in order, and the tree depths if stored.
pub struct Stored {
    pub entries: Vec<Entry>,
    pub depths: Option<Vec<u32>>,
}

pub fn load(key: &[u8]) -> Option<Stored> {
    decode(&crate::cache::load(KIND, key)?)
}

/// Stores a table (with `depths`, one per entry, when perf's tree was built).
pub fn store(key: &[u8], entries: &[Entry], depths: Option<&[u32]>) {
    crate::cache::store(KIND, key, &encode(entries, depths));
}

fn encode(entries: &[Entry], depths: Option<&[u32]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + entries.len() * ROW);
    out.push(u8::from(depths.is_some()));
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        let depth = depths.and_then(|d| d.get(i)).copied().unwrap_or(0);
        out.extend_from_slice(&e.start.to_le_bytes());
        out.extend_from_slice(&e.end.to_le_bytes());
        out.extend_from_slice(&e.name.off.to_le_bytes());
        out.extend_from_slice(&e.name.len.to_le_bytes());
        out.extend_from_slice(&(depth.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        out.push((e.name.src & 1) | (u8::from(e.name.plt) << 1));
        out.push(e.binding);
    }
    out
}

fn decode(p: &[u8]) -> Option<Stored> {
    let (&has_depths, rest) = p.split_first()?;
    let (n, rows) = rest.split_first_chunk::<8>()?;
    let n = usize::try_from(u64::from_le_bytes(*n)).ok()?;
    if rows.len() != n.checked_mul(ROW)? {
        return None;
    }
    let mut entries = Vec::with_capacity(n);
    let mut depths = Vec::with_capacity(if has_depths == 1 { n } else { 0 });
    for r in rows.chunks_exact(ROW) {
        let u64_at = |i: usize| u64::from_le_bytes(r[i..i + 8].try_into().unwrap_or([0; 8]));
        let len = u32::from_le_bytes(r[24..28].try_into().ok()?);
        let depth = u16::from_le_bytes(r[28..30].try_into().ok()?);
        entries.push(Entry {
            start: u64_at(0),
            end: u64_at(8),
            binding: r[31],
            name: NameRef {
                src: r[30] & 1,
                plt: r[30] & 2 != 0,
                off: u64_at(16),
                len,
            },
        });
        if has_depths == 1 {
            depths.push(u32::from(depth));
        }
    }
    Some(Stored {
        entries,
        depths: (has_depths == 1).then_some(depths),
    })
}
