//! The `[kernel.kallsyms]` DSO as perf 6.1 loads it (`__dso__load_kallsyms`,
//! see `kernel.rs` for the rules), held as a [`Flat`] array over the file's
//! bytes: parsing a 120 k-line kallsyms allocates nothing per symbol, and a
//! symbol's name is allocated when a lookup first returns it.
//!
//! A lookup whose answer would depend on the shape of perf's tree (symbols
//! overlapping at that address, see `flat.rs`) is answered by perf's exact
//! tree, built then from the same bytes by `kernel::load_kallsyms`.
//!
//! A table can also be made from the core kernel's part of an earlier load
//! ([`KernelTable::core`], [`KernelTable::from_core`]: `kallsyms_cache.rs`
//! stores it); such a table reads the file again only if a lookup needs
//! perf's exact tree or a module's symbols.

use super::flat::{Entry, Flat, Found, Materialized, NameRef, Names};
use super::kernel::{self, binding, function_start, parse_kallsyms_at, Kernel, KernelCtx};
use super::rbtree::SymTree;
use super::Symbol;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Bytes names are references into: a kallsyms file, or the names of a
/// core part (built, or mapped from a cache entry from this offset on).
pub enum NameBytes {
    Owned(Vec<u8>),
    Mapped(crate::cache::Mapped, usize),
}

impl NameBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            NameBytes::Owned(v) => v,
            NameBytes::Mapped(m, off) => m.bytes().get(*off..).unwrap_or(b""),
        }
    }
}

/// The kallsyms bytes (names are references into them).
struct Text(NameBytes);

impl Names for Text {
    fn raw(&self, r: NameRef) -> &[u8] {
        let start = r.off as usize;
        self.0
            .bytes()
            .get(start..start + r.len as usize)
            .unwrap_or(b"")
    }
    fn name(&self, r: NameRef) -> Cow<'_, str> {
        String::from_utf8_lossy(self.raw(r))
    }
}

/// `ctx` of `kernel::load_kallsyms`, owned (the exact tree may be built later).
struct OwnedCtx {
    ref_reloc: Option<(String, u64)>,
    modules: HashSet<String>,
    loaded_modules: HashSet<String>,
}

/// The loaded kernel DSO.
pub struct KernelTable {
    /// The bytes the entries' names point into: the whole file, or only
    /// the names of a table made by [`KernelTable::from_core`].
    text: Text,
    flat: Flat,
    symbols: Materialized,
    ctx: OwnedCtx,
    /// The file to read again when `text` holds only names.
    reread: Option<PathBuf>,
    /// perf's exact tree, built on the first ambiguous lookup.
    exact: Option<Option<Kernel>>,
    /// The kernel map's range after `map__fixup_start`/`map__fixup_end`.
    pub range: Option<(u64, u64)>,
    /// Symbols `maps__split_kallsyms` moved to module maps (see `kernel.rs`);
    /// `None` until read for a table made from the core part.
    modules: Option<HashMap<String, SymTree>>,
    /// Rows answering lookups in place of `flat` ([`KernelTable::from_rows`]).
    rows: Option<Box<dyn CoreRows>>,
}

/// A core part ([`Core`], no relocation) with what [`Flat::find`] reads of
/// it, row by row, so a table can look symbols up in stored rows without
/// decoding them all first.
pub trait CoreRows {
    fn len(&self) -> usize;
    fn start(&self, i: usize) -> u64;
    fn end(&self, i: usize) -> u64;
    /// The largest end of a non-empty row before row `i`.
    fn reach(&self, i: usize) -> u64;
    /// Row `i - 1` starts where row `i` does.
    fn same_start(&self, i: usize) -> bool;
    fn name(&self, i: usize) -> &[u8];
}

/// The core kernel's symbols of a kallsyms file as a load with no module
/// maps and no relocation keeps them (sorted, ends and duplicates fixed,
/// the entry trampoline dropped), names packed into `names`.
pub struct Core {
    pub names: NameBytes,
    pub entries: Vec<Entry>,
}

impl OwnedCtx {
    fn of(ctx: &KernelCtx) -> OwnedCtx {
        OwnedCtx {
            ref_reloc: ctx.ref_reloc.map(|(n, a)| (n.to_string(), a)),
            modules: ctx.modules.clone(),
            loaded_modules: ctx.loaded_modules.clone(),
        }
    }

    fn borrow(&self) -> KernelCtx<'_> {
        KernelCtx {
            ref_reloc: self.ref_reloc.as_ref().map(|(n, a)| (n.as_str(), *a)),
            modules: &self.modules,
            loaded_modules: &self.loaded_modules,
        }
    }
}


impl KernelTable {
    /// perf `__dso__load_kallsyms` over a kallsyms file's bytes; `None` when
    /// perf's load fails (unknown relocation reference symbol).
    pub fn load(data: Vec<u8>, ctx: &KernelCtx) -> Option<KernelTable> {
        Self::load_seeing(data, ctx, |_, _| {})
    }

    /// [`KernelTable::load`], showing `seen` every symbol it keeps (name and
    /// start, in file order).
    pub fn load_seeing(
        data: Vec<u8>,
        ctx: &KernelCtx,
        mut seen: impl FnMut(&[u8], u64),
    ) -> Option<KernelTable> {
        let mut flat = Flat::default();
        parse_kallsyms_at(&data, |off, name, ty, start| {
            // symbol_type__filter and "Ignore local symbols for ARM modules".
            if matches!(ty.to_ascii_uppercase(), b'T' | b'W' | b'D' | b'B')
                && name.first() != Some(&b'$')
            {
                seen(name, start);
                flat.entries.push(Entry {
                    start,
                    end: start,
                    binding: binding(ty),
                    name: NameRef {
                        src: 0,
                        plt: false,
                        off: off as u64,
                        len: name.len() as u32,
                    },
                });
            }
            ControlFlow::Continue(())
        });
        let delta = match ctx.ref_reloc {
            Some((name, addr)) => function_start(&data, name.as_bytes())?.wrapping_sub(addr),
            None => 0,
        };
        let text = Text(NameBytes::Owned(data));
        flat.sort_read_order();
        flat.fixup_end(true, &text);
        flat.fixup_duplicate(&text);
        let modules = split_kallsyms(&mut flat, &text, delta, ctx.modules, ctx.loaded_modules);
        let range = match (flat.entries.first(), flat.entries.last()) {
            (Some(f), Some(l)) => Some((f.start, l.end)),
            _ => None,
        };
        flat.finish();
        Some(KernelTable {
            text,
            flat,
            symbols: Materialized::default(),
            ctx: OwnedCtx::of(ctx),
            reread: None,
            exact: None,
            range,
            modules: Some(modules),
            rows: None,
        })
    }

    /// The core part of a table loaded with no module maps and no
    /// relocation reference (what [`KernelTable::from_core`] takes, once
    /// stored): each kept entry, in order, with its name's bytes.
    pub fn core_symbols(&self) -> impl ExactSizeIterator<Item = (&Entry, &[u8])> + Clone {
        self.flat.entries.iter().map(|e| (e, self.text.raw(e.name)))
    }

    /// The table a load of `file` with `ctx` makes, from that file's core
    /// part and the relocation `delta` (the reference symbol's kallsyms
    /// address minus its recorded one). Only valid when no module symbol
    /// sorts before a core symbol, so that `maps__split_kallsyms` keeps
    /// every core symbol whatever the module maps (`kallsyms_cache.rs`).
    pub fn from_core(core: Core, delta: u64, ctx: &KernelCtx, file: PathBuf) -> KernelTable {
        let mut flat = Flat::default();
        flat.entries = core.entries;
        for e in &mut flat.entries {
            e.start = e.start.wrapping_sub(delta);
            e.end = e.end.wrapping_sub(delta);
        }
        let range = match (flat.entries.first(), flat.entries.last()) {
            (Some(f), Some(l)) => Some((f.start, l.end)),
            _ => None,
        };
        flat.finish();
        KernelTable::cached(Text(core.names), flat, None, range, ctx, file)
    }

    /// [`KernelTable::from_core`] with no relocation, looking symbols up in
    /// `rows` as they are.
    pub fn from_rows(rows: Box<dyn CoreRows>, ctx: &KernelCtx, file: PathBuf) -> KernelTable {
        let n = rows.len();
        let range = (n > 0).then(|| (rows.start(0), rows.end(n - 1)));
        let text = Text(NameBytes::Owned(Vec::new()));
        KernelTable::cached(text, Flat::default(), Some(rows), range, ctx, file)
    }

    /// A table from the persistent cache: `file` is read again only for
    /// what the stored part lacks (the names, the module symbols).
    fn cached(
        text: Text,
        flat: Flat,
        rows: Option<Box<dyn CoreRows>>,
        range: Option<(u64, u64)>,
        ctx: &KernelCtx,
        file: PathBuf,
    ) -> KernelTable {
        KernelTable {
            text,
            flat,
            symbols: Materialized::default(),
            ctx: OwnedCtx::of(ctx),
            reread: Some(file),
            exact: None,
            range,
            modules: None,
            rows,
        }
    }

    /// [`Flat::find`] over [`CoreRows`].
    fn find_row(rows: &dyn CoreRows, ip: u64) -> Found {
        let (mut lo, mut hi) = (0, rows.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if rows.start(mid) <= ip {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == 0 {
            return Found::Nothing;
        }
        let i = lo - 1;
        if rows.reach(i) > ip || rows.same_start(i) {
            return Found::Ambiguous;
        }
        let (start, end) = (rows.start(i), rows.end(i));
        if ip < end || (ip == start && end == start) {
            Found::Symbol(i)
        } else {
            Found::Nothing
        }
    }

    /// The whole file's bytes (read again for a table made from a core part).
    fn file_bytes(&self) -> Option<Cow<'_, [u8]>> {
        match &self.reread {
            None => Some(Cow::Borrowed(self.text.0.bytes())),
            Some(p) => kernel::read_kallsyms(p).map(Cow::Owned),
        }
    }

    /// The symbols `maps__split_kallsyms` moved to the module map `[name]`.
    pub fn module(&mut self, name: &str) -> Option<&SymTree> {
        if self.modules.is_none() {
            let ctx = self.ctx.borrow();
            let full = self
                .file_bytes()
                .and_then(|data| KernelTable::load(data.into_owned(), &ctx));
            self.modules = Some(full.and_then(|t| t.modules).unwrap_or_default());
        }
        self.modules.as_ref()?.get(name)
    }

    /// Kernel symbol for a kernel ip (perf's `symbols__find` on the kernel map).
    pub fn find(&mut self, ip: u64) -> Option<&Symbol> {
        if let Some(rows) = &self.rows {
            match Self::find_row(rows.as_ref(), ip) {
                Found::Nothing => return None,
                Found::Symbol(i) => {
                    let slot = self.symbols.slot_with(rows.len(), i, || Symbol {
                        start: rows.start(i),
                        end: rows.end(i),
                        name: String::from_utf8_lossy(rows.name(i)).into(),
                    });
                    return Some(self.symbols.symbol(slot));
                }
                Found::Ambiguous => {}
            }
        }
        let found = if self.rows.is_some() {
            Found::Ambiguous
        } else {
            self.flat.find(ip)
        };
        match found {
            Found::Nothing => None,
            Found::Symbol(i) => {
                let slot = self.symbols.slot(&self.flat, &self.text, i);
                Some(self.symbols.symbol(slot))
            }
            Found::Ambiguous => {
                if self.exact.is_none() {
                    let ctx = self.ctx.borrow();
                    let exact = self
                        .file_bytes()
                        .and_then(|data| kernel::load_kallsyms(&data, &ctx));
                    self.exact = Some(exact);
                }
                let k = self.exact.as_ref()?.as_ref()?;
                k.tree.find(ip).map(|n| &k.tree.node(n).sym)
            }
        }
    }
}

/// perf `maps__split_kallsyms` over the array (same walk as
/// `kernel::split_kallsyms` over the tree): module symbols leave for their
/// module map (or are dropped), kernel symbols after a module symbol leave
/// for a `[kernel].N` map, the entry trampoline is dropped, the relocation
/// delta is applied to what stays.
fn split_kallsyms(
    flat: &mut Flat,
    text: &Text,
    delta: u64,
    modules: &HashSet<String>,
    loaded: &HashSet<String>,
) -> HashMap<String, SymTree> {
    let mut moved: HashMap<String, SymTree> = HashMap::new();
    let mut in_module: Option<String> = None;
    let mut moved_away = false;
    // Kept entries move down over the ones dropped (no second table).
    let mut kept = 0usize;
    for read in 0..flat.entries.len() {
        let e = flat.entries[read];
        let raw = text.raw(e.name);
        if let Some(tab) = raw.iter().position(|&c| c == b'\t') {
            let module = String::from_utf8_lossy(&raw[tab + 1..]);
            if moved_away || in_module.as_deref() != Some(&*module) {
                moved_away = false;
                in_module = modules.contains(&*module).then(|| module.into_owned());
            }
            if let Some(m) = in_module.as_ref().filter(|m| !loaded.contains(*m)) {
                moved.entry(m.clone()).or_default().insert(
                    e.start,
                    e.end.wrapping_sub(e.start),
                    e.binding,
                    String::from_utf8_lossy(&raw[..tab]).into(),
                );
            }
            continue;
        }
        if raw == b"__entry_SYSCALL_64_trampoline" {
            continue;
        }
        let mut e = e;
        e.start = e.start.wrapping_sub(delta);
        e.end = e.end.wrapping_sub(delta);
        if (in_module.is_some() || moved_away) && kept != 0 {
            moved_away = true;
            in_module = None;
            continue;
        }
        in_module = None;
        moved_away = false;
        flat.entries[kept] = e;
        kept += 1;
    }
    flat.entries.truncate(kept);
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every address of a kallsyms text resolves as through perf's tree.
    fn same_as_tree(text: &str, reloc: Option<(&str, u64)>, modules: &[&str]) {
        let mods: HashSet<String> = modules.iter().map(|s| s.to_string()).collect();
        let none = HashSet::new();
        let ctx = KernelCtx {
            ref_reloc: reloc,
            modules: &mods,
            loaded_modules: &none,
        };
        let tree = kernel::load_kallsyms(text.as_bytes(), &ctx).unwrap();
        let mut flat = KernelTable::load(text.as_bytes().to_vec(), &ctx).unwrap();
        assert_eq!(tree.range, flat.range);
        let mut names: Vec<_> = tree.modules.keys().cloned().collect();
        names.sort();
        let flat_modules = flat.modules.take().unwrap();
        let mut flat_names: Vec<_> = flat_modules.keys().cloned().collect();
        flat_names.sort();
        assert_eq!(names, flat_names);
        for (m, t) in &tree.modules {
            let f = &flat_modules[m];
            let a: Vec<_> = t
                .in_order()
                .iter()
                .map(|&n| t.node(n).sym.clone())
                .collect();
            let b: Vec<_> = f
                .in_order()
                .iter()
                .map(|&n| f.node(n).sym.clone())
                .collect();
            assert_eq!(a, b);
        }
        let mut points: Vec<u64> = Vec::new();
        for n in tree.tree.in_order() {
            let s = &tree.tree.node(n).sym;
            for d in [0u64, 1, 2] {
                points.extend([s.start.wrapping_add(d), s.end.wrapping_sub(d), s.end]);
            }
        }
        for e in &flat.flat.entries.clone() {
            points.extend([
                e.start,
                e.end,
                e.start.wrapping_sub(1),
                e.end.wrapping_sub(1),
            ]);
        }
        for ip in points {
            let want = tree.tree.find(ip).map(|n| tree.tree.node(n).sym.clone());
            assert_eq!(flat.find(ip).cloned(), want, "ip {ip:#x}");
        }
    }

    const KS: &str = "ffffffff81000000 T srso_alias_untrain_ret\n\
ffffffff81000000 T _stext\n\
ffffffff81000000 T _text\n\
ffffffff81000010 t local_fn\n\
ffffffff81000020 r some_rodata\n\
ffffffff81000030 W weak_fn\n\
ffffffff81000040 d $x\n\
ffffffff81000800 T __entry_SYSCALL_64_trampoline\n\
ffffffff81000900 B bss_sym\n\
ffffffffc0000000 t mod_fn\t[mymod]\n\
ffffffffc0000100 t mod_fn2\t[mymod]\n\
ffffffffc0000200 T after_module\n\
ffffffffc0000300 T after_module2\n\
ffffffffc0001000 t other\t[other]\n\
ffffffff81000400 T out_of_order\n";

    #[test]
    fn agrees_with_the_tree() {
        same_as_tree(KS, None, &[]);
        same_as_tree(KS, None, &["mymod"]);
        same_as_tree(KS, Some(("_text", 0xffffffff80fff000)), &["mymod", "other"]);
    }

    #[test]
    fn agrees_with_the_tree_on_this_machine() {
        // The running kernel's table, when readable (120 k symbols here).
        let Ok(data) = std::fs::read("/proc/kallsyms") else {
            return;
        };
        let text = String::from_utf8_lossy(&data).into_owned();
        same_as_tree(&text, None, &[]);
    }

    #[test]
    fn unknown_reference_symbol_fails_the_load() {
        let none = HashSet::new();
        let ctx = KernelCtx {
            ref_reloc: Some(("nope", 1)),
            modules: &none,
            loaded_modules: &none,
        };
        assert!(KernelTable::load(KS.as_bytes().to_vec(), &ctx).is_none());
    }
}
