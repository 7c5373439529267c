//! Call chains of `perf record --call-graph lbr` recordings: perf 6.1's
//! `resolve_lbr_callchain_sample` (util/machine.c), callee order, without
//! `--stitch-lbr`.
//!
//! For an event whose `branch_sample_type` has PERF_SAMPLE_BRANCH_CALL_STACK and
//! whose callchain holds a PERF_CONTEXT_USER marker among its first `max_stack`
//! entries, perf keeps the callchain up to and including that marker (the
//! kernel part; markers switch the cpumode and are no frames), then adds the
//! user part from the branch stack: `entries[0].to` (the entry of the
//! function running), then every entry's `from` (the call sites), each looked
//! up as a user address. The frame-pointer user entries are dropped. Without
//! the marker perf uses the plain callchain. An unknown marker in the kernel
//! part makes perf discard what it built and fall back to the plain
//! callchain, which discards the chain again at that marker.
//!
//! An empty branch stack still gets its `entries[0].to`: perf reads it past
//! the stack's end, from the bytes that follow in its buffer (the rest of the
//! sample, then the next record of the mapped file); the caller passes that
//! word as `empty_to`, or `None` where it cannot be known (pipe or compressed
//! input: perf's buffer holds unrelated bytes there) and no user frame is added.

use crate::mappings::{CPUMODE_HYPERVISOR, CPUMODE_KERNEL, CPUMODE_USER};
use crate::reader::sample::{
    BranchStack, PERF_CONTEXT_HV as CONTEXT_HV, PERF_CONTEXT_KERNEL as CONTEXT_KERNEL,
    PERF_CONTEXT_MAX as CONTEXT_MAX, PERF_CONTEXT_USER as CONTEXT_USER,
};

/// perf's cpumode after a context marker, `None` for an unknown marker.
fn marker_cpumode(ip: u64) -> Option<u8> {
    match ip {
        CONTEXT_HV => Some(CPUMODE_HYPERVISOR),
        CONTEXT_KERNEL => Some(CPUMODE_KERNEL),
        CONTEXT_USER => Some(CPUMODE_USER),
        _ => None,
    }
}

/// Calls `emit(cpumode, address)` for each address of an LBR call chain,
/// callee first; returns `false` without calling it when perf uses the plain
/// callchain instead. `ips` are the callchain entries as recorded.
pub fn lbr_callchain(
    ips: impl Iterator<Item = u64> + Clone,
    branches: &BranchStack,
    empty_to: Option<u64>,
    max_stack: usize,
    mut emit: impl FnMut(u8, u64),
) -> bool {
    let Some(user_at) = ips
        .clone()
        .take(max_stack)
        .position(|ip| ip == CONTEXT_USER)
    else {
        return false;
    };
    let kernel_part = ips.take(user_at + 1);
    if kernel_part
        .clone()
        .any(|ip| ip >= CONTEXT_MAX && marker_cpumode(ip).is_none())
    {
        return false;
    }
    let mut cpumode = CPUMODE_USER;
    for ip in kernel_part {
        match ip >= CONTEXT_MAX {
            true => cpumode = marker_cpumode(ip).unwrap_or(cpumode),
            false => emit(cpumode, ip),
        }
    }
    if branches.is_empty() {
        if let Some(to) = empty_to {
            emit(CPUMODE_USER, to);
        }
    } else {
        emit(CPUMODE_USER, branches.get(0).to);
        for i in 0..branches.len() {
            emit(CPUMODE_USER, branches.get(i).from);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain as (cpumode, address) pairs, or `None` for the plain callchain.
    fn chain(
        ips: &[u64],
        b: &BranchStack,
        empty_to: Option<u64>,
        max: usize,
    ) -> Option<Vec<(u8, u64)>> {
        let mut out = Vec::new();
        lbr_callchain(ips.iter().copied(), b, empty_to, max, |m, ip| {
            out.push((m, ip))
        })
        .then_some(out)
    }

    fn stack(entries: &[(u64, u64)]) -> Vec<u8> {
        entries
            .iter()
            .flat_map(|&(f, t)| [f, t, 0])
            .flat_map(u64::to_le_bytes)
            .collect()
    }

    fn branches(bytes: &[u8]) -> BranchStack<'_> {
        BranchStack {
            hw_idx: None,
            entries: bytes,
            nr_at: 0,
        }
    }

    #[test]
    fn kernel_part_then_lbr_entries() {
        let bytes = stack(&[(0x401020, 0x401100), (0x400800, 0x401000)]);
        let ips = [
            CONTEXT_KERNEL,
            0xffff_1000,
            CONTEXT_USER,
            0x401110,
            0x401025,
        ];
        assert_eq!(
            chain(&ips, &branches(&bytes), None, 127).unwrap(),
            [
                (CPUMODE_KERNEL, 0xffff_1000),
                (CPUMODE_USER, 0x401100),
                (CPUMODE_USER, 0x401020),
                (CPUMODE_USER, 0x400800)
            ]
        );
    }

    #[test]
    fn falls_back_without_user_marker_or_on_an_unknown_marker() {
        let bytes = stack(&[(1, 2)]);
        let b = branches(&bytes);
        assert_eq!(chain(&[CONTEXT_KERNEL, 0xffff_1000], &b, None, 127), None);
        let guest = -2048i64 as u64;
        let ips = [CONTEXT_KERNEL, 5, guest, 6, CONTEXT_USER, 7];
        assert_eq!(chain(&ips, &b, None, 127), None);
        // The marker must be within max_stack entries.
        assert_eq!(chain(&[5, 6, CONTEXT_USER, 7], &b, None, 2), None);
    }

    #[test]
    fn an_empty_stack_adds_the_word_perf_reads_past_it() {
        let empty = branches(&[]);
        let ips = [CONTEXT_HV, 3, CONTEXT_USER, 7];
        assert_eq!(
            chain(&ips, &empty, Some(9), 127).unwrap(),
            [(CPUMODE_HYPERVISOR, 3), (CPUMODE_USER, 9)]
        );
        assert_eq!(
            chain(&ips, &empty, None, 127).unwrap(),
            [(CPUMODE_HYPERVISOR, 3)]
        );
    }
}
