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

use crate::reader::sample::BranchStack;

pub const CONTEXT_HV: u64 = -32i64 as u64;
pub const CONTEXT_KERNEL: u64 = -128i64 as u64;
pub const CONTEXT_USER: u64 = -512i64 as u64;
/// `PERF_CONTEXT_MAX`: entries at or above it are markers.
pub const CONTEXT_MAX: u64 = -4095i64 as u64;

/// perf's `PERF_RECORD_MISC_*` cpumodes used for lookups.
pub const CPUMODE_KERNEL: u8 = 1;
pub const CPUMODE_USER: u8 = 2;
pub const CPUMODE_HYPERVISOR: u8 = 3;

/// The addresses of an LBR call chain, callee first, each with the cpumode to
/// look it up in; `false` (and `out` empty) when perf uses the plain callchain.
pub fn lbr_callchain(
    ips: &[u64],
    branches: &BranchStack,
    empty_to: Option<u64>,
    max_stack: usize,
    out: &mut Vec<(u8, u64)>,
) -> bool {
    out.clear();
    let chain_nr = ips.len().min(max_stack);
    let Some(user_at) = ips[..chain_nr].iter().position(|&ip| ip == CONTEXT_USER) else {
        return false;
    };
    let mut cpumode = CPUMODE_USER;
    for &ip in &ips[..=user_at] {
        if ip >= CONTEXT_MAX {
            cpumode = match ip {
                CONTEXT_HV => CPUMODE_HYPERVISOR,
                CONTEXT_KERNEL => CPUMODE_KERNEL,
                CONTEXT_USER => CPUMODE_USER,
                _ => {
                    out.clear();
                    return false;
                }
            };
            continue;
        }
        out.push((cpumode, ip));
    }
    if branches.is_empty() {
        out.extend(empty_to.map(|to| (CPUMODE_USER, to)));
    } else {
        out.push((CPUMODE_USER, branches.get(0).to));
        for i in 0..branches.len() {
            out.push((CPUMODE_USER, branches.get(i).from));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(entries: &[(u64, u64)]) -> Vec<u8> {
        entries
            .iter()
            .flat_map(|&(f, t)| [f, t, 0])
            .flat_map(u64::to_le_bytes)
            .collect()
    }

    #[test]
    fn kernel_part_then_lbr_entries() {
        let bytes = stack(&[(0x401020, 0x401100), (0x400800, 0x401000)]);
        let b = BranchStack {
            hw_idx: None,
            entries: &bytes,
            nr_at: 0,
        };
        let ips = [
            CONTEXT_KERNEL,
            0xffff_1000,
            CONTEXT_USER,
            0x401110,
            0x401025,
        ];
        let mut out = Vec::new();
        assert!(lbr_callchain(&ips, &b, None, 127, &mut out));
        assert_eq!(
            out,
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
        let b = BranchStack {
            hw_idx: None,
            entries: &bytes,
            nr_at: 0,
        };
        let mut out = Vec::new();
        assert!(!lbr_callchain(
            &[CONTEXT_KERNEL, 0xffff_1000],
            &b,
            None,
            127,
            &mut out
        ));
        let guest = -2048i64 as u64;
        let ips = [CONTEXT_KERNEL, 5, guest, 6, CONTEXT_USER, 7];
        assert!(!lbr_callchain(&ips, &b, None, 127, &mut out));
        assert!(out.is_empty());
        // An empty stack adds the word perf reads past it.
        let empty = BranchStack {
            hw_idx: None,
            entries: &[],
            nr_at: 0,
        };
        assert!(lbr_callchain(
            &[CONTEXT_USER, 7],
            &empty,
            Some(9),
            127,
            &mut out
        ));
        assert_eq!(out, [(CPUMODE_USER, 9)]);
        assert!(lbr_callchain(
            &[CONTEXT_USER, 7],
            &empty,
            None,
            127,
            &mut out
        ));
        assert!(out.is_empty());
        // The marker must be within max_stack entries.
        assert!(!lbr_callchain(
            &[5, 6, CONTEXT_USER, 7],
            &b,
            None,
            2,
            &mut out
        ));
    }
}
