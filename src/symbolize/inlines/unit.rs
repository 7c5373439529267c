//! The DWARF side of binutils 2.40 `_bfd_dwarf2_find_nearest_line`
//! (bfd/dwarf2.c), restated: compilation units, their function tables
//! (DW_TAG_subprogram / entry_point / inlined_subroutine DIEs with the
//! names BFD gives them) and line tables, and the unit search.
//!
//! Behaviour reproduced (see the comments at each place):
//! - units are read in `.debug_info` order; a unit whose header or root DIE
//!   BFD cannot parse ends the list (BFD trusts nothing after it);
//! - a unit is consulted when its root ranges contain the address, or when
//!   it has none; the first unit whose line table or function table covers
//!   the address answers;
//! - a unit whose line table or DIE scan fails is ignored from then on;
//! - a function's name: DW_AT_linkage_name / DW_AT_MIPS_linkage_name win,
//!   else the first DW_AT_name seen, walking DW_AT_abstract_origin /
//!   DW_AT_specification in attribute order; a DW_AT_name only counts as
//!   a "linkage" name in languages without mangling (C, asm, ...);
//! - the function at an address is the one with the smallest containing
//!   range, the later DIE winning a tie; an inlined one starts the
//!   inliner chain (callers = enclosing function DIEs, with
//!   DW_AT_call_file / DW_AT_call_line).
//!
//! Section loading and the low-level section readers are in
//! `sections.rs`; the per-unit function table (DIE scan, names, inliner
//! chain, address lookup) is in `function.rs`. This file owns the unit
//! list: unit headers and root DIEs, each unit's lazily filled
//! [`UnitState`], the address index over units, line-table decoding and
//! the unit search. `function.rs`'s DIE scan gets the unit list as a
//! [`UnitList`] (implemented here): BFD decodes a referenced unit in the
//! middle of another unit's scan, which reaches back into
//! [`Stash::ensure_decoded`] through that trait. A decoded unit comes from
//! the persistent cache when a run stored it (`unit_cache.rs`); a unit is
//! stored only when its scan followed no reference into another unit, so
//! that installing it skips no decoding of another unit that BFD's order
//! would have done.

use super::function::{
    build_lookup, lookup_function, scan_unit, Func, FuncSpan, OriginName, UnitList,
};
use super::lines::{cstr_at, decode, LineTable, StrSecs, R};
use super::sections::{
    read_rangelist, root_abbrev, Aranges, LazySecs, RangeListEncoding, Secs, Val,
};
use super::gained::{merge_by_low, Cover, GainedRange};
use super::root::UnitRoot;
use super::unit_cache::{self, SmallUnits};
use gimli::{constants, AttributeValue, LittleEndian};
use std::sync::Arc;

pub(super) struct Decoded {
    pub(super) lines: LineTable,
    pub(super) funcs: Vec<Func>,
    /// The functions sorted like `build_lookup_funcinfo_table`.
    pub(super) lookup: Vec<FuncSpan>,
}

pub(super) struct Unit {
    pub(super) root: UnitRoot,
    pub(super) state: UnitState,
}

/// How far a unit has been read, filled in lazily by
/// [`Stash::ensure_decoded`] (BFD's `unit->error`, `unit->line_table` and
/// function table).
pub(super) enum UnitState {
    /// Only the root DIE is read.
    Root,
    /// The line table is decoded and the DIE scan runs (BFD sets
    /// `unit->line_table` before `scan_unit_for_symbols`).
    Lines(LineTable),
    /// Line table and function table are ready.
    Decoded(Decoded),
    /// The line table or the DIE scan failed: the unit is ignored from
    /// then on.
    Failed,
}

impl Unit {
    pub(super) fn range_list_encoding(&self) -> RangeListEncoding {
        self.root.range_list_encoding()
    }
}

impl UnitState {
    fn line_table(&self) -> Option<&LineTable> {
        match self {
            UnitState::Lines(lines) => Some(lines),
            UnitState::Decoded(d) => Some(&d.lines),
            UnitState::Root | UnitState::Failed => None,
        }
    }

    pub(super) fn decoded(&self) -> Option<&Decoded> {
        match self {
            UnitState::Decoded(d) => Some(d),
            _ => None,
        }
    }

    pub(super) fn failed(&self) -> bool {
        matches!(self, UnitState::Failed)
    }
}

pub struct Stash {
    pub(super) units: Vec<Unit>,
    /// Every unit root range, sorted by low.
    index: Vec<UnitRange>,
    no_ranges: Vec<u32>,
    /// Ranges a unit gained when its line table and DIEs were read (BFD
    /// adds every line sequence and function range to its unit lookup
    /// trie), kept where they reach outside the unit's root ranges,
    /// sorted by low.
    extra: Vec<GainedRange>,
    /// The longest range in `extra`.
    extra_max: u64,
    /// Parsed abbreviation tables by `.debug_abbrev` offset (only units
    /// that are searched need theirs).
    abbrevs: rustc_hash::FxHashMap<usize, Arc<gimli::Abbreviations>>,
    /// File names of call sites by (unit, file number), built once.
    files: rustc_hash::FxHashMap<(u32, u64), Arc<[u8]>>,
    /// Function names by where their bytes are in the (loaded, unmoving)
    /// debug sections.
    names: rustc_hash::FxHashMap<(usize, usize), Arc<[u8]>>,
    /// `find_abstract_instance`'s answers by referenced DIE (see
    /// `UnitList::origin`); emptied when a unit fails, since an answer
    /// found while that unit was being scanned would now be an error.
    origins: rustc_hash::FxHashMap<usize, OriginName>,
    /// How many times a DIE walk followed a reference into another unit
    /// (a walk that did not can store its unit in the cache).
    crossings: u64,
    /// The key of this file's units in the persistent cache, if stored.
    cache_key: Option<Vec<u8>>,
    /// The file's small units in the cache, read on the first decoding.
    small: Option<SmallUnits>,
}

type Header<'a> = gimli::UnitHeader<R<'a>>;

/// A unit root range in [`Stash`]'s address index.
#[derive(Clone, Copy)]
struct UnitRange {
    low: u64,
    high: u64,
    unit: u32,
    /// The running maximum of `high` up to this entry.
    max_high: u64,
}

impl Stash {
    /// The unit list read from the sections (and stored for later runs).
    pub fn parse(s: &Secs<'_>, cache_key: Option<Vec<u8>>) -> Stash {
        let roots = Self::parse_units(s);
        if let Some(key) = cache_key.as_deref() {
            unit_cache::store_roots(key, &roots.iter().collect::<Vec<_>>());
        }
        Stash::of_roots(roots, cache_key)
    }

    /// The unit list from its roots (as stored by an earlier run);
    /// `cache_key` from [`unit_cache::file_key`].
    pub fn of_roots(roots: Vec<UnitRoot>, cache_key: Option<Vec<u8>>) -> Stash {
        let units: Vec<Unit> = roots
            .into_iter()
            .map(|root| Unit {
                root,
                state: UnitState::Root,
            })
            .collect();
        let mut index = Vec::new();
        let mut no_ranges = Vec::new();
        for (i, u) in units.iter().enumerate() {
            if u.root.ranges.has_any() {
                for &(l, h) in u.root.ranges.list() {
                    index.push(UnitRange {
                        low: l,
                        high: h,
                        unit: i as u32,
                        max_high: 0,
                    });
                }
            } else {
                no_ranges.push(i as u32);
            }
        }
        index.sort_by_key(|e| (e.low, e.unit));
        let mut mx = 0;
        for e in index.iter_mut() {
            mx = mx.max(e.high);
            e.max_high = mx;
        }
        Stash {
            units,
            index,
            no_ranges,
            extra: Vec::new(),
            extra_max: 0,
            abbrevs: Default::default(),
            files: Default::default(),
            names: Default::default(),
            origins: Default::default(),
            crossings: 0,
            cache_key,
            small: None,
        }
    }

    /// Every unit's root DIE, in `.debug_info` order, up to the first BFD
    /// gives up on.
    fn parse_units(s: &Secs<'_>) -> Vec<UnitRoot> {
        let info = gimli::DebugInfo::new(s.info, LittleEndian);
        let mut units = Vec::new();
        let mut iter = info.units();
        while let Ok(Some(h)) = iter.next() {
            match Self::parse_unit(s, &h) {
                Some(u) => units.push(u),
                None => break,
            }
        }
        units
    }

    /// `parse_comp_unit`: `None` when BFD gives up on this unit (and so on
    /// every later one).
    fn parse_unit(s: &Secs<'_>, h: &Header<'_>) -> Option<UnitRoot> {
        let version = h.version();
        if !(2..=5).contains(&version) || ![2, 4, 8].contains(&h.address_size()) {
            return None;
        }
        let aoff = h.debug_abbrev_offset().0;
        let offset = h.offset().0;
        let mut u = UnitRoot {
            offset,
            version,
            addr_size: h.address_size(),
            offset_size: h.format().word_size(),
            abbrev_off: aoff,
            lang: 0,
            comp_dir: None,
            stmt_list: None,
            base_address: 0,
            str_offsets_base: 0,
            addr_base: 0,
            ranges: Aranges::default(),
        };
        // Only the root DIE's abbreviation is looked up here; whole tables
        // are parsed for the units that get searched.
        let mut input = h.range_from(h.root_offset()..).ok()?;
        let code = gimli::Reader::read_uleb128(&mut input).ok()?;
        if code == 0 {
            return None;
        }
        let (tag, specs) = root_abbrev(s.abbrev, aoff, code)?;
        let no_abbrevs = gimli::Abbreviations::default();
        let mut entries = gimli::EntriesRaw::new(input, h.encoding(), &no_abbrevs, h.root_offset());
        let is_cu = tag == constants::DW_TAG_compile_unit;
        let (mut low, mut high, mut rel) = (0u64, 0u64, false);
        let mut deferred = Vec::new();
        for spec in specs {
            let a = entries.read_attribute(spec).ok()?;
            let raw = a.raw_value();
            let strx = matches!(raw, AttributeValue::DebugStrOffsetsIndex(_));
            let addrx = matches!(raw, AttributeValue::DebugAddrIndex(_));
            // Index forms met before their base attribute are read again
            // at the end (parse_comp_unit's str_addrp).
            if (u.str_offsets_base == 0 && strx) || (u.addr_base == 0 && addrx) {
                deferred.push(a);
                continue;
            }
            if !Self::root_attr(&mut u, s, &a, is_cu, &mut low, &mut high, &mut rel, true) {
                return None;
            }
        }
        for a in deferred {
            Self::root_attr(&mut u, s, &a, is_cu, &mut low, &mut high, &mut rel, false);
        }
        if rel {
            high = high.wrapping_add(low);
        }
        if high != 0 {
            u.ranges.add(low, high);
        }
        Some(u)
    }

    /// `read_attribute_value` + `is_int_form` / `is_str_form`.
    fn attr_value<'a>(s: &'a Secs<'_>, u: &UnitRoot, a: &AttributeValue<R<'a>>) -> Val<'a> {
        use AttributeValue as A;
        match *a {
            A::Addr(v) => Val::Int(v, true),
            A::Data1(v) => Val::Int(u64::from(v), false),
            A::Data2(v) => Val::Int(u64::from(v), false),
            A::Data4(v) => Val::Int(u64::from(v), false),
            A::Data8(v) => Val::Int(v, false),
            A::Sdata(v) => Val::Int(v as u64, false),
            A::Udata(v) => Val::Int(v, false),
            A::Flag(v) => Val::Int(u64::from(v), false),
            A::SecOffset(v) => Val::Int(v as u64, false),
            A::UnitRef(o) => Val::Int(o.0 as u64, false),
            A::DebugInfoRef(o) => Val::Int(o.0 as u64, false),
            A::DebugTypesRef(o) => Val::Int(o.0, false),
            A::DebugInfoRefSup(o) => Val::Int(o.0 as u64, false),
            A::DebugAddrIndex(i) => {
                // read_indexed_address
                let at = u.addr_base as usize + i.0 * usize::from(u.addr_size);
                let v = s
                    .addr
                    .get(at..at + usize::from(u.addr_size))
                    .map_or(0, |b| {
                        let mut x = [0u8; 8];
                        x[..b.len()].copy_from_slice(b);
                        u64::from_le_bytes(x)
                    });
                Val::Int(v, false)
            }
            A::String(r) => Val::Str(Some(r.slice())),
            A::DebugStrRef(o) => Val::Str(cstr_at(s.str_, o.0)),
            A::DebugLineStrRef(o) => Val::Str(cstr_at(s.line_str, o.0)),
            A::DebugStrOffsetsIndex(i) => Val::Str(Self::strs(s, u).strx(i.0)),
            A::DebugStrRefSup(_) => Val::Str(None),
            _ => Val::Other,
        }
    }

    fn strs<'a>(s: &'a Secs<'_>, u: &UnitRoot) -> StrSecs<'a> {
        StrSecs {
            str_: s.str_,
            line_str: s.line_str,
            str_offsets: s.str_offsets,
            str_offsets_base: u.str_offsets_base,
            offset_size: u.offset_size,
        }
    }

    /// One root-DIE attribute of `parse_comp_unit` (or `reread_attribute`
    /// when `first` is false). `false` = the unit fails.
    #[allow(clippy::too_many_arguments)]
    fn root_attr(
        u: &mut UnitRoot,
        s: &Secs<'_>,
        a: &gimli::Attribute<R<'_>>,
        is_cu: bool,
        low: &mut u64,
        high: &mut u64,
        rel: &mut bool,
        first: bool,
    ) -> bool {
        let raw = a.raw_value();
        let v = Self::attr_value(s, u, &raw);
        match a.name() {
            constants::DW_AT_stmt_list => {
                if let Val::Int(x, _) = v {
                    u.stmt_list = Some(x);
                } else if !first {
                    u.stmt_list = Some(0);
                }
            }
            constants::DW_AT_low_pc => {
                if let Val::Int(x, _) = v {
                    *low = x;
                    if is_cu {
                        u.base_address = x;
                    }
                }
            }
            constants::DW_AT_high_pc => {
                if let Val::Int(x, is_addr) = v {
                    *high = x;
                    *rel = !is_addr;
                }
            }
            constants::DW_AT_ranges => {
                if let Val::Int(x, _) = v {
                    let mut r = std::mem::take(&mut u.ranges);
                    let read = read_rangelist(s, u.range_list_encoding(), &mut r, x);
                    u.ranges = r;
                    if read.is_none() && first {
                        return false;
                    }
                }
            }
            constants::DW_AT_comp_dir => {
                let mut cd = match v {
                    Val::Str(Some(x)) => Some(x),
                    _ => None,
                };
                // Irix "machine.:/dir" prefixes are dropped.
                if let Some(d) = cd {
                    if let Some(p) = d.iter().position(|&b| b == b':') {
                        if p > 0 && d[p - 1] == b'.' && d.get(p + 1) == Some(&b'/') {
                            cd = Some(&d[p + 1..]);
                        }
                    }
                }
                u.comp_dir = cd.map(Into::into);
            }
            constants::DW_AT_language => {
                if let Val::Int(x, _) = v {
                    u.lang = x;
                }
            }
            constants::DW_AT_addr_base if first => {
                if let Val::Int(x, _) = v {
                    u.addr_base = x;
                }
            }
            constants::DW_AT_str_offsets_base if first => {
                if let Val::Int(x, _) = v {
                    u.str_offsets_base = x;
                }
            }
            _ => {}
        }
        true
    }
}

impl Stash {
    /// The unit search of `_bfd_dwarf2_find_nearest_line` for `addr`.
    pub fn find(&mut self, s: &LazySecs<'_>, addr: u64) -> Option<(u32, Option<u32>)> {
        let mut cands: Vec<u32> = Vec::new();
        let n = self.index.partition_point(|e| e.low <= addr);
        let mut i = n;
        while i > 0 {
            i -= 1;
            let e = self.index[i];
            if e.max_high <= addr {
                break;
            }
            if addr < e.high {
                cands.push(e.unit);
            }
        }
        cands.extend_from_slice(&self.no_ranges);
        let n = self.extra.partition_point(|e| e.low <= addr);
        for e in self.extra[..n].iter().rev() {
            if addr - e.low >= self.extra_max {
                break;
            }
            if addr < e.high {
                cands.push(e.unit);
            }
        }
        cands.sort_unstable();
        cands.dedup();
        for cu in cands {
            if !self.ensure_decoded(cu, || s.get()) {
                continue;
            }
            let Some(d) = self.units[cu as usize].state.decoded() else {
                continue;
            };
            let func = lookup_function(&d.funcs, &d.lookup, addr);
            let line_hit = d.lines.lookup(addr).is_some();
            if func.is_some() || line_hit {
                return Some((cu, func));
            }
        }
        None
    }

    pub fn line(&self, cu: u32, addr: u64) -> Option<(Option<&[u8]>, u32, u32)> {
        self.units[cu as usize].state.decoded()?.lines.lookup(addr)
    }

    /// Function `f` of unit `cu`, both as [`Stash::find`] returned them
    /// (so the unit is decoded).
    pub fn func(&self, cu: u32, f: u32) -> &Func {
        match &self.units[cu as usize].state {
            UnitState::Decoded(d) => &d.funcs[f as usize],
            _ => unreachable!("Stash::find only returns decoded units"),
        }
    }

    /// [`Stash::func`], to update the name BFD gives it.
    pub fn func_mut(&mut self, cu: u32, f: u32) -> &mut Func {
        match &mut self.units[cu as usize].state {
            UnitState::Decoded(d) => &mut d.funcs[f as usize],
            _ => unreachable!("Stash::find only returns decoded units"),
        }
    }

    /// `comp_unit_maybe_decode_line_info`. `secs` gives the sections when
    /// the unit is not in the persistent cache.
    fn ensure_decoded<'s>(&mut self, cu: u32, secs: impl FnOnce() -> Secs<'s>) -> bool {
        let u = &mut self.units[cu as usize];
        match u.state {
            UnitState::Root => {}
            UnitState::Lines(_) | UnitState::Decoded(_) => return true,
            UnitState::Failed => return false,
        }
        let Some(off) = u.root.stmt_list else {
            u.state = UnitState::Failed;
            return false;
        };
        let offset = u.root.offset;
        let stored = self.cache_key.as_deref().and_then(|k| {
            let small = self.small.get_or_insert_with(|| SmallUnits::load(k));
            small.get(offset).or_else(|| unit_cache::load(k, offset))
        });
        let u = &mut self.units[cu as usize];
        if let Some(c) = stored {
            let gained = c.gained.iter().map(|&(low, high)| GainedRange { low, high, unit: cu });
            self.gain(gained.collect());
            self.units[cu as usize].state = UnitState::Decoded(Decoded {
                lines: c.lines,
                funcs: c.funcs,
                lookup: c.lookup,
            });
            return true;
        }
        let s = &secs();
        let mut seq_ranges = Vec::new();
        let strs = Self::strs(s, &u.root);
        let Some(lt) = decode(
            s.line,
            off,
            u.root.addr_size,
            u.root.comp_dir.as_deref(),
            &strs,
            &mut seq_ranges,
        ) else {
            u.state = UnitState::Failed;
            return false;
        };
        u.state = UnitState::Lines(lt);
        let crossings = self.crossings;
        let Some(funcs) = scan_unit(self, s, cu) else {
            self.units[cu as usize].state = UnitState::Failed;
            self.origins.clear();
            return false;
        };
        let mut gained = seq_ranges;
        for f in &funcs {
            gained.extend_from_slice(f.ranges.list());
        }
        let u = &mut self.units[cu as usize];
        let root = Cover::of(u.root.ranges.list());
        let mut fresh: Vec<GainedRange> = gained
            .into_iter()
            .filter(|&(l, h)| l < h && !root.covers(l, h))
            .map(|(low, high)| GainedRange {
                low,
                high,
                unit: cu,
            })
            .collect();
        // Each goes after every range already there with a low at or below
        // its own, in the order gained: a stable sort here, then a merge
        // that puts the old range first on equal lows.
        fresh.sort_by_key(|e| e.low);
        let ranges: Vec<(u64, u64)> = fresh.iter().map(|e| (e.low, e.high)).collect();
        self.gain(fresh);
        let u = &mut self.units[cu as usize];
        // The scan leaves its own unit in `Lines` (a reference back to it
        // finds the line table there).
        let UnitState::Lines(lines) = std::mem::replace(&mut u.state, UnitState::Failed) else {
            self.origins.clear();
            return false;
        };
        let lookup = build_lookup(&funcs);
        // A walk that reached no other unit decoded none on the way: the
        // result depends on this unit's bytes alone and can be stored.
        if let (Some(key), true) = (self.cache_key.as_deref(), self.crossings == crossings) {
            if unit_cache::worth_storing(&lines, &funcs) {
                unit_cache::store(key, u.root.offset, &lines, &funcs, &lookup, &ranges);
            } else {
                let small = self.small.get_or_insert_with(SmallUnits::default);
                small.add(key, u.root.offset, &lines, &funcs, &lookup, &ranges);
            }
        }
        self.units[cu as usize].state = UnitState::Decoded(Decoded {
            lines,
            funcs,
            lookup,
        });
        true
    }

    /// Adds ranges a unit gained (sorted by low) to the unit search.
    fn gain(&mut self, fresh: Vec<GainedRange>) {
        if fresh.is_empty() {
            return;
        }
        for e in &fresh {
            self.extra_max = self.extra_max.max(e.high - e.low);
        }
        let old = std::mem::take(&mut self.extra);
        self.extra = merge_by_low(old, fresh);
    }
}

impl UnitList for Stash {
    fn unit_offset(&self, cu: u32) -> usize {
        self.units[cu as usize].root.offset
    }

    fn unit_at(&self, offset: usize) -> Option<u32> {
        let k = self.units.partition_point(|u| u.root.offset <= offset);
        k.checked_sub(1).map(|t| t as u32)
    }

    fn value<'a>(&self, s: &'a Secs<'_>, cu: u32, a: &AttributeValue<R<'a>>) -> Val<'a> {
        Self::attr_value(s, &self.units[cu as usize].root, a)
    }

    fn file_name(&mut self, cu: u32, file: u64) -> Option<Arc<[u8]>> {
        if let Some(f) = self.files.get(&(cu, file)) {
            return Some(f.clone());
        }
        let lt = self.units[cu as usize].state.line_table()?;
        let name: Arc<[u8]> = lt.files.concat(file).into();
        self.files.insert((cu, file), name.clone());
        Some(name)
    }

    fn shared_name(&mut self, name: &[u8]) -> Arc<[u8]> {
        self.names
            .entry((name.as_ptr() as usize, name.len()))
            .or_insert_with(|| name.into())
            .clone()
    }

    fn lang(&self, cu: u32) -> u64 {
        self.units[cu as usize].root.lang
    }

    fn range_list_encoding(&self, cu: u32) -> RangeListEncoding {
        self.units[cu as usize].range_list_encoding()
    }

    fn ensure_decoded(&mut self, s: &Secs<'_>, cu: u32) -> bool {
        Stash::ensure_decoded(self, cu, || *s)
    }

    fn failed(&self, cu: u32) -> bool {
        self.units[cu as usize].state.failed()
    }

    fn origin(&self, die: usize) -> Option<OriginName> {
        self.origins.get(&die).cloned()
    }

    fn remember_origin(&mut self, die: usize, origin: OriginName) {
        self.origins.insert(die, origin);
    }

    fn crossings(&self) -> u64 {
        self.crossings
    }

    fn cross(&mut self) {
        self.crossings += 1;
    }

    fn abbrevs_of(&mut self, s: &Secs<'_>, cu: u32) -> Option<Arc<gimli::Abbreviations>> {
        let off = self.units[cu as usize].root.abbrev_off;
        if let Some(a) = self.abbrevs.get(&off) {
            return Some(a.clone());
        }
        let a = Arc::new(
            gimli::DebugAbbrev::new(s.abbrev, LittleEndian)
                .abbreviations(gimli::DebugAbbrevOffset(off))
                .ok()?,
        );
        self.abbrevs.insert(off, a.clone());
        Some(a)
    }
}
