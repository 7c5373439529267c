//! x86_64: perf's sample registers to framehop's, and the step loop of
//! perf's libunwind-based `get_entries` (see the module doc of `unwind`).

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{FrameAddress, Unwinder};

use super::file::Section;
use super::Memory;
use crate::reader::sample::Regs;

/// perf's x86 register numbers (arch/x86/include/uapi/asm/perf_regs.h).
const PERF_REG_BP: u32 = 6;
pub const PERF_REG_SP: u32 = 7;
const PERF_REG_IP: u32 = 8;

/// An rbp whose saved value could not be read: in no map, so every read
/// through it fails.
const POISONED_BP: u64 = 0xdead_0000_0000_0000;

/// Frames libunwind is asked for at most, whatever the caller passes.
const MAX_FRAMES: usize = 1024;

pub struct SpaceUnwinder {
    unwinder: UnwinderX86_64<Section>,
    cache: CacheX86_64,
}

impl Default for SpaceUnwinder {
    fn default() -> Self {
        Self::new()
    }
}

impl SpaceUnwinder {
    pub fn new() -> Self {
        SpaceUnwinder {
            unwinder: UnwinderX86_64::new(),
            cache: CacheX86_64::new(),
        }
    }

    pub fn add(&mut self, module: framehop::Module<Section>) {
        self.unwinder.add_module(module);
    }

    pub fn remove(&mut self, start: u64) {
        self.unwinder.remove_module(start);
    }

    /// Appends the sample's user frames to `out` as perf lists them.
    pub fn unwind(&mut self, regs: &Regs, mem: &Memory, max_stack: usize, out: &mut Vec<u64>) {
        // perf_reg_value fails for a register that was not sampled: no frames.
        let (Some(ip), Some(sp), Some(bp)) = (
            regs.get(PERF_REG_IP),
            regs.get(PERF_REG_SP),
            regs.get(PERF_REG_BP),
        ) else {
            return;
        };
        out.push(ip);
        let max = max_stack.min(MAX_FRAMES);
        let mut regs = UnwindRegsX86_64::new(ip, sp, bp);
        let mut address = FrameAddress::from_instruction_pointer(ip);
        let below_sp = std::cell::Cell::new(false);
        let mut read = |addr: u64| {
            if addr < sp {
                below_sp.set(true);
            }
            mem.read(addr).ok_or(())
        };
        while out.len() < max {
            if !mem.has_unwind_info(address.address_for_lookup()) {
                break;
            }
            match self
                .unwinder
                .unwind_frame(address, &mut regs, &mut self.cache, &mut read)
            {
                Ok(Some(ra)) if ra != 0 => {
                    if below_sp.get() {
                        // The first frame's CFI put the caller's rbp below
                        // the stack copy (stale rows after an epilogue).
                        // framehop keeps the current rbp; libunwind keeps
                        // the location and fails when a later frame needs
                        // the value. Poison it so such a read fails here too.
                        below_sp.set(false);
                        regs.set_bp(POISONED_BP);
                    }
                    // Not a signal frame: perf shows the return address - 1.
                    out.push(ra - 1);
                    match FrameAddress::from_return_address(ra) {
                        Some(a) => address = a,
                        None => break,
                    }
                }
                _ => break,
            }
        }
    }
}
