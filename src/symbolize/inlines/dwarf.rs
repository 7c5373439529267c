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

use super::lines::{cstr_at, decode, LineTable, StrSecs, R};
use super::object::ObjFile;
use gimli::{constants, AttributeValue, LittleEndian};
use std::borrow::Cow;
use std::sync::Arc;

const DW_TAG_COMPILE_UNIT: u16 = 0x11;

/// A debug section: a range of the mapped file or an inflated copy.
enum Data {
    Range(usize, usize),
    Owned(Vec<u8>),
}

/// The debug sections of the file holding the DWARF, loaded once.
pub struct SecStore {
    d: [Option<Data>; 9],
}

const NAMES: [&[u8]; 9] = [
    b".debug_info",
    b".debug_abbrev",
    b".debug_line",
    b".debug_str",
    b".debug_line_str",
    b".debug_ranges",
    b".debug_rnglists",
    b".debug_addr",
    b".debug_str_offsets",
];

impl SecStore {
    /// `info_idx` is the `.debug_info` section BFD chose.
    pub fn load(obj: &ObjFile, info_idx: usize) -> Option<SecStore> {
        let base = obj.data().as_ptr() as usize;
        let conv = |c: Cow<'_, [u8]>| match c {
            Cow::Borrowed(b) => Data::Range(b.as_ptr() as usize - base, b.len()),
            Cow::Owned(v) => Data::Owned(v),
        };
        let mut idx: [Option<usize>; 9] = Default::default();
        idx[0] = Some(info_idx);
        for (k, n) in NAMES.iter().enumerate().skip(1) {
            let i = obj.section_index(n).or_else(|| {
                let mut z = b".zdebug".to_vec();
                z.extend_from_slice(&n[6..]);
                obj.section_index(&z)
            });
            idx[k] = i.filter(|&i| obj.sections[i].has_contents());
        }
        // Compressed sections (Debian's debug files) are inflated in
        // parallel: the first lookup in libc waits for all of them.
        let mut d: [Option<Data>; 9] = Default::default();
        std::thread::scope(|sc| {
            let jobs: Vec<_> = idx
                .iter()
                .enumerate()
                .filter_map(|(k, i)| i.map(|i| (k, i)))
                .map(|(k, i)| (k, sc.spawn(move || obj.contents(i))))
                .collect();
            for (k, j) in jobs {
                d[k] = j.join().ok().flatten().map(conv);
            }
        });
        d[0].as_ref()?;
        Some(SecStore { d })
    }

    pub fn view<'a>(&'a self, obj: &'a ObjFile) -> Secs<'a> {
        let get = |k: usize| -> Option<&'a [u8]> {
            match self.d[k].as_ref()? {
                Data::Range(s, l) => obj.data().get(*s..*s + *l),
                Data::Owned(v) => Some(v),
            }
        };
        Secs {
            info: get(0).unwrap_or(&[]),
            abbrev: get(1).unwrap_or(&[]),
            line: get(2).unwrap_or(&[]),
            str_: get(3).unwrap_or(&[]),
            line_str: get(4).unwrap_or(&[]),
            ranges: get(5),
            rnglists: get(6),
            addr: get(7).unwrap_or(&[]),
            str_offsets: get(8).unwrap_or(&[]),
        }
    }
}

/// A view of the debug sections.
pub struct Secs<'a> {
    pub info: &'a [u8],
    pub abbrev: &'a [u8],
    pub line: &'a [u8],
    pub str_: &'a [u8],
    pub line_str: &'a [u8],
    pub ranges: Option<&'a [u8]>,
    pub rnglists: Option<&'a [u8]>,
    pub addr: &'a [u8],
    pub str_offsets: &'a [u8],
}

/// BFD's `struct arange` list: the head, then later ranges inserted right
/// after the head; a range touching an existing one extends it.
#[derive(Default, Clone)]
pub struct Aranges(Vec<(u64, u64)>);

impl Aranges {
    fn add(&mut self, low: u64, high: u64) {
        if low == high {
            return;
        }
        if self.0.first().is_none_or(|h| h.1 == 0) {
            if self.0.is_empty() {
                self.0.push((low, high));
            } else {
                self.0[0] = (low, high);
            }
            return;
        }
        for r in self.0.iter_mut() {
            if low == r.1 {
                r.1 = high;
                return;
            }
            if high == r.0 {
                r.0 = low;
                return;
            }
        }
        self.0.insert(1, (low, high));
    }
    pub fn head_low(&self) -> u64 {
        self.0.first().map_or(0, |r| r.0)
    }
    fn has_any(&self) -> bool {
        self.0.first().is_some_and(|h| h.1 != 0)
    }
}

pub struct Func {
    pub inlined: bool,
    pub caller: u32,
    pub caller_file: Option<Box<[u8]>>,
    pub caller_line: u32,
    pub name: Option<Box<[u8]>>,
    pub is_linkage: bool,
    pub ranges: Aranges,
}

pub const NONE: u32 = u32::MAX;

struct Decoded {
    lines: LineTable,
    funcs: Vec<Func>,
    /// (low, watermark high, func) sorted like `build_lookup_funcinfo_table`.
    lookup: Vec<(u64, u64, u32)>,
}

struct Unit {
    offset: usize,
    version: u16,
    addr_size: u8,
    offset_size: u8,
    abbrev_off: usize,
    lang: u64,
    comp_dir: Option<Box<[u8]>>,
    stmt_list: Option<u64>,
    base_address: u64,
    str_offsets_base: u64,
    addr_base: u64,
    ranges: Aranges,
    error: bool,
    /// Line table decoded (set before the DIE scan, as BFD sets
    /// `unit->line_table` before `scan_unit_for_symbols`).
    lines: Option<LineTable>,
    decoded: Option<Decoded>,
}

/// `mangle_style(lang) == 0`: languages whose DW_AT_name is the symbol.
fn plain_lang(lang: u64) -> bool {
    matches!(
        lang,
        0x0001 // C89
        | 0x0002 // C
        | 0x0005 // Cobol74
        | 0x0006 // Cobol85
        | 0x0007 // Fortran77
        | 0x0009 // Pascal83
        | 0x000a // PLI
        | 0x000c // C99
        | 0x0012 // UPC
        | 0x001d // C11
        | 0x8001 // Mips_Assembler
        | 0x8765 // Upc (old)
        | 0x8101 // HP_Basic91
        | 0x8105 // HP_IMacro
        | 0x8106 // HP_Assembler
    )
}

pub struct Stash {
    units: Vec<Unit>,
    /// (low, high, unit) of every unit root range, sorted by low, with
    /// the running maximum of high.
    index: Vec<(u64, u64, u32, u64)>,
    no_ranges: Vec<u32>,
    /// Ranges a unit gained when its line table and DIEs were read (BFD
    /// adds every line sequence and function range to its unit lookup
    /// trie), kept where they reach outside the unit's root ranges:
    /// (low, high, unit) sorted by low.
    extra: Vec<(u64, u64, u32)>,
    /// The longest range in `extra`.
    extra_max: u64,
    /// Parsed abbreviation tables by `.debug_abbrev` offset (only units
    /// that are searched need theirs).
    abbrevs: rustc_hash::FxHashMap<usize, Arc<gimli::Abbreviations>>,
}

type Header<'a> = gimli::UnitHeader<R<'a>>;

/// An attribute value as BFD's `struct attribute` sees it.
enum Val<'a> {
    Int(u64, bool),
    Str(Option<&'a [u8]>),
    Other,
}

impl Stash {
    pub fn new(s: &Secs<'_>) -> Stash {
        let info = gimli::DebugInfo::new(s.info, LittleEndian);
        let mut units = Vec::new();
        let mut iter = info.units();
        while let Ok(Some(h)) = iter.next() {
            match Self::parse_unit(s, &h) {
                Some(u) => units.push(u),
                None => break,
            }
        }
        let mut index = Vec::new();
        let mut no_ranges = Vec::new();
        for (i, u) in units.iter().enumerate() {
            if u.ranges.has_any() {
                for &(l, h) in &u.ranges.0 {
                    index.push((l, h, i as u32, 0));
                }
            } else {
                no_ranges.push(i as u32);
            }
        }
        index.sort_by_key(|e| (e.0, e.2));
        let mut mx = 0;
        for e in index.iter_mut() {
            mx = mx.max(e.1);
            e.3 = mx;
        }
        Stash {
            units,
            index,
            no_ranges,
            extra: Vec::new(),
            extra_max: 0,
            abbrevs: Default::default(),
        }
    }

    /// `parse_comp_unit`: `None` when BFD gives up on this unit (and so on
    /// every later one).
    fn parse_unit(s: &Secs<'_>, h: &Header<'_>) -> Option<Unit> {
        let version = h.version();
        if !(2..=5).contains(&version) || ![2, 4, 8].contains(&h.address_size()) {
            return None;
        }
        let aoff = h.debug_abbrev_offset().0;
        let offset = h.offset().0;
        let mut u = Unit {
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
            error: false,
            lines: None,
            decoded: None,
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
        let is_cu = tag == DW_TAG_COMPILE_UNIT;
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
            if !u.root_attr(s, &a, is_cu, &mut low, &mut high, &mut rel, true) {
                return None;
            }
        }
        for a in deferred {
            u.root_attr(s, &a, is_cu, &mut low, &mut high, &mut rel, false);
        }
        if rel {
            high = high.wrapping_add(low);
        }
        if high != 0 {
            u.ranges.add(low, high);
        }
        Some(u)
    }

    #[allow(clippy::too_many_arguments)]
    fn val<'a>(&self, s: &'a Secs<'_>, u: &Unit, a: &AttributeValue<R<'a>>) -> Val<'a> {
        Self::value(s, u, a)
    }

    /// `read_attribute_value` + `is_int_form` / `is_str_form`.
    fn value<'a>(s: &'a Secs<'_>, u: &Unit, a: &AttributeValue<R<'a>>) -> Val<'a> {
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

    fn strs<'a>(s: &'a Secs<'_>, u: &Unit) -> StrSecs<'a> {
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
    fn root_attr_impl(
        u: &mut Unit,
        s: &Secs<'_>,
        a: &gimli::Attribute<R<'_>>,
        is_cu: bool,
        low: &mut u64,
        high: &mut u64,
        rel: &mut bool,
        first: bool,
    ) -> bool {
        let raw = a.raw_value();
        let v = Self::value(s, u, &raw);
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
                    let ok = read_rangelist(s, u, &mut r, x);
                    u.ranges = r;
                    if !ok && first {
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

trait RootAttr {
    #[allow(clippy::too_many_arguments)]
    fn root_attr(
        &mut self,
        s: &Secs<'_>,
        a: &gimli::Attribute<R<'_>>,
        is_cu: bool,
        low: &mut u64,
        high: &mut u64,
        rel: &mut bool,
        first: bool,
    ) -> bool;
}

impl RootAttr for Unit {
    fn root_attr(
        &mut self,
        s: &Secs<'_>,
        a: &gimli::Attribute<R<'_>>,
        is_cu: bool,
        low: &mut u64,
        high: &mut u64,
        rel: &mut bool,
        first: bool,
    ) -> bool {
        Stash::root_attr_impl(self, s, a, is_cu, low, high, rel, first)
    }
}

/// `read_rangelist`: DWARF 2-4 `.debug_ranges`, DWARF 5 `.debug_rnglists`
/// (the index forms BFD does not support make it fail).
fn read_rangelist(s: &Secs<'_>, u: &Unit, out: &mut Aranges, offset: u64) -> bool {
    let asz = usize::from(u.addr_size);
    let rd_addr = |d: &[u8], p: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..asz].copy_from_slice(&d[p..p + asz]);
        u64::from_le_bytes(x)
    };
    let mut base = u.base_address;
    if u.version <= 4 {
        let Some(d) = s.ranges else {
            return false;
        };
        let Ok(mut p) = usize::try_from(offset) else {
            return false;
        };
        if p > d.len() {
            return false;
        }
        // BFD compares with -1UL: only an all-ones 64-bit address selects
        // a base address.
        let all_ones = u64::MAX;
        loop {
            if 2 * asz > d.len() - p {
                return false;
            }
            let low = rd_addr(d, p);
            let high = rd_addr(d, p + asz);
            p += 2 * asz;
            if low == 0 && high == 0 {
                return true;
            }
            if low == all_ones && high != all_ones {
                base = high;
            } else {
                out.add(base.wrapping_add(low), base.wrapping_add(high));
            }
        }
    }
    let Some(d) = s.rnglists else {
        return false;
    };
    let Ok(mut p) = usize::try_from(offset) else {
        return false;
    };
    let uleb = |p: &mut usize| -> u64 {
        let mut r = gimli::EndianSlice::new(d.get(*p..).unwrap_or(&[]), LittleEndian);
        let before = r.len();
        let v = gimli::Reader::read_uleb128(&mut r).unwrap_or(0);
        *p += before - r.len();
        v
    };
    loop {
        if p >= d.len() {
            return false;
        }
        let kind = d[p];
        p += 1;
        let (low, high) = match kind {
            0 => return true, // DW_RLE_end_of_list
            5 => {
                // DW_RLE_base_address
                if asz > d.len() - p {
                    return false;
                }
                base = rd_addr(d, p);
                p += asz;
                continue;
            }
            7 => {
                // DW_RLE_start_length
                if asz > d.len() - p {
                    return false;
                }
                let l = rd_addr(d, p);
                p += asz;
                (l, l.wrapping_add(uleb(&mut p)))
            }
            4 => {
                // DW_RLE_offset_pair
                let a = uleb(&mut p);
                let b = uleb(&mut p);
                (base.wrapping_add(a), base.wrapping_add(b))
            }
            6 => {
                // DW_RLE_start_end
                if 2 * asz > d.len() - p {
                    return false;
                }
                let l = rd_addr(d, p);
                let h = rd_addr(d, p + asz);
                p += 2 * asz;
                (l, h)
            }
            _ => return false,
        };
        out.add(low, high);
    }
}

impl Stash {
    /// The unit search of `_bfd_dwarf2_find_nearest_line` for `addr`.
    pub fn find(&mut self, s: &Secs<'_>, addr: u64) -> Option<(u32, Option<u32>)> {
        let mut cands: Vec<u32> = Vec::new();
        let n = self.index.partition_point(|e| e.0 <= addr);
        let mut i = n;
        while i > 0 {
            i -= 1;
            let e = self.index[i];
            if e.3 <= addr {
                break;
            }
            if addr < e.1 {
                cands.push(e.2);
            }
        }
        cands.extend_from_slice(&self.no_ranges);
        let n = self.extra.partition_point(|e| e.0 <= addr);
        for e in self.extra[..n].iter().rev() {
            if addr - e.0 >= self.extra_max {
                break;
            }
            if addr < e.1 {
                cands.push(e.2);
            }
        }
        cands.sort_unstable();
        cands.dedup();
        for cu in cands {
            if !self.ensure_decoded(s, cu) {
                continue;
            }
            let d = self.units[cu as usize].decoded.as_ref().expect("decoded");
            let func = lookup_function(d, addr);
            let line_hit = d.lines.lookup(addr).is_some();
            if func.is_some() || line_hit {
                return Some((cu, func));
            }
        }
        None
    }

    pub fn line(&self, cu: u32, addr: u64) -> Option<(Option<&[u8]>, u32, u32)> {
        self.units[cu as usize].decoded.as_ref()?.lines.lookup(addr)
    }

    pub fn func(&self, cu: u32, f: u32) -> &Func {
        &self.units[cu as usize]
            .decoded
            .as_ref()
            .expect("decoded")
            .funcs[f as usize]
    }

    pub fn func_mut(&mut self, cu: u32, f: u32) -> &mut Func {
        &mut self.units[cu as usize]
            .decoded
            .as_mut()
            .expect("decoded")
            .funcs[f as usize]
    }

    /// `comp_unit_maybe_decode_line_info`.
    fn ensure_decoded(&mut self, s: &Secs<'_>, cu: u32) -> bool {
        let u = &mut self.units[cu as usize];
        if u.error {
            return false;
        }
        if u.lines.is_some() || u.decoded.is_some() {
            return true;
        }
        let Some(off) = u.stmt_list else {
            u.error = true;
            return false;
        };
        let mut seq_ranges = Vec::new();
        let strs = Self::strs(s, u);
        let Some(lt) = decode(
            s.line,
            off,
            u.addr_size,
            u.comp_dir.as_deref(),
            &strs,
            &mut seq_ranges,
        ) else {
            u.error = true;
            return false;
        };
        u.lines = Some(lt);
        let funcs = match self.scan(s, cu) {
            Some(f) => f,
            None => {
                let u = &mut self.units[cu as usize];
                u.error = true;
                return false;
            }
        };
        let mut gained = seq_ranges;
        for f in &funcs {
            gained.extend_from_slice(&f.ranges.0);
        }
        let u = &mut self.units[cu as usize];
        for (l, h) in gained {
            if l < h && !u.ranges.0.iter().any(|&(a, b)| a <= l && h <= b) {
                let at = self.extra.partition_point(|e| e.0 <= l);
                self.extra.insert(at, (l, h, cu));
                self.extra_max = self.extra_max.max(h - l);
            }
        }
        let lines = u.lines.take().expect("lines");
        let lookup = build_lookup(&funcs);
        u.decoded = Some(Decoded {
            lines,
            funcs,
            lookup,
        });
        true
    }

    fn header<'a>(s: &'a Secs<'_>, off: usize) -> Option<Header<'a>> {
        gimli::DebugInfo::new(s.info, LittleEndian)
            .header_from_offset(gimli::DebugInfoOffset(off))
            .ok()
    }

    fn concat(&self, cu: u32, file: u64) -> Box<[u8]> {
        let u = &self.units[cu as usize];
        let lt = u
            .lines
            .as_ref()
            .or(u.decoded.as_ref().map(|d| &d.lines))
            .expect("line table");
        lt.files.concat(file).into()
    }

    fn abbrevs_of(&mut self, s: &Secs<'_>, cu: u32) -> Option<Arc<gimli::Abbreviations>> {
        let off = self.units[cu as usize].abbrev_off;
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

    /// `scan_unit_for_symbols` (both passes in one walk).
    fn scan(&mut self, s: &Secs<'_>, cu: u32) -> Option<Vec<Func>> {
        let off = self.units[cu as usize].offset;
        let abbrevs = self.abbrevs_of(s, cu)?;
        let h = Self::header(s, off)?;
        let mut e = h.entries_raw(&abbrevs, None).ok()?;
        // Skip the root DIE.
        let root = e.read_abbreviation().ok()??;
        for spec in root.attributes() {
            e.read_attribute(*spec).ok()?;
        }
        if e.is_empty() {
            return Some(Vec::new());
        }
        let mut funcs: Vec<Func> = Vec::new();
        let mut nested: Vec<u32> = vec![NONE];
        let mut level: isize = 0;
        while level >= 0 {
            if e.is_empty() {
                return None;
            }
            let Ok(ab) = e.read_abbreviation() else {
                return None;
            };
            let Some(ab) = ab else {
                level -= 1;
                continue;
            };
            let tag = ab.tag();
            let is_func = tag == constants::DW_TAG_subprogram
                || tag == constants::DW_TAG_entry_point
                || tag == constants::DW_TAG_inlined_subroutine;
            let lv = level as usize;
            if nested.len() <= lv + 1 {
                nested.resize(lv + 2, NONE);
            }
            let fidx = if is_func {
                let inlined = tag == constants::DW_TAG_inlined_subroutine;
                let caller = if inlined {
                    nested[..lv]
                        .iter()
                        .rev()
                        .copied()
                        .find(|&f| f != NONE)
                        .unwrap_or(NONE)
                } else {
                    NONE
                };
                funcs.push(Func {
                    inlined,
                    caller,
                    caller_file: None,
                    caller_line: 0,
                    name: None,
                    is_linkage: false,
                    ranges: Aranges::default(),
                });
                let i = (funcs.len() - 1) as u32;
                nested[lv] = i;
                Some(i)
            } else {
                nested[lv] = NONE;
                None
            };
            let (mut low, mut high, mut rel) = (0u64, 0u64, false);
            for spec in ab.attributes() {
                let a = e.read_attribute(*spec).ok()?;
                let Some(fi) = fidx else { continue };
                let raw = a.raw_value();
                let v = {
                    let u = &self.units[cu as usize];
                    self.val(s, u, &raw)
                };
                match a.name() {
                    constants::DW_AT_call_file => {
                        if let Val::Int(x, _) = v {
                            funcs[fi as usize].caller_file = Some(self.concat(cu, x));
                        }
                    }
                    constants::DW_AT_call_line => {
                        if let Val::Int(x, _) = v {
                            funcs[fi as usize].caller_line = x as u32;
                        }
                    }
                    constants::DW_AT_abstract_origin | constants::DW_AT_specification => {
                        if let Val::Int(x, _) = v {
                            let f = &mut funcs[fi as usize];
                            let mut name = f.name.take();
                            let mut link = f.is_linkage;
                            let ok =
                                self.abstract_instance(s, cu, x, &raw, 0, &mut name, &mut link);
                            let f = &mut funcs[fi as usize];
                            f.name = name;
                            f.is_linkage = link;
                            if !ok {
                                return None;
                            }
                        }
                    }
                    constants::DW_AT_name => {
                        let f = &mut funcs[fi as usize];
                        if f.name.is_none() {
                            if let Val::Str(st) = v {
                                f.name = Some(st.unwrap_or(b"").into());
                                if plain_lang(self.units[cu as usize].lang) {
                                    f.is_linkage = true;
                                }
                            }
                        }
                    }
                    constants::DW_AT_linkage_name | constants::DW_AT_MIPS_linkage_name => {
                        if let Val::Str(st) = v {
                            let f = &mut funcs[fi as usize];
                            f.name = Some(st.unwrap_or(b"").into());
                            f.is_linkage = true;
                        }
                    }
                    constants::DW_AT_low_pc => {
                        if let Val::Int(x, _) = v {
                            low = x;
                        }
                    }
                    constants::DW_AT_high_pc => {
                        if let Val::Int(x, is_addr) = v {
                            high = x;
                            rel = !is_addr;
                        }
                    }
                    constants::DW_AT_ranges => {
                        if let Val::Int(x, _) = v {
                            let u = &self.units[cu as usize];
                            let f = &mut funcs[fi as usize];
                            if !read_rangelist(s, u, &mut f.ranges, x) {
                                return None;
                            }
                        }
                    }
                    _ => {}
                }
            }
            if ab.has_children() {
                level += 1;
                let lv = level as usize;
                if nested.len() <= lv {
                    nested.resize(lv + 1, NONE);
                }
                nested[lv] = NONE;
            }
            if rel {
                high = high.wrapping_add(low);
            }
            if let Some(fi) = fidx {
                if high != 0 {
                    funcs[fi as usize].ranges.add(low, high);
                }
            }
        }
        Some(funcs)
    }

    /// `find_abstract_instance`: follow a reference to the DIE that names a
    /// function. `false` = BFD reports an error (the scan fails).
    #[allow(clippy::too_many_arguments)]
    fn abstract_instance(
        &mut self,
        s: &Secs<'_>,
        cu: u32,
        die_ref: u64,
        raw: &AttributeValue<R<'_>>,
        depth: u32,
        name: &mut Option<Box<[u8]>>,
        is_linkage: &mut bool,
    ) -> bool {
        if depth == 100 {
            return false;
        }
        let (target_cu, unit_off) = match raw {
            AttributeValue::DebugInfoRef(_) => {
                if die_ref == 0 {
                    return true;
                }
                if die_ref >= s.info.len() as u64 {
                    return false;
                }
                let d = die_ref as usize;
                let k = self.units.partition_point(|u| u.offset <= d);
                if k == 0 {
                    return false;
                }
                let t = (k - 1) as u32;
                let Some(h) = Self::header(s, self.units[t as usize].offset) else {
                    return false;
                };
                let end = self.units[t as usize].offset + h.length_including_self();
                if d >= end {
                    return false;
                }
                (t, d - self.units[t as usize].offset)
            }
            AttributeValue::DebugInfoRefSup(_) => return false,
            _ => {
                let u = &self.units[cu as usize];
                let Some(h) = Self::header(s, u.offset) else {
                    return false;
                };
                if die_ref == 0 || die_ref >= h.length_including_self() as u64 {
                    return false;
                }
                (cu, die_ref as usize)
            }
        };
        let toff = self.units[target_cu as usize].offset;
        let Some(abbrevs) = self.abbrevs_of(s, target_cu) else {
            return false;
        };
        let Some(h) = Self::header(s, toff) else {
            return false;
        };
        let Ok(mut e) = h.entries_raw(&abbrevs, Some(gimli::UnitOffset(unit_off))) else {
            return false;
        };
        let ab = match e.read_abbreviation() {
            Ok(Some(ab)) => ab,
            Ok(None) => return true,
            Err(_) => return false,
        };
        for spec in ab.attributes() {
            let Ok(a) = e.read_attribute(*spec) else {
                break;
            };
            let raw = a.raw_value();
            let v = {
                let u = &self.units[target_cu as usize];
                self.val(s, u, &raw)
            };
            match a.name() {
                constants::DW_AT_name if name.is_none() => {
                    if let Val::Str(st) = v {
                        *name = Some(st.unwrap_or(b"").into());
                        if plain_lang(self.units[target_cu as usize].lang) {
                            *is_linkage = true;
                        }
                    }
                }
                constants::DW_AT_specification => {
                    if let Val::Int(x, _) = v {
                        if !self.abstract_instance(
                            s,
                            target_cu,
                            x,
                            &raw,
                            depth + 1,
                            name,
                            is_linkage,
                        ) {
                            return false;
                        }
                    }
                }
                constants::DW_AT_linkage_name | constants::DW_AT_MIPS_linkage_name => {
                    if let Val::Str(st) = v {
                        *name = Some(st.unwrap_or(b"").into());
                        *is_linkage = true;
                    }
                }
                constants::DW_AT_decl_file => {
                    // BFD decodes the referenced unit's line table (and
                    // scans it) here; a failure is an error.
                    if target_cu != cu && !self.ensure_decoded(s, target_cu) {
                        return false;
                    }
                    if target_cu == cu && self.units[cu as usize].error {
                        return false;
                    }
                }
                _ => {}
            }
        }
        true
    }
}

/// The tag and attribute specifications of abbreviation `code` in the
/// table at `off`, read straight from `.debug_abbrev`.
fn root_abbrev(
    abbrev: &[u8],
    off: usize,
    code: u64,
) -> Option<(u16, Vec<gimli::AttributeSpecification>)> {
    let mut r = gimli::EndianSlice::new(abbrev.get(off..)?, LittleEndian);
    use gimli::Reader;
    loop {
        let c = r.read_uleb128().ok()?;
        if c == 0 {
            return None;
        }
        let tag = r.read_uleb128().ok()?;
        r.read_u8().ok()?;
        let mut specs = Vec::new();
        loop {
            let name = r.read_uleb128().ok()?;
            let form = r.read_uleb128().ok()?;
            if name == 0 && form == 0 {
                break;
            }
            let imp = if form == 0x21 {
                Some(r.read_sleb128().ok()?)
            } else {
                None
            };
            if c == code {
                specs.push(gimli::AttributeSpecification::new(
                    gimli::DwAt(u16::try_from(name).ok()?),
                    gimli::DwForm(u16::try_from(form).ok()?),
                    imp,
                ));
            }
        }
        if c == code {
            return Some((u16::try_from(tag).ok()?, specs));
        }
    }
}

/// `build_lookup_funcinfo_table`.
fn build_lookup(funcs: &[Func]) -> Vec<(u64, u64, u32)> {
    let mut v: Vec<(u64, u64, u32)> = funcs
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (mut lo, mut hi) = f.ranges.0.first().copied().unwrap_or((0, 0));
            for &(l, h) in f.ranges.0.iter().skip(1) {
                lo = lo.min(l);
                hi = hi.max(h);
            }
            (lo, hi, i as u32)
        })
        .collect();
    v.sort_unstable();
    let mut mx = 0;
    for (k, e) in v.iter_mut().enumerate() {
        if k == 0 || e.1 > mx {
            mx = e.1;
        } else {
            e.1 = mx;
        }
    }
    v
}

/// `lookup_address_in_function_table`: the smallest containing range,
/// the later DIE on a tie.
fn lookup_function(d: &Decoded, addr: u64) -> Option<u32> {
    let t = &d.lookup;
    if t.is_empty() || t[t.len() - 1].1 < addr {
        return None;
    }
    let (mut low, mut high) = (0usize, t.len());
    let mut first = t.len();
    while low < high {
        let mid = (low + high) / 2;
        if addr < t[mid].0 {
            high = mid;
        } else if addr >= t[mid].1 {
            low = mid + 1;
        } else {
            high = mid;
            first = mid;
        }
    }
    let mut best: Option<u32> = None;
    let mut best_len = u64::MAX;
    while first < t.len() {
        if addr < t[first].0 {
            break;
        }
        let fi = t[first].2;
        for &(l, h) in &d.funcs[fi as usize].ranges.0 {
            if addr < l || addr >= h {
                continue;
            }
            let len = h.wrapping_sub(l);
            if len < best_len || (len == best_len && best.is_some_and(|b| fi > b)) {
                best = Some(fi);
                best_len = len;
            }
        }
        first += 1;
    }
    best
}
