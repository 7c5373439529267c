//! The unwind tables of one DSO file, read once per run and shared by every
//! process that maps it.
//!
//! perf's libunwind glue (util/unwind-libunwind-local.c) reads them from the
//! DSO's *data* file (`dso__data_get_fd`: build-id cache copy, then the
//! recorded path): `.eh_frame_hdr` (with `.eh_frame`), else `.debug_frame`
//! from that file, the symbol source file, or the `.gnu_debuglink` target.
//! The `.debug_frame` search is compiled out of Debian's x86_64 perf
//! (NO_LIBUNWIND_DEBUG_FRAME), so only the arm64 stepper uses it.
//! Addresses are placed with perf's `elf_base_address`: the first PT_LOAD's
//! `p_vaddr`, page-aligned.

use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use crate::objfile::elf::{Elf, PT_LOAD};
use crate::objfile::fs::map_file;

/// perf aligns the first PT_LOAD's address down to the page size of the
/// machine it runs on; recordings here come from 4 KiB-page machines.
const PAGE_SIZE: u64 = 4096;

/// A byte range of a memory-mapped file, cheap to clone (framehop's module
/// data type).
#[derive(Clone)]
pub struct MappedBytes {
    file: Arc<Mmap>,
    range: Range<usize>,
}

impl Deref for MappedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.file[self.range.clone()]
    }
}

/// A section of the data file: where it is loaded (SVMA range) and its bytes.
pub struct LoadedSection {
    pub svma: Range<u64>,
    pub bytes: MappedBytes,
}

/// Where a DSO's unwind tables are and the file bytes themselves.
pub struct UnwindFile {
    /// The data file, for perf's `access_dso_mem` reads outside the stack.
    pub data: Arc<Mmap>,
    /// `elf_base_address`: the first PT_LOAD's page-aligned `p_vaddr`.
    pub elf_base: u64,
    pub eh_frame_hdr: Option<LoadedSection>,
    pub eh_frame: Option<LoadedSection>,
    pub debug_frame: Option<MappedBytes>,
    pub text: Option<Range<u64>>,
    /// The `.eh_frame_hdr` search table decoded on first use (`cfi.rs`):
    /// `None` inside where it cannot be (gimli then searches the section).
    pub(super) hdr_table: std::sync::OnceLock<Option<HdrTable>>,
}

/// The `.eh_frame_hdr` search table, decoded once per file (`cfi.rs`
/// decodes and searches it).
pub struct HdrTable {
    /// (initial location, FDE address) per entry, in the table's order.
    pub(super) entries: Vec<(u64, u64)>,
    /// The address `.eh_frame` starts at (the header's `eh_frame_ptr`).
    pub(super) eh_frame: u64,
}

fn section(file: &Arc<Mmap>, elf: &Elf, name: &str) -> Option<LoadedSection> {
    let (_, sh) = elf.section_by_name(name)?;
    let data = elf.section_data(&sh)?;
    let start = data.as_ptr() as usize - file.as_ptr() as usize;
    Some(LoadedSection {
        svma: sh.addr..sh.addr.wrapping_add(sh.size),
        bytes: MappedBytes {
            file: file.clone(),
            range: start..start + data.len(),
        },
    })
}

/// `.debug_frame` of another file (symbol source or debuglink target).
fn debug_frame_of(path: &Path) -> Option<MappedBytes> {
    let map = Arc::new(map_file(path)?);
    let elf = Elf::parse(&map)?;
    section(&map, &elf, ".debug_frame").map(|s| s.bytes)
}

impl UnwindFile {
    /// Reads the tables of `data_path`; `extra` are the files perf looks in
    /// for `.debug_frame` when the data file has none.
    pub fn load(data_path: &Path, extra: &[&Path]) -> Option<UnwindFile> {
        let data = Arc::new(map_file(data_path)?);
        let elf = Elf::parse(&data)?;
        let elf_base = elf
            .phdrs
            .iter()
            .find(|p| p.p_type == PT_LOAD)
            .map_or(0, |p| p.vaddr & !(PAGE_SIZE - 1));
        let eh_frame_hdr = section(&data, &elf, ".eh_frame_hdr");
        let eh_frame = section(&data, &elf, ".eh_frame");
        let mut debug_frame = section(&data, &elf, ".debug_frame").map(|s| s.bytes);
        if eh_frame_hdr.is_none() && debug_frame.is_none() {
            debug_frame = extra.iter().find_map(|p| debug_frame_of(p));
        }
        let text = elf
            .section_by_name(".text")
            .map(|(_, s)| s.addr..s.addr.wrapping_add(s.size));
        Some(UnwindFile {
            elf_base,
            eh_frame_hdr,
            eh_frame,
            debug_frame,
            text,
            data,
            hdr_table: std::sync::OnceLock::new(),
        })
    }

    /// `.eh_frame_hdr` and `.eh_frame`: what `read_unwind_spec_eh_frame`
    /// needs.
    pub fn has_eh_frame_table(&self) -> bool {
        self.eh_frame_hdr.is_some() && self.eh_frame.is_some()
    }

    /// Whether perf's `find_proc_info` finds any table in this file (with
    /// `.debug_frame` where its libunwind searches one).
    pub fn has_tables(&self) -> bool {
        (self.eh_frame_hdr.is_some() && self.eh_frame.is_some()) || self.debug_frame.is_some()
    }

    /// The framehop description of this file's sections (all addresses are
    /// SVMAs; the module's base SVMA is 0).
    pub fn section_info(&self) -> framehop::ExplicitModuleSectionInfo<MappedBytes> {
        let use_hdr = self.eh_frame_hdr.is_some() && self.eh_frame.is_some();
        framehop::ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: self.text.clone(),
            eh_frame_svma: self.eh_frame.as_ref().map(|e| e.svma.clone()),
            eh_frame: if use_hdr {
                self.eh_frame.as_ref().map(|e| e.bytes.clone())
            } else {
                None
            },
            eh_frame_hdr_svma: self.eh_frame_hdr.as_ref().map(|e| e.svma.clone()),
            eh_frame_hdr: if use_hdr {
                self.eh_frame_hdr.as_ref().map(|e| e.bytes.clone())
            } else {
                None
            },
            debug_frame: if use_hdr {
                None
            } else {
                self.debug_frame.clone()
            },
            stubs_svma: None,
            stub_helper_svma: None,
            got_svma: None,
            unwind_info: None,
            text: None,
            text_segment_svma: None,
            text_segment: None,
        }
    }
}
