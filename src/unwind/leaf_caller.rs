//! perf's arm64 leaf-caller policy for `-g` samples
//! (`get_leaf_frame_caller` in util/machine.c): the caller of the leaf
//! function, found by unwinding two frames from the sampled LR
//! ([`super::aarch64`]), goes before the second user callchain entry unless
//! it is 0 or equals that entry.

use super::{FileLocator, Unwinding};
use crate::mappings::{Machine, Thread};
use crate::reader::sample::{Sample, PERF_CONTEXT_MAX, PERF_CONTEXT_USER};

/// Where the leaf caller goes in a callchain.
struct LeafPosition {
    /// The index the entry after the user IP has in the resolved frames
    /// (where the caller is inserted).
    at: usize,
    /// The entry after `PERF_CONTEXT_USER`: the PC perf unwinds from.
    user_ip: u64,
    /// The entry after the user IP (perf skips a caller equal to it).
    next: u64,
}

/// A frame to insert into a resolved callchain.
pub struct LeafCaller {
    /// Index in the resolved frames to insert at.
    pub at: usize,
    /// The caller's address (user space).
    pub ip: u64,
}

impl Unwinding {
    /// The leaf caller perf inserts into the `frames_len` resolved frames of
    /// an arm64 `-g` sample, if any (`None` on other architectures).
    pub fn leaf_caller_insertion(
        &mut self,
        machine: &Machine,
        files: &mut dyn FileLocator,
        thread: &Thread,
        sample: &Sample,
        max_stack: usize,
        frames_len: usize,
    ) -> Option<LeafCaller> {
        let ips: Vec<u64> = sample.callchain_ips().collect();
        let pos = leaf_caller_position(&ips, max_stack)?;
        if pos.at >= frames_len {
            return None;
        }
        let caller = self.leaf_caller(machine, files, thread, sample, pos.user_ip);
        (caller != 0 && caller != pos.next).then_some(LeafCaller {
            at: pos.at,
            ip: caller,
        })
    }
}

/// Where perf's `thread__resolve_callchain_sample` (callee order) asks for
/// the leaf caller: at the entry two after `PERF_CONTEXT_USER`, if the walk
/// reaches it within `max_stack` entries.
fn leaf_caller_position(ips: &[u64], max_stack: usize) -> Option<LeafPosition> {
    let mut entries = 0;
    for (j, &ip) in ips.iter().enumerate() {
        if entries >= max_stack {
            return None;
        }
        if ip >= PERF_CONTEXT_MAX {
            continue;
        }
        if j >= 2 && ips[j - 2] == PERF_CONTEXT_USER {
            return Some(LeafPosition {
                at: entries,
                user_ip: ips[j - 1],
                next: ip,
            });
        }
        entries += 1;
    }
    None
}
