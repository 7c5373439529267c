//! A unit's function table, restated from binutils 2.40 bfd/dwarf2.c:
//! the DIE walk of `scan_unit_for_symbols` (DW_TAG_subprogram /
//! entry_point / inlined_subroutine DIEs, their ranges, call sites and the
//! enclosing function each inlined one is called from),
//! `find_abstract_instance` for the names BFD gives them,
//! `build_lookup_funcinfo_table` and `lookup_address_in_function_table`.
//! The unit list and search around it live in `unit.rs`, which hands the
//! scan itself as a [`UnitList`]: BFD decodes a referenced unit in the
//! middle of another unit's scan, and this file reaches the other units
//! only through that trait (so `unit.rs` depends on this file, never the
//! reverse).

use std::sync::Arc;

use super::lines::R;
use super::sections::{read_rangelist, unit_header, Aranges, RangeListEncoding, Secs, Val};
use gimli::{constants, AttributeValue, DwLang};

/// The name `find_abstract_instance` gives a function, whether it is a
/// linkage name, and whether finding it followed a reference into another
/// unit.
pub(super) type OriginName = (Option<Arc<[u8]>>, bool, bool);

/// What the DIE scan needs of the unit list.
pub(super) trait UnitList {
    /// The `.debug_info` offset of unit `cu`'s header.
    fn unit_offset(&self, cu: u32) -> usize;
    /// The last unit whose header starts at or before `offset`.
    fn unit_at(&self, offset: usize) -> Option<u32>;
    /// Unit `cu`'s abbreviation table.
    fn abbrevs_of(&mut self, s: &Secs<'_>, cu: u32) -> Option<Arc<gimli::Abbreviations>>;
    /// An attribute value of a DIE of unit `cu`.
    fn value<'a>(&self, s: &'a Secs<'_>, cu: u32, a: &AttributeValue<R<'a>>) -> Val<'a>;
    /// File `file` of unit `cu`'s line table (read before its DIE scan),
    /// built once per (unit, file) and shared by the functions naming it.
    fn file_name(&mut self, cu: u32, file: u64) -> Option<Arc<[u8]>>;
    /// A name read from the debug sections, one copy per place in them
    /// (many inlined instances name the same abstract function).
    fn shared_name(&mut self, name: &[u8]) -> Arc<[u8]>;
    /// Unit `cu`'s DW_AT_language.
    fn lang(&self, cu: u32) -> u64;
    fn range_list_encoding(&self, cu: u32) -> RangeListEncoding;
    /// `comp_unit_maybe_decode_line_info` for unit `cu` (which scans it).
    fn ensure_decoded(&mut self, s: &Secs<'_>, cu: u32) -> bool;
    /// Whether unit `cu`'s line table or DIE scan failed.
    fn failed(&self, cu: u32) -> bool;
    /// The name and linkage flag `abstract_instance` found from nothing
    /// for the DIE at `.debug_info` offset `die`, if it ran for it before.
    fn origin(&self, die: usize) -> Option<OriginName>;
    fn remember_origin(&mut self, die: usize, origin: OriginName);
    /// How many references into another unit were followed so far.
    fn crossings(&self) -> u64;
    /// Counts a reference followed into another unit.
    fn cross(&mut self);
}

pub struct Func {
    pub inlined: bool,
    pub caller: u32,
    pub caller_file: Option<Arc<[u8]>>,
    pub caller_line: u32,
    pub name: Option<Arc<[u8]>>,
    pub is_linkage: bool,
    pub ranges: Aranges,
}

pub const NONE: u32 = u32::MAX;

/// Languages gimli has no constant for (bfd's include/dwarf2.h values).
const DW_LANG_UPC_OLD: DwLang = DwLang(0x8765);
const DW_LANG_HP_BASIC91: DwLang = DwLang(0x8101);
const DW_LANG_HP_IMACRO: DwLang = DwLang(0x8105);
const DW_LANG_HP_ASSEMBLER: DwLang = DwLang(0x8106);

/// `mangle_style(lang) == 0`: languages whose DW_AT_name is the symbol.
/// (DW_LANG_PLI is 0x000f; this list read 0x000a, DW_LANG_Modula2, before
/// the numbers became gimli's constants.)
fn plain_lang(lang: u64) -> bool {
    let Ok(lang) = u16::try_from(lang) else {
        return false;
    };
    matches!(
        DwLang(lang),
        constants::DW_LANG_C89
            | constants::DW_LANG_C
            | constants::DW_LANG_Cobol74
            | constants::DW_LANG_Cobol85
            | constants::DW_LANG_Fortran77
            | constants::DW_LANG_Pascal83
            | constants::DW_LANG_PLI
            | constants::DW_LANG_C99
            | constants::DW_LANG_UPC
            | constants::DW_LANG_C11
            | constants::DW_LANG_Mips_Assembler
            | DW_LANG_UPC_OLD
            | DW_LANG_HP_BASIC91
            | DW_LANG_HP_IMACRO
            | DW_LANG_HP_ASSEMBLER
    )
}

/// `scan_unit_for_symbols` (both passes in one walk).
pub(super) fn scan_unit(units: &mut impl UnitList, s: &Secs<'_>, cu: u32) -> Option<Vec<Func>> {
    let off = units.unit_offset(cu);
    let abbrevs = units.abbrevs_of(s, cu)?;
    let h = unit_header(s, off)?;
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
                enclosing_function(&nested[..lv])
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
        let mut pc = PcAttrs::default();
        match fidx {
            // Other DIEs are only walked over: their attributes are
            // skipped by size (the forms that fail to read fail here too).
            None => e.skip_attributes(ab.attributes()).ok()?,
            Some(fi) => {
                for spec in ab.attributes() {
                    let a = e.read_attribute(*spec).ok()?;
                    read_func_attr(units, s, cu, &a, &mut funcs[fi as usize], &mut pc)?;
                }
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
        if let Some(fi) = fidx {
            let (low, high) = pc.range();
            if high != 0 {
                funcs[fi as usize].ranges.add(low, high);
            }
        }
    }
    Some(funcs)
}

/// The innermost function DIE enclosing an inlined one (its caller).
fn enclosing_function(outer: &[u32]) -> u32 {
    outer
        .iter()
        .rev()
        .copied()
        .find(|&f| f != NONE)
        .unwrap_or(NONE)
}

/// A function DIE's DW_AT_low_pc / DW_AT_high_pc.
#[derive(Default)]
struct PcAttrs {
    low: u64,
    high: u64,
    /// DW_AT_high_pc is an offset from DW_AT_low_pc (a constant form).
    relative: bool,
}

impl PcAttrs {
    fn range(&self) -> (u64, u64) {
        let high = if self.relative {
            self.high.wrapping_add(self.low)
        } else {
            self.high
        };
        (self.low, high)
    }
}

/// One attribute of a function DIE in `scan_unit_for_symbols`: its call
/// site, name (following abstract origins) or ranges. `None` = the scan
/// fails.
fn read_func_attr(
    units: &mut impl UnitList,
    s: &Secs<'_>,
    cu: u32,
    a: &gimli::Attribute<R<'_>>,
    f: &mut Func,
    pc: &mut PcAttrs,
) -> Option<()> {
    let raw = a.raw_value();
    // The value only where the attribute is used (a string form's value
    // is found by scanning for its end).
    macro_rules! v {
        () => {
            units.value(s, cu, &raw)
        };
    }
    match a.name() {
        constants::DW_AT_call_file => {
            if let Val::Int(x, _) = v!() {
                f.caller_file = units.file_name(cu, x);
            }
        }
        constants::DW_AT_call_line => {
            if let Val::Int(x, _) = v!() {
                f.caller_line = x as u32;
            }
        }
        constants::DW_AT_abstract_origin | constants::DW_AT_specification => {
            if let Val::Int(x, _) = v!() {
                let ok =
                    abstract_instance(units, s, cu, x, &raw, 0, &mut f.name, &mut f.is_linkage);
                if !ok {
                    return None;
                }
            }
        }
        constants::DW_AT_name if f.name.is_none() => {
            if let Val::Str(st) = v!() {
                f.name = Some(units.shared_name(st.unwrap_or(b"")));
                if plain_lang(units.lang(cu)) {
                    f.is_linkage = true;
                }
            }
        }
        constants::DW_AT_linkage_name | constants::DW_AT_MIPS_linkage_name => {
            if let Val::Str(st) = v!() {
                f.name = Some(units.shared_name(st.unwrap_or(b"")));
                f.is_linkage = true;
            }
        }
        constants::DW_AT_low_pc => {
            if let Val::Int(x, _) = v!() {
                pc.low = x;
            }
        }
        constants::DW_AT_high_pc => {
            if let Val::Int(x, is_addr) = v!() {
                pc.high = x;
                pc.relative = !is_addr;
            }
        }
        constants::DW_AT_ranges => {
            if let Val::Int(x, _) = v!() {
                read_rangelist(s, units.range_list_encoding(cu), &mut f.ranges, x)?;
            }
        }
        _ => {}
    }
    Some(())
}

/// `find_abstract_instance`: follow a reference to the DIE that names a
/// function. `false` = BFD reports an error (the scan fails).
#[allow(clippy::too_many_arguments)]
fn abstract_instance(
    units: &mut impl UnitList,
    s: &Secs<'_>,
    cu: u32,
    die_ref: u64,
    raw: &AttributeValue<R<'_>>,
    depth: u32,
    name: &mut Option<Arc<[u8]>>,
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
            let Some(t) = units.unit_at(d) else {
                return false;
            };
            let start = units.unit_offset(t);
            let Some(h) = unit_header(s, start) else {
                return false;
            };
            if d >= start + h.length_including_self() {
                return false;
            }
            (t, d - start)
        }
        AttributeValue::DebugInfoRefSup(_) => return false,
        _ => {
            let Some(h) = unit_header(s, units.unit_offset(cu)) else {
                return false;
            };
            if die_ref == 0 || die_ref >= h.length_including_self() as u64 {
                return false;
            }
            (cu, die_ref as usize)
        }
    };
    if target_cu != cu {
        units.cross();
    }
    let toff = units.unit_offset(target_cu);
    // The name a valid reference leads to, from nothing, is the same at
    // every reference to the DIE: the units it decodes on the way stay
    // decoded (the unit list forgets every answer when one fails). Many
    // inlined instances name one abstract function.
    let remembered = (depth == 0 && name.is_none()).then_some(toff + unit_off);
    if let Some(die) = remembered {
        if let Some((n, linkage, crossed)) = units.origin(die) {
            *name = n;
            *is_linkage = linkage;
            if crossed {
                units.cross();
            }
            return true;
        }
    }
    let crossings = units.crossings();
    let Some(abbrevs) = units.abbrevs_of(s, target_cu) else {
        return false;
    };
    let Some(h) = unit_header(s, toff) else {
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
        macro_rules! v {
            () => {
                units.value(s, target_cu, &raw)
            };
        }
        match a.name() {
            constants::DW_AT_name if name.is_none() => {
                if let Val::Str(st) = v!() {
                    *name = Some(units.shared_name(st.unwrap_or(b"")));
                    if plain_lang(units.lang(target_cu)) {
                        *is_linkage = true;
                    }
                }
            }
            constants::DW_AT_specification => {
                if let Val::Int(x, _) = v!() {
                    if !abstract_instance(units, s, target_cu, x, &raw, depth + 1, name, is_linkage)
                    {
                        return false;
                    }
                }
            }
            constants::DW_AT_linkage_name | constants::DW_AT_MIPS_linkage_name => {
                if let Val::Str(st) = v!() {
                    *name = Some(units.shared_name(st.unwrap_or(b"")));
                    *is_linkage = true;
                }
            }
            constants::DW_AT_decl_file => {
                // BFD decodes the referenced unit's line table (and
                // scans it) here; a failure is an error.
                if target_cu != cu && !units.ensure_decoded(s, target_cu) {
                    return false;
                }
                if target_cu == cu && units.failed(cu) {
                    return false;
                }
            }
            _ => {}
        }
    }
    if let Some(die) = remembered {
        let crossed = units.crossings() != crossings;
        units.remember_origin(die, (name.clone(), *is_linkage, crossed));
    }
    true
}

/// One function in the lookup table of `build_lookup_funcinfo_table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FuncSpan {
    /// The lowest address of the function's ranges.
    pub(super) low: u64,
    /// The highest end of this and every earlier entry's ranges (the
    /// function's own highest end before the watermark is taken).
    pub(super) max_high: u64,
    /// Index of the function in its unit's table.
    pub(super) func: u32,
}

/// `build_lookup_funcinfo_table`: entries sorted by (low, high, index).
pub(super) fn build_lookup(funcs: &[Func]) -> Vec<FuncSpan> {
    let mut v: Vec<FuncSpan> = funcs
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (mut lo, mut hi) = f.ranges.list().first().copied().unwrap_or((0, 0));
            for &(l, h) in f.ranges.list().iter().skip(1) {
                lo = lo.min(l);
                hi = hi.max(h);
            }
            FuncSpan {
                low: lo,
                max_high: hi,
                func: i as u32,
            }
        })
        .collect();
    // (low, high, index) order; `v` is in index order, so a stable sort by
    // (low, high) gives it, and finds the runs DIE order leaves.
    v.sort_by_key(|e| (u128::from(e.low) << 64) | u128::from(e.max_high));
    let mut mx = 0;
    for (k, e) in v.iter_mut().enumerate() {
        if k == 0 || e.max_high > mx {
            mx = e.max_high;
        } else {
            e.max_high = mx;
        }
    }
    v
}

/// `lookup_address_in_function_table`: the smallest containing range,
/// the later DIE on a tie.
pub(super) fn lookup_function(funcs: &[Func], t: &[FuncSpan], addr: u64) -> Option<u32> {
    if t.is_empty() || t[t.len() - 1].max_high < addr {
        return None;
    }
    let (mut low, mut high) = (0usize, t.len());
    let mut first = t.len();
    while low < high {
        let mid = (low + high) / 2;
        if addr < t[mid].low {
            high = mid;
        } else if addr >= t[mid].max_high {
            low = mid + 1;
        } else {
            high = mid;
            first = mid;
        }
    }
    let mut best: Option<u32> = None;
    let mut best_len = u64::MAX;
    while first < t.len() {
        if addr < t[first].low {
            break;
        }
        let fi = t[first].func;
        for &(l, h) in funcs[fi as usize].ranges.list() {
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
