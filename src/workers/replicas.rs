//! `-j N` on a file: N pipelines ("replicas") read the same recording side
//! by side, each resolving and rendering its share of the samples into a
//! sink of its own; the shares are joined after ([`crate::stacks`] adds up
//! the folded stacks) or while they come ([`super::ordered_text`] writes
//! perf script text in record order).
//!
//! Every replica reads, orders and applies every record (maps, threads,
//! comms), so each holds the machine state perf has at each sample; only
//! the costly part of a sample (callchain, unwinding, symbols, rendering)
//! is done by its owner ([`Share`]), which `crate::pipeline` decides from
//! the record's number, or from the address space where perf carries state
//! from sample to sample (libunwind's register-state cache).
//! `crate::pipeline::splits` says when a recording can be split this way
//! with the output unchanged.

use crate::error::Result;
use crate::writers::SampleSink;

/// Which samples one replica renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub count: usize,
    /// Consecutive records owned by one replica ([`records_per_turn`]).
    pub turn: u64,
}

/// Consecutive records owned by one replica (`Share::owns_record`): long
/// enough runs that each replica's caches see neighbouring samples.
const RECORDS_PER_TURN: u64 = 512;

/// `$PERFOLD_SPLIT_TURN`, when set to a number: the records per turn, and
/// a split whatever the file's size. The tests take turns of a record or a
/// few so that the replicas share even the smallest fixture (the output is
/// the same at any turn).
fn forced_turn() -> Option<u64> {
    static TURN: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *TURN.get_or_init(|| super::test_knob("PERFOLD_SPLIT_TURN"))
}

/// [`RECORDS_PER_TURN`], or the forced turn.
pub fn records_per_turn() -> u64 {
    forced_turn().unwrap_or(RECORDS_PER_TURN)
}

/// Files smaller than this are read by one pipeline: each replica pays
/// the fixed costs (kernel symbols, symbol tables) that a small file's
/// samples do not outweigh (measured: reading /proc/kallsyms twice made a
/// cold run of a 20 kB file 40 % slower).
const SPLIT_MIN_BYTES: u64 = 16 << 20;

/// Whether a file of `bytes` is worth splitting.
pub fn worth_splitting(bytes: u64) -> bool {
    bytes >= SPLIT_MIN_BYTES || forced_turn().is_some()
}

impl Share {
    /// Whether this replica renders record number `record` (blocks of
    /// consecutive records, in turn).
    pub fn owns_record(&self, record: u64) -> bool {
        (record / self.turn) % self.count as u64 == self.index as u64
    }

    /// Whether this replica renders the samples of address space `space`.
    pub fn owns_space(&self, space: u32) -> bool {
        // Spaces are numbered densely in creation order: a multiplicative
        // hash spreads neighbours (a parent and its children).
        let h = space.wrapping_mul(0x9e37_79b9).rotate_right(16);
        h as usize % self.count == self.index
    }
}

/// Runs one replica of `run` per sink in `sinks`, each on a thread of its
/// own; the sinks, in replica order, and the first error in replica order
/// (replicas read the same records: a damaged file stops each at the same
/// record).
pub fn run_split<S: SampleSink + Send>(
    sinks: Vec<S>,
    run: impl Fn(Share, &mut dyn SampleSink) -> Result<()> + Sync,
) -> (Vec<S>, Result<()>) {
    let count = sinks.len();
    std::thread::scope(|scope| {
        let threads: Vec<_> = sinks
            .into_iter()
            .enumerate()
            .map(|(index, mut sink)| {
                let run = &run;
                std::thread::Builder::new()
                    .name(format!("perfold-{index}"))
                    .spawn_scoped(scope, move || {
                        let share = Share {
                            index,
                            count,
                            turn: records_per_turn(),
                        };
                        let r = run(share, &mut sink);
                        (sink, r)
                    })
                    .expect("spawn a replica thread")
            })
            .collect();
        let mut sinks = Vec::with_capacity(count);
        let mut result = Ok(());
        for t in threads {
            match t.join() {
                Ok((sink, r)) => {
                    sinks.push(sink);
                    if result.is_ok() {
                        result = r;
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (sinks, result)
    })
}
