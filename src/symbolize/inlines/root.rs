//! A unit's root DIE as binutils 2.40 `parse_comp_unit` (bfd/dwarf2.c)
//! reads it: what the unit list (`unit.rs`) keeps of every unit before it
//! is decoded, and what the persistent cache (`unit_cache.rs`) stores of
//! the list.

use super::sections::{Aranges, RangeListEncoding};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnitRoot {
    pub(super) offset: usize,
    pub(super) version: u16,
    pub(super) addr_size: u8,
    pub(super) offset_size: u8,
    pub(super) abbrev_off: usize,
    pub(super) lang: u64,
    pub(super) comp_dir: Option<Box<[u8]>>,
    pub(super) stmt_list: Option<u64>,
    pub(super) base_address: u64,
    pub(super) str_offsets_base: u64,
    pub(super) addr_base: u64,
    pub(super) ranges: Aranges,
}

impl UnitRoot {
    pub(super) fn range_list_encoding(&self) -> RangeListEncoding {
        RangeListEncoding {
            version: self.version,
            addr_size: self.addr_size,
            base_address: self.base_address,
        }
    }
}
