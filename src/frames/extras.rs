//! What `-F` fields beyond the ip and callchain need looked up in maps and
//! DSOs for one sample (perf 6.1 `process_event`): the branch-stack entries
//! of `brstack`/`brstacksym`/`brstackoff` ([`super::branches`]). Filled by
//! the pipeline once per sample, only for the fields the event prints, and
//! rendered by `writers::fields`.

use super::branches::{resolve_branches, BranchFrames, BranchLookup};
use super::SymbolTable;
use crate::mappings::{Machine, Thread};
use crate::reader::sample::Sample;
use crate::script_options::fields::*;

/// Per-sample lookups of the extra fields; the buffers are reused.
#[derive(Debug, Default)]
pub struct SampleExtras {
    /// The branch stack, most recent first (empty unless a brstack field).
    pub branches: Vec<BranchFrames>,
}

impl SampleExtras {
    /// Looks up what the fields in `fields` print of sample `s`.
    pub fn fill(
        &mut self,
        machine: &mut Machine,
        symbols: &mut SymbolTable,
        thread: &Thread,
        s: &Sample,
        fields: FieldMask,
    ) {
        self.branches.clear();
        // perf prints one of the three, in this order of preference.
        let lookup = if fields & BRSTACK != 0 {
            Some(if fields & DSO != 0 {
                BranchLookup::Map
            } else {
                BranchLookup::None
            })
        } else if fields & BRSTACKSYM != 0 {
            Some(BranchLookup::Symbol)
        } else if fields & BRSTACKOFF != 0 {
            Some(BranchLookup::Map)
        } else {
            None
        };
        if let (Some(lookup), Some(stack)) = (lookup, &s.branch_stack) {
            resolve_branches(
                machine,
                symbols,
                thread,
                s.cpumode(),
                stack,
                lookup,
                &mut self.branches,
            );
        }
    }
}
