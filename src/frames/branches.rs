//! The branch-stack entries of a sample placed in maps (and symbols) for the
//! `brstack`, `brstacksym` and `brstackoff` fields of `-F`, as perf 6.1's
//! `perf_sample__fprintf_brstack*` (builtin-script.c) look them up: every
//! address with `thread__find_map_fb` in the sample's cpumode (with the
//! fallback to the other space), `brstacksym` with `thread__find_symbol_fb`.
//! Addresses are looked up only when the field prints something of the map:
//! plain `brstack` without `dso` looks nothing up.

use super::{find_map_loading, resolve_ip, Frame, FrameKey, SymbolTable};
use crate::mappings::{DsoKind, Machine, Thread};
use crate::objfile::locate::{is_perf_map, Outcome};
use crate::reader::sample::BranchStack;

/// What a branch-stack field needs of each entry's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchLookup {
    /// Only the raw addresses (`brstack` without `dso`).
    None,
    /// The map of each address (`brstack` with `dso`, `brstackoff`).
    Map,
    /// The map and symbol of each address (`brstacksym`).
    Symbol,
}

/// One branch of the stack, most recent first.
#[derive(Debug, Clone, Copy)]
pub struct BranchFrames {
    pub from: Frame,
    pub to: Frame,
    /// `struct branch_flags` as recorded.
    pub flags: u64,
    /// Whether `brstackoff` prints the raw address (the DSO's symbols were
    /// loaded from an ELF file, perf's `dso->adjust_symbols`), per address.
    pub from_raw: bool,
    pub to_raw: bool,
}

/// Fills `out` with the entries of `stack`, looked up as `lookup` says.
pub fn resolve_branches(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    stack: &BranchStack,
    lookup: BranchLookup,
    out: &mut Vec<BranchFrames>,
) {
    out.clear();
    for i in 0..stack.len() {
        let b = stack.get(i);
        let mut place = |ip: u64| match lookup {
            BranchLookup::None => (Frame::unmapped(ip), false),
            BranchLookup::Map => find_map(machine, symbols, thread, cpumode, ip),
            BranchLookup::Symbol => {
                let f = resolve_ip(machine, symbols, thread, cpumode, ip, true);
                (f, false)
            }
        };
        let (from, from_raw) = place(b.from);
        let (to, to_raw) = place(b.to);
        out.push(BranchFrames {
            from,
            to,
            flags: b.flags,
            from_raw,
            to_raw,
        });
    }
}

/// `thread__find_map_fb` without a symbol lookup (it loads no user DSO, only
/// the kernel map as perf's `map__load` on kernel hits), and whether the
/// DSO's symbols came from an ELF file already (perf sets `adjust_symbols`
/// for user DSOs when their ELF file is loaded, never for kallsyms or perf
/// maps).
fn find_map(
    machine: &mut Machine,
    symbols: &mut SymbolTable,
    thread: &Thread,
    cpumode: u8,
    ip: u64,
) -> (Frame, bool) {
    let Some(map) = find_map_loading(machine, symbols, thread, cpumode, ip, true) else {
        return (Frame::unmapped(ip), false);
    };
    let dso = machine.dsos.get(map.dso);
    let kind = dso.kind;
    // A `/tmp/perf-<pid>.map` is never adjusted (perf clears the flag
    // before reading a perf map).
    let adjusted = kind == DsoKind::File
        && !is_perf_map(&dso.name)
        && symbols.search_trail(map.dso).is_some_and(|(trail, _)| {
            trail
                .iter()
                .any(|s| matches!(s.outcome, Outcome::Used { .. }))
        });
    // brstackoff uses perf's `map__map_ip` formula, ip - start + pgoff, also
    // on maps whose `map_ip` is the identity (anonymous and JIT memory);
    // perf's kernel and module maps have pgoff 0 (the kernel MMAP's pgoff
    // goes to the ref-reloc symbol).
    let addr = match kind {
        DsoKind::Kernel | DsoKind::Module => ip.wrapping_sub(map.start),
        _ => ip.wrapping_sub(map.start).wrapping_add(map.pgoff),
    };
    let frame = Frame {
        ip,
        addr,
        map_start: map.start,
        dso: Some(map.dso),
        sym: None,
        key: FrameKey::Unmapped,
        inlined: false,
    };
    (frame, adjusted)
}
