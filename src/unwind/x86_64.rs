//! x86_64: the step loop of perf's libunwind-based `get_entries` (see the
//! module doc of `unwind`): libunwind 1.6.2's x86_64 `unw_step` with its
//! register-state cache, its registers (all sixteen, first-frame values
//! from the sample), its frame-chain fallback without an FDE; framehop
//! steps the plain rows, `cfi.rs` evaluates the others.

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{FrameAddress, Unwinder};

use super::cfi::{ArchRegs, Kind, Row, Rule, MAX_SAVED, SAME, UNDEFINED};
use super::file::{MappedBytes, UnwindFile};
use super::memory::Registered;
use super::memory::Memory;
use crate::mappings::DsoId;
use crate::reader::sample::Regs;
use gimli::X86_64;
use rustc_hash::FxHashMap;

/// perf's x86 register numbers (arch/x86/include/uapi/asm/perf_regs.h).
const PERF_REG_BP: u32 = 6;
pub const PERF_REG_SP: u32 = 7;
const PERF_REG_IP: u32 = 8;

/// The DWARF registers (x86-64 psABI) the CFI classification looks at.
const CFI_REGS: ArchRegs = ArchRegs {
    sp: X86_64::RSP.0,
    fp: X86_64::RBP.0,
    ra: X86_64::RA.0,
    saved: &TRACKED,
};
/// Callee-saved registers besides rbp: rbx, r12-r15.
const TRACKED: [u16; 5] = [
    X86_64::RBX.0,
    X86_64::R12.0,
    X86_64::R13.0,
    X86_64::R14.0,
    X86_64::R15.0,
];
/// perf's x86 register number of each DWARF register 0-16 (rax, rdx, rcx,
/// rbx, rsi, rdi, rbp, rsp, r8-r15, rip).
const PERF_OF_DWARF: [u32; 17] = [0, 3, 2, 1, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23, 8];

/// An rbp whose saved value could not be read: in no map, so every read
/// through it fails.
const POISONED_BP: u64 = 0xdead_0000_0000_0000;

/// Frames libunwind is asked for at most, whatever the caller passes.
const MAX_FRAMES: usize = 1024;

pub struct SpaceUnwinder {
    /// framehop, for the plain rows it makes no rule of (see
    /// [`FrameRule`]): made, and told of the space's modules, only when
    /// such a row comes, so most spaces never build one.
    framehop: Option<Box<Framehop>>,
    /// The space's modules changed since framehop last saw them.
    modules_changed: bool,
    rs_cache: RsCache,
}

/// framehop's unwinder and rule cache for one address space, and the
/// modules it was given.
struct Framehop {
    unwinder: UnwinderX86_64<MappedBytes>,
    cache: CacheX86_64,
    modules: Vec<Registered>,
}

impl Framehop {
    /// Gives framehop the space's modules as they are now. A module that
    /// went and one that came both move framehop's modules generation,
    /// which empties its rule cache for the space; where the modules
    /// changed and changed back since the last call, one module is
    /// dropped and given again so that the generation still moves, as it
    /// would have with every change told at once.
    fn sync(&mut self, mem: &Memory) {
        let (old, new) = (&self.modules, mem.modules);
        let mut added = Vec::new();
        let mut moved = false;
        let (mut i, mut j) = (0, 0);
        // Both lists are in address order, one module per start: removals
        // first, then additions, each in address order.
        loop {
            match (old.get(i), new.get(j)) {
                (None, None) => break,
                (Some(o), Some(n)) if o == n => {
                    i += 1;
                    j += 1;
                }
                (Some(o), Some(n)) if o.start <= n.start => {
                    self.unwinder.remove_module(o.start);
                    moved = true;
                    i += 1;
                }
                (Some(o), None) => {
                    self.unwinder.remove_module(o.start);
                    moved = true;
                    i += 1;
                }
                (_, Some(n)) => {
                    added.push(*n);
                    j += 1;
                }
            }
        }
        if !moved && added.is_empty() {
            if let Some(first) = new.first() {
                self.unwinder.remove_module(first.start);
                added.push(*first);
            }
        }
        for m in &added {
            if let Some(f) = mem.file(m.dso) {
                let module =
                    framehop::Module::new(String::new(), m.start..m.end, m.base, f.section_info());
                self.unwinder.add_module(module);
            }
        }
        self.modules = new.to_vec();
    }
}

/// libunwind's global register-state cache of one address space
/// (perf sets UNW_CACHE_GLOBAL): the last 128 states computed, looked up
/// by the frame's IP; here a state is the (DSO, SVMA) it was read from.
struct RsCache {
    entries: Box<[(u64, CachedState); RS_CACHE_SIZE]>,
    /// Entry slot by IP (the last inserted one for a repeated IP).
    index: FxHashMap<u64, u8>,
    head: usize,
}

const RS_CACHE_SIZE: usize = 128;

/// Where a frame's register state comes from: the DSO and SVMA whose CFI
/// row was read, and how that row treats the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CachedState {
    dso: DsoId,
    svma: u64,
    kind: Kind,
    /// framehop's rule for a simple row, where it makes one.
    rule: Option<FrameRule>,
}

impl RsCache {
    fn new() -> Self {
        let mut index = FxHashMap::default();
        index.reserve(RS_CACHE_SIZE * 2);
        RsCache {
            entries: Box::new(
                [(
                    0,
                    CachedState {
                        dso: DsoId(0),
                        svma: 0,
                        kind: Kind::NoFde,
                        rule: None,
                    },
                ); RS_CACHE_SIZE],
            ),
            index,
            head: 0,
        }
    }

    fn lookup(&self, ip: u64) -> Option<CachedState> {
        Some(self.entries[*self.index.get(&ip)? as usize].1)
    }

    /// Round-robin replacement, as libunwind's `rs_new`.
    fn insert(&mut self, ip: u64, state: CachedState) {
        let old = self.entries[self.head].0;
        if self.entries[self.head].1.kind != Kind::NoFde
            && self.index.get(&old) == Some(&(self.head as u8))
        {
            self.index.remove(&old);
        }
        self.entries[self.head] = (ip, state);
        self.index.insert(ip, self.head as u8);
        self.head = (self.head + 1) % RS_CACHE_SIZE;
    }
}

impl Default for SpaceUnwinder {
    fn default() -> Self {
        Self::new()
    }
}

impl SpaceUnwinder {
    pub fn new() -> Self {
        SpaceUnwinder {
            framehop: None,
            modules_changed: true,
            rs_cache: RsCache::new(),
        }
    }

    /// Empties libunwind's register-state cache (perf flushes it on exec).
    pub fn flush(&mut self) {
        self.rs_cache = RsCache::new();
    }

    /// The space's modules (`Memory::modules` from now on) changed.
    pub fn modules_changed(&mut self) {
        self.modules_changed = true;
    }

    /// framehop, told of the space's current modules.
    fn framehop(&mut self, mem: &Memory) -> &mut Framehop {
        let fh = self.framehop.get_or_insert_with(|| {
            Box::new(Framehop {
                unwinder: UnwinderX86_64::new(),
                cache: CacheX86_64::new(),
                modules: Vec::new(),
            })
        });
        if std::mem::take(&mut self.modules_changed) {
            fh.sync(mem);
        }
        fh
    }

    /// Appends the sample's user frames to `out` as perf lists them.
    pub fn unwind(
        &mut self,
        sample_regs: &Regs,
        mem: &Memory,
        max_stack: usize,
        out: &mut Vec<u64>,
    ) {
        // perf's x86 registers go up to r15 (23).
        let sampled: [Option<u64>; 24] = sample_regs.first();
        // perf_reg_value fails for a register that was not sampled: no frames.
        let (Some(ip), Some(sp), Some(bp)) = (
            sampled[PERF_REG_IP as usize],
            sampled[PERF_REG_SP as usize],
            sampled[PERF_REG_BP as usize],
        ) else {
            return;
        };
        out.push(ip);
        let max = max_stack.min(MAX_FRAMES);
        // libunwind knows every register of the first frame from the
        // sample; later frames keep what the CFI does not restore.
        let mut gprs: [Option<u64>; 17] = [None; 17];
        for (g, &p) in gprs.iter_mut().zip(&PERF_OF_DWARF) {
            *g = sampled[p as usize];
        }
        let mut regs = UnwindRegsX86_64::new(ip, sp, bp);
        let mut address = FrameAddress::from_instruction_pointer(ip);
        while out.len() < max {
            let lookup = address.address_for_lookup();
            let here = mem.locate(lookup);
            let Some(CachedState {
                dso,
                svma,
                kind,
                rule,
            }) = self.state_of(address, here, mem)
            else {
                break;
            };
            // A plain row is stepped by framehop's rules, which find the row
            // through the module's current base: only when that is the row
            // libunwind uses.
            let plain_row = matches!(kind, Kind::Simple { .. }) && here == Some((dso, svma));
            let next = match kind {
                Kind::NoFde => frame_chain_step(address.address(), &mut regs, mem),
                _ if !plain_row => {
                    let (Some(file), Some(row)) = (mem.file(dso), mem.row_of(dso, svma, &CFI_REGS))
                    else {
                        break;
                    };
                    gimli_step(address.address(), file, &row, &mut regs, &mut gprs, mem)
                }
                Kind::Simple { saved } => {
                    self.simple_step(address, rule, sp, saved, &mut regs, &mut gprs, mem)
                }
                _ => None,
            };
            let Some(next) = next else {
                break;
            };
            // Not a signal frame: perf shows the return address - 1 (a zero
            // from the frame chain prints as all ones, then the walk ends).
            if kind == Kind::Signal {
                // Stepped through a signal trampoline: libunwind's
                // unw_is_signal_frame is true for the interrupted frame.
                out.push(next);
                address = FrameAddress::from_instruction_pointer(next);
                continue;
            }
            out.push(next.wrapping_sub(1));
            match FrameAddress::from_return_address(next) {
                Some(a) => address = a,
                None => break,
            }
        }
    }

    /// The register state of the frame at `address`: libunwind's
    /// register-state cache answers by the frame's IP, whatever address the
    /// state was computed for; only a miss asks perf's find_proc_info (which
    /// fails without a map or tables). `here` is the frame's module and
    /// SVMA under the current bases.
    fn state_of(
        &mut self,
        address: FrameAddress,
        here: Option<(DsoId, u64)>,
        mem: &Memory,
    ) -> Option<CachedState> {
        if let Some(hit) = self.rs_cache.lookup(address.address()) {
            return Some(hit);
        }
        let (dso, svma) = here?;
        // Debian's x86_64 perf is built without libunwind's `.debug_frame`
        // search (NO_LIBUNWIND_DEBUG_FRAME: its libunwind has no
        // dwarf_find_debug_frame), so find_proc_info has only
        // `.eh_frame_hdr`; without one it fails with -EINVAL and the walk
        // ends (not -UNW_ENOINFO, which would try the frame chain).
        if mem.file(dso).is_none_or(|f| !f.has_eh_frame_table()) {
            return None;
        }
        // The search table is read where the module's base puts it.
        if mem.table_reads_fail(address.address_for_lookup()) {
            return None;
        }
        let row = mem.row_of(dso, svma, &CFI_REGS);
        let kind = row.as_ref().map_or(Kind::NoFde, |row| row.kind);
        let rule = match kind {
            // framehop looks addresses up as u32 offsets in the module;
            // anything else stays its own.
            Kind::Simple { .. } if u32::try_from(svma).is_ok() => {
                row.as_deref().and_then(FrameRule::of)
            }
            _ => None,
        };
        let state = CachedState {
            dso,
            svma,
            kind,
            rule,
        };
        if state.kind != Kind::NoFde {
            self.rs_cache.insert(address.address(), state);
        }
        Some(state)
    }

    /// One step for a frame whose CFI row is simple (`saved`: the rules of
    /// the other callee-saved registers): framehop's rule for the row
    /// (`rule`) run here, or, where framehop would not make one, framehop
    /// itself. `sample_sp` is the sampled stack pointer. The caller's IP
    /// (possibly 0), or `None` where libunwind stops.
    #[allow(clippy::too_many_arguments)]
    fn simple_step(
        &mut self,
        address: FrameAddress,
        rule: Option<FrameRule>,
        sample_sp: u64,
        saved: [i8; MAX_SAVED],
        regs: &mut UnwindRegsX86_64,
        gprs: &mut [Option<u64>; 17],
        mem: &Memory,
    ) -> Option<u64> {
        let below_sp = std::cell::Cell::new(false);
        let last_read = std::cell::Cell::new(None);
        let mut read = |addr: u64| {
            if addr < sample_sp {
                below_sp.set(true);
            }
            let word = mem.read(addr);
            last_read.set(word);
            word.ok_or(())
        };
        let stepped = match rule {
            Some(rule) => rule.exec(!address.is_return_address(), regs, &mut read),
            None => {
                let fh = self.framehop(mem);
                fh.unwinder
                    .unwind_frame(address, regs, &mut fh.cache, &mut read)
                    .map_err(|_| ())
            }
        };
        match stepped {
            Ok(Some(ra)) if ra != 0 => {
                if below_sp.get() {
                    // The first frame's CFI put the caller's rbp below the
                    // stack copy (stale rows after an epilogue). framehop
                    // keeps the current rbp; libunwind keeps the location
                    // and fails when a later frame needs the value. Poison
                    // it so such a read fails here too.
                    regs.set_bp(POISONED_BP);
                }
                // The other callee-saved registers, from the CFA (the
                // caller's rsp).
                let cfa = regs.sp();
                for (&r, &rule) in TRACKED.iter().zip(&saved) {
                    match rule {
                        SAME => {}
                        UNDEFINED => gprs[r as usize] = None,
                        off => {
                            gprs[r as usize] =
                                mem.read(cfa.wrapping_add((i64::from(off) * 8) as u64))
                        }
                    }
                }
                Some(ra)
            }
            // framehop ends the walk at a zero return address (its last
            // read); libunwind yields it as a frame.
            Ok(None) if last_read.get() == Some(0) => Some(0),
            _ => None,
        }
    }
}

/// framehop's x86_64 rule for a simple CFI row, and its execution,
/// restated from framehop 0.16 (`translate_into_unwind_rule`,
/// `UnwindRuleX86_64::exec`, whose trait framehop does not export). With
/// it, a frame framehop would step with a cached rule is stepped from the
/// row this crate already keeps per (DSO, address) for every address
/// space, instead of framehop finding and evaluating the FDE again on each
/// miss of its per-space cache. Rows framehop does not turn into a rule
/// (it then evaluates them afresh each time, and caches a fallback where
/// that fails) still go to framehop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameRule {
    /// No return address: the walk ends.
    EndOfStack,
    /// (sp, bp) = (sp + 8x, bp).
    OffsetSp { sp_by_8: u16 },
    /// (sp, bp) = (sp + 8x, *(sp + 8y)).
    OffsetSpAndRestoreBp { sp_by_8: u16, bp_at_sp_by_8: i16 },
    /// (sp, bp) = (bp + 16, *bp).
    UseFramePointer,
}

impl FrameRule {
    /// framehop's `translate_into_unwind_rule`: `None` where it fails.
    fn of(row: &Row) -> Option<FrameRule> {
        let cfa = row.cfa_rule();
        match row.stated_rule(X86_64::RA.0) {
            None | Some(gimli::RegisterRule::Undefined) => return Some(FrameRule::EndOfStack),
            Some(gimli::RegisterRule::Offset(-8)) => {}
            Some(_) => return None,
        }
        let bp_at_cfa = match row.stated_rule(X86_64::RBP.0) {
            None
            | Some(gimli::RegisterRule::Undefined)
            | Some(gimli::RegisterRule::SameValue) => None,
            Some(gimli::RegisterRule::Offset(o)) => Some(*o),
            Some(_) => return None,
        };
        let gimli::CfaRule::RegisterAndOffset { register, offset } = *cfa else {
            return None;
        };
        if register == X86_64::RSP {
            let sp_by_8 = u16::try_from(offset / 8).ok()?;
            Some(match bp_at_cfa {
                None => FrameRule::OffsetSp { sp_by_8 },
                Some(bp) => FrameRule::OffsetSpAndRestoreBp {
                    sp_by_8,
                    bp_at_sp_by_8: i16::try_from(offset.wrapping_add(bp) / 8).ok()?,
                },
            })
        } else if register == X86_64::RBP {
            (offset == 16 && bp_at_cfa? == -16).then_some(FrameRule::UseFramePointer)
        } else {
            None
        }
    }

    /// framehop's `UnwindRuleX86_64::exec`: the caller's IP, `Ok(None)`
    /// where framehop ends the walk, `Err` where it fails; `regs` become
    /// the caller's.
    fn exec(
        self,
        is_first_frame: bool,
        regs: &mut UnwindRegsX86_64,
        read: &mut impl FnMut(u64) -> Result<u64, ()>,
    ) -> Result<Option<u64>, ()> {
        let sp = regs.sp();
        let (new_sp, new_bp) = match self {
            FrameRule::EndOfStack => return Ok(None),
            FrameRule::OffsetSp { sp_by_8 } => {
                (sp.checked_add(u64::from(sp_by_8) * 8).ok_or(())?, regs.bp())
            }
            FrameRule::OffsetSpAndRestoreBp {
                sp_by_8,
                bp_at_sp_by_8,
            } => {
                let new_sp = sp.checked_add(u64::from(sp_by_8) * 8).ok_or(())?;
                let at = sp
                    .checked_add_signed(i64::from(bp_at_sp_by_8) * 8)
                    .ok_or(())?;
                let new_bp = match read(at) {
                    Ok(bp) => bp,
                    // framehop ignores a failed read below the stack
                    // pointer in the first frame (epilogues).
                    Err(()) if is_first_frame && at < sp => regs.bp(),
                    Err(()) => return Err(()),
                };
                (new_sp, new_bp)
            }
            FrameRule::UseFramePointer => {
                let bp = regs.bp();
                if bp == 0 {
                    return Ok(None);
                }
                let new_sp = bp.checked_add(16).ok_or(())?;
                if new_sp <= sp {
                    return Err(());
                }
                (new_sp, read(bp)?)
            }
        };
        // framehop's release build subtracts without a check.
        let ra = read(new_sp.wrapping_sub(8))?;
        if ra == 0 {
            return Ok(None);
        }
        if new_sp == sp && ra == regs.ip() {
            return Err(());
        }
        regs.set_ip(ra);
        regs.set_sp(new_sp);
        regs.set_bp(new_bp);
        Ok(Some(ra))
    }
}

/// libunwind's x86_64 `unw_step` when `dwarf_step` finds no FDE: the PLT
/// and signal-trampoline checks aside, a guessed frame chain through rbp.
/// Returns the caller's IP (possibly 0), or `None` where libunwind stops.
/// libunwind's "CFA" here is the current rsp.
fn frame_chain_step(ip: u64, regs: &mut UnwindRegsX86_64, mem: &Memory) -> Option<u64> {
    let (sp, rbp) = (regs.sp(), regs.bp());
    if rbp == POISONED_BP {
        return None;
    }
    // libunwind's is_plt_entry: `jmp *x(%rip); push $n; jmp ...` at ip
    // unwinds like a fresh call (CFA = rsp + 8, return address at rsp).
    if let (Some(w0), Some(w1)) = (mem.read(ip), mem.read(ip.wrapping_add(8))) {
        if w0 & 0xffff == 0x25ff && (w0 >> 48) & 0xff == 0x68 && (w1 >> 24) & 0xff == 0xe9 {
            let ra = mem.read(sp)?;
            regs.set_sp(sp.wrapping_add(8));
            return Some(ra);
        }
    }
    // Whether the previous IP points at readable memory.
    let ip_valid = mem.read(ip).is_some();
    if rbp == 0 && ip_valid {
        return None;
    }
    if !ip_valid {
        // A call through a bad pointer: the return address is at rsp.
        if let Some(new_ip) = mem.read(sp) {
            if mem.read(new_ip).is_some() {
                let new_bp = mem.read(rbp)?;
                regs.set_sp(sp.wrapping_add(8));
                regs.set_bp(new_bp);
                return Some(new_ip);
            }
        }
    }
    let rbp1 = mem.read(rbp)?;
    if rbp < sp || rbp - sp > 0x4000 {
        return None;
    }
    let new_ip = mem.read(rbp.wrapping_add(8))?;
    regs.set_sp(sp.wrapping_add(16));
    regs.set_bp(rbp1);
    Some(new_ip)
}

/// A step through a row evaluated here: rows framehop cannot take (PLT
/// stubs' CFA expression, signal trampolines' register expressions, CFA on
/// another register) and rows libunwind takes from its cache that framehop
/// would not find. As libunwind: rip is the frame's address, rsp the CFA
/// unless a rule restores it, an undefined return address ends the walk.
fn gimli_step(
    ip: u64,
    file: &UnwindFile,
    row: &Row,
    regs: &mut UnwindRegsX86_64,
    gprs: &mut [Option<u64>; 17],
    mem: &Memory,
) -> Option<u64> {
    let (sp, bp) = (regs.sp(), regs.bp());
    let current = *gprs;
    let reg = |r: u16| match gimli::Register(r) {
        X86_64::RSP => Some(sp),
        X86_64::RBP => (bp != POISONED_BP).then_some(bp),
        X86_64::RA => Some(ip),
        _ => current.get(r as usize).copied().flatten(),
    };
    let read = |a: u64| mem.read(a);
    let mut out = [Rule::Undefined; 17];
    let cfa = file.evaluate(row, &reg, &read, &ALL_REGS, &mut out)?;
    let ra = match out[X86_64::RA.0 as usize] {
        Rule::Value(v) => v,
        _ => return None,
    };
    for (r, rule) in out.iter().enumerate().take(16) {
        match rule {
            Rule::Value(v) => gprs[r] = Some(*v),
            Rule::Unreadable | Rule::Undefined => gprs[r] = None,
            Rule::Same => {}
        }
    }
    let new_sp = match out[X86_64::RSP.0 as usize] {
        Rule::Value(v) => v,
        _ => cfa,
    };
    let new_bp = match out[X86_64::RBP.0 as usize] {
        Rule::Value(v) => v,
        Rule::Unreadable => POISONED_BP,
        Rule::Same | Rule::Undefined => bp,
    };
    regs.set_sp(new_sp);
    regs.set_bp(new_bp);
    Some(ra)
}

/// DWARF registers 0-16 in order.
const ALL_REGS: [u16; 17] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `rule` from (ip, sp, bp) over a stack of words at 0x1000;
    /// reads elsewhere fail.
    fn run(
        rule: FrameRule,
        first: bool,
        (ip, sp, bp): (u64, u64, u64),
    ) -> (Result<Option<u64>, ()>, u64, u64, u64) {
        let words = [0x2000u64, 0x40_1111, 0x1020, 0x40_2222, 0, 0x40_3333];
        let mut read = |a: u64| {
            let i = a.checked_sub(0x1000).filter(|d| d % 8 == 0).ok_or(())? / 8;
            words.get(i as usize).copied().ok_or(())
        };
        let mut regs = UnwindRegsX86_64::new(ip, sp, bp);
        let r = rule.exec(first, &mut regs, &mut read);
        (r, regs.ip(), regs.sp(), regs.bp())
    }

    #[test]
    fn rules_step_as_framehop_does() {
        let start = (0x40_0000, 0x1000, 0x1010);
        // Return address at the new sp - 8, rbp kept.
        let r = run(FrameRule::OffsetSp { sp_by_8: 2 }, true, start);
        assert_eq!(r, (Ok(Some(0x40_1111)), 0x40_1111, 0x1010, 0x1010));
        // rbp restored from sp + 8y.
        let rule = FrameRule::OffsetSpAndRestoreBp {
            sp_by_8: 2,
            bp_at_sp_by_8: 2,
        };
        assert_eq!(run(rule, false, start).3, 0x1020);
        // A failed rbp read below sp is ignored in the first frame only.
        let rule = FrameRule::OffsetSpAndRestoreBp {
            sp_by_8: 2,
            bp_at_sp_by_8: -1,
        };
        assert_eq!(run(rule, true, start).0, Ok(Some(0x40_1111)));
        assert_eq!(run(rule, false, start).0, Err(()));
        // The frame chain: (sp, bp) = (bp + 16, *bp); a zero rbp ends it,
        // and so does a zero return address.
        let r = run(FrameRule::UseFramePointer, false, (0x40_0000, 0x1000, 0x1010));
        assert_eq!(r, (Ok(Some(0x40_2222)), 0x40_2222, 0x1020, 0x1020));
        assert_eq!(run(FrameRule::UseFramePointer, false, (1, 0x1000, 0)).0, Ok(None));
        let r = run(FrameRule::UseFramePointer, false, (1, 0x1000, 0x1018));
        assert_eq!(r.0, Ok(None));
        // A frame chain that goes down, or a step that does not move, fails.
        assert_eq!(run(FrameRule::UseFramePointer, false, (1, 0x1030, 0x1000)).0, Err(()));
        let r = run(FrameRule::OffsetSp { sp_by_8: 0 }, false, (0x40_1111, 0x1010, 0));
        assert_eq!(r.0, Err(()));
        assert_eq!(run(FrameRule::EndOfStack, true, start).0, Ok(None));
    }
}
