//! A user-space DSO's symbols as perf 6.1 loads them (`symtab.rs` has the
//! rules), held as a [`Flat`] array whose names point into the mapped ELF
//! files: loading a C++ binary of 180 k symbols allocates and demangles
//! nothing per symbol; a name is demangled when a lookup first returns its
//! symbol (or when perf's alias choice compares two names).
//!
//! Lookups whose answer depends on the shape of perf's tree (overlapping
//! symbols, see `flat.rs`) go to perf's exact tree, built for the DSO on
//! the first such lookup by `symtab::load_user_symbols`.

use super::flat::{choose_best, Entry, Flat, Found, Materialized, NameKey, NameRef, Names};
use super::rbtree::SymTree;
use super::symtab::{load_symbols, user_name, Sink};
use super::symtab_cache;
use super::Symbol;
use crate::objfile::locate::Sources;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::cell::RefCell;

/// Names in the two files of [`Sources`] (`src` 0: symbols, 1: runtime).
struct Files<'a> {
    bytes: [&'a [u8]; 2],
    demangle: bool,
    /// Keys of names demangled for perf's alias choice, kept for the
    /// shape tree's pass over the same names.
    keys: &'a RefCell<FxHashMap<NameRef, NameKey>>,
}

impl Names for Files<'_> {
    fn raw(&self, r: NameRef) -> &[u8] {
        let b = self.bytes[usize::from(r.src & 1)];
        let start = usize::try_from(r.off).unwrap_or(usize::MAX);
        b.get(start..start.saturating_add(r.len as usize))
            .unwrap_or(b"")
    }
    fn name(&self, r: NameRef) -> Cow<'_, str> {
        Cow::Owned(user_name(self.raw(r), r.plt, self.demangle).into())
    }
    fn key(&self, r: NameRef) -> NameKey {
        if let Some(k) = self.keys.borrow().get(&r) {
            return *k;
        }
        let k = NameKey::of(&self.name(r));
        self.keys.borrow_mut().insert(r, k);
        k
    }
}

impl<'a> Files<'a> {
    fn of(
        src: &'a Sources,
        demangle: bool,
        keys: &'a RefCell<FxHashMap<NameRef, NameKey>>,
    ) -> Self {
        Files {
            bytes: [src.syms.blob.bytes(), src.runtime().blob.bytes()],
            demangle,
            keys,
        }
    }

    /// Where a name slice taken from one of the files is.
    fn locate(&self, name: &[u8], plt: bool) -> NameRef {
        let p = name.as_ptr() as usize;
        for (src, b) in self.bytes.iter().enumerate() {
            let base = b.as_ptr() as usize;
            if !name.is_empty() && p >= base && p + name.len() <= base + b.len() {
                return NameRef {
                    src: src as u8,
                    plt,
                    off: (p - base) as u64,
                    len: name.len() as u32,
                };
            }
        }
        // The empty name of an unreadable string.
        NameRef {
            src: 0,
            plt,
            off: 0,
            len: 0,
        }
    }
}

struct FlatSink<'a> {
    flat: Flat,
    files: Files<'a>,
}

impl Sink for FlatSink<'_> {
    fn insert(&mut self, start: u64, len: u64, binding: u8, name: &[u8], plt: bool) {
        let name = self.files.locate(name, plt);
        self.flat.entries.push(Entry {
            start,
            end: start.wrapping_add(len),
            binding,
            name,
        });
    }
    fn fixup(&mut self) {
        self.flat.sort();
        self.flat.fixup_end(false, &self.files);
        self.flat.fixup_duplicate(&self.files);
    }
}

/// perf's tree with the same inserts and erasures, but nameless: a node's
/// name is the entry of the same index (nodes are numbered in insertion
/// order), compared with [`choose_best`] when perf's alias choice needs it.
struct ShapeSink<'a> {
    tree: SymTree,
    names: Vec<NameRef>,
    files: Files<'a>,
}

impl Sink for ShapeSink<'_> {
    fn insert(&mut self, start: u64, len: u64, binding: u8, name: &[u8], plt: bool) {
        self.names.push(self.files.locate(name, plt));
        self.tree.insert(start, len, binding, Box::default());
    }
    fn fixup(&mut self) {
        self.tree.fixup_end(false);
        let (names, files) = (&self.names, &self.files);
        self.tree.fixup_duplicate_with(|t, a, b| {
            let entry = |n: u32| {
                let node = t.node(n);
                Entry {
                    start: node.sym.start,
                    end: node.sym.end,
                    binding: node.binding,
                    name: names[n as usize],
                }
            };
            choose_best(&entry(a), &entry(b), files)
        });
    }
}

/// perf's tree shape for ambiguous lookups.
struct Shape {
    tree: SymTree,
    names: Vec<NameRef>,
    symbols: Materialized,
}

/// A loaded user-space DSO.
pub struct UserTable {
    src: Sources,
    demangle: bool,
    keys: RefCell<FxHashMap<NameRef, NameKey>>,
    flat: Flat,
    symbols: Materialized,
    /// perf's tree shape, built on the first ambiguous lookup.
    exact: Option<Shape>,
    /// Every lookup goes to `exact` (a shape from the persistent cache).
    shape_only: bool,
    /// The table's key in the persistent cache (`symtab_cache.rs`).
    cache_key: Option<Vec<u8>>,
}

/// Handles above this are nodes of the exact tree.
const TREE_NODE: u32 = 1 << 31;

impl UserTable {
    pub fn load(src: Sources, demangle: bool) -> UserTable {
        let cache_key = symtab_cache::key(&src, demangle).filter(|_| crate::cache::dir().is_some());
        let mut table = UserTable {
            src,
            demangle,
            keys: RefCell::default(),
            flat: Flat::default(),
            symbols: Materialized::default(),
            exact: None,
            shape_only: false,
            cache_key: None,
        };
        if let Some(stored) = cache_key.as_deref().and_then(symtab_cache::load) {
            match stored.depths {
                Some(depths) => {
                    let nodes = stored
                        .entries
                        .iter()
                        .zip(depths)
                        .map(|(e, d)| {
                            let sym = Symbol {
                                start: e.start,
                                end: e.end,
                                name: Box::default(),
                            };
                            (sym, e.binding, d)
                        })
                        .collect();
                    if let Some(tree) = SymTree::from_shape(nodes) {
                        table.exact = Some(Shape {
                            tree,
                            names: stored.entries.iter().map(|e| e.name).collect(),
                            symbols: Materialized::default(),
                        });
                        table.shape_only = true;
                        return table;
                    }
                }
                None => {
                    table.flat.entries = stored.entries;
                    table.flat.finish();
                    table.cache_key = cache_key;
                    return table;
                }
            }
        }
        let mut sink = FlatSink {
            flat: Flat::default(),
            files: Files::of(&table.src, demangle, &table.keys),
        };
        load_symbols(&table.src, &mut sink);
        let mut flat = sink.flat;
        // Entries after an error or the PLT entries are not sorted yet.
        flat.sort();
        flat.finish();
        if let Some(key) = &cache_key {
            symtab_cache::store(key, &flat.entries, None);
        }
        table.cache_key = cache_key;
        table.flat = flat;
        table
    }

    /// perf `symbols__find`: a handle for [`UserTable::symbol`].
    pub fn find(&mut self, ip: u64) -> Option<u32> {
        let found = if self.shape_only {
            Found::Ambiguous
        } else {
            self.flat.find(ip)
        };
        match found {
            Found::Nothing => None,
            Found::Symbol(i) => {
                let files = Files::of(&self.src, self.demangle, &self.keys);
                Some(self.symbols.slot(&self.flat, &files, i))
            }
            Found::Ambiguous => {
                let (src, demangle, keys) = (&self.src, self.demangle, &self.keys);
                let cache_key = &self.cache_key;
                let shape = self.exact.get_or_insert_with(|| {
                    let mut sink = ShapeSink {
                        tree: SymTree::new(),
                        names: Vec::new(),
                        files: Files::of(src, demangle, keys),
                    };
                    load_symbols(src, &mut sink);
                    if let Some(key) = cache_key {
                        let order = sink.tree.shape();
                        let entries: Vec<Entry> = order
                            .iter()
                            .map(|&(n, _)| {
                                let node = sink.tree.node(n);
                                Entry {
                                    start: node.sym.start,
                                    end: node.sym.end,
                                    binding: node.binding,
                                    name: sink.names[n as usize],
                                }
                            })
                            .collect();
                        let depths: Vec<u32> = order.iter().map(|&(_, d)| d).collect();
                        symtab_cache::store(key, &entries, Some(&depths));
                    }
                    Shape {
                        tree: sink.tree,
                        names: sink.names,
                        symbols: Materialized::default(),
                    }
                });
                let node = shape.tree.find(ip)?;
                let n = shape.names.len();
                let (tree, names) = (&shape.tree, &shape.names);
                let files = Files::of(src, demangle, keys);
                let slot = shape.symbols.slot_with(n, node as usize, || {
                    let s = &tree.node(node).sym;
                    Symbol {
                        start: s.start,
                        end: s.end,
                        name: files
                            .name(names[node as usize])
                            .into_owned()
                            .into_boxed_str(),
                    }
                });
                Some(slot | TREE_NODE)
            }
        }
    }

    pub fn symbol(&self, handle: u32) -> &Symbol {
        match (handle & TREE_NODE != 0, &self.exact) {
            (true, Some(shape)) => shape.symbols.symbol(handle & !TREE_NODE),
            _ => self.symbols.symbol(handle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objfile::locate::{Blob, SymSrc};

    fn sources(path: &str) -> Option<Sources> {
        let bytes = std::fs::read(path).ok()?;
        let elf = crate::objfile::elf::Elf::parse(&bytes)?;
        let has_symtab = elf.section_by_name(".symtab").is_some();
        let has_dynsym = elf.section_by_name(".dynsym").is_some();
        Some(Sources {
            syms: SymSrc {
                blob: Blob::Mem(bytes),
                identity: None,
                has_symtab,
                has_dynsym,
            },
            runtime: None,
        })
    }

    /// Every symbol start, end and midpoint of a real binary resolves as
    /// through perf's tree (demangled names included).
    fn same_as_tree(path: &str) {
        let Some(src) = sources(path) else {
            panic!("{path} not readable");
        };
        let tree = super::super::symtab::load_user_symbols(&src, true);
        let mut table = UserTable::load(src, true);
        let mut points = Vec::new();
        for n in tree.in_order() {
            let s = &tree.node(n).sym;
            points.extend([
                s.start,
                s.end,
                s.end.wrapping_sub(1),
                s.start / 2 + s.end / 2,
            ]);
        }
        assert!(points.len() > 100, "{path}: too few symbols");
        for ip in points {
            let want = tree.find(ip).map(|n| tree.node(n).sym.clone());
            let got = table.find(ip).map(|h| table.symbol(h).clone());
            assert_eq!(got, want, "{path} ip {ip:#x}");
        }
    }

    #[test]
    fn agrees_with_the_tree_on_system_libraries() {
        // C (libc: aliases, IFUNCs, PLT) and C++ (libstdc++: demangling).
        let lib = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sysroot/usr/lib/x86_64-linux-gnu"
        );
        same_as_tree(&format!("{lib}/libc.so.6"));
        same_as_tree(&format!("{lib}/libstdc++.so.6.0.30"));
        // Rust (legacy mangling, many symbols).
        same_as_tree(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sysroot/tmp/perfold-fx/bin/rust-fp"
        ));
    }
}
