//! The running kernel's core symbol table kept in the persistent cache
//! ([`crate::cache`]), so that a run with kernel samples does not read all
//! of `/proc/kallsyms` (5 MB the kernel formats line by line: ~60 ms of CPU,
//! most of a small recording's run).
//!
//! What is stored: the core kernel's symbols as a load with no module maps
//! and no relocation keeps them ([`KernelTable::core`]), plus the kallsyms
//! addresses of the relocation reference symbols perf uses (`_text`,
//! `_stext`). A hit gives the table [`KernelTable::from_core`] makes for the
//! recording's own relocation and module maps; module symbols, and perf's
//! exact tree if a lookup ever needs it, are then read from the file. A
//! miss reads the file (or perf record's copy of it in the build-id cache,
//! when that shows the same core kernel: [`recorded_copy`]), stores the
//! entry (deleting the entries of earlier boots), and serves the run from
//! the new entry as a hit would. One miss runs at a time in a process:
//! `-j` replicas that meet the kernel together find the entry the first
//! one stored ([`MISS`]).
//!
//! # Why the key is enough
//!
//! The key is `boot_id` (`/proc/sys/kernel/random/boot_id`), the running
//! kernel's build-id (`/sys/kernel/notes`) and the first 4 KiB of
//! `/proc/kallsyms`:
//! - The core kernel's kallsyms entries (every line without a `\t[module]`
//!   suffix) are compiled into the kernel image (`kallsyms_names`,
//!   `kallsyms_offsets`): the build-id names the image, and within one
//!   boot the only thing that moves them, the KASLR offset, is fixed. A new
//!   boot (kexec included) has a new `boot_id`.
//! - What the reader sees of them depends on `kptr_restrict` and the
//!   reader's capabilities at `open` (addresses shown or all zero): the
//!   first 4 KiB are core lines and show which view this is.
//! - Everything else in the file (modules, BPF programs, ftrace and kprobe
//!   trampolines) comes and goes during a boot, and each such line carries
//!   a `\t[name]` suffix. Those lines are not stored. They change the core
//!   table only through perf's fix-ups over the sorted file: the end of the
//!   last core symbol before a module symbol (`roundup(start + 4096)`, the
//!   same value as the last-symbol rule `roundup(start) + 4096`), and
//!   `maps__split_kallsyms` moving core symbols that sort after a module
//!   symbol. Neither happens when every module-area line sorts above every
//!   core symbol: on x86_64 the module area (modules, BPF JIT, trampolines:
//!   `MODULES_VADDR`..`MODULES_END`) lies above the kernel image by the
//!   architecture's memory layout. The cache is used on x86_64 only, and an
//!   entry is written only when the file it comes from has that order.
//! - Names of the relocation reference symbols match core lines only (a
//!   module line's name includes its suffix), so their addresses are core
//!   facts too.
//!
//! The cache is used only for `/proc/kallsyms` itself (not `--kallsyms`
//! files or build-id cache copies) and only when perf would read it (the
//! `kptr_restrict` check comes first, in `kernel::read_kallsyms`).

use super::flat::{Entry, NameRef};
use super::kernel::{function_start, KernelCtx};
use super::kernel_table::{Core, CoreRows, KernelTable, NameBytes};
use std::io::Read;
use std::path::Path;

const KIND: &str = "kallsyms";
/// Relocation reference symbols whose addresses are stored.
const REF_NAMES: [&str; 2] = ["_text", "_stext"];
const PROC_KALLSYMS: &str = "/proc/kallsyms";

/// Held while a miss reads, encodes and stores the entry ([`load`]). A miss
/// holds the file and its table (about 11 MB for a 5 MB file); replicas
/// doing so side by side added up in the peak RSS of a `-j 2` run on a new
/// cache. Where the store fails (a cache directory that cannot be
/// written), the later ones then read the file in turn.
static MISS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether `path` is the file the cache stands for.
pub fn applies(path: &Path) -> bool {
    cfg!(target_arch = "x86_64") && path == Path::new(PROC_KALLSYMS)
}

/// The cache key for the running kernel's kallsyms (see the module doc).
fn key() -> Option<Vec<u8>> {
    let mut key = b"kallsyms v2 x86_64\n".to_vec();
    let boot = std::fs::read("/proc/sys/kernel/random/boot_id").ok()?;
    key.extend_from_slice(&(boot.len() as u64).to_le_bytes());
    key.extend_from_slice(&boot);
    let notes = std::fs::read("/sys/kernel/notes").unwrap_or_default();
    key.extend_from_slice(&(notes.len() as u64).to_le_bytes());
    key.extend_from_slice(&notes);
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(PROC_KALLSYMS)
        .ok()?
        .take(4096)
        .read_to_end(&mut head)
        .ok()?;
    key.extend_from_slice(&head);
    Some(key)
}

/// The table for `/proc/kallsyms` from the cache, or by reading the file
/// (and then storing its core part). `None` when perf's load gives none.
/// On a miss the stored core part is made from perf record's copy of this
/// kernel's kallsyms in `buildid_dir` when it shows this boot's core
/// symbols ([`recorded_copy`]): the kernel formats `/proc/kallsyms` line by
/// line (about 40 ms of CPU), a copy is read at page-cache speed.
pub fn load(ctx: &KernelCtx, buildid_dir: &Path) -> Option<KernelTable> {
    let path = Path::new(PROC_KALLSYMS);
    let read = || super::kernel::read_kallsyms(path);
    // perf reads the file only when kptr_restrict lets it; so does the cache.
    if super::kernel::kallsyms_restricted(path) {
        return None;
    }
    let Some(key) = crate::cache::dir().and_then(|_| key()) else {
        return KernelTable::load(read()?, ctx);
    };
    if let Some(hit) = from_cache(&key, ctx, read) {
        return hit;
    }
    // One miss at a time: `-j` replicas meeting the kernel at once would
    // each read and encode the file; the later ones find the entry.
    let _one_miss = MISS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(hit) = from_cache(&key, ctx, read) {
        return hit;
    }
    let data = match recorded_copy(buildid_dir) {
        Some(copy) => copy,
        None => read()?,
    };
    // Where the entry cannot answer, the file itself is read again (never
    // the copy: its module lines are another time's).
    if let Some(stored) = Stored::of_file(data) {
        // Written straight from the table: the file's bytes and the table
        // are all a miss holds (no payload copy).
        crate::cache::store_streamed(KIND, &key, stored.len(), |put| stored.write(put));
        drop(stored);
        if let Some(boot) = boot_time() {
            // Entries of earlier boots hold another boot_id: dead.
            crate::cache::remove_written_before(KIND, boot);
        }
        // The run's table comes from the entry just stored, as the next
        // run's will: the file is not parsed a third time.
        if let Some(hit) = from_cache(&key, ctx, read) {
            return hit;
        }
    }
    KernelTable::load(read()?, ctx)
}

/// perf record's copy of the running kernel's kallsyms
/// (`<buildid_dir>/[kernel.kallsyms]/<build-id>/kallsyms`, written once per
/// build-id), when it shows what `/proc/kallsyms` shows now of the core
/// kernel, which is all a cache entry keeps (see the module doc): the same
/// first 4 KiB (the same view of addresses) and the same `_text` and
/// `_stext`. Within one kernel image (its build-id names it) the core
/// lines move only with the KASLR offset, and those two show it; a copy
/// from another boot with another offset, or from a reader who saw zeros,
/// is not used.
fn recorded_copy(buildid_dir: &Path) -> Option<Vec<u8>> {
    use crate::objfile::build_id::{build_id_hex, read_sysfs_build_id};
    let bid = read_sysfs_build_id(Path::new("/sys/kernel/notes"))?;
    let path = buildid_dir
        .join("[kernel.kallsyms]")
        .join(build_id_hex(&bid))
        .join("kallsyms");
    let copy = std::fs::read(path).ok()?;
    let head = proc_head()?;
    let n = head.len().min(4096);
    if copy.get(..n) != Some(&head[..n]) {
        return None;
    }
    for name in REF_NAMES {
        let here = function_start(&head, name.as_bytes())?;
        if function_start(&copy, name.as_bytes()) != Some(here) {
            return None;
        }
    }
    Some(copy)
}

/// The first lines of `/proc/kallsyms`, whole, up to the ones of the
/// reference symbols (within the first MiB; `None` past it).
fn proc_head() -> Option<Vec<u8>> {
    let mut file = std::fs::File::open(PROC_KALLSYMS).ok()?;
    let mut head = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    while head.len() < 1 << 20 {
        let n = file.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
        let whole = &head[..head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
        if REF_NAMES
            .iter()
            .all(|name| function_start(whole, name.as_bytes()).is_some())
        {
            head.truncate(whole.len());
            return Some(head);
        }
    }
    None
}

/// When the running kernel booted (`btime` of `/proc/stat`).
fn boot_time() -> Option<std::time::SystemTime> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let secs: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
}

/// The table from the cache entry under `key`: `None` on a miss, else the
/// table (or `Some(None)` where perf's load fails). `read` reads the whole
/// file where the entry cannot answer (a relocation reference it lacks).
fn from_cache(
    key: &[u8],
    ctx: &KernelCtx,
    read: impl FnOnce() -> Option<Vec<u8>>,
) -> Option<Option<KernelTable>> {
    let path = Path::new(PROC_KALLSYMS);
    let (m, refs) = crate::cache::load_mapped(KIND, key).and_then(header)?;
    let delta = match ctx.ref_reloc {
        Some((name, addr)) => match refs.iter().find(|(n, _)| *n == name) {
            Some((_, Some(start))) => start.wrapping_sub(addr),
            Some((_, None)) => return Some(None), // perf's load fails
            None => return Some(read().and_then(|data| KernelTable::load(data, ctx))),
        },
        None => 0,
    };
    // Unrelocated, the stored rows answer as they are (a lookup reads only
    // the rows its search touches); relocated, they are decoded.
    if delta == 0 {
        return Some(Some(KernelTable::from_rows(Box::new(m), ctx, path.into())));
    }
    let core = decode(m.map)?;
    Some(Some(KernelTable::from_core(core, delta, ctx, path.into())))
}

/// What an entry stores of a kallsyms file: its table as a load with no
/// module maps and no relocation makes it, and the reference symbols'
/// starts.
struct Stored {
    table: KernelTable,
    refs: Refs,
}

impl Stored {
    /// The file's entry, or `None` when a module-area line sorts at or
    /// below a core symbol (see the module doc): the order is seen in the
    /// same reading of the file as perf's load.
    fn of_file(data: Vec<u8>) -> Option<Stored> {
        let none = Default::default();
        let ctx = KernelCtx {
            ref_reloc: None,
            modules: &none,
            loaded_modules: &none,
        };
        let refs = REF_NAMES
            .map(|n| (n, function_start(&data, n.as_bytes())))
            .to_vec();
        let (mut core_max, mut module_min) = (None::<u64>, None::<u64>);
        let table = KernelTable::load_seeing(data, &ctx, |name, start| {
            if memchr::memchr(b'\t', name).is_some() {
                module_min = Some(module_min.map_or(start, |m| m.min(start)));
            } else {
                core_max = Some(core_max.map_or(start, |m| m.max(start)));
            }
        });
        if let (Some(c), Some(m)) = (core_max, module_min) {
            if m <= c {
                return None;
            }
        }
        Some(Stored {
            table: table?,
            refs,
        })
    }

    /// The payload's length: the reference symbols, the row count, the rows,
    /// the names.
    fn len(&self) -> u64 {
        let symbols = self.table.core_symbols();
        let rows = symbols.len() as u64;
        let names: u64 = symbols.map(|(_, name)| name.len() as u64).sum();
        self.refs.len() as u64 * 9 + 8 + rows * ROW as u64 + names
    }

    /// The payload, handed to `put` a row or a name at a time: the
    /// reference symbols, the core rows, then their names packed in row
    /// order.
    fn write(&self, put: &mut dyn FnMut(&[u8])) {
        for (_, start) in &self.refs {
            put(&[u8::from(start.is_some())]);
            put(&start.unwrap_or(0).to_le_bytes());
        }
        let symbols = self.table.core_symbols();
        put(&(symbols.len() as u64).to_le_bytes());
        // What `Flat::finish` computes for lookups, stored with each row.
        let (mut reach, mut prev_start, mut name_at) = (0u64, None, 0u32);
        for (e, name) in symbols.clone() {
            let mut row = [0u8; ROW];
            row[0..8].copy_from_slice(&e.start.to_le_bytes());
            row[8..16].copy_from_slice(&e.end.to_le_bytes());
            row[16..24].copy_from_slice(&reach.to_le_bytes());
            row[24..28].copy_from_slice(&name_at.to_le_bytes());
            row[28..30].copy_from_slice(&(name.len() as u16).to_le_bytes());
            row[30] = e.binding;
            row[31] = u8::from(prev_start == Some(e.start));
            put(&row);
            prev_start = Some(e.start);
            name_at += name.len() as u32;
            if e.end > e.start {
                reach = reach.max(e.end);
            }
        }
        for (_, name) in symbols {
            put(name);
        }
    }
}

/// Bytes of a stored row.
const ROW: usize = 32;

/// A cache entry read in place: its rows, and names after them.
struct MappedRows {
    map: crate::cache::Mapped,
    rows_at: usize,
    n: usize,
    names_at: usize,
}

impl MappedRows {
    fn row(&self, i: usize) -> &[u8] {
        let at = self.rows_at + i * ROW;
        self.map.bytes().get(at..at + ROW).unwrap_or(&[0; ROW])
    }
    fn u64_at(&self, i: usize, off: usize) -> u64 {
        u64::from_le_bytes(self.row(i)[off..off + 8].try_into().unwrap_or([0; 8]))
    }
}

impl CoreRows for MappedRows {
    fn len(&self) -> usize {
        self.n
    }
    fn start(&self, i: usize) -> u64 {
        self.u64_at(i, 0)
    }
    fn end(&self, i: usize) -> u64 {
        self.u64_at(i, 8)
    }
    fn reach(&self, i: usize) -> u64 {
        self.u64_at(i, 16)
    }
    fn same_start(&self, i: usize) -> bool {
        self.row(i)[31] != 0
    }
    fn name(&self, i: usize) -> &[u8] {
        let r = self.row(i);
        let off = u32::from_le_bytes(r[24..28].try_into().unwrap_or([0; 4])) as usize;
        let len = usize::from(u16::from_le_bytes(r[28..30].try_into().unwrap_or([0; 2])));
        let at = self.names_at + off;
        self.map.bytes().get(at..at + len).unwrap_or(b"")
    }
}

/// The reference symbols of a stored entry, and its rows in place.
fn header(map: crate::cache::Mapped) -> Option<(MappedRows, Refs)> {
    let p = map.bytes();
    let (refs, n, r) = prefix(p)?;
    let rows_at = p.len() - r.len();
    let names_at = rows_at + n * ROW;
    Some((
        MappedRows {
            map,
            rows_at,
            n,
            names_at,
        },
        refs,
    ))
}

/// The entry's core part, its names left in the mapped file.
fn decode(m: crate::cache::Mapped) -> Option<Core> {
    let (entries, _, names_at) = decode_parts(m.bytes())?;
    Some(Core {
        names: NameBytes::Mapped(m, names_at),
        entries,
    })
}

/// The stored kallsyms addresses of the relocation reference symbols.
type Refs = Vec<(&'static str, Option<u64>)>;

/// A payload's entries, reference symbols and where its names start.
type Parts = (Vec<Entry>, Refs, usize);

/// A payload's reference symbols and row count, and what follows them (the
/// rows, then the names); None when the rows do not fit.
fn prefix(p: &[u8]) -> Option<(Refs, usize, &[u8])> {
    let mut refs = Vec::new();
    let mut rest = p;
    for name in REF_NAMES {
        let (&flag, r) = rest.split_first()?;
        let (v, r) = r.split_first_chunk::<8>()?;
        refs.push((name, (flag == 1).then(|| u64::from_le_bytes(*v))));
        rest = r;
    }
    let (n, r) = rest.split_first_chunk::<8>()?;
    let n = usize::try_from(u64::from_le_bytes(*n)).ok()?;
    if r.len() < n.checked_mul(ROW)? {
        return None;
    }
    Some((refs, n, r))
}

fn decode_parts(p: &[u8]) -> Option<Parts> {
    let (refs, n, r) = prefix(p)?;
    let (table, names) = r.split_at(n * ROW);
    let mut entries = Vec::with_capacity(n);
    for c in table.chunks_exact(ROW) {
        let u64_at = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().unwrap_or([0; 8]));
        let off = u64::from(u32::from_le_bytes(c[24..28].try_into().ok()?));
        let len = u32::from(u16::from_le_bytes(c[28..30].try_into().ok()?));
        if off + u64::from(len) > names.len() as u64 {
            return None;
        }
        entries.push(Entry {
            start: u64_at(0),
            end: u64_at(8),
            binding: c[30],
            name: NameRef {
                src: 0,
                plt: false,
                off,
                len,
            },
        });
    }
    Some((entries, refs, p.len() - names.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The payload stored for a kallsyms text.
    fn encode_file(data: Vec<u8>) -> Option<Vec<u8>> {
        let stored = Stored::of_file(data)?;
        let mut payload = Vec::new();
        stored.write(&mut |piece| payload.extend_from_slice(piece));
        assert_eq!(payload.len() as u64, stored.len());
        Some(payload)
    }

    const KS: &str = "ffffffff81000000 T _stext\n\
ffffffff81000000 T _text\n\
ffffffff81000010 t local_fn\n\
ffffffff81000020 r some_rodata\n\
ffffffff81000030 W weak_fn\n\
ffffffff81000800 T __entry_SYSCALL_64_trampoline\n\
ffffffff81000900 B bss_sym\n\
ffffffffc0000000 t mod_fn\t[mymod]\n\
ffffffffc0000100 t mod_fn2\t[mymod]\n\
ffffffff81000400 T out_of_order\n";

    /// A table from the stored payload finds what the file's own load does,
    /// for each relocation and module-map set.
    #[test]
    fn stored_table_equals_the_load() {
        let payload = encode_file(KS.as_bytes().to_vec()).unwrap();
        let mods: HashSet<String> = ["mymod".to_string()].into();
        let none = HashSet::new();
        for (reloc, modules) in [
            (None, &none),
            (Some(("_text", 0xffffffff80fff000)), &mods),
            (Some(("_stext", 0xffffffff81000000)), &none),
        ] {
            let ctx = KernelCtx {
                ref_reloc: reloc,
                modules,
                loaded_modules: &none,
            };
            let mut want = KernelTable::load(KS.as_bytes().to_vec(), &ctx).unwrap();
            let (entries, refs, at) = decode_parts(&payload).unwrap();
            let core = Core {
                names: NameBytes::Owned(payload[at..].to_vec()),
                entries,
            };
            let delta = match reloc {
                Some((n, a)) => refs
                    .iter()
                    .find(|(m, _)| *m == n)
                    .unwrap()
                    .1
                    .unwrap()
                    .wrapping_sub(a),
                None => 0,
            };
            let mut got = KernelTable::from_core(core, delta, &ctx, "/nonexistent".into());
            assert_eq!(got.range, want.range);
            // Unrelocated, the rows read in place from a cache file as well.
            let dir = std::env::temp_dir().join(format!("perfold-ks-{}", std::process::id()));
            assert!(crate::cache::store_in(&dir, "t", b"k", &payload));
            let m = crate::cache::load_mapped_in(&dir, "t", b"k").unwrap();
            let (rows, _) = header(m).unwrap();
            let mut in_place = KernelTable::from_rows(Box::new(rows), &ctx, "/nonexistent".into());
            let _ = std::fs::remove_dir_all(&dir);
            for ip in (0xffffffff80ffe000u64..0xffffffff81003000).step_by(8) {
                let want = want.find(ip).cloned();
                assert_eq!(got.find(ip).cloned(), want, "{ip:#x}");
                if delta == 0 {
                    assert_eq!(in_place.find(ip).cloned(), want, "{ip:#x}");
                    assert_eq!(in_place.range, got.range);
                }
            }
        }
    }

    #[test]
    fn module_symbol_below_the_kernel_is_not_stored() {
        let text = format!("{KS}ffffffff80000000 t early\t[m]\n");
        assert!(encode_file(text.as_bytes().to_vec()).is_none());
    }

    #[test]
    fn damaged_payload_is_rejected() {
        let payload = encode_file(KS.as_bytes().to_vec()).unwrap();
        assert!(decode_parts(&payload[..payload.len() - 40]).is_none());
        assert!(decode_parts(&payload[..10]).is_none());
    }
}
