//! Inline frames of DWARF-unwound addresses, as perf's `append_inlines`:
//! the records addr2line prints for the address (computed in-process, see
//! `symbolize::inlines`), named by perf's `new_inline_sym`, replace the
//! frame. Cached per (DSO, address).
//!
//! Two modes: immediate (the records are computed when the frame is first
//! seen) and deferred (`defer`: a worker thread computes them while the
//! pipeline goes on; the frame stays `pending` until
//! [`SymbolTable::resolve_deferred`]). Each DSO's addresses reach its
//! resolver in the order perf asks addr2line in both modes.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::{Frame, InternedSymbol, SymId, SymbolTable};
use crate::mappings::{DsoId, DsoKind, Machine};
use crate::objfile::elf::Elf;
use crate::objfile::fs::map_file;
use crate::objfile::locate::is_perf_map;
use crate::symbolize::demangle_sym;
use crate::symbolize::inlines::worker::InlineWorker;
use crate::symbolize::inlines::{InlineRecord, InlineResolver};

/// perf's `MAX_INLINE_NEST` bounds the records read after the first.
const MAX_INLINE_RECORDS: usize = 257;

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

#[derive(Default)]
pub(super) struct Inlines {
    /// Frames per (DSO, address): a range of `frames`.
    index: FxHashMap<(DsoId, u64), (u32, u32)>,
    frames: Vec<(SymId, u32, bool)>,
    /// Per DSO; `None` when perf runs no addr2line for it.
    sources: FxHashMap<DsoId, Option<Source>>,
    worker: Option<InlineWorker>,
    /// Deferred lookups in query order: (DSO, address, base symbol).
    pending: Vec<(DsoId, u64, SymId)>,
    pending_ids: FxHashMap<(DsoId, u64), Lookup>,
    /// perf's per-DSO `a2l_fails` / `has_srcline` for `-F srcline`.
    srcline_state: FxHashMap<DsoId, (u32, bool)>,
    /// Resolved deferred lookups: the frames of each, in `deferred_frames`.
    deferred: Vec<(u32, u32)>,
    deferred_frames: Vec<Frame>,
}

impl SymbolTable {
    /// Looks inline frames up on a worker thread from now on; frames come
    /// out `pending` until [`Self::resolve_deferred`].
    pub fn defer_inlines(&mut self) {
        self.inlines.worker = Some(InlineWorker::start());
    }

    /// perf's `append_inlines` for a DWARF-unwound frame: appends its inline
    /// records (innermost first) and returns true, or returns false when
    /// the address has none. In deferred mode a new address gives one
    /// pending frame.
    pub fn append_inlines(&mut self, machine: &Machine, f: &Frame, out: &mut Vec<Frame>) -> bool {
        let (Some(dso), Some(sym)) = (f.dso, f.sym) else {
            return false;
        };
        let key = (dso, f.addr);
        if self.inlines.worker.is_some() {
            let lookup = match self.inlines.pending_ids.get(&key) {
                Some(&lookup) => lookup,
                None => {
                    let Some(lookup) = self.queue_lookup(machine, dso, f.addr, sym) else {
                        return false;
                    };
                    self.inlines.pending_ids.insert(key, lookup);
                    lookup
                }
            };
            let Lookup::Queued(id) = lookup else {
                return false;
            };
            out.push(Frame {
                slot: id,
                pending: true,
                ..*f
            });
            return true;
        }
        let (start, len) = match self.inlines.index.get(&key) {
            Some(&hit) => hit,
            None => {
                let hit = self.parse_inlines(machine, dso, sym, f.addr);
                self.inlines.index.insert(key, hit);
                hit
            }
        };
        if len == 0 {
            return false;
        }
        let range = start as usize..(start + len) as usize;
        for &(sym, slot, inlined) in &self.inlines.frames[range] {
            out.push(Frame {
                sym: Some(sym),
                slot,
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
    pub fn srcline(&mut self, machine: &Machine, f: &Frame, full_path: bool) -> Option<Vec<u8>> {
        let dso = f.dso?;
        let state = *self.inlines.srcline_state.get(&dso).unwrap_or(&(1, true));
        let mut query = f.addr;
        let mut found = None;
        if state.1 {
            if let Some(source) = self.source(machine, dso) {
                query = f.addr.wrapping_add(source.text_offset);
                if let Some(resolver) = source.resolver.as_mut() {
                    // A first record without a file still answers: perf
                    // reads "??" and makes "??:0", which prints nothing.
                    found = resolver.records(query).first().map(|r| {
                        let file = r.file.as_deref().unwrap_or("??");
                        let file = if full_path {
                            file
                        } else {
                            file.rsplit('/').next().unwrap_or(file)
                        };
                        format!("{file}:{}", r.line).into_bytes()
                    });
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
        self.inlines.srcline_state.insert(dso, (fails, has));
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
        machine: &Machine,
        f: &Frame,
        full_path: bool,
    ) -> Option<Vec<Vec<u8>>> {
        let dso = f.dso?;
        let &(_, len) = self.inlines.index.get(&(dso, f.addr))?;
        if len == 0 {
            return None;
        }
        let source = self.source(machine, dso)?;
        let query = f.addr.wrapping_add(source.text_offset);
        let records = source.resolver.as_mut()?.records(query);
        Some(
            records
                .iter()
                .take(len as usize)
                .map(|r| {
                    let file = r.file.as_deref().unwrap_or("??");
                    let file = if full_path {
                        file
                    } else {
                        file.rsplit('/').next().unwrap_or(file)
                    };
                    format!("{file}:{}", r.line).into_bytes()
                })
                .collect(),
        )
    }

    /// The frames a pending frame stands for (after [`Self::resolve_deferred`]).
    pub fn deferred(&self, id: u32) -> &[Frame] {
        match self.inlines.deferred.get(id as usize) {
            Some(&(start, len)) => {
                &self.inlines.deferred_frames[start as usize..(start + len) as usize]
            }
            None => &[],
        }
    }

    /// Waits for the worker and turns every deferred lookup into frames.
    pub fn resolve_deferred(&mut self) {
        let Some(mut worker) = self.inlines.worker.take() else {
            return;
        };
        let answers = worker.finish();
        let pending = std::mem::take(&mut self.inlines.pending);
        for (i, (dso, addr, base)) in pending.into_iter().enumerate() {
            let start = self.inlines.deferred_frames.len() as u32;
            let records = answers.get(i).map_or(&[][..], |r| &r[..]);
            let frame = Frame {
                ip: 0,
                addr,
                map_start: 0,
                dso: Some(dso),
                sym: Some(base),
                slot: 0,
                inlined: false,
                pending: false,
            };
            if records.is_empty() {
                let (_, slot) = self.by_addr.get(&(dso, addr)).copied().unwrap_or((None, 0));
                self.inlines.deferred_frames.push(Frame { slot, ..frame });
            } else {
                let (s, len) = self.name_records(base, records);
                for k in s..s + len {
                    let (sym, slot, inlined) = self.inlines.frames[k as usize];
                    self.inlines.deferred_frames.push(Frame {
                        sym: Some(sym),
                        slot,
                        inlined,
                        ..frame
                    });
                }
            }
            let len = self.inlines.deferred_frames.len() as u32 - start;
            self.inlines.deferred.push((start, len));
        }
    }

    /// The source of a DSO's records, set up on its first address.
    fn source(&mut self, machine: &Machine, dso: DsoId) -> Option<&mut Source> {
        if !self.inlines.sources.contains_key(&dso) {
            let d = machine.dsos.get(dso);
            // perf's dso__name: no addr2line for `[...]` DSOs or perf maps.
            let eligible =
                d.kind == DsoKind::File && !d.name.starts_with(b"[") && !is_perf_map(&d.name);
            let source = if eligible {
                let id = self.dso_id(machine, dso);
                let sym = &mut self.symbolizer;
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
                        key: self.inlines.sources.len() as u32,
                        path,
                    })
            } else {
                None
            };
            let source = source.map(|mut s| {
                match &self.inlines.worker {
                    Some(w) => w.open(s.key, s.path.clone()),
                    None => s.resolver = InlineResolver::open(&s.path),
                }
                s
            });
            self.inlines.sources.insert(dso, source);
        }
        self.inlines.sources.get_mut(&dso)?.as_mut()
    }

    /// Queues the lookup of `addr` in `dso` (`None` without a worker).
    fn queue_lookup(
        &mut self,
        machine: &Machine,
        dso: DsoId,
        addr: u64,
        base: SymId,
    ) -> Option<Lookup> {
        let Some(source) = self.source(machine, dso) else {
            return Some(Lookup::NotAsked);
        };
        let (key, query) = (source.key, addr.wrapping_add(source.text_offset));
        self.inlines.worker.as_ref()?.query(key, query);
        self.inlines.pending.push((dso, addr, base));
        Some(Lookup::Queued(self.inlines.pending.len() as u32 - 1))
    }

    /// perf's `dso__parse_addr_inlines` for one address (immediate mode).
    fn parse_inlines(
        &mut self,
        machine: &Machine,
        dso: DsoId,
        base: SymId,
        addr: u64,
    ) -> (u32, u32) {
        let Some(source) = self.source(machine, dso) else {
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
        self.name_records(base, &records)
    }

    /// perf's `new_inline_sym` for each record: its demangled name, the
    /// real symbol when the names are equal, else a fake one over the real
    /// symbol's range, marked inlined. Appends to `frames`; returns the range.
    fn name_records(&mut self, base: SymId, records: &[InlineRecord]) -> (u32, u32) {
        let start = self.inlines.frames.len() as u32;
        let base_sym = &self.syms[base.0 as usize];
        let (base_name, base_start, base_end) =
            (base_sym.name.clone(), base_sym.start, base_sym.end);
        let demangle = self.symbolizer.demangles();
        for r in records.iter().take(MAX_INLINE_RECORDS) {
            let raw = r.function.as_deref().unwrap_or("??");
            // perf's dso__demangle_sym: nothing with --no-demangle.
            let name = if demangle {
                demangle_sym(raw.as_bytes()).unwrap_or_else(|| raw.to_string())
            } else {
                raw.to_string()
            };
            let (sym, inlined) = if *name == *base_name {
                (base, false)
            } else {
                self.syms.push(InternedSymbol {
                    name: name.into_boxed_str(),
                    start: base_start,
                    end: base_end,
                });
                (SymId(self.syms.len() as u32 - 1), true)
            };
            let slot = self.next_slot;
            self.next_slot += 1;
            self.inlines.frames.push((sym, slot, inlined));
        }
        (start, self.inlines.frames.len() as u32 - start)
    }
}

/// A deferred inline lookup of one (DSO, address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Queued on the worker: the id its answer comes back under.
    Queued(u32),
    /// perf runs no addr2line for this DSO: the frame stays as it is.
    NotAsked,
}
