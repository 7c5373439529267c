//! What a stepper reads while unwinding one sample: the stack copy, the
//! files behind the address space's maps (perf's `access_mem` /
//! `access_dso_mem`), the registered modules and the CFI rows read so far.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::cfi;
use super::file::UnwindFile;
use super::table_reads;
use crate::mappings::{DsoId, Map, Maps};

/// One mapped module as registered with an unwinder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Registered {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) base: u64,
    pub(super) dso: DsoId,
    /// perf's reads of the DSO's search table at `base` give the file's own
    /// bytes (`table_reads::tables_backed`).
    pub(super) tables_backed: bool,
}

/// CFI rows per (DSO, SVMA) (`None`: no FDE), for the whole run.
pub(super) type RowCache = RefCell<FxHashMap<(DsoId, u64), Option<Rc<cfi::Row>>>>;

/// What an architecture's stepper needs from the address space.
pub struct Memory<'a> {
    /// The sample's stack copy, starting at its stack pointer `sp`.
    pub stack: &'a [u8],
    pub sp: u64,
    pub(super) maps: &'a Maps,
    pub(super) modules: &'a [Registered],
    pub(super) files: &'a FxHashMap<DsoId, Option<Arc<UnwindFile>>>,
    pub(super) rows: &'a RowCache,
    /// The map the last read outside the stack copy landed in, kept by the
    /// address space while its maps do not change (reads past the copy's
    /// end come in runs within one map, sample after sample).
    pub(super) last_map: &'a Cell<Option<Map>>,
    /// The index in `modules` of the last module [`Memory::locate`] found,
    /// kept by the address space (checked before use: any index is safe).
    pub(super) last_module: &'a Cell<usize>,
}

impl Memory<'_> {
    /// perf's `access_mem`: a word of the stack copy, or else of the file
    /// behind a file-backed map (`access_dso_mem`). The stack-copy case is
    /// inlined into the steppers (a million reads for 60 k DWARF samples).
    #[inline]
    pub fn read(&self, addr: u64) -> Option<u64> {
        let end = self.sp.wrapping_add(self.stack.len() as u64);
        let last = addr.checked_add(8)?;
        if addr >= self.sp && last < end {
            let off = (addr - self.sp) as usize;
            return Some(u64::from_le_bytes(
                self.stack[off..off + 8].try_into().unwrap(),
            ));
        }
        self.read_outside_stack(addr)
    }

    /// A read outside the stack copy: no map is an error; a map whose file
    /// cannot give the bytes ([stack], anon, past the file's end) reads as
    /// 0, because perf's access_dso_mem then returns 1, which libunwind
    /// does not treat as a failure.
    #[cold]
    #[inline(never)]
    fn read_outside_stack(&self, addr: u64) -> Option<u64> {
        let map = match self.last_map.get() {
            Some(m) if m.start <= addr && addr < m.end => m,
            _ => {
                let m = *self.maps.find(addr)?;
                self.last_map.set(Some(m));
                m
            }
        };
        let word = self.file(map.dso).and_then(|file| {
            let off = usize::try_from(map.map_ip(addr)).ok()?;
            let bytes = file.data.get(off..off.checked_add(8)?)?;
            Some(u64::from_le_bytes(bytes.try_into().unwrap()))
        });
        Some(word.unwrap_or(0))
    }

    /// The unwind tables of the module holding `addr` and the module's
    /// base (SVMA = address - base), if perf's `find_proc_info` has a file.
    pub fn unwind_file(&self, addr: u64) -> Option<(&UnwindFile, u64)> {
        let (dso, svma) = self.locate(addr)?;
        Some((self.file(dso)?, addr.wrapping_sub(svma)))
    }

    /// The DSO of the module holding `addr` and the address's SVMA under
    /// the module's current base (what perf's `find_proc_info` would use).
    /// Consecutive frames mostly lie in the module of the frame before, so
    /// that module is tried first ([`Memory::last_module`]).
    pub fn locate(&self, addr: u64) -> Option<(DsoId, u64)> {
        self.module_of(addr)
            .map(|m| (m.dso, addr.wrapping_sub(m.base)))
    }

    /// Whether a read of perf's table search for `addr` fails (its module's
    /// table lies where no map gives it: `table_reads`), which ends the walk.
    pub fn table_reads_fail(&self, addr: u64) -> bool {
        let Some(m) = self.module_of(addr).filter(|m| !m.tables_backed) else {
            return false;
        };
        self.file(m.dso).is_some_and(|f| {
            !table_reads::search_reads_succeed(|a| self.read(a), f, m.base, addr)
        })
    }

    /// The module holding `addr` ([`Memory::locate`]).
    fn module_of(&self, addr: u64) -> Option<&Registered> {
        let modules = self.modules;
        let last = self.last_module.get();
        // The module the search would find: the last one starting at or
        // below `addr`.
        let found = match modules.get(last) {
            Some(m)
                if m.start <= addr && modules.get(last + 1).is_none_or(|n| n.start > addr) =>
            {
                m
            }
            _ => {
                let i = modules.partition_point(|m| m.start <= addr).checked_sub(1)?;
                self.last_module.set(i);
                &modules[i]
            }
        };
        (addr < found.end).then_some(found)
    }

    /// The unwind tables of a DSO.
    pub fn file(&self, dso: DsoId) -> Option<&UnwindFile> {
        self.files.get(&dso)?.as_deref()
    }

    /// The CFI row of `svma` in a DSO (`None`: no FDE), read once per DSO
    /// address for the whole run.
    pub fn row_of(&self, dso: DsoId, svma: u64, regs: &cfi::ArchRegs) -> Option<Rc<cfi::Row>> {
        if let Some(row) = self.rows.borrow().get(&(dso, svma)) {
            return row.clone();
        }
        let row = self.file(dso).and_then(|f| f.row(svma, regs)).map(Rc::new);
        self.rows.borrow_mut().insert((dso, svma), row.clone());
        row
    }

}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test's `Memory` borrows besides its maps and modules: no
    /// stack copy.
    #[derive(Default)]
    struct Parts {
        files: FxHashMap<DsoId, Option<Arc<UnwindFile>>>,
        rows: RowCache,
        last_map: Cell<Option<Map>>,
        last_module: Cell<usize>,
    }

    impl Parts {
        fn memory<'a>(&'a self, maps: &'a Maps, modules: &'a [Registered]) -> Memory<'a> {
            Memory {
                stack: &[],
                sp: 0,
                maps,
                modules,
                files: &self.files,
                rows: &self.rows,
                last_map: &self.last_map,
                last_module: &self.last_module,
            }
        }
    }

    /// `locate` with the remembered module gives what the binary search
    /// gives, whatever module was remembered (stale indexes included).
    #[test]
    fn locate_with_a_remembered_module_matches_the_search() {
        let m = |start, end, dso| Registered {
            start,
            end,
            base: start / 2,
            dso: DsoId(dso),
            tables_backed: true,
        };
        // A gap (0x3000..0x4000), and a module starting where one ends.
        let modules = [m(0x1000, 0x3000, 1), m(0x4000, 0x5000, 2), m(0x5000, 0x8000, 3)];
        let maps = Maps::default();
        let parts = Parts::default();
        let searched = |addr: u64| {
            let i = modules.partition_point(|m| m.start <= addr).checked_sub(1)?;
            let m = &modules[i];
            (addr < m.end).then(|| (m.dso, addr.wrapping_sub(m.base)))
        };
        for remembered in 0..6 {
            for addr in (0..0x9000).step_by(0x400).chain([0x2fff, 0x4fff, 0x5000, 0x7fff]) {
                parts.last_module.set(remembered);
                let mem = parts.memory(&maps, &modules);
                assert_eq!(mem.locate(addr), searched(addr), "{addr:#x} from {remembered}");
                // And again, from what the first call remembered.
                assert_eq!(mem.locate(addr), searched(addr), "{addr:#x} again");
            }
        }
    }

    /// A module whose table is not backed has its search replayed: a
    /// table in no map fails it (the walk ends), a backed one is not read.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn a_search_read_from_no_map_fails_the_lookup() {
        let file = UnwindFile::load(std::path::Path::new("/lib64/ld-linux-x86-64.so.2"), &[])
            .map(Arc::new)
            .expect("the dynamic loader's unwind tables");
        let text = file.text.clone().expect(".text");
        let (image, relro) = (0x7fb2_2095_c000u64, 0x7f0e_3546_2000u64);
        let mut maps = Maps::default();
        let len = (file.data.len() as u64).next_multiple_of(4096);
        for (start, end, pgoff) in [(image, image + len, 0), (relro, relro + 0x2000, 0x31000)] {
            maps.insert(Map {
                start,
                end,
                pgoff,
                dso: DsoId(7),
                identity: false,
            });
        }
        let parts = Parts {
            files: [(DsoId(7), Some(file.clone()))].into_iter().collect(),
            ..Parts::default()
        };
        let ip = image + text.start + 0x100 - file.elf_base;
        for (base, backed, fails) in [
            (relro - 0x31000 - file.elf_base, false, true),
            (image - file.elf_base, false, false),
            (relro - 0x31000 - file.elf_base, true, false),
        ] {
            let modules = [Registered {
                start: image,
                end: image + len,
                base,
                dso: DsoId(7),
                tables_backed: backed,
            }];
            let mem = parts.memory(&maps, &modules);
            assert_eq!(mem.table_reads_fail(ip), fails, "base {base:#x}, backed {backed}");
        }
    }
}
