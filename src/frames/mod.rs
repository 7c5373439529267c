//! From a sample to the frames perf prints: the callchain walked with perf's
//! context markers, each address placed in a map and given a symbol.
//!
//! Follows perf 6.1's `thread__resolve_callchain_sample` and
//! `add_callchain_ip` (util/machine.c): entries at or above
//! `PERF_CONTEXT_MAX` switch the cpumode and are not frames; an unknown
//! marker discards the whole chain; at most `max_stack` real entries are
//! used. Symbol lookups are cached per (DSO, address) in the
//! [`SymbolTable`] (`symbol_table.rs`); DWARF inline frames are
//! [`InlineFrames`] (`inline.rs`, which names its records in the table).

mod branches;
mod brstackinsn;
mod extras;
mod insn;
mod inline;
mod symbol_table;

pub use branches::BranchFrames;
pub use extras::{ExtraFields, SampleExtras};
pub use inline::InlineFrames;
pub use symbol_table::{InternedSymbol, SymId, SymbolTable};

use crate::mappings::{DsoId, Machine, Map, Thread, CPUMODE_HYPERVISOR, CPUMODE_KERNEL, CPUMODE_USER};
use crate::reader::sample::{
    Sample, PERF_CONTEXT_HV, PERF_CONTEXT_KERNEL, PERF_CONTEXT_MAX, PERF_CONTEXT_USER,
};

/// One printed frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// The raw address (sample ip or callchain entry).
    pub ip: u64,
    /// `map->map_ip(ip)` when a map was found, else 0 (perf's `addr`).
    pub addr: u64,
    /// Start of the map, for perf's offset rule past a symbol's end.
    pub map_start: u64,
    pub dso: Option<DsoId>,
    pub sym: Option<SymId>,
    /// What the writers cache this frame's text under.
    pub key: FrameKey,
    /// An inline frame from DWARF (perf prints ` (inlined)` for the DSO).
    pub inlined: bool,
}

/// What a frame's text is cached under in the writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKey {
    /// The dense id of the frame's (DSO, address) pair (or of one of its
    /// inline frames), for per-address caches.
    Slot(u32),
    /// Inline frames still being looked up: the lookup's id;
    /// [`InlineFrames::deferred`] gives the frames once
    /// [`InlineFrames::resolve_deferred`] ran (see `Options::defer_inlines`).
    Pending(u32),
    /// The address is in no map.
    Unmapped,
}

impl Frame {
    /// A frame whose address is in no map.
    pub fn unmapped(ip: u64) -> Frame {
        Frame {
            ip,
            addr: 0,
            map_start: 0,
            dso: None,
            sym: None,
            key: FrameKey::Unmapped,
            inlined: false,
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

/// The space a plain lookup searches, and its changes so far: a frame
/// resolved there before is the answer while the space is unchanged.
#[inline]
fn frame_space(m: &Machine, thread: &Thread, cpumode: u8) -> Option<(u32, u64)> {
    match cpumode {
        CPUMODE_KERNEL => Some((u32::MAX, m.kernel_maps.changes())),
        CPUMODE_USER => Some((thread.maps.0, m.maps(thread.maps).changes())),
        _ => None,
    }
}

/// Resolves one address in the space `cpumode` selects (perf's `thread__find_symbol`).
///
/// The frame cache's hit is inlined into the callers' per-frame loops; a
/// miss goes to [`resolve_ip_missed`].
#[inline]
pub fn resolve_ip(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    ip: u64,
    fallback: bool,
) -> Frame {
    let before = frame_space(machine, thread, cpumode).filter(|_| !fallback);
    if let Some((id, changes)) = before {
        if let Some(f) = symbols.cached_frame(id, changes, ip) {
            return f;
        }
    }
    resolve_ip_missed(machine, symbols, thread, cpumode, ip, fallback, before.is_some())
}

/// [`resolve_ip`] past the frame cache: resolves, and caches the frame when
/// `cacheable` (a plain lookup in a user or kernel space).
#[cold]
#[inline(never)]
fn resolve_ip_missed(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    ip: u64,
    fallback: bool,
    cacheable: bool,
) -> Frame {
    let f = resolve_ip_uncached(machine, symbols, thread, cpumode, ip, fallback);
    if cacheable {
        // Loading the kernel's symbols may have resized its map.
        if let Some((id, changes)) = frame_space(machine, thread, cpumode) {
            symbols.cache_frame(id, changes, f);
        }
    }
    f
}

/// perf's `map__load` of the kernel's map: the first one loads its symbols
/// and moves the map to the first and last symbol
/// (`Machine::kernel_map_loaded`); later ones do nothing.
fn load_kernel_map(machine: &mut Machine, symbols: &mut SymbolTable) {
    if !machine.kernel_loaded {
        machine.kernel_map_loaded(symbols.symbolizer.kernel_map_range());
    }
}

/// The map of `ip` (perf's `thread__find_map`, or `thread__find_map_fb`
/// with `fallback`), after perf's `map__load` when it is the kernel's: the
/// first hit there loads the kernel and may move the map, so the lookup is
/// made again.
fn find_map_loading(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    ip: u64,
    fallback: bool,
) -> Option<Map> {
    let find = |m: &Machine| {
        if fallback {
            m.find_map_fb(thread, cpumode, ip).copied()
        } else {
            m.find_map(thread, cpumode, ip).copied()
        }
    };
    let map = find(machine);
    if map.is_some_and(|m| m.dso == machine.kernel_dso) && !machine.kernel_loaded {
        load_kernel_map(machine, symbols);
        return find(machine);
    }
    map
}

fn resolve_ip_uncached(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    ip: u64,
    fallback: bool,
) -> Frame {
    match find_map_loading(machine, symbols, thread, cpumode, ip, fallback) {
        Some(map) => {
            let addr = map.map_ip(ip);
            let (sym, slot) = symbols.lookup(machine, map.dso, addr);
            Frame {
                ip,
                addr,
                map_start: map.start,
                dso: Some(map.dso),
                sym,
                key: FrameKey::Slot(slot),
                inlined: false,
            }
        }
        None => Frame::unmapped(ip),
    }
}

/// Whether any lookup for `sample` may land in the kernel's maps: a
/// non-user cpumode, a kernel-side address, a kernel context in the
/// callchain, or a branch stack. False for the samples of user-only events.
pub fn may_touch_kernel(sample: &Sample, kernel_start: u64) -> bool {
    sample.cpumode() != CPUMODE_USER
        || sample.ip >= kernel_start
        || sample.addr >= kernel_start
        || sample.branch_stack.is_some()
        || sample
            .callchain_ips()
            .any(|ip| ip >= kernel_start && ip != PERF_CONTEXT_USER)
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
        if ip >= PERF_CONTEXT_MAX {
            cpumode = match ip {
                PERF_CONTEXT_HV => CPUMODE_HYPERVISOR,
                PERF_CONTEXT_KERNEL => CPUMODE_KERNEL,
                PERF_CONTEXT_USER => CPUMODE_USER,
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

/// Fills `out` with the frames of an LBR call stack (`crate::hw::lbr`);
/// `empty_to` is the word perf reads as `entries[0].to` of an empty stack.
/// Returns `false`, `out` empty, when perf uses the plain callchain.
pub fn resolve_lbr_callchain(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    sample: &Sample,
    empty_to: Option<u64>,
    max_stack: usize,
    out: &mut Vec<Frame>,
) -> bool {
    let Some(branches) = &sample.branch_stack else {
        return false;
    };
    out.clear();
    crate::hw::lbr::lbr_callchain(
        sample.callchain_ips(),
        branches,
        empty_to,
        max_stack,
        |cpumode, ip| out.push(resolve_ip(machine, symbols, thread, cpumode, ip, false)),
    )
}

/// Appends the frames of DWARF-unwound user addresses (perf's
/// `unwind_entry`): zero addresses are skipped; with `inlines` given, a
/// frame whose address has inline records becomes those records
/// (`append_inlines`).
pub fn append_user_frames(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    mut inlines: Option<&mut InlineFrames>,
    thread: &Thread,
    ips: &[u64],
    out: &mut Vec<Frame>,
) {
    for &ip in ips {
        if ip == 0 {
            continue;
        }
        let f = resolve_ip(machine, symbols, thread, CPUMODE_USER, ip, false);
        if let Some(inlines) = inlines.as_deref_mut() {
            if inlines.append_inlines(symbols, machine, &f, out) {
                continue;
            }
        }
        out.push(f);
    }
}
