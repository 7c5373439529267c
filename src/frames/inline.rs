//! Inline frames of DWARF-unwound addresses, as perf's `append_inlines`:
//! the records addr2line prints for the address (computed in-process, see
//! `symbolize::inlines`), named by perf's `new_inline_sym`, replace the
//! frame. Cached per (DSO, address).
//!
//! Two modes: immediate (the records are computed when the frame is first
//! seen) and deferred (`defer`: a worker thread computes them while the
//! pipeline goes on; the frame stays [`FrameKey::Pending`] until
//! [`InlineFrames::resolve_deferred`]). Each DSO's addresses reach its
//! resolver in the order perf asks addr2line in both modes.
//!
//! [`InlineFrames`] is its own state, handed the [`SymbolTable`] it names
//! records in: the symbol table knows nothing of inline frames.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::symbol_table::{SymId, SymbolTable};
use super::{Frame, FrameKey};
use crate::mappings::{DsoId, DsoKind, Machine};
use crate::objfile::elf::Elf;
use crate::objfile::fs::map_file;
use crate::objfile::locate::is_perf_map;
use crate::symbolize::demangle_sym;
use crate::symbolize::inlines::worker::InlineWorker;
use crate::symbolize::inlines::{InlineRecord, InlineResolver};

/// perf's `MAX_INLINE_NEST` bounds the records read after the first.
const MAX_INLINE_RECORDS: usize = 257;

/// Fewer names than this are demangled on the naming thread alone.
const DEMANGLE_ON_TWO_THREADS_FROM: usize = 64;

/// perf's `dso->text_offset`: `.text`'s `sh_addr - sh_offset`.
fn text_offset(path: &Path) -> u64 {
    map_file(path)
        .and_then(|m| {
            let elf = Elf::parse(&m)?;
            let (_, text) = elf.section_by_name(".text")?;
            Some(text.addr.wrapping_sub(text.offset))
        })
        .unwrap_or(0)
}

/// Where a DSO's inline records come from.
struct Source {
    /// The file perf hands to addr2line.
    path: PathBuf,
    text_offset: u64,
    /// Immediate mode: the resolver (`None` if the file does not open).
    resolver: Option<InlineResolver>,
    /// Deferred mode: the worker's key for this DSO.
    key: u32,
}

/// The inline frames of a run's DWARF-unwound addresses.
#[derive(Default)]
pub struct InlineFrames {
    /// Frames per (DSO, address): a range of `frames`.
    index: FxHashMap<(DsoId, u64), (u32, u32)>,
    frames: Vec<NamedRecord>,
    /// Per DSO; `None` when perf runs no addr2line for it.
    sources: FxHashMap<DsoId, Option<Source>>,
    worker: Option<InlineWorker>,
    /// Deferred lookups in query order.
    pending: Vec<DeferredLookup>,
    pending_ids: FxHashMap<(DsoId, u64), Lookup>,
    /// perf's per-DSO `a2l_fails` / `has_srcline` for `-F srcline`.
    srcline_state: FxHashMap<DsoId, (u32, bool)>,
    /// Resolved deferred lookups: the frames of each, in `deferred_frames`.
    deferred: Vec<(u32, u32)>,
    deferred_frames: Vec<Frame>,
    /// Demangled name per raw inline-record name: the same inlined
    /// function shows up at many addresses, and C++ demangling costs
    /// microseconds a name.
    demangled: FxHashMap<Box<str>, Box<str>>,
}

impl InlineFrames {
    /// Looks inline frames up on a worker thread from now on; frames come
    /// out [`FrameKey::Pending`] until [`Self::resolve_deferred`].
    pub fn defer(&mut self) {
        self.worker = Some(InlineWorker::start());
    }

    /// perf's `append_inlines` for a DWARF-unwound frame: appends its inline
    /// records (innermost first) and returns true, or returns false when
    /// the address has none. In deferred mode a new address gives one
    /// pending frame.
    pub fn append_inlines(
        &mut self,
        symbols: &mut SymbolTable,
        machine: &Machine,
        f: &Frame,
        out: &mut Vec<Frame>,
    ) -> bool {
        let (Some(dso), Some(sym)) = (f.dso, f.sym) else {
            return false;
        };
        let key = (dso, f.addr);
        if self.worker.is_some() {
            let lookup = match self.pending_ids.get(&key) {
                Some(&lookup) => lookup,
                None => {
                    let Some(lookup) = self.queue_lookup(symbols, machine, dso, f.addr, sym) else {
                        return false;
                    };
                    self.pending_ids.insert(key, lookup);
                    lookup
                }
            };
            let Lookup::Queued(id) = lookup else {
                return false;
            };
            out.push(Frame {
                key: FrameKey::Pending(id),
                ..*f
            });
            return true;
        }
        let (start, len) = match self.index.get(&key) {
            Some(&hit) => hit,
            None => {
                let hit = self.parse_inlines(symbols, machine, dso, sym, f.addr);
                self.index.insert(key, hit);
                hit
            }
        };
        if len == 0 {
            return false;
        }
        let range = start as usize..(start + len) as usize;
        for &NamedRecord { sym, slot, inlined } in &self.frames[range] {
            out.push(Frame {
                sym: Some(sym),
                key: FrameKey::Slot(slot),
                inlined,
                ..*f
            });
        }
        true
    }

    /// perf's `map__srcline` (`get_srcline` with the symbol unknown) for a
    /// frame not expanded into inline frames: `file:line` of addr2line's
    /// first record (the file's base name unless `full_path`), else
    /// `<dso short name>[<address>]`; None without a map. perf stops asking
    /// addr2line about a DSO after 123 failures in a row before any success.
    pub fn srcline(
        &mut self,
        symbols: &mut SymbolTable,
        machine: &Machine,
        f: &Frame,
        full_path: bool,
    ) -> Option<Vec<u8>> {
        let dso = f.dso?;
        let state = *self.srcline_state.get(&dso).unwrap_or(&(1, true));
        let mut query = f.addr;
        let mut found = None;
        if state.1 {
            if let Some(source) = self.source(symbols, machine, dso) {
                query = f.addr.wrapping_add(source.text_offset);
                if let Some(resolver) = source.resolver.as_mut() {
                    // A first record without a file still answers: perf
                    // reads "??" and makes "??:0", which prints nothing.
                    found = resolver
                        .records(query)
                        .first()
                        .map(|r| record_srcline(r, full_path));
                }
            }
        }
        let (mut fails, mut has) = state;
        if found.is_some() {
            fails = 0;
        } else if fails != 0 {
            fails += 1;
            if fails > 123 {
                has = false;
            }
        }
        self.srcline_state.insert(dso, (fails, has));
        if let Some(line) = found {
            // map__fprintf_srcline prints nothing for "??:0".
            return (!line.starts_with(b"??:0")).then_some(line);
        }
        let name: &[u8] = &machine.dsos.get(dso).name;
        let short = match name.first() {
            Some(b'/') => name.rsplit(|&c| c == b'/').next().unwrap_or(name),
            _ => name,
        };
        let mut out = short.to_vec();
        out.extend_from_slice(format!("[{query:x}]").as_bytes());
        Some(out)
    }

    /// The source lines of the inline frames a DWARF frame was expanded
    /// into (perf's `ilist->srcline` of each addr2line record, printed
    /// as is), or None when `f`'s address has no inline records.
    pub fn inline_srclines(
        &mut self,
        symbols: &mut SymbolTable,
        machine: &Machine,
        f: &Frame,
        full_path: bool,
    ) -> Option<Vec<Vec<u8>>> {
        let dso = f.dso?;
        let &(_, len) = self.index.get(&(dso, f.addr))?;
        if len == 0 {
            return None;
        }
        let source = self.source(symbols, machine, dso)?;
        let query = f.addr.wrapping_add(source.text_offset);
        let records = source.resolver.as_mut()?.records(query);
        Some(
            records
                .iter()
                .take(len as usize)
                .map(|r| record_srcline(r, full_path))
                .collect(),
        )
    }

    /// The frames a pending frame stands for (after [`Self::resolve_deferred`]).
    pub fn deferred(&self, id: u32) -> &[Frame] {
        match self.deferred.get(id as usize) {
            Some(&(start, len)) => &self.deferred_frames[start as usize..(start + len) as usize],
            None => &[],
        }
    }

    /// Waits for the worker and turns every deferred lookup into frames.
    pub fn resolve_deferred(&mut self, symbols: &mut SymbolTable) {
        let Some(mut worker) = self.worker.take() else {
            return;
        };
        let answers = worker.finish();
        if symbols.symbolizer.demangles() {
            let names = answers.iter().flat_map(|r| r.iter().take(MAX_INLINE_RECORDS));
            self.demangle_on_two_threads(names.map(|r| r.function.as_deref().unwrap_or("??")));
        }
        for records in &answers {
            self.name_answer(symbols, records);
        }
        // A worker that died left lookups unanswered: their frames stay as
        // they were.
        while self.deferred.len() < self.pending.len() {
            self.name_answer(symbols, &[]);
        }
    }

    /// Demangles the raw names not demangled yet, half of them on a second
    /// thread (the end of a run, where the worker's core is idle: C++ names
    /// cost microseconds each). A name the threads did not do is demangled
    /// when it is named, as before.
    fn demangle_on_two_threads<'r>(&mut self, raw: impl Iterator<Item = &'r str>) {
        let mut seen = rustc_hash::FxHashSet::default();
        let todo: Vec<&str> = raw
            .filter(|name| !self.demangled.contains_key(*name) && seen.insert(*name))
            .collect();
        if todo.len() < DEMANGLE_ON_TWO_THREADS_FROM {
            return;
        }
        let (mine, theirs) = todo.split_at(todo.len() / 2);
        let demangle = |names: &[&'r str]| -> Vec<(&'r str, Box<str>)> {
            names
                .iter()
                .map(|raw| {
                    let d = demangle_sym(raw.as_bytes()).unwrap_or_else(|| raw.to_string());
                    (*raw, d.into())
                })
                .collect()
        };
        let done = std::thread::scope(|s| {
            let helper = std::thread::Builder::new().spawn_scoped(s, || demangle(theirs));
            let mut done = demangle(mine);
            // Without the helper (no thread, or it panicked), naming
            // demangles its half.
            if let Ok(Ok(other)) = helper.map(|h| h.join()) {
                done.extend(other);
            }
            done
        });
        for (raw, d) in done {
            self.demangled.insert(raw.into(), d);
        }
    }

    /// Names the deferred lookups already answered, without waiting.
    pub fn poll(&mut self, symbols: &mut SymbolTable) {
        while let Some(records) = self.worker.as_mut().and_then(|w| w.try_answer()) {
            self.name_answer(symbols, &records);
        }
    }

    /// Waits until the first `upto` deferred lookups are named.
    pub fn wait_for(&mut self, symbols: &mut SymbolTable, upto: u32) {
        let upto = (upto as usize).min(self.pending.len());
        while self.deferred.len() < upto {
            match self.worker.as_mut().and_then(|w| w.answer()) {
                Some(records) => self.name_answer(symbols, &records),
                // The worker died; `resolve_deferred` reports it.
                None => return,
            }
        }
    }

    /// How many deferred lookups are named: pending frames with a lower id
    /// have their [`Self::deferred`] frames.
    pub fn answered(&self) -> u32 {
        self.deferred.len() as u32
    }

    /// The deferred lookups named from `from` on: each one's frame count,
    /// and their frames one after another (for a mirror on another thread).
    pub fn deferred_since(&self, from: u32) -> (impl Iterator<Item = u32> + '_, &[Frame]) {
        let entries = self.deferred.get(from as usize..).unwrap_or(&[]);
        let frames = match entries.first() {
            Some(&(start, _)) => &self.deferred_frames[start as usize..],
            None => &[],
        };
        (entries.iter().map(|&(_, len)| len), frames)
    }

    /// Appends what [`Self::deferred_since`] gave from `from` on, skipping
    /// the lookups this copy already has.
    pub fn extend_mirrored(&mut self, from: u32, lens: &[u32], frames: &[Frame]) {
        let mut at = 0usize;
        for (i, &len) in lens.iter().enumerate() {
            let id = from as usize + i;
            let next = at + len as usize;
            if id == self.deferred.len() {
                let start = self.deferred_frames.len() as u32;
                self.deferred_frames.extend_from_slice(&frames[at..next]);
                self.deferred.push((start, len));
            }
            at = next;
        }
    }

    /// Turns the next deferred lookup and its records into frames.
    fn name_answer(&mut self, symbols: &mut SymbolTable, records: &[InlineRecord]) {
        let Some(&DeferredLookup { dso, addr, base }) = self.pending.get(self.deferred.len())
        else {
            return;
        };
        let start = self.deferred_frames.len() as u32;
        let frame = Frame {
            ip: 0,
            addr,
            map_start: 0,
            dso: Some(dso),
            sym: Some(base),
            key: FrameKey::Slot(0),
            inlined: false,
        };
        if records.is_empty() {
            let slot = symbols.cached_slot(dso, addr).unwrap_or(0);
            self.deferred_frames.push(Frame {
                key: FrameKey::Slot(slot),
                ..frame
            });
        } else {
            let (s, len) = self.name_records(symbols, base, records);
            for k in s..s + len {
                let NamedRecord { sym, slot, inlined } = self.frames[k as usize];
                self.deferred_frames.push(Frame {
                    sym: Some(sym),
                    key: FrameKey::Slot(slot),
                    inlined,
                    ..frame
                });
            }
        }
        let len = self.deferred_frames.len() as u32 - start;
        self.deferred.push((start, len));
    }

    /// The source of a DSO's records, set up on its first address.
    fn source(
        &mut self,
        symbols: &mut SymbolTable,
        machine: &Machine,
        dso: DsoId,
    ) -> Option<&mut Source> {
        if !self.sources.contains_key(&dso) {
            let d = machine.dsos.get(dso);
            // perf's dso__name: no addr2line for `[...]` DSOs or perf maps.
            let eligible =
                d.kind == DsoKind::File && !d.name.starts_with(b"[") && !is_perf_map(&d.name);
            let source = if eligible {
                let id = symbols.dso_id(machine, dso);
                let sym = &mut symbols.symbolizer;
                // perf hands addr2line dso->symsrc_filename, else the long
                // name; the address is map_ip + text_offset
                // (map__rip_2objdump), text_offset from the runtime image
                // (a separate debug file's .text is NOBITS).
                sym.symsrc_file(id)
                    .map(Path::to_path_buf)
                    .or_else(|| sym.recorded_file(id))
                    .map(|path| Source {
                        text_offset: sym
                            .data_file(id)
                            .or_else(|| sym.recorded_file(id))
                            .map_or(0, |p| text_offset(&p)),
                        resolver: None,
                        key: self.sources.len() as u32,
                        path,
                    })
            } else {
                None
            };
            let source = source.map(|mut s| {
                match &mut self.worker {
                    Some(w) => w.open(s.key, s.path.clone()),
                    None => s.resolver = InlineResolver::open(&s.path),
                }
                s
            });
            self.sources.insert(dso, source);
        }
        self.sources.get_mut(&dso)?.as_mut()
    }

    /// Queues the lookup of `addr` in `dso` (`None` without a worker).
    fn queue_lookup(
        &mut self,
        symbols: &mut SymbolTable,
        machine: &Machine,
        dso: DsoId,
        addr: u64,
        base: SymId,
    ) -> Option<Lookup> {
        let Some(source) = self.source(symbols, machine, dso) else {
            return Some(Lookup::NotAsked);
        };
        let (key, query) = (source.key, addr.wrapping_add(source.text_offset));
        self.worker.as_mut()?.query(key, query);
        self.pending.push(DeferredLookup { dso, addr, base });
        Some(Lookup::Queued(self.pending.len() as u32 - 1))
    }

    /// perf's `dso__parse_addr_inlines` for one address (immediate mode).
    fn parse_inlines(
        &mut self,
        symbols: &mut SymbolTable,
        machine: &Machine,
        dso: DsoId,
        base: SymId,
        addr: u64,
    ) -> (u32, u32) {
        let Some(source) = self.source(symbols, machine, dso) else {
            return (0, 0);
        };
        let query = addr.wrapping_add(source.text_offset);
        let Some(resolver) = source.resolver.as_mut() else {
            return (0, 0);
        };
        // The records are copied out so the table can be extended.
        let records: Vec<InlineRecord> = resolver.records(query).to_vec();
        if records.is_empty() {
            return (0, 0);
        }
        self.name_records(symbols, base, &records)
    }

    /// perf's `new_inline_sym` for each record: its demangled name, the
    /// real symbol when the names are equal, else a fake one over the real
    /// symbol's range, marked inlined. Appends to `frames`; returns the range.
    fn name_records(
        &mut self,
        symbols: &mut SymbolTable,
        base: SymId,
        records: &[InlineRecord],
    ) -> (u32, u32) {
        let start = self.frames.len() as u32;
        let base_sym = symbols.get(base);
        let (base_name, base_start, base_end) =
            (base_sym.name.clone(), base_sym.start, base_sym.end);
        let demangle = symbols.symbolizer.demangles();
        for r in records.iter().take(MAX_INLINE_RECORDS) {
            let raw = r.function.as_deref().unwrap_or("??");
            // perf's dso__demangle_sym: nothing with --no-demangle.
            let name: Box<str> = if demangle {
                match self.demangled.get(raw) {
                    Some(d) => d.clone(),
                    None => {
                        let d: Box<str> = demangle_sym(raw.as_bytes())
                            .unwrap_or_else(|| raw.to_string())
                            .into();
                        self.demangled.insert(raw.into(), d.clone());
                        d
                    }
                }
            } else {
                raw.into()
            };
            let (sym, inlined) = if *name == *base_name {
                (base, false)
            } else {
                let sym = symbols.intern(name, base_start, base_end);
                (sym, true)
            };
            let slot = symbols.new_slot();
            self.frames.push(NamedRecord { sym, slot, inlined });
        }
        (start, self.frames.len() as u32 - start)
    }
}

/// An inline record named by `new_inline_sym`, with its frame's slot.
#[derive(Clone, Copy)]
struct NamedRecord {
    sym: SymId,
    slot: u32,
    /// The name differs from the real symbol's (perf's `inlined`).
    inlined: bool,
}

/// A lookup queued on the worker: the frame's DSO, address and real symbol.
struct DeferredLookup {
    dso: DsoId,
    addr: u64,
    base: SymId,
}

/// A deferred inline lookup of one (DSO, address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Queued on the worker: the id its answer comes back under.
    Queued(u32),
    /// perf runs no addr2line for this DSO: the frame stays as it is.
    NotAsked,
}

/// perf's srcline of an addr2line record: `file:line`, the file's base
/// name unless `--full-source-path` (`??` when addr2line named no file).
fn record_srcline(r: &InlineRecord, full_path: bool) -> Vec<u8> {
    let file = r.file.as_deref().unwrap_or("??");
    let file = if full_path {
        file
    } else {
        file.rsplit('/').next().unwrap_or(file)
    };
    format!("{file}:{}", r.line).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names demangled on two threads are those `demangle_sym` gives, each
    /// under its own raw name (a name it does not demangle stays as is).
    #[test]
    fn names_demangled_on_two_threads_match_one_by_one() {
        let raw: Vec<String> = (0..150)
            .map(|i| match i % 3 {
                0 => format!("_ZN2ns4funcILi{i}EEEvv"),
                1 => format!("_ZN3std6thread5f{i}17h0123456789abcdefE"),
                _ => format!("plain_{i}"),
            })
            .collect();
        let mut frames = InlineFrames::default();
        frames.demangle_on_two_threads(raw.iter().map(String::as_str).chain(["plain_2"]));
        assert_eq!(frames.demangled.len(), raw.len());
        for r in &raw {
            let want = demangle_sym(r.as_bytes()).unwrap_or_else(|| r.clone());
            assert_eq!(frames.demangled.get(r.as_str()).map(|d| &**d), Some(&*want), "{r}");
        }
        assert_ne!(&*frames.demangled["_ZN2ns4funcILi0EEEvv"], "_ZN2ns4funcILi0EEEvv");
    }
}
