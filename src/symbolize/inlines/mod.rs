//! Inline frames as perf 6.1 gets them: perf (built without libbfd) runs
//! `addr2line -e FILE -i -f` (binutils 2.40 on Debian bookworm) and turns
//! every record it prints for an address into an inline-list entry
//! (tools/perf/util/srcline.c `addr2line`, `read_addr2line_record`). This
//! module computes those records in-process.
//!
//! What `addr2line -i -f` does for an address, restated from binutils
//! 2.40 (binutils/addr2line.c `translate_addresses`, bfd/elf.c
//! `_bfd_elf_find_nearest_line`, bfd/dwarf2.c), and reproduced here:
//! 1. The first allocated section (section-header order) containing the
//!    address is used; none → `??` / `??:0` (perf: no inline frames).
//! 2. DWARF comes from the file itself, or else from the build-id or
//!    `.gnu_debuglink` debug file (`debugfile.rs`). The unit search
//!    (`unit.rs`, `function.rs`, `sections.rs`, `lines.rs`) gives the
//!    innermost function and the line row.
//! 3. The function name: a "linkage" name (DW_AT_linkage_name, or
//!    DW_AT_name in C-like languages) is printed as is. Otherwise the ELF
//!    symbol `_bfd_elf_find_function` picks is printed (from the debug
//!    file's `.symtab` when the DWARF is there and the sections line up),
//!    and from then on the function counts as named: with the symbol's name
//!    when the symbol starts at the function's first range, else with its
//!    DWARF name. These updates persist for later addresses, as in the
//!    long-lived addr2line process perf keeps per DSO, so results depend on
//!    query order exactly as perf's do.
//! 4. No DWARF answer: the ELF symbol alone (`name`, `file-symbol:?` or
//!    `??:?`); no symbol either: not found.
//! 5. With an inlined innermost function, each enclosing function follows
//!    with its DW_AT_call_file / DW_AT_call_line (`bfd_find_inliner_info`).
//!
//! Not reproduced: for an address in a non-code section that is exactly a
//! symbol's value, BFD looks the *symbol* up in the DWARF variable tables
//! (`do_line` in `_bfd_dwarf2_find_nearest_line`); perf only asks about
//! code addresses. `DW_FORM_GNU_ref_alt` (dwz `.gnu_debugaltlink` files)
//! is treated as a DWARF error for its unit.
//!
//! Line 0 prints as `?`; perf reads it as 0. The discriminator printed
//! after the first record's line is repeated on the callers' lines
//! (addr2line keeps the variable), perf ignores it.

mod debugfile;
mod function;
mod gained;
mod lines;
mod object;
mod root;
mod sections;
mod unit;
mod unit_cache;
pub mod worker;

use object::{FindFunctionCache, ObjFile, SymSet, NO_SYM};
use rustc_hash::FxHashMap;
use std::cell::OnceCell;
use sections::{LazySecs, SecStore};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use unit::Stash;

/// One record `addr2line -i -f` prints for an address (innermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineRecord {
    /// The function line as printed; `None` when addr2line prints `??`.
    pub function: Option<Box<str>>,
    /// The file part of the `file:line` line; `None` for `??`.
    pub file: Option<Box<str>>,
    /// 0 when addr2line prints `?`.
    pub line: u32,
    /// addr2line's ` (discriminator N)` suffix (0 = none); perf ignores it.
    pub discriminator: u32,
}

struct DwarfState {
    /// The DWARF lives in the separate debug file.
    separate: bool,
    /// The `.debug_info` section BFD chose, and the sections, loaded when a
    /// unit must be decoded ([`LazySecs`]).
    info_idx: usize,
    store: OnceCell<Option<SecStore>>,
    stash: Stash,
    /// The debug file's `.symtab` (BFD's `stash->f.syms`).
    debug_syms: SymSet,
}

/// addr2line's answers for one file, computed lazily and cached per
/// address.
pub struct InlineResolver {
    main: ObjFile,
    path: Vec<u8>,
    /// addr2line's `syms` (`.symtab`, else `.dynsym`); `None` = no symbols.
    main_syms: Option<SymSet>,
    debug: Option<ObjFile>,
    dwarf: Option<Option<DwarfState>>,
    cache: FindFunctionCache,
    results: FxHashMap<u64, Box<[InlineRecord]>>,
}

/// BFD's SEC_DEBUGGING by section name.
fn is_debugging(name: &[u8]) -> bool {
    name.starts_with(b".debug")
        || name.starts_with(b".zdebug")
        || name.starts_with(b".gnu.linkonce.wi.")
        || name.starts_with(b".gnu.debuglto_.debug_")
        || name == b".line"
        || name.starts_with(b".stab")
}

/// dwarf2.c `find_debug_info`: `.debug_info`, `.zdebug_info`, then a
/// `.gnu.linkonce.wi.*` section, each only with contents.
fn find_debug_info(f: &ObjFile) -> Option<usize> {
    let ok = |i: &usize| f.sections[*i].has_contents();
    f.section_index(b".debug_info")
        .filter(ok)
        .or_else(|| f.section_index(b".zdebug_info").filter(ok))
        .or_else(|| {
            f.sections
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, s)| s.has_contents() && s.name.starts_with(b".gnu.linkonce.wi."))
                .map(|(i, _)| i)
        })
}

/// `b` as text, invalid UTF-8 replaced (the check of valid text, nearly
/// all names, goes by words where `from_utf8_lossy` goes by bytes).
fn lossy(b: &[u8]) -> Box<str> {
    match std::str::from_utf8(b) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(b).into(),
    }
}

impl InlineResolver {
    /// Opens the file perf hands to addr2line. `None` if it is not a
    /// readable ELF file (addr2line would fail on it).
    pub fn open(path: &Path) -> Option<InlineResolver> {
        let main = ObjFile::open(path)?;
        // addr2line.c `slurp_symtab`.
        let stat = main.symbols(false);
        let main_syms = if !stat.is_empty() {
            Some(SymSet::new(stat))
        } else {
            let dynamic = main.symbols(true);
            (!dynamic.is_empty()).then(|| SymSet::new(dynamic))
        };
        Some(InlineResolver {
            main,
            path: path.as_os_str().as_bytes().to_vec(),
            main_syms,
            debug: None,
            dwarf: None,
            cache: FindFunctionCache::default(),
            results: FxHashMap::default(),
        })
    }

    /// The records addr2line prints for `addr` (the address perf passes,
    /// i.e. an objdump-space address), innermost first. Empty when
    /// addr2line's first record is the `??:0` "not found" record.
    pub fn records(&mut self, addr: u64) -> &[InlineRecord] {
        if !self.results.contains_key(&addr) {
            let r = self.compute(addr).into_boxed_slice();
            self.results.insert(addr, r);
        }
        &self.results[&addr]
    }

    /// Reads the file's DWARF state now (the unit list, and the debug
    /// sections when the list is not in the persistent cache), as the first
    /// lookup would: the worker has it done on another thread while it
    /// answers other files.
    pub fn prepare(&mut self) {
        self.ensure_dwarf();
    }

    fn ensure_dwarf(&mut self) {
        if self.dwarf.is_some() {
            return;
        }
        let mut state = None;
        if let Some(i) = find_debug_info(&self.main) {
            state = dwarf_state(&self.main, i, false);
        } else if let Some(dbg) = debugfile::find_debug_file(&self.path, &self.main) {
            if let Some(i) = find_debug_info(&dbg) {
                state = dwarf_state(&dbg, i, true);
                if let Some(st) = state.as_mut() {
                    st.debug_syms = SymSet::new(dbg.symbols(false));
                    self.debug = Some(dbg);
                }
            }
        }
        self.dwarf = Some(state);
    }

    /// `_bfd_dwarf2_stash_syms`: the debug file's section paired with the
    /// original one (same position before the first debugging section,
    /// same name).
    fn debug_section_for(&self, sec: usize) -> Option<usize> {
        let dbg = self.debug.as_ref()?;
        for i in 1..=sec {
            let d = dbg.sections.get(i)?;
            if is_debugging(&d.name) {
                return None;
            }
            if i == sec {
                return (d.name == self.main.sections[sec].name).then_some(i);
            }
        }
        None
    }

    fn compute(&mut self, addr: u64) -> Vec<InlineRecord> {
        let pc = if self.main.is64 {
            addr
        } else {
            addr & 0xffff_ffff
        };
        let Some(sec) = self.section_containing(pc) else {
            return Vec::new();
        };
        let sec_vma = self.main.sections[sec].hdr.addr;
        let offset = pc - sec_vma;
        self.ensure_dwarf();

        let mut name: Option<std::sync::Arc<[u8]>> = None;
        let mut file: Option<Box<[u8]>> = None;
        let mut line = 0u32;
        let mut disc = 0u32;
        let mut chain: Option<(u32, u32)> = None;
        let mut found = false;

        let debug_sec = self.debug_section_for(sec);
        if let Some(Some(dw)) = self.dwarf.as_mut() {
            let dobj = if dw.separate {
                self.debug.as_ref().expect("debug file")
            } else {
                &self.main
            };
            let secs = LazySecs {
                obj: dobj,
                info_idx: dw.info_idx,
                store: &dw.store,
            };
            let mut function = None;
            if let Some((cu, func)) = dw.stash.find(&secs, pc) {
                found = true;
                if let Some(fi) = func {
                    function = Some((cu, fi));
                    if dw.stash.func(cu, fi).inlined {
                        chain = Some((cu, fi));
                    }
                }
                if let Some((f, l, d)) = dw.stash.line(cu, pc) {
                    file = f.map(Into::into);
                    line = l;
                    disc = d;
                }
            }
            let linkage = function.map(|(c, f)| dw.stash.func(c, f).is_linkage);
            if linkage == Some(true) {
                let (c, f) = function.expect("function");
                name = dw.stash.func(c, f).name.clone();
            } else {
                // The symbol fallback inside the DWARF reader, with the
                // debug file's symbols when the section pairs up.
                let pick = match (dw.separate, debug_sec) {
                    (true, Some(ds)) => Some((1u8, &mut dw.debug_syms, ds)),
                    _ => self.main_syms.as_mut().map(|s| (0u8, s, sec)),
                };
                let mut fun_value = None;
                if let Some((id, set, s_idx)) = pick {
                    let (sym, fsym) = self.cache.find(id, set, s_idx as u32, offset);
                    if sym != NO_SYM {
                        let o = if id == 1 {
                            self.debug.as_ref().expect("debug file")
                        } else {
                            &self.main
                        };
                        let bs = set.syms[sym as usize];
                        name = Some(o.sym_name(&bs).into());
                        if file.is_none() {
                            file = (fsym != NO_SYM)
                                .then(|| o.sym_name(&set.syms[fsym as usize]).into());
                        }
                        fun_value = Some(bs.value);
                        found = true;
                    }
                }
                if let Some((c, f)) = function {
                    let func = dw.stash.func_mut(c, f);
                    match fun_value {
                        None => name = func.name.clone(),
                        Some(v) => {
                            if v.wrapping_add(sec_vma) == func.ranges.head_low() {
                                func.name = name.clone();
                            }
                        }
                    }
                    func.is_linkage = true;
                }
            }
        }
        if !found {
            let Some((n, f)) = self.symtab_answer(sec, offset) else {
                return Vec::new();
            };
            (name, file, line, chain) = (n.map(Into::into), f, 0, None);
        }
        let mut out = vec![record(name.as_deref(), file.as_deref(), line, disc)];
        if let (Some((cu, fi)), Some(Some(dw))) = (chain, self.dwarf.as_ref()) {
            push_callers(&dw.stash, cu, fi, disc, &mut out);
        }
        out
    }

    /// `find_address_in_section`: the allocated section holding `pc`.
    fn section_containing(&self, pc: u64) -> Option<usize> {
        self.main
            .sections
            .iter()
            .enumerate()
            .skip(1)
            .find_map(|(i, s)| {
                (s.is_alloc() && pc >= s.hdr.addr && pc - s.hdr.addr < s.hdr.size).then_some(i)
            })
    }

    /// elf.c: after DWARF (and the absent DWARF1/stabs), the symbol table
    /// addr2line read: the function and file symbols at `offset` in `sec`.
    fn symtab_answer(&mut self, sec: usize, offset: u64) -> Option<NameAndFile> {
        let set = self.main_syms.as_mut()?;
        let (sym, fsym) = self.cache.find(0, set, sec as u32, offset);
        if sym == NO_SYM {
            return None;
        }
        let name = Some(self.main.sym_name(&set.syms[sym as usize]).into());
        let file = (fsym != NO_SYM).then(|| self.main.sym_name(&set.syms[fsym as usize]).into());
        Some((name, file))
    }
}

/// The DWARF reader's state for `obj`, whose `.debug_info` is section
/// `info_idx`. With the unit list in the persistent cache the sections
/// are not read yet; otherwise they are, and `None` when they cannot be
/// (as addr2line then finds no DWARF). A file whose unit list was stored
/// had sections that could be read, and its identity is unchanged.
fn dwarf_state(obj: &ObjFile, info_idx: usize, separate: bool) -> Option<DwarfState> {
    let key = unit_cache::file_key(obj.identity(), info_idx);
    let store = OnceCell::new();
    let stash = match key.as_deref().and_then(unit_cache::load_roots) {
        Some(roots) => Stash::of_roots(roots, key),
        None => {
            let loaded = store.get_or_init(|| SecStore::load(obj, info_idx)).as_ref()?;
            Stash::parse(&loaded.view(obj), key)
        }
    };
    Some(DwarfState {
        separate,
        info_idx,
        store,
        stash,
        debug_syms: SymSet::new(Vec::new()),
    })
}

/// A function name and a file name as BFD answers them.
type NameAndFile = (Option<Box<[u8]>>, Option<Box<[u8]>>);

/// One record as addr2line prints it (the discriminator only with a line).
fn record(name: Option<&[u8]>, file: Option<&[u8]>, line: u32, disc: u32) -> InlineRecord {
    InlineRecord {
        function: name.filter(|n| !n.is_empty()).map(lossy),
        file: file.map(lossy),
        line,
        discriminator: if line != 0 { disc } else { 0 },
    }
}

/// `_bfd_dwarf2_find_inliner_info`: a record per caller of inlined
/// function `fi` of unit `cu`, innermost first.
fn push_callers(stash: &Stash, cu: u32, mut fi: u32, disc: u32, out: &mut Vec<InlineRecord>) {
    loop {
        let f = stash.func(cu, fi);
        if f.caller == function::NONE {
            break;
        }
        let caller = stash.func(cu, f.caller);
        out.push(record(
            caller.name.as_deref(),
            f.caller_file.as_deref(),
            f.caller_line,
            disc,
        ));
        fi = f.caller;
    }
}
