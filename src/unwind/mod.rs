//! DWARF unwinding of `--call-graph dwarf` samples: the sample's user
//! registers and stack copy become the user frames perf 6.1 prints.
//!
//! perf here unwinds with libunwind (util/unwind-libunwind-local.c,
//! `get_entries`): the first frame is the sampled IP; each `unw_step` adds
//! the caller's return address minus one (perf decrements every frame that is
//! not a signal frame); zero addresses are skipped when printed; at most
//! `max_stack` frames. The step stops where libunwind stops:
//! - the address has no map, or its DSO file has no unwind table (perf's
//!   `find_proc_info` fails with -EINVAL and `unw_step` gives up);
//! - a read leaves the stack copy and no file-backed map holds the address
//!   (perf's `access_mem` / `access_dso_mem`); the copy's last word is out of
//!   reach (perf checks `addr + 8 >= end`);
//! - the CFI marks the return address undefined (`_start`, thread start);
//! - perf reads the DSO's `.eh_frame_hdr` table through the address space,
//!   at the base its lowest map gives, and a read there finds no map
//!   ([`table_reads`]: a parent's leftover map after a fork and an exec).
//!
//! One unwinder per address space (framehop modules, libunwind's
//! register-state cache), refreshed when the space's file-backed maps
//! change. Unwind tables are read once per DSO file ([`file`]) and their
//! rows classified and evaluated with gimli ([`cfi`]). Per-architecture
//! stepping is in the sibling files `x86_64.rs` and `aarch64.rs`, behind
//! one dispatch (`SpaceUnwinder`); arm64's `-g` leaf-caller policy is in
//! `leaf_caller.rs`. Which file to read is asked of a [`FileLocator`] (the
//! symbolizer's file search, wired by the pipeline); the ELF bytes are read
//! with [`crate::objfile`].

pub mod aarch64;
pub mod cfi;
pub mod file;
mod leaf_caller;
mod memory;
mod table_reads;
pub mod x86_64;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::mappings::{DsoId, DsoKind, Machine, Map, MapsId, Thread};
use crate::objfile::locate::is_perf_map;
use crate::reader::sample::{Regs, Sample};
use file::UnwindFile;
pub use memory::Memory;
use memory::{Registered, RowCache};

/// The files a DSO's unwind tables are read from, as the symbolizer
/// locates them (perf's `dso__data_get_fd` and `dso->symsrc_filename`).
pub struct UnwindSources {
    /// The data file: the build-id cache copy, else the recorded path.
    pub data: PathBuf,
    /// The symbol source file (`.symtab` used), for `.debug_frame`.
    pub symsrc: Option<PathBuf>,
}

/// Finds the files of a file-backed DSO; implemented by the stage that
/// locates symbol files (the pipeline wires it), so that unwinding does not
/// depend on symbolization.
pub trait FileLocator {
    /// The unwind sources of `dso` (`None`: no data file).
    fn unwind_sources(&mut self, machine: &Machine, dso: DsoId) -> Option<UnwindSources>;

    /// perf reads a `[vdso]` DSO from the copy it makes of its own vdso
    /// (util/vdso.c), unless the build-id table named the DSO first or a
    /// `--symfs` prefix hides the copy.
    fn own_vdso_readable(&self) -> bool;
}

/// The architecture of the recording (perf's `perf_env__arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// From the header's `arch` feature (`uname -m`); `None` for machines
    /// perfold cannot unwind.
    pub fn from_uname(arch: Option<&str>) -> Option<Arch> {
        match arch {
            None | Some("x86_64") => Some(Arch::X86_64),
            Some("aarch64") | Some("arm64") => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

/// The per-architecture unwinder of one address space.
enum SpaceUnwinder {
    X86_64(x86_64::SpaceUnwinder),
    Aarch64(aarch64::SpaceUnwinder),
}

impl SpaceUnwinder {
    fn new(arch: Arch) -> SpaceUnwinder {
        match arch {
            Arch::X86_64 => SpaceUnwinder::X86_64(x86_64::SpaceUnwinder::new()),
            Arch::Aarch64 => SpaceUnwinder::Aarch64(aarch64::SpaceUnwinder::new()),
        }
    }

    /// The perf register number of the stack pointer.
    fn sp_reg(&self) -> u32 {
        match self {
            SpaceUnwinder::X86_64(_) => x86_64::PERF_REG_SP,
            SpaceUnwinder::Aarch64(_) => aarch64::PERF_REG_SP,
        }
    }

    fn unwind(&mut self, regs: &Regs, mem: &Memory, max_stack: usize, out: &mut Vec<u64>) {
        match self {
            SpaceUnwinder::X86_64(u) => u.unwind(regs, mem, max_stack, out),
            SpaceUnwinder::Aarch64(u) => u.unwind(regs, mem, max_stack, out),
        }
    }

    /// arm64's leaf caller from the sampled LR; 0 elsewhere.
    fn leaf_caller(&mut self, regs: &Regs, user_ip: u64, mem: &Memory) -> u64 {
        match self {
            SpaceUnwinder::Aarch64(u) => u.leaf_caller(regs, user_ip, mem),
            SpaceUnwinder::X86_64(_) => 0,
        }
    }

    fn flush(&mut self) {
        match self {
            SpaceUnwinder::X86_64(u) => u.flush(),
            SpaceUnwinder::Aarch64(u) => u.flush(),
        }
    }

    /// The space's modules changed.
    fn modules_changed(&mut self) {
        match self {
            SpaceUnwinder::X86_64(u) => u.modules_changed(),
            SpaceUnwinder::Aarch64(_) => {}
        }
    }
}

struct Space {
    generation: u64,
    modules: Vec<Registered>,
    unwinder: SpaceUnwinder,
    /// perf's `unwind__prepare_access` registered libunwind for this
    /// space: some map of it was a readable object file (`dso__type` known).
    /// Until then perf's `unwind__get_entries` gives no frame at all, not
    /// even the sampled ip; once set it stays set.
    prepared: bool,
    /// [`Memory::last_map`]: emptied when the maps change.
    last_map: Cell<Option<Map>>,
    /// [`Memory::last_module`].
    last_module: Cell<usize>,
}

/// Unwinders of every address space, and the unwind tables of every file.
pub struct Unwinding {
    /// `None` for a machine perfold cannot unwind (see [`Unwinding::new`]).
    arch: Option<Arch>,
    files: FxHashMap<DsoId, Option<Arc<UnwindFile>>>,
    spaces: FxHashMap<MapsId, Space>,
    /// CFI rows per (DSO, SVMA), shared by all spaces.
    rows: RowCache,
}

impl Unwinding {
    /// An unwinder for recordings of `arch`. With `None` (a recording of
    /// another machine than x86_64 and aarch64) DWARF samples get no user
    /// frame: what perf 6.1 prints for x86 32-bit objects (no libunwind for
    /// them in Debian's build: "unwind: target platform=x86 is not
    /// supported"); on other machines perf would run its x86_64 libunwind
    /// over the foreign registers (docs/parity.md).
    pub fn new(arch: Option<Arch>) -> Unwinding {
        Unwinding {
            arch,
            files: FxHashMap::default(),
            spaces: FxHashMap::default(),
            rows: RefCell::new(FxHashMap::default()),
        }
    }

    /// The user frames of `sample` (callee first), in `out`; nothing when
    /// the sample has no user registers or an empty stack copy.
    pub fn unwind(
        &mut self,
        machine: &Machine,
        files: &mut dyn FileLocator,
        thread: &Thread,
        sample: &Sample,
        max_stack: usize,
        out: &mut Vec<u64>,
    ) {
        out.clear();
        let (Some(regs), Some(stack)) = (&sample.user_regs, sample.user_stack) else {
            return;
        };
        if stack.is_empty() || max_stack == 0 || self.arch.is_none() {
            return;
        }
        let maps = machine.maps(thread.maps);
        self.refresh(machine, files, thread.maps);
        let space = self.spaces.get_mut(&thread.maps).expect("refreshed");
        if !space.prepared {
            return;
        }
        let Some(sp) = regs.get(space.unwinder.sp_reg()) else {
            return;
        };
        let mem = Memory {
            stack,
            sp,
            maps,
            modules: &space.modules,
            files: &self.files,
            rows: &self.rows,
            last_map: &space.last_map,
            last_module: &space.last_module,
        };
        space.unwinder.unwind(regs, &mem, max_stack, out);
    }

    /// arm64 `-g` samples: the caller of the leaf function (perf's
    /// `get_leaf_frame_caller`), computed from the sampled LR with libunwind;
    /// 0 when there is none. `user_ip` is the first user callchain entry.
    fn leaf_caller(
        &mut self,
        machine: &Machine,
        files: &mut dyn FileLocator,
        thread: &Thread,
        sample: &Sample,
        user_ip: u64,
    ) -> u64 {
        if self.arch != Some(Arch::Aarch64) {
            return 0;
        }
        let Some(regs) = &sample.user_regs else {
            return 0;
        };
        let maps = machine.maps(thread.maps);
        self.refresh(machine, files, thread.maps);
        let space = self.spaces.get_mut(&thread.maps).expect("refreshed");
        let mem = Memory {
            stack: &[],
            sp: 0,
            maps,
            modules: &space.modules,
            files: &self.files,
            rows: &self.rows,
            last_map: &space.last_map,
            last_module: &space.last_module,
        };
        space.unwinder.leaf_caller(regs, user_ip, &mem)
    }

    /// The unwind tables of `dso`, loaded on first use: the file's first
    /// PT_LOAD address when it has tables.
    fn file(&mut self, machine: &Machine, files: &mut dyn FileLocator, dso: DsoId) -> Option<u64> {
        let file = self.files.entry(dso).or_insert_with(|| {
            let d = machine.dsos.get(dso);
            if d.kind == DsoKind::File && !is_perf_map(&d.name) {
                files.unwind_sources(machine, dso).and_then(|src| {
                    let extra: Vec<&Path> = src.symsrc.iter().map(|p| p.as_path()).collect();
                    UnwindFile::load(&src.data, &extra).map(Arc::new)
                })
            } else {
                None
            }
        });
        file.as_ref()
            .filter(|f| f.has_tables())
            .map(|f| f.elf_base)
    }

    /// perf's `unwind__flush_access` on exec: libunwind's caches of the
    /// thread's address space are emptied.
    pub fn flush(&mut self, id: MapsId) {
        if let Some(space) = self.spaces.get_mut(&id) {
            space.unwinder.flush();
        }
    }

    /// Registers the modules of space `id` if its maps changed.
    fn refresh(&mut self, machine: &Machine, files: &mut dyn FileLocator, id: MapsId) {
        let maps = machine.maps(id);
        if self
            .spaces
            .get(&id)
            .is_some_and(|s| s.generation == maps.generation())
        {
            return;
        }
        // perf's base for a DSO: its lowest map's start - pgoff, minus the
        // file's first PT_LOAD address (read_unwind_spec_eh_frame).
        let mut wanted: Vec<Registered> = Vec::with_capacity(maps.len());
        let mut bases: FxHashMap<DsoId, (u64, bool)> = FxHashMap::default();
        for m in maps.iter() {
            if m.identity {
                continue;
            }
            let Some(elf_base) = self.file(machine, files, m.dso) else {
                continue;
            };
            let (base, tables_backed) = *bases.entry(m.dso).or_insert_with(|| {
                let base = m.start.wrapping_sub(m.pgoff).wrapping_sub(elf_base);
                let backed = self.files.get(&m.dso).and_then(Option::as_deref).is_none_or(|f| {
                    table_reads::tables_backed(maps, m.dso, base, f)
                });
                (base, backed)
            });
            wanted.push(Registered {
                start: m.start,
                end: m.end,
                base,
                dso: m.dso,
                tables_backed,
            });
        }
        let arch = self.arch.unwrap_or(Arch::X86_64);
        let space = self.spaces.entry(id).or_insert_with(|| Space {
            generation: u64::MAX,
            modules: Vec::new(),
            unwinder: SpaceUnwinder::new(arch),
            prepared: false,
            last_map: Cell::new(None),
            last_module: Cell::new(0),
        });
        if !space.prepared {
            space.prepared = maps.iter().any(|m| {
                !m.identity
                    && (self.files.get(&m.dso).is_some_and(Option::is_some)
                        || (&*machine.dsos.get(m.dso).name == b"[vdso]"
                            && files.own_vdso_readable()))
            });
        }
        if space.modules != wanted {
            space.unwinder.modules_changed();
        }
        space.modules = wanted;
        space.generation = maps.generation();
        space.last_map.set(None);
    }
}
