//! Symbol resolution as `perf script` 6.1 does it: per-DSO symbol tables
//! loaded lazily (once, cached whether found or not) and looked up by the
//! map-relative address perf's `dso__find_symbol()` receives, plus the
//! kernel's kallsyms table.
//!
//! Which file perf opens and the ELF reader are in [`crate::objfile`].
//! Files: `symtab.rs` (ELF → symbols), `rbtree.rs` (perf's symbol tree),
//! `perfmap.rs` (`/tmp/perf-<pid>.map`), `kernel.rs` (kallsyms),
//! `demangle.rs` + `cxx.rs` (names as perf prints them).
//!
//! Methods beyond the basic interface, and what the caller must feed them:
//! - [`Symbolizer::set_demangle`]: `perf script --no-demangle` (default on).
//! - [`Symbolizer::set_kernel_ref_reloc`]: from the kernel MMAP record named
//!   `[kernel.kallsyms]<sym>` — `<sym>` (e.g. `_text`) and its `pgoff`;
//!   perf only records it when `pgoff != 0`.
//! - [`Symbolizer::set_kernel_build_id`]: a build-id carried by the kernel's
//!   MMAP2 record (the header table entry `[kernel.kallsyms]` is used
//!   otherwise).
//! - [`Symbolizer::add_kernel_module`]: short name (`[mod]`) of each module
//!   map perf created from module MMAP records; kallsyms symbols of those
//!   modules leave the kernel map (as do kernel symbols sorted after them).
//! - [`Symbolizer::kernel_map_range`]: after loading kallsyms perf resets the
//!   kernel map to `[first symbol start, last symbol end)` (`map__fixup_start`
//!   / `map__fixup_end`); map lookups of later samples use that range.
//!
//! DSO names the caller passes are perf's `dso->long_name`: the MMAP path;
//! `[vdso]` for the vdso; `/tmp/perf-<pid>.map` for executable anonymous
//! memory (perf renames those maps in `map__new`).

mod cxx;
mod demangle;
mod flat;
pub mod inlines;
mod kallsyms_cache;
mod kernel;
mod kernel_table;
mod perfmap;
mod rbtree;
mod symtab;
mod symtab_cache;
mod user_table;

pub use demangle::demangle_sym;
#[cfg(feature = "fuzzing")]
pub use demangle::cplus_demangle;

use crate::objfile::build_id::defined;
use crate::objfile::locate::{self, is_perf_map};
use rbtree::SymTree;
pub use rbtree::Symbol;
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub struct SymbolizeOptions {
    /// perf `--symfs`: prefix for the paths perf opens.
    pub symfs: Option<PathBuf>,
    /// perf `--kallsyms`.
    pub kallsyms: Option<PathBuf>,
    /// perf's `buildid_dir`: `buildid.dir` config or `$HOME/.debug`; with
    /// `--symfs DIR` perf uses `DIR/.debug` (symbol__config_symfs).
    pub buildid_dir: PathBuf,
}

/// A user-space object file as the symbolizer knows it: the recorded path
/// and build-id (several mapped DSOs may share one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId(u32);

/// A DSO's loaded symbols: a JIT map (perf's tree, small) or an ELF's.
enum Table {
    Tree(SymTree),
    Elf(Box<user_table::UserTable>),
}

impl Table {
    /// A handle for [`Table::symbol`].
    fn find(&mut self, addr: u64) -> Option<u32> {
        match self {
            Table::Tree(t) => t.find(addr),
            Table::Elf(t) => t.find(addr),
        }
    }

    fn symbol(&self, handle: u32) -> &Symbol {
        match self {
            Table::Tree(t) => &t.node(handle).sym,
            Table::Elf(t) => t.symbol(handle),
        }
    }
}

/// One entry of the direct-mapped (object, address) → node cache.
#[derive(Clone, Copy)]
struct CachedLookup {
    object: Option<ObjectId>,
    addr: u64,
    /// The symbol's handle in its table (`None`: no symbol at the address).
    node: Option<u32>,
}

struct Dso {
    path: Vec<u8>,
    build_id: Option<Vec<u8>>,
    /// `None` until loaded.
    syms: Option<Table>,
    /// Where the symbols were looked for, in perf's order (filled on load).
    trail: Vec<locate::Searched>,
}

const CACHE_SLOTS: usize = 4096;

pub struct Symbolizer {
    opts: SymbolizeOptions,
    symfs: Vec<u8>,
    demangle: bool,
    header_ids: FxHashMap<Vec<u8>, Vec<u8>>,
    dsos: Vec<Dso>,
    index: FxHashMap<(Vec<u8>, Option<Vec<u8>>), ObjectId>,
    /// Direct-mapped (dso, addr) → node cache.
    cache: Vec<CachedLookup>,
    kernel_ref_reloc: Option<(String, u64)>,
    kernel_build_id: Option<Vec<u8>>,
    modules: HashSet<String>,
    /// Module maps looked up before the kernel was loaded.
    modules_loaded_early: HashSet<String>,
    kernel: Option<Option<kernel_table::KernelTable>>,
}

impl Symbolizer {
    pub fn new(opts: SymbolizeOptions) -> Self {
        // symbol__init: a symfs that resolves to "/" is the same as none.
        let symfs = match &opts.symfs {
            Some(p)
                if std::fs::canonicalize(p)
                    .map(|r| r != Path::new("/"))
                    .unwrap_or(true) =>
            {
                p.as_os_str().as_bytes().to_vec()
            }
            _ => Vec::new(),
        };
        Symbolizer {
            opts,
            symfs,
            demangle: true,
            header_ids: FxHashMap::default(),
            dsos: Vec::new(),
            index: FxHashMap::default(),
            cache: vec![
                CachedLookup {
                    object: None,
                    addr: 0,
                    node: None,
                };
                CACHE_SLOTS
            ],
            kernel_ref_reloc: None,
            kernel_build_id: None,
            modules: HashSet::new(),
            modules_loaded_early: HashSet::new(),
            kernel: None,
        }
    }

    /// `perf script --no-demangle` turns this off.
    pub fn set_demangle(&mut self, on: bool) {
        self.demangle = on;
    }

    /// Whether symbol names are demangled (`--no-demangle` turns it off).
    pub fn demangles(&self) -> bool {
        self.demangle
    }

    /// Build-ids from the HEADER_BUILD_ID feature: (filename, build-id bytes
    /// of the recorded size — `bev->size` when PERF_RECORD_MISC_BUILD_ID_SIZE
    /// is set, else all 20 bytes).
    /// `kernel` names the row of the kernel image (perf's kernel DSO: the
    /// first kernel-space row that is not a module, `[kernel.kallsyms]` or a
    /// vmlinux path): its build-id decides where kernel symbols come from.
    pub fn set_header_build_ids(&mut self, entries: Vec<(Vec<u8>, Vec<u8>)>, kernel: &[u8]) {
        for (name, bid) in entries {
            if name == kernel && self.kernel_build_id.is_none() {
                self.kernel_build_id = Some(bid.clone());
            }
            self.header_ids.insert(name, bid);
        }
    }

    /// A user-space DSO: recorded path and the MMAP2 build-id if the record
    /// had one (an all-zero one counts as none, as in perf).
    pub fn dso(&mut self, path: &[u8], build_id: Option<&[u8]>) -> ObjectId {
        let bid = match defined(build_id) {
            Some(b) => Some(b.to_vec()),
            None => self.header_ids.get(path).cloned(),
        };
        let key = (path.to_vec(), bid);
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let id = ObjectId(self.dsos.len() as u32);
        self.dsos.push(Dso {
            path: key.0.clone(),
            build_id: key.1.clone(),
            syms: None,
            trail: Vec::new(),
        });
        self.index.insert(key, id);
        id
    }

    /// The symbol perf's `dso__find_symbol(dso, addr)` returns.
    pub fn lookup(&mut self, dso: ObjectId, addr: u64) -> Option<&Symbol> {
        let d = self.dsos.get(dso.0 as usize)?;
        if d.syms.is_none() {
            let mut trail = Vec::new();
            let tree = self.load_dso(dso.0 as usize, &mut trail);
            let d = &mut self.dsos[dso.0 as usize];
            d.syms = Some(tree);
            d.trail = trail;
        }
        let slot = (addr ^ (addr >> 12) ^ u64::from(dso.0).wrapping_mul(0x9e37_79b9)) as usize
            % CACHE_SLOTS;
        let cached = self.cache[slot];
        let table = self.dsos[dso.0 as usize].syms.as_mut()?;
        let node = if cached.object == Some(dso) && cached.addr == addr {
            cached.node
        } else {
            let node = table.find(addr);
            self.cache[slot] = CachedLookup {
                object: Some(dso),
                addr,
                node,
            };
            node
        };
        node.map(|n| table.symbol(n))
    }

    /// The file perf reads a DSO's bytes from for unwinding
    /// (`dso__data_get_fd`: `binary_type_data[]` = the build-id cache copy,
    /// then the recorded path under `--symfs`); no build-id check.
    pub fn data_file(&self, dso: ObjectId) -> Option<PathBuf> {
        let d = self.dsos.get(dso.0 as usize)?;
        locate::data_file(&self.env(), &d.path, d.build_id.as_deref())
    }

    /// perf's `dso->symsrc_filename`: the first file whose `.symtab` was
    /// used (loads the DSO's symbols if needed); `None` when only a
    /// `.dynsym` was found or nothing.
    pub fn symsrc_file(&mut self, dso: ObjectId) -> Option<&Path> {
        self.lookup(dso, 0);
        let d = self.dsos.get(dso.0 as usize)?;
        d.trail
            .iter()
            .find(|s| s.outcome == locate::Outcome::Used { symtab: true })
            .map(|s| s.path.as_path())
    }

    /// The path of a DSO as recorded, joined to `--symfs` (what perf's
    /// `dso->long_name` opens).
    pub fn recorded_file(&self, dso: ObjectId) -> Option<PathBuf> {
        let d = self.dsos.get(dso.0 as usize)?;
        Some(PathBuf::from(OsStr::from_bytes(&locate::join_symfs(
            &self.symfs,
            &d.path,
        ))))
    }

    /// Where a loaded DSO's symbols were looked for, and its build-id.
    pub fn search_trail(&self, dso: ObjectId) -> (&[locate::Searched], Option<&[u8]>) {
        match self.dsos.get(dso.0 as usize) {
            Some(d) => (&d.trail, d.build_id.as_deref()),
            None => (&[], None),
        }
    }

    /// Where perf looks for files: `--symfs` and the build-id cache.
    fn env(&self) -> locate::Env<'_> {
        locate::Env {
            symfs: &self.symfs,
            buildid_dir: &self.opts.buildid_dir,
        }
    }

    fn load_dso(&self, i: usize, trail: &mut Vec<locate::Searched>) -> Table {
        let d = &self.dsos[i];
        if is_perf_map(&d.path) {
            let p = Path::new(OsStr::from_bytes(&d.path));
            return Table::Tree(perfmap::load_perf_map(p).unwrap_or_default());
        }
        let is_vdso = d.path == b"[vdso]";
        // Without a header entry for [vdso], perf's vdso DSO is a copy of
        // its own process's vdso (vdso.c, machine__findnew_vdso).
        let system_image = if is_vdso && !self.header_ids.contains_key(b"[vdso]".as_slice()) {
            own_vdso()
        } else {
            None
        };
        let env = self.env();
        let spec = locate::DsoSpec {
            long_name: &d.path,
            build_id: d.build_id.as_deref(),
            is_vdso,
            system_image,
        };
        match locate::find_sources(&env, spec, trail) {
            Some(src) => Table::Elf(Box::new(user_table::UserTable::load(src, self.demangle))),
            None => Table::Tree(SymTree::new()),
        }
    }

    /// From the kernel MMAP record `[kernel.kallsyms]<name>` with `pgoff`.
    /// perf keeps the name up to a `]` and ignores a zero address.
    pub fn set_kernel_ref_reloc(&mut self, name: &str, addr: u64) {
        if addr == 0 {
            return;
        }
        let name = name.split(']').next().unwrap_or("");
        self.kernel_ref_reloc = Some((name.to_string(), addr));
    }

    /// A build-id carried by the kernel's own MMAP2 record.
    pub fn set_kernel_build_id(&mut self, bid: &[u8]) {
        if defined(Some(bid)).is_some() {
            self.kernel_build_id = Some(bid.to_vec());
        }
    }

    /// A module map (`[name]`) perf created from the recording.
    pub fn add_kernel_module(&mut self, short_name: &str) {
        self.modules.insert(short_name.to_string());
    }

    /// perf reads a `[vdso]` DSO from the temporary copy of its own vdso
    /// (util/vdso.c `machine__findnew_vdso`) only when the build-id table
    /// did not create that DSO first, and no `--symfs` prefixes the copy's
    /// path.
    pub fn own_vdso_readable(&self) -> bool {
        self.symfs.is_empty() && !self.header_ids.contains_key(&b"[vdso]"[..])
    }

    /// For `--verbose`: why the kernel has no symbols when its recorded
    /// build-id is not this machine's (perf: "No kallsyms or vmlinux with
    /// build-id ... was found"), or `None`.
    pub fn kernel_build_id_note(&self) -> Option<String> {
        use crate::objfile::build_id::{build_id_equal, build_id_hex, read_sysfs_build_id};
        if self.opts.kallsyms.is_some() || !self.symfs.is_empty() {
            return None;
        }
        let recorded = self.kernel_build_id.as_deref()?;
        let host = read_sysfs_build_id(Path::new("/sys/kernel/notes"));
        if host.as_deref().is_some_and(|h| build_id_equal(recorded, h)) {
            return None;
        }
        let found =
            kernel::choose_kallsyms(None, &self.symfs, &self.opts.buildid_dir, Some(recorded));
        if found.is_some() {
            return None;
        }
        Some(format!(
            "recorded build-id {} is not this machine's kernel ({}), and {} holds no kallsyms of it",
            build_id_hex(recorded),
            host.map_or("no /sys/kernel/notes".into(), |h| format!("/sys/kernel/notes: {}", build_id_hex(&h))),
            self.opts.buildid_dir.join("[kernel.kallsyms]").display()
        ))
    }

    fn kernel(&mut self) -> Option<&mut kernel_table::KernelTable> {
        if self.kernel.is_none() {
            let path = kernel::choose_kallsyms(
                self.opts.kallsyms.as_deref(),
                &self.symfs,
                &self.opts.buildid_dir,
                self.kernel_build_id.as_deref(),
            );
            let ctx = kernel::KernelCtx {
                ref_reloc: self
                    .kernel_ref_reloc
                    .as_ref()
                    .map(|(n, a)| (n.as_str(), *a)),
                modules: &self.modules,
                loaded_modules: &self.modules_loaded_early,
            };
            self.kernel = Some(path.and_then(|p| {
                if kallsyms_cache::applies(&p) {
                    kallsyms_cache::load(&ctx, &self.opts.buildid_dir)
                } else {
                    kernel::read_kallsyms(&p)
                        .and_then(|data| kernel_table::KernelTable::load(data, &ctx))
                }
            }));
        }
        self.kernel.as_mut()?.as_mut()
    }

    /// Kernel symbol for a kernel ip (identity-mapped, as perf's kallsyms
    /// kernel map).
    pub fn lookup_kernel(&mut self, ip: u64) -> Option<&Symbol> {
        self.kernel()?.find(ip)
    }

    /// Symbol of `ip` in the module map `[name]` (perf's module DSO): the
    /// kallsyms symbols split off to it when the kernel was loaded. A module
    /// looked up before the kernel is loaded gets none, as in perf, whose
    /// `dso__load` marks it loaded (no `.ko` found) and whose
    /// `maps__split_kallsyms` then discards its symbols.
    pub fn lookup_module(&mut self, name: &[u8], ip: u64) -> Option<&Symbol> {
        let name = String::from_utf8_lossy(name).into_owned();
        if self.kernel.is_none() {
            self.modules_loaded_early.insert(name);
            return None;
        }
        let tree = self.kernel.as_mut()?.as_mut()?.module(&name)?;
        tree.find(ip).map(|n| &tree.node(n).sym)
    }

    /// The kernel map's range after perf loaded kallsyms (see module doc).
    pub fn kernel_map_range(&mut self) -> Option<(u64, u64)> {
        self.kernel()?.range
    }
}

/// Our own `[vdso]` image, like perf's `get_file()` copy of its vdso.
fn own_vdso() -> Option<Vec<u8>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let range = line.split_whitespace().next()?;
    let (a, b) = range.split_once('-')?;
    let (a, b) = (
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    );
    let mut f = std::fs::File::open("/proc/self/mem").ok()?;
    f.seek(SeekFrom::Start(a)).ok()?;
    let mut buf = vec![0u8; usize::try_from(b.checked_sub(a)?).ok()?];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}
