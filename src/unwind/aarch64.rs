//! aarch64: the user frames perf 6.1 gets from libunwind 1.6.2's aarch64
//! back end, and the caller of the leaf function of `-g` samples.
//!
//! framehop's aarch64 rules differ from libunwind where it matters for the
//! output (they stop at a zero frame pointer, refuse frames that do not
//! advance, strip or keep pointer authentication codes wholesale), so this
//! file restates libunwind's step instead, with gimli parsing the CFI:
//!
//! - `unw_step` (src/aarch64/Gstep.c): an IP whose word cannot be read is
//!   replaced by the value of x30 first; the sigreturn trampoline
//!   (`mov x8, #139; svc #0`) unwinds through the signal frame; otherwise a
//!   DWARF step, and when that fails *for any reason* (no FDE, a CFI opcode
//!   libunwind rejects, an unreadable register or word), the caller is the
//!   value of x30's current location, after which x30 has no location (a
//!   second fallback gives IP 0 and the walk ends).
//! - `dwarf_step` (src/dwarf/Gparser.c): the FDE of `ip - 1` (of `ip` for
//!   the first frame and after a signal frame), CIE and FDE programs run up
//!   to that address; `DW_CFA_GNU_window_save` (AArch64's
//!   `DW_CFA_AARCH64_negate_ra_state`, emitted after `paciasp`) is an error
//!   in 1.6.2, so PAC-signed functions always take the x30 fallback and
//!   return addresses keep their PAC bits; the CFA is computed first, SP
//!   reads as the previous CFA; an undefined return-address column ends the
//!   walk; an unchanged IP and CFA is an error.
//! - libunwind's global register-state cache (perf sets UNW_CACHE_GLOBAL):
//!   a state is looked up by the frame's IP alone, whatever address it was
//!   computed for, in a round-robin table of 128 entries per address space.
//!
//! Registers are perf's arm64 sample registers (x0-x30, sp, pc); a register
//! that was not sampled fails to read (perf's `access_reg`). Memory is
//! perf's `access_mem` ([`Memory::read`]); a failed read of a stack slot
//! stores 0 where libunwind asked for the value.

use std::collections::VecDeque;
use std::rc::Rc;

use gimli::{
    BaseAddresses, CallFrameInstruction, CieOrFde, DebugFrame, LittleEndian, UnwindSection,
};

use super::file::UnwindFile;
use super::memory::Memory;
use crate::reader::sample::Regs;
use gimli::AArch64;

/// perf's arm64 register numbers (arch/arm64/include/uapi/asm/perf_regs.h),
/// which are also the DWARF and libunwind numbers.
pub const PERF_REG_LR: u32 = 30;
pub const PERF_REG_SP: u32 = 31;
#[allow(dead_code)] // the register table is kept whole
pub const PERF_REG_PC: u32 = 32;
/// DWARF register numbers (AArch64 DWARF ABI) as indices of the register
/// file.
const X30: usize = AArch64::X30.0 as usize;
const SP: usize = AArch64::SP.0 as usize;
const PC: usize = AArch64::PC.0 as usize;

/// libunwind's `DWARF_NUM_PRESERVED_REGS` on aarch64.
const NUM_REGS: usize = 97;
/// libunwind's default register-state cache size (1 << 7).
const CACHE_SIZE: usize = 128;
/// `mov x8, #0x8b; svc #0x0`, read as one little-endian word
/// (src/aarch64/Gis_signal_frame.c).
const SIGRETURN: u64 = 0xd400_0001_d280_1168;
/// `sizeof(siginfo_t)` and `LINUX_UC_MCONTEXT_OFF` (src/aarch64/offsets.h).
const SIGINFO_SIZE: u64 = 128;
const UC_MCONTEXT_OFF: u64 = 0xb0;
const SC_X0_OFF: u64 = 0x008;
const SC_SP_OFF: u64 = 0x100;
const SC_PC_OFF: u64 = 0x108;

/// Frames libunwind is asked for at most, whatever the caller passes.
const MAX_FRAMES: usize = 1024;

/// A register's saved location (libunwind's `dwarf_loc_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    Null,
    /// The register's value in the sample.
    Reg(u16),
    /// A word of memory; address 0 is the null location in libunwind.
    Mem(u64),
}

fn mem_loc(addr: u64) -> Loc {
    if addr == 0 {
        Loc::Null
    } else {
        Loc::Mem(addr)
    }
}

/// A register rule (libunwind's `dwarf_where_t`, the cases this file
/// evaluates; expressions make the step fail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Same,
    Undef,
    CfaRel(i64),
    Reg(u16),
    Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RegState {
    /// `None`: a CFA expression.
    cfa: Option<(u16, i64)>,
    rules: [Rule; NUM_REGS],
    ret_addr_column: u16,
}

/// A read that failed may still have written 0 (perf's `access_mem` does;
/// `access_reg` and a null location do not).
enum Got {
    Value(u64),
    FailedZero,
    Failed,
}

/// One sample's registers as libunwind's accessors see them.
struct RegFile {
    values: [Option<u64>; 34],
}

impl RegFile {
    fn from_sample(regs: &Regs) -> RegFile {
        let mut values = [None; 34];
        for (i, v) in values.iter_mut().enumerate() {
            *v = regs.get(i as u32);
        }
        RegFile { values }
    }
}

struct Cursor<'a, 'm> {
    ip: u64,
    cfa: u64,
    loc: [Loc; NUM_REGS],
    use_prev_instr: bool,
    regs: &'a RegFile,
    mem: &'a Memory<'m>,
}

impl Cursor<'_, '_> {
    fn get(&self, loc: Loc) -> Got {
        match loc {
            Loc::Null => Got::Failed,
            Loc::Reg(r) => match self.regs.values.get(r as usize).copied().flatten() {
                Some(v) => Got::Value(v),
                None => Got::Failed,
            },
            Loc::Mem(addr) => match self.mem.read(addr) {
                Some(v) => Got::Value(v),
                None => Got::FailedZero,
            },
        }
    }

    fn value(&self, loc: Loc) -> Option<u64> {
        match self.get(loc) {
            Got::Value(v) => Some(v),
            _ => None,
        }
    }

    /// `unw_get_reg` for an integer register: SP reads as the CFA.
    fn reg(&self, r: usize) -> Option<u64> {
        if r == SP {
            return Some(self.cfa);
        }
        self.value(*self.loc.get(r)?)
    }

    /// `unw_is_signal_frame`: 1, 0, or -1 when the IP's word is unreadable.
    fn is_signal_frame(&self) -> i32 {
        match self.mem.read(self.ip) {
            Some(SIGRETURN) => 1,
            Some(_) => 0,
            None => -1,
        }
    }

    /// libunwind's `unw_step`: > 0 when a caller was found.
    fn step(&mut self, cache: &mut RsCache) -> i32 {
        match self.is_signal_frame() {
            1 => return self.signal_frame(),
            0 => {}
            _ => {
                // "Invalid address found in the call stack": try x30.
                match self.get(self.loc[X30]) {
                    Got::Value(v) => self.ip = v,
                    Got::FailedZero => self.ip = 0,
                    Got::Failed => {}
                }
            }
        }
        if self.dwarf_step(cache).is_err() {
            // DWARF failed: use the link register.
            self.loc[PC] = self.loc[X30];
            self.loc[X30] = Loc::Null;
            if self.loc[PC] != Loc::Null {
                match self.get(self.loc[PC]) {
                    Got::Value(v) => self.ip = v,
                    Got::FailedZero => {
                        self.ip = 0;
                        return -1;
                    }
                    Got::Failed => return -1,
                }
            } else {
                self.ip = 0;
            }
        }
        i32::from(self.ip != 0)
    }

    /// `aarch64_handle_signal_frame`: registers from the sigcontext of the
    /// rt_sigframe at the CFA.
    fn signal_frame(&mut self) -> i32 {
        if self.value(mem_loc(self.cfa)).is_none() {
            return -1;
        }
        let sc = self
            .cfa
            .wrapping_add(SIGINFO_SIZE)
            .wrapping_add(UC_MCONTEXT_OFF);
        for i in 0..=30 {
            self.loc[i] = mem_loc(sc.wrapping_add(SC_X0_OFF + 8 * i as u64));
        }
        self.loc[SP] = mem_loc(sc.wrapping_add(SC_SP_OFF));
        self.loc[PC] = mem_loc(sc.wrapping_add(SC_PC_OFF));
        // dwarf_get into the CFA and the IP; a failed read stores 0.
        self.cfa = self.mem.read(sc.wrapping_add(SC_SP_OFF)).unwrap_or(0);
        self.ip = self.mem.read(sc.wrapping_add(SC_PC_OFF)).unwrap_or(0);
        self.use_prev_instr = false;
        1
    }

    /// `dwarf_step`: find the register state (cache, else the FDE) and apply it.
    fn dwarf_step(&mut self, cache: &mut RsCache) -> Result<(), ()> {
        let rs = match cache.lookup(self.ip) {
            Some(rs) => {
                // tdep_cache_frame is 0 on aarch64: never a signal frame.
                self.use_prev_instr = true;
                rs
            }
            None => {
                let lookup = self.ip.wrapping_sub(u64::from(self.use_prev_instr));
                // The search table is read where the module's base puts it.
                if self.mem.table_reads_fail(lookup) {
                    return Err(());
                }
                let (file, base) = self.mem.unwind_file(lookup).ok_or(())?;
                let (signal, state) = state_for(file, lookup.wrapping_sub(base)).ok_or(())?;
                self.use_prev_instr = !signal;
                let rs = Rc::new(state?);
                cache.insert(self.ip, rs.clone());
                rs
            }
        };
        self.apply(&rs)
    }

    /// `apply_reg_state`.
    fn apply(&mut self, rs: &RegState) -> Result<(), ()> {
        let (prev_ip, prev_cfa) = (self.ip, self.cfa);
        let (reg, off) = rs.cfa.ok_or(())?;
        let base = if reg as usize == SP && rs.rules[SP] == Rule::Same {
            self.cfa
        } else {
            self.reg(reg as usize).ok_or(())?
        };
        let cfa = base.wrapping_add(off as u64);
        let mut new_loc = self.loc;
        for i in 0..NUM_REGS {
            match rs.rules[i] {
                Rule::Same => {}
                Rule::Undef => new_loc[i] = Loc::Null,
                Rule::CfaRel(o) => new_loc[i] = mem_loc(cfa.wrapping_add(o as u64)),
                Rule::Reg(r) => new_loc[i] = *new_loc.get(r as usize).ok_or(())?,
                Rule::Expr => return Err(()),
            }
        }
        self.loc = new_loc;
        self.cfa = cfa;
        let ra = self
            .loc
            .get(rs.ret_addr_column as usize)
            .copied()
            .ok_or(())?;
        if ra == Loc::Null {
            self.ip = 0;
        } else {
            self.ip = self.value(ra).ok_or(())?;
        }
        if self.ip == prev_ip && self.cfa == prev_cfa {
            return Err(());
        }
        Ok(())
    }
}

/// The register state at `svma` of a file: `None` when no FDE covers it
/// (perf's `find_proc_info` fails), else whether the CIE marks a signal
/// frame and the state (an error when libunwind's CFI parser fails).
fn state_for(file: &UnwindFile, svma: u64) -> Option<(bool, Result<RegState, ()>)> {
    if file.eh_frame_hdr.is_some() && file.eh_frame.is_some() {
        let (eh, bases, fde) = file.eh_frame_fde(svma)?;
        return Some(run_programs(&eh, &bases, &fde, svma));
    }
    let bases = file.bases();
    let debug = DebugFrame::new(file.debug_frame.as_deref()?, LittleEndian);
    let mut entries = debug.entries(&bases);
    while let Ok(Some(entry)) = entries.next() {
        if let CieOrFde::Fde(partial) = entry {
            let Ok(fde) = partial.parse(DebugFrame::cie_from_offset) else {
                continue;
            };
            if fde.contains(svma) {
                return Some(run_programs(&debug, &bases, &fde, svma));
            }
        }
    }
    None
}

/// libunwind's `setup_fde` + `parse_fde`: the CIE's program to its end, the
/// FDE's while the location is at most `svma`.
fn run_programs<R: gimli::Reader, S: UnwindSection<R>>(
    section: &S,
    bases: &BaseAddresses,
    fde: &gimli::FrameDescriptionEntry<R>,
    svma: u64,
) -> (bool, Result<RegState, ()>) {
    let cie = fde.cie();
    let signal = cie.is_signal_trampoline();
    let mut rs = RegState {
        cfa: Some((SP as u16, 0)),
        rules: [Rule::Same; NUM_REGS],
        ret_addr_column: cie.return_address_register().0,
    };
    let code_align = cie.code_alignment_factor();
    let data_align = cie.data_alignment_factor();
    let mut stack: Vec<RegState> = Vec::new();
    let mut ip = 0u64;
    let mut insns = cie.instructions(section, bases);
    while let Ok(Some(insn)) = insns.next() {
        if exec(
            &mut rs, None, &mut stack, &mut ip, insn, code_align, data_align,
        )
        .is_err()
        {
            return (signal, Err(()));
        }
    }
    let initial = rs.clone();
    let mut stack: Vec<RegState> = Vec::new();
    let mut ip = fde.initial_address();
    let mut insns = fde.instructions(section, bases);
    while ip <= svma {
        match insns.next() {
            Ok(Some(insn)) => {
                if exec(
                    &mut rs,
                    Some(&initial),
                    &mut stack,
                    &mut ip,
                    insn,
                    code_align,
                    data_align,
                )
                .is_err()
                {
                    return (signal, Err(()));
                }
            }
            Ok(None) => break,
            Err(_) => return (signal, Err(())),
        }
    }
    (signal, Ok(rs))
}

/// One CFI instruction as libunwind's `run_cfi_program` executes it.
fn exec<T: gimli::ReaderOffset>(
    rs: &mut RegState,
    initial: Option<&RegState>,
    stack: &mut Vec<RegState>,
    ip: &mut u64,
    insn: CallFrameInstruction<T>,
    code_align: u64,
    data_align: i64,
) -> Result<(), ()> {
    use CallFrameInstruction as I;
    let set = |rs: &mut RegState, reg: gimli::Register, rule: Rule| -> Result<(), ()> {
        *rs.rules.get_mut(reg.0 as usize).ok_or(())? = rule;
        Ok(())
    };
    match insn {
        I::SetLoc { address } => *ip = address,
        I::AdvanceLoc { delta } => *ip = ip.wrapping_add(u64::from(delta).wrapping_mul(code_align)),
        I::DefCfa { register, offset } => rs.cfa = Some((register.0, offset as i64)),
        I::DefCfaSf {
            register,
            factored_offset,
        } => rs.cfa = Some((register.0, factored_offset.wrapping_mul(data_align))),
        I::DefCfaRegister { register } => {
            let off = rs.cfa.map_or(0, |c| c.1);
            rs.cfa = Some((register.0, off));
        }
        I::DefCfaOffset { offset } => {
            let reg = rs.cfa.ok_or(())?.0;
            rs.cfa = Some((reg, offset as i64));
        }
        I::DefCfaOffsetSf { factored_offset } => {
            let reg = rs.cfa.ok_or(())?.0;
            rs.cfa = Some((reg, factored_offset.wrapping_mul(data_align)));
        }
        I::DefCfaExpression { .. } => rs.cfa = None,
        I::Undefined { register } => set(rs, register, Rule::Undef)?,
        I::SameValue { register } => set(rs, register, Rule::Same)?,
        I::Offset {
            register,
            factored_offset,
        } => set(
            rs,
            register,
            Rule::CfaRel((factored_offset as i64).wrapping_mul(data_align)),
        )?,
        I::OffsetExtendedSf {
            register,
            factored_offset,
        } => set(
            rs,
            register,
            Rule::CfaRel(factored_offset.wrapping_mul(data_align)),
        )?,
        I::Register {
            dest_register,
            src_register,
        } => set(rs, dest_register, Rule::Reg(src_register.0))?,
        I::Expression { register, .. } | I::ValExpression { register, .. } => {
            set(rs, register, Rule::Expr)?
        }
        I::Restore { register } => {
            let initial = initial.ok_or(())?;
            let r = *initial.rules.get(register.0 as usize).ok_or(())?;
            set(rs, register, r)?;
        }
        I::RememberState => stack.push(rs.clone()),
        // The whole state, CFA included, as libunwind's stackable state.
        I::RestoreState => *rs = stack.pop().ok_or(())?,
        I::ArgsSize { .. } | I::Nop => {}
        // DW_CFA_GNU_window_save is "Unexpected CFA opcode" outside SPARC;
        // val_offset is not handled by 1.6.2's parser either.
        I::NegateRaState | I::ValOffset { .. } | I::ValOffsetSf { .. } => return Err(()),
    }
    Ok(())
}

/// libunwind's global register-state cache of one address space: the last
/// 128 states computed, looked up by IP.
#[derive(Default)]
struct RsCache {
    entries: VecDeque<(u64, Rc<RegState>)>,
}

impl RsCache {
    fn lookup(&self, ip: u64) -> Option<Rc<RegState>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == ip)
            .map(|(_, rs)| rs.clone())
    }

    fn insert(&mut self, ip: u64, rs: Rc<RegState>) {
        if self.entries.len() == CACHE_SIZE {
            self.entries.pop_front();
        }
        self.entries.push_back((ip, rs));
    }
}

#[derive(Default)]
pub struct SpaceUnwinder {
    cache: RsCache,
}

impl SpaceUnwinder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties libunwind's register-state cache (perf flushes it on exec).
    pub fn flush(&mut self) {
        self.cache = RsCache::default();
    }

    /// perf's `get_entries`: the sampled PC, then each caller libunwind
    /// finds, minus one unless it is a signal trampoline.
    pub fn unwind(&mut self, regs: &Regs, mem: &Memory, max_stack: usize, out: &mut Vec<u64>) {
        self.get_entries(&RegFile::from_sample(regs), mem, max_stack, out);
    }

    /// perf's `get_leaf_frame_caller_aarch64` for a `-g` sample: libunwind
    /// run for two frames with the sampled LR, PC = the user IP and SP = 0
    /// (no stack copy: every read goes to the DSO files). The caller, or 0.
    pub fn leaf_caller(&mut self, regs: &Regs, user_ip: u64, mem: &Memory) -> u64 {
        let mut file = RegFile::from_sample(regs);
        if file.values[PERF_REG_LR as usize].is_none() {
            return 0;
        }
        if file.values[PC].is_none() {
            file.values[PC] = Some(user_ip);
        }
        if file.values[SP].is_none() {
            file.values[SP] = Some(0);
        }
        let mut out = Vec::with_capacity(2);
        self.get_entries(&file, mem, 2, &mut out);
        if out.len() == 2 {
            out[1]
        } else {
            0
        }
    }

    fn get_entries(&mut self, regs: &RegFile, mem: &Memory, max_stack: usize, out: &mut Vec<u64>) {
        out.clear();
        let Some(pc) = regs.values[PC] else { return };
        let max = max_stack.min(MAX_FRAMES);
        if max <= 1 {
            out.push(pc);
            return;
        }
        // unw_init_remote: IP and CFA from PC and SP; a failure prints
        // nothing at all (perf's display loop checks the error).
        let Some(sp) = regs.values[SP] else { return };
        out.push(pc);
        let mut loc = [Loc::Null; NUM_REGS];
        for (i, l) in loc.iter_mut().enumerate().take(34) {
            *l = Loc::Reg(i as u16);
        }
        for (i, l) in loc.iter_mut().enumerate().skip(64).take(32) {
            *l = Loc::Reg(i as u16);
        }
        let mut c = Cursor {
            ip: pc,
            cfa: sp,
            loc,
            use_prev_instr: false,
            regs,
            mem,
        };
        // `while (!ret && unw_step(&c) > 0 && i < max_stack)`: the step
        // runs once more when the list is full (it may fill the cache).
        while c.step(&mut self.cache) > 0 && out.len() < max {
            let ip = if c.is_signal_frame() <= 0 {
                c.ip.wrapping_sub(1)
            } else {
                c.ip
            };
            out.push(ip);
        }
    }
}
