//! Decoded units kept in the persistent cache ([`crate::cache`]): a unit's
//! line table, function table, lookup order and the ranges it adds to the
//! unit search, as [`Stash::ensure_decoded`](super::unit::Stash) left them,
//! so that a later run installs them instead of decoding the unit's line
//! program and walking its DIEs again (most of the inline worker's time
//! on a DWARF recording: libc's units, the program's own).
//!
//! Which units are stored is `unit.rs`'s argument: only units whose DIE
//! walk stayed inside the unit (no reference reached another unit, so the
//! walk decoded no other unit on the way and its result is a function of
//! the file's bytes and the unit's offset alone), and only when the walk
//! succeeded. Names are stored as bytes: the decoded tables keep no
//! pointer into the sections.
//!
//! The unit list itself (each unit's root DIE as `parse_comp_unit` read
//! it, `root.rs`'s `UnitRoot`) is stored once per file too: reading every root DIE of
//! libc's 1 800 units was most of the worker's time on a small recording.
//!
//! The key: the identity ([`file_identity`](crate::objfile::fs::file_identity))
//! of the file holding the DWARF, which `.debug_info` section BFD chose,
//! and the unit's offset in it (or, for the list, nothing more). A payload
//! that does not read back whole is a miss.

use super::function::{Func, FuncSpan, NONE};
use super::lines::{FileTable, LineTable, Row, Seq};
use super::root::UnitRoot;
use super::sections::Aranges;
use rustc_hash::FxHashMap;
use std::sync::Arc;

const KIND: &str = "dwarf-unit";
/// The bytes of a line row.
const ROW: usize = 22;

/// A unit as [`load`] gives it back.
pub(super) struct CachedUnit {
    pub lines: LineTable,
    pub funcs: Vec<Func>,
    pub lookup: Vec<FuncSpan>,
    /// The ranges the unit adds to the unit search, in the order they are
    /// merged.
    pub gained: Vec<(u64, u64)>,
}

/// The key of every unit of one file: `None` when the file's identity is
/// unknown (not a plain file) or caching is off.
pub(super) fn file_key(identity: Option<[i64; 7]>, info_section: usize) -> Option<Vec<u8>> {
    crate::cache::dir()?;
    let mut key = b"dwarf unit v1\n".to_vec();
    for v in identity?.iter().map(|&v| v as u64).chain([info_section as u64]) {
        key.extend_from_slice(&v.to_le_bytes());
    }
    Some(key)
}

fn unit_key(file_key: &[u8], unit_offset: usize) -> Vec<u8> {
    let mut key = file_key.to_vec();
    key.extend_from_slice(&(unit_offset as u64).to_le_bytes());
    key
}

/// Units with fewer line rows and functions than this are kept together
/// in one entry per file ([`SmallUnits`]) rather than one each: measured
/// on the DWARF bench round, the 241 of its 313 units under 100 rows and
/// functions took 5.7 ms to decode and 11 ms to store (a file written and
/// renamed each), and a load of its own file costs about what their
/// decoding does; the 18 units of 1 000 or more took 47 ms to decode.
const MIN_STORED_SIZE: usize = 300;

/// Whether a decoded unit is large enough for an entry of its own.
pub(super) fn worth_storing(lines: &LineTable, funcs: &[Func]) -> bool {
    let rows: usize = lines.seqs.iter().map(|s| s.rows.len()).sum();
    rows + funcs.len() >= MIN_STORED_SIZE
}

pub(super) fn load(file_key: &[u8], unit_offset: usize) -> Option<CachedUnit> {
    decode(&crate::cache::load(KIND, &unit_key(file_key, unit_offset))?)
}

pub(super) fn store(
    file_key: &[u8],
    unit_offset: usize,
    lines: &LineTable,
    funcs: &[Func],
    lookup: &[FuncSpan],
    gained: &[(u64, u64)],
) {
    let payload = encode(lines, funcs, lookup, gained);
    crate::cache::store(KIND, &unit_key(file_key, unit_offset), &payload);
}

const SMALL_KIND: &str = "dwarf-small-units";
/// The small units of a file are stored again once this many were decoded
/// since they were read or last stored. Stores happen while lookups are
/// answered, never after the last (the worker is not waited for at exit),
/// so a run leaves at most this many less its last store to be decoded
/// again by the next.
const SMALL_STORE_EVERY: usize = 16;

/// A file's small units (see [`MIN_STORED_SIZE`]), kept in one entry: the
/// payloads read from it, and those of the units decoded since. Each store
/// writes the whole set again.
#[derive(Default)]
pub(super) struct SmallUnits {
    /// The stored entry's payload: a count, then per unit its offset, its
    /// payload's length and the payload.
    stored: Vec<u8>,
    /// Unit offset -> where its payload is in `stored`.
    index: FxHashMap<usize, (usize, usize)>,
    /// Units decoded in this run: (offset, payload).
    added: Vec<(usize, Vec<u8>)>,
    /// Units added since the set was read or stored.
    unsaved: usize,
}

impl SmallUnits {
    /// The set stored for the file, empty if there is none (or it is damaged).
    pub(super) fn load(file_key: &[u8]) -> SmallUnits {
        let stored = crate::cache::load(SMALL_KIND, file_key).unwrap_or_default();
        let index = index_small(&stored).unwrap_or_default();
        SmallUnits {
            stored: if index.is_empty() { Vec::new() } else { stored },
            index,
            ..SmallUnits::default()
        }
    }

    /// Unit `offset` as stored, if it is.
    pub(super) fn get(&self, offset: usize) -> Option<CachedUnit> {
        let &(start, len) = self.index.get(&offset)?;
        decode(self.stored.get(start..start + len)?)
    }

    /// Adds a decoded unit, and stores the set when enough were added.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &mut self,
        file_key: &[u8],
        offset: usize,
        lines: &LineTable,
        funcs: &[Func],
        lookup: &[FuncSpan],
        gained: &[(u64, u64)],
    ) {
        self.added.push((offset, encode(lines, funcs, lookup, gained)));
        self.unsaved += 1;
        if self.unsaved >= SMALL_STORE_EVERY {
            self.unsaved = 0;
            crate::cache::store(SMALL_KIND, file_key, &self.payload());
        }
    }

    /// The stored units and the added ones, as one entry's payload.
    fn payload(&self) -> Vec<u8> {
        let added_bytes: usize = self.added.iter().map(|(_, p)| p.len() + 16).sum();
        let mut o = Out(Vec::with_capacity(self.stored.len() + added_bytes + 8));
        o.len(self.index.len() + self.added.len());
        let mut stored: Vec<(usize, (usize, usize))> =
            self.index.iter().map(|(&k, &v)| (k, v)).collect();
        stored.sort_unstable();
        for (offset, (start, len)) in stored {
            o.u64(offset as u64);
            o.bytes(&self.stored[start..start + len]);
        }
        for (offset, p) in &self.added {
            o.u64(*offset as u64);
            o.bytes(p);
        }
        o.0
    }
}

/// Where each unit's payload is in a stored set of small units; `None`
/// if the set does not read back whole.
fn index_small(p: &[u8]) -> Option<FxHashMap<usize, (usize, usize)>> {
    let mut i = In(p);
    let n = i.len(16)?;
    let mut index = FxHashMap::default();
    for _ in 0..n {
        let offset = usize::try_from(i.u64()?).ok()?;
        let bytes = i.bytes()?;
        let start = bytes.as_ptr() as usize - p.as_ptr() as usize;
        index.insert(offset, (start, bytes.len()));
    }
    i.0.is_empty().then_some(index)
}

const ROOTS_KIND: &str = "dwarf-roots";

/// The bytes a [`UnitRoot`] takes at least.
const MIN_ROOT: usize = 8 + 2 + 1 + 1 + 8 + 8 + 1 + 1 + 8 * 5;

pub(super) fn load_roots(file_key: &[u8]) -> Option<Vec<UnitRoot>> {
    decode_roots(&crate::cache::load(ROOTS_KIND, file_key)?)
}

pub(super) fn store_roots(file_key: &[u8], roots: &[&UnitRoot]) {
    crate::cache::store(ROOTS_KIND, file_key, &encode_roots(roots));
}

fn encode_roots(roots: &[&UnitRoot]) -> Vec<u8> {
    let mut o = Out(Vec::with_capacity(roots.len() * (MIN_ROOT + 32) + 8));
    o.len(roots.len());
    for r in roots {
        o.u64(r.offset as u64);
        o.0.extend_from_slice(&r.version.to_le_bytes());
        o.u8(r.addr_size);
        o.u8(r.offset_size);
        o.u64(r.abbrev_off as u64);
        o.u64(r.lang);
        o.opt_bytes(r.comp_dir.as_deref());
        o.u8(u8::from(r.stmt_list.is_some()));
        o.u64(r.stmt_list.unwrap_or(0));
        o.u64(r.base_address);
        o.u64(r.str_offsets_base);
        o.u64(r.addr_base);
        o.ranges(r.ranges.list());
    }
    o.0
}

fn decode_roots(p: &[u8]) -> Option<Vec<UnitRoot>> {
    let mut i = In(p);
    let n = i.len(MIN_ROOT)?;
    let mut roots = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = usize::try_from(i.u64()?).ok()?;
        let version = u16::from_le_bytes(i.take(2)?.try_into().ok()?);
        let addr_size = i.u8()?;
        let offset_size = i.u8()?;
        let abbrev_off = usize::try_from(i.u64()?).ok()?;
        let lang = i.u64()?;
        let comp_dir = i.opt_bytes()?.map(Box::<[u8]>::from);
        let has_stmt = i.u8()? != 0;
        let stmt = i.u64()?;
        roots.push(UnitRoot {
            offset,
            version,
            addr_size,
            offset_size,
            abbrev_off,
            lang,
            comp_dir,
            stmt_list: has_stmt.then_some(stmt),
            base_address: i.u64()?,
            str_offsets_base: i.u64()?,
            addr_base: i.u64()?,
            ranges: Aranges::from_list(&i.ranges()?),
        });
    }
    // Units in `.debug_info` order, as the list is searched.
    let ordered = roots.windows(2).all(|w| w[0].offset < w[1].offset);
    (i.0.is_empty() && ordered).then_some(roots)
}

/// Writes the payload: little-endian integers, byte strings with a length.
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn opt_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => {
                self.u8(1);
                self.bytes(b);
            }
            None => self.u8(0),
        }
    }
    fn ranges(&mut self, r: &[(u64, u64)]) {
        self.len(r.len());
        for &(l, h) in r {
            self.u64(l);
            self.u64(h);
        }
    }
}

/// Reads a payload back; every read is checked, and a count is believed
/// only if the bytes left could hold that many items (no allocation
/// larger than the payload).
struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count of items of at least `min_size` bytes each.
    fn len(&mut self, min_size: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n <= self.0.len() / min_size.max(1)).then_some(n)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    fn opt_bytes(&mut self) -> Option<Option<&'a [u8]>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.bytes()?)),
            _ => None,
        }
    }
    fn ranges(&mut self) -> Option<Vec<(u64, u64)>> {
        let n = self.len(16)?;
        (0..n).map(|_| Some((self.u64()?, self.u64()?))).collect()
    }
}

fn encode(lines: &LineTable, funcs: &[Func], lookup: &[FuncSpan], gained: &[(u64, u64)]) -> Vec<u8> {
    let mut o = Out(Vec::with_capacity(4096));
    let ft = &lines.files;
    o.u8(u8::from(ft.v5));
    o.opt_bytes(ft.comp_dir.as_deref());
    o.len(ft.dirs.len());
    for d in &ft.dirs {
        o.opt_bytes(d.as_deref());
    }
    o.len(ft.files.len());
    for (name, dir) in &ft.files {
        o.opt_bytes(name.as_deref());
        o.u64(*dir);
    }
    o.len(lines.names.len());
    for n in &lines.names {
        o.bytes(n);
    }
    o.len(lines.seqs.len());
    for s in &lines.seqs {
        o.u64(s.low_pc);
        o.u64(s.order as u64);
        o.len(s.rows.len());
        o.0.reserve(s.rows.len() * ROW);
        for r in &s.rows {
            // One copy per row (a large unit has hundreds of thousands).
            let mut b = [0u8; ROW];
            b[..8].copy_from_slice(&r.address.to_le_bytes());
            b[8] = r.op_index;
            b[9] = u8::from(r.end);
            b[10..14].copy_from_slice(&r.file.to_le_bytes());
            b[14..18].copy_from_slice(&r.line.to_le_bytes());
            b[18..].copy_from_slice(&r.disc.to_le_bytes());
            o.0.extend_from_slice(&b);
        }
    }
    // The functions' names and call-site files, each once (inlined
    // instances share their abstract function's name).
    let mut strings: Vec<&[u8]> = Vec::new();
    let mut index: FxHashMap<*const u8, u32> = FxHashMap::default();
    let mut refs: Vec<(u32, u32)> = Vec::with_capacity(funcs.len());
    for f in funcs {
        let name = string_index(&mut strings, &mut index, f.name.as_deref());
        let file = string_index(&mut strings, &mut index, f.caller_file.as_deref());
        refs.push((name, file));
    }
    o.len(strings.len());
    for s in &strings {
        o.bytes(s);
    }
    o.len(funcs.len());
    for (f, (name, file)) in funcs.iter().zip(refs) {
        o.u8(u8::from(f.inlined) | u8::from(f.is_linkage) << 1);
        o.u32(f.caller);
        o.u32(file);
        o.u32(f.caller_line);
        o.u32(name);
        o.ranges(f.ranges.list());
    }
    o.len(lookup.len());
    for e in lookup {
        o.u64(e.low);
        o.u64(e.max_high);
        o.u32(e.func);
    }
    o.ranges(gained);
    o.0
}

/// The place of `s` in `strings` (added on first sight, by address: the
/// tables share one allocation per name), [`NONE`] for no string.
fn string_index<'a>(
    strings: &mut Vec<&'a [u8]>,
    index: &mut FxHashMap<*const u8, u32>,
    s: Option<&'a [u8]>,
) -> u32 {
    let Some(s) = s else { return NONE };
    *index.entry(s.as_ptr()).or_insert_with(|| {
        strings.push(s);
        strings.len() as u32 - 1
    })
}

fn decode(p: &[u8]) -> Option<CachedUnit> {
    let mut i = In(p);
    let boxed = |b: Option<&[u8]>| b.map(Box::<[u8]>::from);
    let v5 = i.u8()? != 0;
    let comp_dir = boxed(i.opt_bytes()?);
    let n = i.len(1)?;
    let dirs = (0..n)
        .map(|_| Some(boxed(i.opt_bytes()?)))
        .collect::<Option<Vec<_>>>()?;
    let n = i.len(9)?;
    let files = (0..n)
        .map(|_| Some((boxed(i.opt_bytes()?), i.u64()?)))
        .collect::<Option<Vec<_>>>()?;
    let n = i.len(8)?;
    let names = (0..n)
        .map(|_| Some(Box::<[u8]>::from(i.bytes()?)))
        .collect::<Option<Vec<_>>>()?;
    let n = i.len(24)?;
    let mut seqs = Vec::with_capacity(n);
    for _ in 0..n {
        let low_pc = i.u64()?;
        let order = usize::try_from(i.u64()?).ok()?;
        let rows = i.len(ROW)?;
        let rows: Vec<Row> = i
            .take(rows * ROW)?
            .chunks_exact(ROW)
            .map(|b| {
                let u32_at = |k: usize| u32::from_le_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]]);
                Row {
                    address: u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
                    op_index: b[8],
                    end: b[9] != 0,
                    file: u32_at(10),
                    line: u32_at(14),
                    disc: u32_at(18),
                }
            })
            .collect();
        if rows.iter().any(|r| r.file != u32::MAX && r.file as usize >= names.len()) {
            return None;
        }
        seqs.push(Seq {
            low_pc,
            rows,
            order,
        });
    }
    let lines = LineTable {
        files: FileTable {
            v5,
            comp_dir,
            dirs,
            files,
        },
        names,
        seqs,
    };
    let n = i.len(8)?;
    let strings = (0..n)
        .map(|_| Some(Arc::<[u8]>::from(i.bytes()?)))
        .collect::<Option<Vec<_>>>()?;
    let string = |k: u32| -> Option<Option<Arc<[u8]>>> {
        if k == NONE {
            return Some(None);
        }
        Some(Some(strings.get(k as usize)?.clone()))
    };
    let n = i.len(25)?;
    let mut funcs = Vec::with_capacity(n);
    for k in 0..n {
        let flags = i.u8()?;
        // An enclosing function comes before the functions it encloses
        // (the DIE walk's order): the caller chain ends.
        let caller = i.u32()?;
        if caller != NONE && caller as usize >= k {
            return None;
        }
        let caller_file = string(i.u32()?)?;
        let caller_line = i.u32()?;
        let name = string(i.u32()?)?;
        let ranges = Aranges::from_list(&i.ranges()?);
        funcs.push(Func {
            inlined: flags & 1 != 0,
            caller,
            caller_file,
            caller_line,
            name,
            is_linkage: flags & 2 != 0,
            ranges,
        });
    }
    let n = i.len(20)?;
    let lookup = (0..n)
        .map(|_| {
            Some(FuncSpan {
                low: i.u64()?,
                max_high: i.u64()?,
                func: i.u32()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if lookup.iter().any(|e| e.func as usize >= funcs.len()) {
        return None;
    }
    let gained = i.ranges()?;
    i.0.is_empty().then_some(CachedUnit {
        lines,
        funcs,
        lookup,
        gained,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbolize::inlines::function::build_lookup;

    fn row(address: u64, file: u32, line: u32, end: bool) -> Row {
        Row {
            address,
            op_index: (address % 3) as u8,
            end,
            file,
            line,
            disc: line % 2,
        }
    }

    /// A unit with every kind of field: names shared between functions, a
    /// function with several ranges, missing names and files.
    fn sample() -> Parts {
        let lines = LineTable {
            files: FileTable {
                v5: true,
                comp_dir: Some(b"/build".as_slice().into()),
                dirs: vec![Some(b"/usr/include".as_slice().into()), None],
                files: vec![(Some(b"a.c".as_slice().into()), 0), (None, 7)],
            },
            names: vec![b"/build/a.c".as_slice().into(), b"".as_slice().into()],
            seqs: vec![
                Seq {
                    low_pc: 0x1000,
                    rows: vec![row(0x1000, 0, 3, false), row(0x1010, u32::MAX, 0, true)],
                    order: 1,
                },
                Seq {
                    low_pc: 0x2000,
                    rows: vec![row(0x2000, 1, 9, false), row(0x2040, 0, 12, true)],
                    order: 0,
                },
            ],
        };
        let shared: Arc<[u8]> = b"inlined_helper".as_slice().into();
        let file: Arc<[u8]> = b"/build/a.h".as_slice().into();
        let func = |name: Option<Arc<[u8]>>, caller: u32, ranges: &[(u64, u64)]| Func {
            inlined: caller != NONE,
            caller,
            caller_file: (caller != NONE).then(|| file.clone()),
            caller_line: caller.wrapping_add(40),
            name,
            is_linkage: caller == NONE,
            ranges: Aranges::from_list(ranges),
        };
        let funcs = vec![
            func(Some(b"main".as_slice().into()), NONE, &[(0x1000, 0x1010), (0x2000, 0x2040)]),
            func(Some(shared.clone()), 0, &[(0x1004, 0x1008)]),
            func(Some(shared), 0, &[(0x2010, 0x2020)]),
            func(None, NONE, &[]),
        ];
        let lookup = build_lookup(&funcs);
        (lines, funcs, lookup, vec![(0x2000, 0x2040), (0x3000, 0x3001)])
    }

    type Parts = (LineTable, Vec<Func>, Vec<FuncSpan>, Vec<(u64, u64)>);

    #[test]
    fn a_stored_unit_reads_back_as_it_was() {
        let (lines, funcs, lookup, gained) = sample();
        let bytes = encode(&lines, &funcs, &lookup, &gained);
        let back = decode(&bytes).expect("decodes");
        // Everything the payload holds, compared by encoding it again.
        assert_eq!(encode(&back.lines, &back.funcs, &back.lookup, &back.gained), bytes);
        assert_eq!(back.gained, gained);
        // Names shared before are shared again (one copy per name).
        assert!(Arc::ptr_eq(
            back.funcs[1].name.as_ref().unwrap(),
            back.funcs[2].name.as_ref().unwrap()
        ));
        for addr in [0x1000, 0x1005, 0x100f, 0x2000, 0x2039, 0x2040, 0x5000] {
            assert_eq!(back.lines.lookup(addr), lines.lookup(addr), "{addr:#x}");
        }
        assert_eq!(back.funcs[0].ranges.list(), funcs[0].ranges.list());
        assert_eq!(back.funcs[3].name, None);
        assert_eq!(back.funcs[1].caller_file.as_deref(), Some(b"/build/a.h".as_slice()));
    }

    #[test]
    fn a_cut_or_bent_payload_is_a_miss() {
        let (lines, funcs, lookup, gained) = sample();
        let bytes = encode(&lines, &funcs, &lookup, &gained);
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_none(), "cut at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none());
        // A count no payload could hold is refused before anything is
        // allocated for it; other bent bytes never panic.
        for at in 0..bytes.len() {
            for v in [0xff, 0x80, 0x01] {
                let mut b = bytes.clone();
                b[at] ^= v;
                let _ = decode(&b);
            }
        }
        let mut huge = bytes.clone();
        huge[1] = 1;
        huge[2..10].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&huge).is_none());
    }

    fn roots() -> Vec<UnitRoot> {
        let root = |offset: usize, comp_dir: Option<&[u8]>, stmt_list, ranges: Vec<(u64, u64)>| {
            UnitRoot {
                offset,
                version: 5,
                addr_size: 8,
                offset_size: 4,
                abbrev_off: offset * 3,
                lang: 0x1d,
                comp_dir: comp_dir.map(Into::into),
                stmt_list,
                base_address: 0x1000 + offset as u64,
                str_offsets_base: 8,
                addr_base: 16,
                ranges: Aranges::from_list(&ranges),
            }
        };
        vec![
            root(0, Some(b"/build"), Some(0), vec![(0x1000, 0x1100)]),
            root(0x40, None, None, vec![]),
            root(0x90, Some(b""), Some(0x77), vec![(0x2000, 0x2010), (0x1800, 0x1900)]),
        ]
    }

    #[test]
    fn a_stored_unit_list_reads_back_as_it_was() {
        let roots = roots();
        let refs: Vec<&UnitRoot> = roots.iter().collect();
        assert_eq!(decode_roots(&encode_roots(&refs)), Some(roots.clone()));
        assert_eq!(decode_roots(&encode_roots(&[])), Some(Vec::new()));
        let bytes = encode_roots(&refs);
        for n in 0..bytes.len() {
            assert!(decode_roots(&bytes[..n]).is_none(), "cut at {n}");
        }
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x81;
            let _ = decode_roots(&b);
        }
        // Units out of `.debug_info` order are refused.
        let mut swapped = refs;
        swapped.swap(0, 1);
        assert!(decode_roots(&encode_roots(&swapped)).is_none());
    }

    #[test]
    fn small_units_are_stored_together_and_read_back_one_by_one() {
        let (lines, funcs, lookup, gained) = sample();
        let one = encode(&lines, &funcs, &lookup, &gained);
        let first = SmallUnits {
            added: vec![(0x40, one.clone()), (0x10, one.clone())],
            ..SmallUnits::default()
        };
        let stored = first.payload();
        let index = index_small(&stored).expect("reads back");
        let read = SmallUnits {
            stored: stored.clone(),
            index,
            ..SmallUnits::default()
        };
        for offset in [0x40, 0x10] {
            let u = read.get(offset).expect("stored");
            assert_eq!(encode(&u.lines, &u.funcs, &u.lookup, &u.gained), one);
        }
        assert!(read.get(0x20).is_none());
        // A later store keeps the units read and adds the new ones.
        let mut later = read;
        later.added.push((0x20, one.clone()));
        let again = index_small(&later.payload()).expect("reads back");
        let mut offsets: Vec<usize> = again.keys().copied().collect();
        offsets.sort_unstable();
        assert_eq!(offsets, [0x10, 0x20, 0x40]);
        // A set cut short reads as none.
        for n in 0..stored.len() {
            assert!(index_small(&stored[..n]).is_none(), "cut at {n}");
        }
    }

    #[test]
    fn a_caller_after_its_callee_or_a_file_out_of_range_is_refused() {
        let (lines, mut funcs, lookup, gained) = sample();
        funcs[1].caller = 2;
        assert!(decode(&encode(&lines, &funcs, &lookup, &gained)).is_none());
        let (mut lines, funcs, lookup, gained) = sample();
        lines.seqs[0].rows[0].file = 2;
        assert!(decode(&encode(&lines, &funcs, &lookup, &gained)).is_none());
    }
}
