//! A symbol table as a sorted array instead of perf's red-black tree, for
//! tables of tens or hundreds of thousands of symbols (kallsyms, big C++
//! binaries) where building the tree, allocating every name and demangling
//! every symbol cost more than a short recording's whole run.
//!
//! Entries keep their name as a reference into the file they were read
//! from; a name is turned into a `Symbol` (demangled, allocated) only when a
//! lookup returns it, or when perf's alias choice has to compare two names.
//!
//! perf's fix-ups (`symbols__fixup_end`, `symbols__fixup_duplicate`) are
//! in-order passes, so they give the same result over the array as over the
//! tree: a stable sort by start puts symbols in the tree's in-order (equal
//! starts in insertion order, as `__symbols__insert` sends them right).
//!
//! What the array cannot reproduce is the tree *walk* (`symbols__find`)
//! when symbols overlap: then the answer depends on the tree's shape. A
//! lookup is answered here only when the walk's answer does not depend on
//! the shape: the address is in at most one symbol, and no other symbol
//! starts between that symbol's start and the address (see [`Flat::find`]).
//! Otherwise the lookup is [`Found::Ambiguous`] and the caller builds perf's
//! exact tree (the old, eager path) for that table.

use super::rbtree::{prefer_by_name, prefer_by_size_and_binding};
use super::Symbol;
use std::borrow::Cow;

/// Where an entry's name bytes are: `src` picks one of the owner's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NameRef {
    pub src: u8,
    /// A synthesized PLT entry: the name gets `@plt` appended.
    pub plt: bool,
    pub off: u64,
    pub len: u32,
}

/// One `struct symbol` before it is materialised.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub start: u64,
    /// Exclusive end after fix-ups; `start + size` (wrapping) before.
    pub end: u64,
    pub binding: u8,
    pub name: NameRef,
}

/// The names of a table's entries.
pub trait Names {
    /// The bytes the name is made from (before demangling).
    fn raw(&self, r: NameRef) -> &[u8];
    /// The name perf stores for the symbol (demangled, `@plt` added,
    /// invalid UTF-8 replaced).
    fn name(&self, r: NameRef) -> Cow<'_, str>;
    /// What perf's alias choice reads of the name.
    fn key(&self, r: NameRef) -> NameKey {
        NameKey::of(&self.name(r))
    }
}

/// What `choose_best_symbol` reads of a name: leading underscores, length,
/// and whether it starts with `SyS` or `compat_SyS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameKey {
    underscores: usize,
    len: usize,
    sys: bool,
}

impl NameKey {
    pub fn of(name: &str) -> NameKey {
        NameKey {
            underscores: name.bytes().take_while(|&c| c == b'_').count(),
            len: name.len(),
            sys: name.starts_with("SyS") || name.starts_with("compat_SyS"),
        }
    }
}

/// Result of a lookup in the array.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    Symbol(usize),
    Nothing,
    /// The answer depends on perf's tree shape.
    Ambiguous,
}

/// Entries in the tree's in-order, with what lookups need.
#[derive(Default)]
pub struct Flat {
    pub entries: Vec<Entry>,
    /// `reach[i]`: the largest end of a non-empty entry before `i`.
    reach: Vec<u64>,
    /// `same_start[i]`: entry `i - 1` starts where entry `i` does.
    same_start: Vec<bool>,
}

impl Flat {
    /// Puts entries appended since the last call into in-order (stable).
    pub fn sort(&mut self) {
        self.entries.sort_by_key(|e| e.start);
    }

    /// [`Self::sort`] for entries pushed in the order of their names in one
    /// text (a kallsyms file as read): the name's offset keeps ties in that
    /// order, so an in-place sort gives the stable sort's order without its
    /// scratch copy of the table (5 MB for a kernel's).
    pub fn sort_read_order(&mut self) {
        debug_assert!(self.entries.windows(2).all(|w| w[0].name.off < w[1].name.off));
        self.entries.sort_unstable_by_key(|e| (e.start, e.name.off));
    }

    /// perf `symbols__fixup_end` over the sorted entries.
    pub fn fixup_end(&mut self, is_kallsyms: bool, names: &impl Names) {
        let n = self.entries.len();
        if n == 0 {
            return;
        }
        // Whether a kallsyms name has a `[module]` part, found once per
        // name (it is the current entry, then the previous one).
        let bracket = |e: &Entry| is_kallsyms && memchr::memchr(b'[', names.raw(e.name)).is_some();
        let mut prev_bracket = bracket(&self.entries[0]);
        for i in 1..n {
            let (prev, curr) = (self.entries[i - 1], self.entries[i]);
            let curr_bracket = bracket(&curr);
            if prev.end == prev.start {
                self.entries[i - 1].end = if prev_bracket != curr_bracket {
                    roundup_4k(prev.end.wrapping_add(4096))
                } else {
                    curr.start
                };
            }
            prev_bracket = curr_bracket;
        }
        let last = &mut self.entries[n - 1];
        if last.end == last.start {
            last.end = roundup_4k(last.start).wrapping_add(4096);
        }
    }

    /// perf `symbols__fixup_duplicate`: of entries sharing a start keep the
    /// one `choose_best_symbol` prefers (perf's loop: the current entry
    /// against its successor until one with another start comes or the
    /// current one loses).
    pub fn fixup_duplicate(&mut self, names: &impl Names) {
        let n = self.entries.len();
        let mut keep = vec![true; n];
        let mut curr = 0;
        while curr < n {
            let mut next = curr + 1;
            loop {
                if next >= n || self.entries[next].start != self.entries[curr].start {
                    curr = next;
                    break;
                }
                if choose_best(&self.entries[curr], &self.entries[next], names) {
                    keep[next] = false;
                    next += 1;
                    continue;
                }
                keep[curr] = false;
                curr = next;
                break;
            }
        }
        let mut k = keep.iter();
        self.entries.retain(|_| *k.next().unwrap_or(&true));
    }

    /// Prepares lookups; call after the last change to the entries.
    pub fn finish(&mut self) {
        let n = self.entries.len();
        self.reach = Vec::with_capacity(n);
        self.same_start = Vec::with_capacity(n);
        let mut reach = 0u64;
        let mut prev_start = None;
        for e in &self.entries {
            self.reach.push(reach);
            self.same_start.push(prev_start == Some(e.start));
            prev_start = Some(e.start);
            if e.end > e.start {
                reach = reach.max(e.end);
            }
        }
    }

    /// perf `symbols__find`, when its answer does not depend on the tree's
    /// shape. The walk returns the first node on its path whose range holds
    /// `ip` (`start <= ip < end`, or `ip == start == end`). Let `i` be the
    /// last entry starting at or below `ip`. Entries after `i` hold nothing
    /// of `ip`. If no entry before `i` reaches past `ip` and none starts
    /// where `i` does, `i` is the only candidate, and the walk finds it: at
    /// a node starting above `ip` it turns left, towards `i`; at a node
    /// starting at or below `ip` (so before `i`, not holding `ip`) it turns
    /// right, towards `i` as well.
    pub fn find(&self, ip: u64) -> Found {
        let i = self.entries.partition_point(|e| e.start <= ip);
        if i == 0 {
            return Found::Nothing;
        }
        let i = i - 1;
        if self.reach[i] > ip || self.same_start[i] {
            return Found::Ambiguous;
        }
        let e = &self.entries[i];
        if ip < e.end || (ip == e.start && e.end == e.start) {
            Found::Symbol(i)
        } else {
            Found::Nothing
        }
    }

    /// Whether some lookup could be ambiguous.
    #[cfg(test)]
    pub fn has_overlaps(&self) -> bool {
        self.entries
            .iter()
            .enumerate()
            .any(|(i, e)| self.same_start[i] || self.reach[i] > e.start)
    }
}

/// Symbols made from entries when a lookup first returns them, by entry.
#[derive(Default)]
pub struct Materialized {
    slot: Vec<u32>,
    syms: Vec<Symbol>,
}

impl Materialized {
    /// The handle of entry `i`'s symbol (made now if it was not).
    pub fn slot(&mut self, flat: &Flat, names: &impl Names, i: usize) -> u32 {
        let e = &flat.entries[i];
        self.slot_with(flat.entries.len(), i, || Symbol {
            start: e.start,
            end: e.end,
            name: names.name(e.name).into_owned().into_boxed_str(),
        })
    }

    /// The handle of item `i` of `n`, its symbol made by `make` the first time.
    pub fn slot_with(&mut self, n: usize, i: usize, make: impl FnOnce() -> Symbol) -> u32 {
        if self.slot.len() != n {
            self.slot = vec![u32::MAX; n];
        }
        if self.slot[i] == u32::MAX {
            self.slot[i] = self.syms.len() as u32;
            self.syms.push(make());
        }
        self.slot[i]
    }

    pub fn symbol(&self, slot: u32) -> &Symbol {
        &self.syms[slot as usize]
    }
}

/// `roundup(x, 4096)` as perf's macro computes it (wrapping like C).
fn roundup_4k(x: u64) -> u64 {
    x.wrapping_add(4095) / 4096 * 4096
}

/// Whether a name could read `SyS...` after demangling although its bytes
/// do not hold `SyS`: escapes of OCaml and legacy Rust names (`$53`).
fn may_become_sys(raw: &[u8]) -> bool {
    raw.windows(3).any(|w| w == b"SyS") || raw.contains(&b'$')
}

/// perf `choose_best_symbol` (+ the weak `arch__choose_best_symbol`) on
/// entries: true means keep `a`. Names are only looked at when sizes and
/// bindings tie, and demangled only when they differ or could start with
/// `SyS`.
pub fn choose_best(a: &Entry, b: &Entry, names: &impl Names) -> bool {
    let by_kind = prefer_by_size_and_binding((a.start, a.end, a.binding), (b.start, b.end, b.binding));
    if let Some(keep_a) = by_kind {
        return keep_a;
    }
    let same_bytes = a.name.plt == b.name.plt && names.raw(a.name) == names.raw(b.name);
    if same_bytes && !may_become_sys(names.raw(a.name)) {
        return true;
    }
    let (ka, kb) = (names.key(a.name), names.key(b.name));
    prefer_by_name(
        (ka.underscores, ka.len),
        (kb.underscores, kb.len),
        ka.sys,
    )
}

#[cfg(test)]
mod tests {
    use super::super::rbtree::SymTree;
    use super::*;

    /// Names are the decimal index of a list of test names.
    struct TestNames(Vec<String>);
    impl Names for TestNames {
        fn raw(&self, r: NameRef) -> &[u8] {
            self.0[r.off as usize].as_bytes()
        }
        fn name(&self, r: NameRef) -> Cow<'_, str> {
            Cow::Borrowed(&self.0[r.off as usize])
        }
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Builds the same table both ways: perf's tree and the array, through
    /// `passes` rounds of inserts each followed by the fix-ups.
    fn both(
        syms: &[Vec<(u64, u64, u8, usize)>],
        names: &TestNames,
        kallsyms: bool,
    ) -> (SymTree, Flat) {
        let mut tree = SymTree::new();
        let mut flat = Flat::default();
        for pass in syms {
            for &(start, len, binding, name) in pass {
                tree.insert(start, len, binding, names.0[name].clone().into());
                flat.entries.push(Entry {
                    start,
                    end: start.wrapping_add(len),
                    binding,
                    name: NameRef {
                        src: 0,
                        plt: false,
                        off: name as u64,
                        len: 0,
                    },
                });
            }
            tree.fixup_end(kallsyms);
            tree.fixup_duplicate();
            flat.sort();
            flat.fixup_end(kallsyms, names);
            flat.fixup_duplicate(names);
        }
        flat.finish();
        (tree, flat)
    }

    fn check(tree: &SymTree, flat: &Flat, names: &TestNames, lo: u64, hi: u64) -> usize {
        // Same in-order content.
        let order = tree.in_order();
        assert_eq!(order.len(), flat.entries.len());
        for (&n, e) in order.iter().zip(&flat.entries) {
            let s = &tree.node(n).sym;
            assert_eq!((s.start, s.end), (e.start, e.end));
            assert_eq!(&*s.name, names.name(e.name));
        }
        let mut ambiguous = 0;
        for ip in lo..hi {
            let want = tree.find(ip).map(|n| {
                let s = &tree.node(n).sym;
                (s.start, s.end, s.name.to_string())
            });
            match flat.find(ip) {
                Found::Ambiguous => ambiguous += 1,
                Found::Nothing => assert_eq!(want, None, "ip {ip:#x}"),
                Found::Symbol(i) => {
                    let e = &flat.entries[i];
                    let got = (e.start, e.end, names.name(e.name).to_string());
                    assert_eq!(want, Some(got), "ip {ip:#x}");
                }
            }
        }
        ambiguous
    }

    fn names() -> TestNames {
        let base = [
            "a", "_a", "__a", "bb", "SyS_x", "sys_x", "ccc", "x\t[m]", "y\t[m]", "$x", "a$1",
        ];
        TestNames(base.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn agrees_with_the_tree_on_random_tables() {
        let names = names();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut total_ambiguous = 0;
        for round in 0..400 {
            let kallsyms = round % 3 == 0;
            let dense = round % 2 == 0;
            let passes = 1 + (round % 2) as usize;
            let mut syms = Vec::new();
            for _ in 0..passes {
                let n = 1 + rng.below(60) as usize;
                let mut pass = Vec::new();
                for _ in 0..n {
                    let start = 0x1000 + rng.below(if dense { 64 } else { 4096 }) * 4;
                    let len = if kallsyms || rng.below(3) == 0 {
                        0
                    } else {
                        rng.below(if dense { 64 } else { 256 })
                    };
                    let binding = rng.below(3) as u8;
                    let name = rng.below(names.0.len() as u64) as usize;
                    pass.push((start, len, binding, name));
                }
                syms.push(pass);
            }
            let (tree, flat) = both(&syms, &names, kallsyms);
            total_ambiguous += check(&tree, &flat, &names, 0xff0, 0x1000 + 4096 * 4 + 0x3000);
        }
        // Overlapping tables do get ambiguous answers.
        assert!(total_ambiguous > 0);
    }

    #[test]
    fn disjoint_tables_are_never_ambiguous() {
        let names = names();
        // kallsyms-like: zero sizes, aliases at one address.
        let pass = vec![
            (0x1000, 0, 1, 0),
            (0x1000, 0, 1, 3),
            (0x1010, 0, 0, 6),
            (0x1040, 0, 2, 1),
            (0x4000, 0, 0, 7),
            (0x4010, 0, 0, 8),
        ];
        let (tree, flat) = both(&[pass], &names, true);
        assert!(!flat.has_overlaps());
        assert_eq!(check(&tree, &flat, &names, 0xf00, 0x6000), 0);
    }

    #[test]
    fn nested_symbol_is_ambiguous() {
        let names = names();
        let pass = vec![(0x1000, 0x100, 1, 0), (0x1010, 0x10, 1, 3)];
        let (tree, flat) = both(&[pass], &names, false);
        assert_eq!(flat.find(0x1050), Found::Ambiguous);
        assert_eq!(flat.find(0x1005), Found::Symbol(0));
        assert_eq!(flat.find(0x1100), Found::Nothing);
        check(&tree, &flat, &names, 0xf00, 0x1200);
    }
}
