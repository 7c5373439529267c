//! aarch64: perf's sample registers to framehop's, and the step loop of
//! perf's libunwind-based `get_entries` (see the module doc of `unwind`).

use framehop::aarch64::{CacheAarch64, PtrAuthMask, UnwindRegsAarch64, UnwinderAarch64};
use framehop::{FrameAddress, Unwinder};

use super::file::Section;
use super::Memory;
use crate::reader::sample::Regs;

/// perf's arm64 register numbers (arch/arm64/include/uapi/asm/perf_regs.h).
const PERF_REG_FP: u32 = 29;
const PERF_REG_LR: u32 = 30;
pub const PERF_REG_SP: u32 = 31;
const PERF_REG_PC: u32 = 32;

/// Frames libunwind is asked for at most, whatever the caller passes.
const MAX_FRAMES: usize = 1024;

pub struct SpaceUnwinder {
    unwinder: UnwinderAarch64<Section>,
    cache: CacheAarch64,
}

impl Default for SpaceUnwinder {
    fn default() -> Self {
        Self::new()
    }
}

impl SpaceUnwinder {
    pub fn new() -> Self {
        SpaceUnwinder {
            unwinder: UnwinderAarch64::new(),
            cache: CacheAarch64::new(),
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
        let (Some(pc), Some(sp), Some(fp), Some(lr)) = (
            regs.get(PERF_REG_PC),
            regs.get(PERF_REG_SP),
            regs.get(PERF_REG_FP),
            regs.get(PERF_REG_LR),
        ) else {
            return;
        };
        out.push(pc);
        let max = max_stack.min(MAX_FRAMES);
        // perf 6.1 does not strip pointer authentication codes.
        let mut regs =
            UnwindRegsAarch64::new_with_ptr_auth_mask(PtrAuthMask::new_no_strip(), lr, sp, fp);
        let mut address = FrameAddress::from_instruction_pointer(pc);
        let mut read = |addr: u64| mem.read(addr).ok_or(());
        while out.len() < max {
            if !mem.has_unwind_info(address.address_for_lookup()) {
                break;
            }
            match self
                .unwinder
                .unwind_frame(address, &mut regs, &mut self.cache, &mut read)
            {
                Ok(Some(ra)) if ra != 0 => {
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
