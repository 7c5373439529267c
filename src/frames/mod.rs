//! From a sample to the frames perf prints: the callchain walked with perf's
//! context markers, each address placed in a map and given a symbol.
//!
//! Follows perf 6.1's `thread__resolve_callchain_sample` and
//! `add_callchain_ip` (util/machine.c): entries at or above
//! `PERF_CONTEXT_MAX` switch the cpumode and are not frames; an unknown
//! marker discards the whole chain; at most `max_stack` real entries are
//! used. Symbol lookups are cached per (DSO, address).

mod inline;

use rustc_hash::FxHashMap;

use crate::mappings::{DsoIndex, DsoKind, Machine, Thread, CPUMODE_KERNEL, CPUMODE_USER};
use crate::reader::sample::Sample;
use crate::symbolize::{DsoId, Symbolizer};

const CONTEXT_HV: u64 = -32i64 as u64;
const CONTEXT_KERNEL: u64 = -128i64 as u64;
const CONTEXT_USER: u64 = -512i64 as u64;
/// `PERF_CONTEXT_MAX`: entries at or above it are markers.
const CONTEXT_MAX: u64 = -4095i64 as u64;
const CPUMODE_HYPERVISOR: u8 = 3;

/// Index of an interned symbol (name and range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymId(pub u32);

/// A symbol as the writers need it.
#[derive(Debug)]
pub struct Sym {
    pub name: Box<str>,
    pub start: u64,
    pub end: u64,
}

/// One printed frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// The raw address (sample ip or callchain entry).
    pub ip: u64,
    /// `map->map_ip(ip)` when a map was found, else 0 (perf's `addr`).
    pub addr: u64,
    /// Start of the map, for perf's offset rule past a symbol's end.
    pub map_start: u64,
    pub dso: Option<DsoIndex>,
    pub sym: Option<SymId>,
    /// Dense id of this (DSO, address) pair, for per-address caches in the
    /// writers; [`NO_SLOT`] when the address is in no map.
    pub slot: u32,
    /// An inline frame from DWARF (perf prints ` (inlined)` for the DSO).
    pub inlined: bool,
    /// A frame whose inline frames are still being looked up: `slot` is
    /// the lookup's id, and [`SymbolTable::deferred`] gives the frames once
    /// [`SymbolTable::resolve_deferred`] ran (see `Options::defer_inlines`).
    pub pending: bool,
}

/// The slot of frames without a map.
pub const NO_SLOT: u32 = u32::MAX;

impl Frame {
    /// A frame whose address is in no map.
    pub fn unmapped(ip: u64) -> Frame {
        Frame {
            ip,
            addr: 0,
            map_start: 0,
            dso: None,
            sym: None,
            slot: NO_SLOT,
            inlined: false,
            pending: false,
        }
    }

    /// The address perf prints: DSO-relative for user maps, raw otherwise.
    pub fn printed_addr(&self, kernel_dso: bool) -> u64 {
        if self.dso.is_some() && !kernel_dso {
            self.addr
        } else {
            self.ip
        }
    }
}

/// Symbols by id, plus the per-(DSO, address) lookup cache.
pub struct SymbolTable {
    syms: Vec<Sym>,
    by_start: FxHashMap<(DsoIndex, u64), SymId>,
    by_addr: FxHashMap<(DsoIndex, u64), (Option<SymId>, u32)>,
    dso_ids: FxHashMap<DsoIndex, DsoId>,
    next_slot: u32,
    /// Inline frames of DWARF-unwound addresses (see `inline.rs`).
    inlines: inline::Inlines,
    pub symbolizer: Symbolizer,
}

impl SymbolTable {
    pub fn new(symbolizer: Symbolizer) -> Self {
        SymbolTable {
            syms: Vec::new(),
            by_start: FxHashMap::default(),
            by_addr: FxHashMap::default(),
            dso_ids: FxHashMap::default(),
            next_slot: 0,
            inlines: inline::Inlines::default(),
            symbolizer,
        }
    }

    /// Where a file DSO's symbols were looked for (`None` if never looked up).
    pub fn search_trail(
        &self,
        dso: DsoIndex,
    ) -> Option<(&[crate::objfile::locate::Searched], Option<&[u8]>)> {
        let id = *self.dso_ids.get(&dso)?;
        Some(self.symbolizer.search_trail(id))
    }

    /// The symbolizer's id of a file DSO.
    pub fn dso_id(&mut self, machine: &Machine, dso: DsoIndex) -> DsoId {
        let d = machine.dsos.get(dso);
        *self
            .dso_ids
            .entry(dso)
            .or_insert_with(|| self.symbolizer.dso(&d.name, d.build_id.as_deref()))
    }

    /// Interns a symbol named `name` over `start..end` (inline frames get
    /// the range of the real symbol they sit in).
    pub fn intern(&mut self, name: Box<str>, start: u64, end: u64) -> SymId {
        self.syms.push(Sym { name, start, end });
        SymId(self.syms.len() as u32 - 1)
    }

    /// A fresh slot for a frame that is not a plain (DSO, address) pair.
    pub fn new_slot(&mut self) -> u32 {
        let slot = self.next_slot;
        self.next_slot += 1;
        slot
    }

    pub fn get(&self, id: SymId) -> &Sym {
        &self.syms[id.0 as usize]
    }

    /// The symbol of `addr` (already `map_ip`-converted) in `dso`, and the
    /// pair's slot.
    pub fn lookup(&mut self, machine: &Machine, dso: DsoIndex, addr: u64) -> (Option<SymId>, u32) {
        if let Some(&hit) = self.by_addr.get(&(dso, addr)) {
            return hit;
        }
        let d = machine.dsos.get(dso);
        let found = match d.kind {
            DsoKind::Kernel => self.symbolizer.lookup_kernel(addr),
            DsoKind::File => {
                let id = self.dso_id(machine, dso);
                self.symbolizer.lookup(id, addr)
            }
            DsoKind::Module => self.symbolizer.lookup_module(&d.name, addr),
            DsoKind::NoFile => None,
        }
        .map(|s| (s.start, s.end, s.name.clone()));
        let hit = found.map(|(start, end, name)| {
            *self.by_start.entry((dso, start)).or_insert_with(|| {
                self.syms.push(Sym { name, start, end });
                SymId(self.syms.len() as u32 - 1)
            })
        });
        let slot = self.new_slot();
        self.by_addr.insert((dso, addr), (hit, slot));
        (hit, slot)
    }
}

/// Resolves one address in the space `cpumode` selects (perf's `thread__find_symbol`).
pub fn resolve_ip(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    ip: u64,
    fallback: bool,
) -> Frame {
    let find = |m: &Machine| {
        if fallback {
            m.find_map_fb(thread, cpumode, ip).copied()
        } else {
            m.find_map(thread, cpumode, ip).copied()
        }
    };
    let mut map = find(machine);
    if map.is_some_and(|m| m.dso == machine.kernel_dso) && !machine.kernel_loaded {
        // perf's map__load on the first kernel hit resizes the kernel map.
        machine.kernel_map_loaded(symbols.symbolizer.kernel_map_range());
        map = find(machine);
    }
    match map {
        Some(map) => {
            let addr = map.map_ip(ip);
            let (sym, slot) = symbols.lookup(machine, map.dso, addr);
            Frame {
                ip,
                addr,
                map_start: map.start,
                dso: Some(map.dso),
                sym,
                slot,
                inlined: false,
                pending: false,
            }
        }
        None => Frame::unmapped(ip),
    }
}

/// Fills `out` with the frames of a sample's callchain, callee first.
pub fn resolve_callchain(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    sample: &Sample,
    max_stack: usize,
    out: &mut Vec<Frame>,
) {
    out.clear();
    let mut cpumode = CPUMODE_USER;
    let mut entries = 0;
    for ip in sample.callchain_ips() {
        if entries >= max_stack {
            break;
        }
        if ip >= CONTEXT_MAX {
            cpumode = match ip {
                CONTEXT_HV => CPUMODE_HYPERVISOR,
                CONTEXT_KERNEL => CPUMODE_KERNEL,
                CONTEXT_USER => CPUMODE_USER,
                _ => {
                    // perf: "invalid callchain context", the chain is discarded.
                    out.clear();
                    return;
                }
            };
            continue;
        }
        entries += 1;
        out.push(resolve_ip(machine, symbols, thread, cpumode, ip, false));
    }
}

/// Appends the frames of DWARF-unwound user addresses (perf's
/// `unwind_entry`): zero addresses are skipped; with `inline` on, a frame
/// whose address has inline records becomes those records
/// (`append_inlines`).
pub fn append_user_frames(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    ips: &[u64],
    inline: bool,
    out: &mut Vec<Frame>,
) {
    for &ip in ips {
        if ip == 0 {
            continue;
        }
        let f = resolve_ip(machine, symbols, thread, CPUMODE_USER, ip, false);
        if inline && symbols.append_inlines(machine, &f, out) {
            continue;
        }
        out.push(f);
    }
}
