//! The debug sections behind the DWARF reader (`unit.rs`) and the
//! low-level readers over them, restated from binutils 2.40 bfd/dwarf2.c:
//! loading (and inflating) the sections once per file, BFD's
//! `struct arange` list, `read_rangelist` (`.debug_ranges` /
//! `.debug_rnglists`) and the abbreviation lookup `parse_comp_unit` does
//! for a unit's root DIE. Uses nothing of the units but the
//! [`RangeListEncoding`] they pass in.

use super::lines::R;
use super::object::{Contents, ObjFile};
use gimli::{constants, LittleEndian};

/// A debug section: a range of the mapped file, an inflated copy, or an
/// inflated copy mapped from the persistent cache.
enum Data {
    Range(usize, usize),
    Owned(Vec<u8>),
    Mapped(crate::cache::Mapped),
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
        let conv = |c: Contents<'_>| match c {
            Contents::Borrowed(b) => Data::Range(b.as_ptr() as usize - base, b.len()),
            Contents::Owned(v) => Data::Owned(v),
            Contents::Mapped(m) => Data::Mapped(m),
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
        // Raw sections and cache hits are taken here; compressed sections
        // (Debian's debug files) not in the cache are inflated in parallel:
        // the first lookup in libc waits for all of them.
        let mut d: [Option<Data>; 9] = Default::default();
        let mut to_inflate = Vec::new();
        for (k, i) in idx.iter().enumerate().filter_map(|(k, i)| i.map(|i| (k, i))) {
            match obj.contents_at_hand(i) {
                Ok(found) => d[k] = found.map(conv),
                Err(key) => to_inflate.push((k, i, key)),
            }
        }
        std::thread::scope(|sc| {
            let jobs: Vec<_> = to_inflate
                .iter()
                .map(|(k, i, key)| (*k, sc.spawn(move || obj.inflate_and_store(*i, key.as_deref()))))
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
                Data::Mapped(m) => Some(m.bytes()),
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

/// A file's debug sections, loaded ([`SecStore::load`]) on first use: a
/// run whose units all come from the persistent cache neither maps nor
/// checksums them (libc's: 11 MB inflated).
pub struct LazySecs<'a> {
    pub obj: &'a ObjFile,
    pub info_idx: usize,
    pub store: &'a std::cell::OnceCell<Option<SecStore>>,
}

impl<'a> LazySecs<'a> {
    /// The sections, loaded now if not yet; none if they cannot be read.
    pub fn get(&self) -> Secs<'a> {
        let store = self
            .store
            .get_or_init(|| SecStore::load(self.obj, self.info_idx));
        store.as_ref().map(|st| st.view(self.obj)).unwrap_or_default()
    }
}

/// A view of the debug sections.
#[derive(Clone, Copy, Default)]
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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Aranges {
    /// (low, high) pairs, the head first; most functions have one range,
    /// kept in place (a unit's scan makes one of these per function DIE).
    list: smallvec::SmallVec<[(u64, u64); 1]>,
}

impl Aranges {
    pub(super) fn add(&mut self, low: u64, high: u64) {
        if low == high {
            return;
        }
        if self.list.first().is_none_or(|h| h.1 == 0) {
            if self.list.is_empty() {
                self.list.push((low, high));
            } else {
                self.list[0] = (low, high);
            }
            return;
        }
        for r in self.list.iter_mut() {
            if low == r.1 {
                r.1 = high;
                return;
            }
            if high == r.0 {
                r.0 = low;
                return;
            }
        }
        self.list.insert(1, (low, high));
    }
    /// Ranges as [`Aranges::list`] gave them.
    pub(super) fn from_list(list: &[(u64, u64)]) -> Aranges {
        Aranges {
            list: list.into(),
        }
    }
    /// The (low, high) ranges, the head first.
    pub(super) fn list(&self) -> &[(u64, u64)] {
        &self.list
    }
    pub fn head_low(&self) -> u64 {
        self.list.first().map_or(0, |r| r.0)
    }
    pub(super) fn has_any(&self) -> bool {
        self.list.first().is_some_and(|h| h.1 != 0)
    }
}

/// What [`read_rangelist`] needs to know of the unit a range list belongs to.
#[derive(Clone, Copy)]
pub(super) struct RangeListEncoding {
    pub(super) version: u16,
    pub(super) addr_size: u8,
    /// The unit's DW_AT_low_pc (the list's initial base address).
    pub(super) base_address: u64,
}

/// `read_rangelist`: DWARF 2-4 `.debug_ranges`, DWARF 5 `.debug_rnglists`
/// (the index forms BFD does not support make it fail), for a unit with
/// this encoding. `None` when BFD reports an error.
pub(super) fn read_rangelist(
    s: &Secs<'_>,
    unit: RangeListEncoding,
    out: &mut Aranges,
    offset: u64,
) -> Option<()> {
    let asz = usize::from(unit.addr_size);
    let rd_addr = |d: &[u8], p: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..asz].copy_from_slice(&d[p..p + asz]);
        u64::from_le_bytes(x)
    };
    let mut base = unit.base_address;
    if unit.version <= 4 {
        let d = s.ranges?;
        let mut p = usize::try_from(offset).ok()?;
        if p > d.len() {
            return None;
        }
        // BFD compares with -1UL: only an all-ones 64-bit address selects
        // a base address.
        let all_ones = u64::MAX;
        loop {
            if 2 * asz > d.len() - p {
                return None;
            }
            let low = rd_addr(d, p);
            let high = rd_addr(d, p + asz);
            p += 2 * asz;
            if low == 0 && high == 0 {
                return Some(());
            }
            if low == all_ones && high != all_ones {
                base = high;
            } else {
                out.add(base.wrapping_add(low), base.wrapping_add(high));
            }
        }
    }
    let d = s.rnglists?;
    let mut p = usize::try_from(offset).ok()?;
    let uleb = |p: &mut usize| -> u64 {
        let mut r = gimli::EndianSlice::new(d.get(*p..).unwrap_or(&[]), LittleEndian);
        let before = r.len();
        let v = gimli::Reader::read_uleb128(&mut r).unwrap_or(0);
        *p += before - r.len();
        v
    };
    loop {
        if p >= d.len() {
            return None;
        }
        let kind = d[p];
        p += 1;
        let (low, high) = match gimli::DwRle(kind) {
            constants::DW_RLE_end_of_list => return Some(()),
            constants::DW_RLE_base_address => {
                if asz > d.len() - p {
                    return None;
                }
                base = rd_addr(d, p);
                p += asz;
                continue;
            }
            constants::DW_RLE_start_length => {
                if asz > d.len() - p {
                    return None;
                }
                let l = rd_addr(d, p);
                p += asz;
                (l, l.wrapping_add(uleb(&mut p)))
            }
            constants::DW_RLE_offset_pair => {
                let a = uleb(&mut p);
                let b = uleb(&mut p);
                (base.wrapping_add(a), base.wrapping_add(b))
            }
            constants::DW_RLE_start_end => {
                if 2 * asz > d.len() - p {
                    return None;
                }
                let l = rd_addr(d, p);
                let h = rd_addr(d, p + asz);
                p += 2 * asz;
                (l, h)
            }
            _ => return None,
        };
        out.add(low, high);
    }
}

/// The tag and attribute specifications of abbreviation `code` in the
/// table at `off`, read straight from `.debug_abbrev`.
pub(super) fn root_abbrev(
    abbrev: &[u8],
    off: usize,
    code: u64,
) -> Option<(gimli::DwTag, Vec<gimli::AttributeSpecification>)> {
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
            let imp = if form == u64::from(gimli::DW_FORM_implicit_const.0) {
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
            return Some((gimli::DwTag(u16::try_from(tag).ok()?), specs));
        }
    }
}

/// An attribute value as BFD's `struct attribute` sees it: an integer
/// (and whether its form is an address), a string, or neither.
pub(super) enum Val<'a> {
    Int(u64, bool),
    Str(Option<&'a [u8]>),
    Other,
}

/// The header of the unit at `.debug_info` offset `off`.
pub(super) fn unit_header<'a>(s: &'a Secs<'_>, off: usize) -> Option<gimli::UnitHeader<R<'a>>> {
    gimli::DebugInfo::new(s.info, LittleEndian)
        .header_from_offset(gimli::DebugInfoOffset(off))
        .ok()
}
