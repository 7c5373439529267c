//! The flags of `inferno-collapse-perf` 0.12.8 (its `src/bin/collapse-perf.rs`)
//! with the same names, and the choice of folder they imply: the default
//! rules (with `--event-filter`) take perfold's fast folder; any other flag
//! takes inferno's own collapser on the samples' perf script text
//! ([`crate::stacks`]), so the flag changes the output exactly as it does
//! in `perf script | inferno-collapse-perf FLAG`.
//!
//! inferno's `-n/--nthreads` (the folded bytes do not depend on it), `-q`
//! and `-v` (logging) are not taken: see docs/parity.md.

use clap::Args;

use crate::stacks::Collapse;

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Folding (inferno-collapse-perf's flags)")]
pub struct FoldArgs {
    /// Keep only samples of this event [default: the first event seen, as inferno]
    #[arg(long, value_name = "EVENT")]
    pub event_filter: Option<String>,

    /// Include raw addresses where symbols can't be found
    #[arg(long = "addrs")]
    pub addrs: bool,

    /// All annotations (--kernel --jit)
    #[arg(long = "all")]
    pub all: bool,

    /// Annotate jit functions with a `_[j]`
    #[arg(long = "jit")]
    pub jit: bool,

    /// Annotate kernel functions with a `_[k]`
    #[arg(long = "kernel")]
    pub kernel: bool,

    /// Omit all the parent stack frames of any frame with this function name (may be repeated)
    #[arg(long = "skip-after", value_name = "STRING")]
    pub skip_after: Vec<String>,
}

impl FoldArgs {
    /// The folder these flags ask for, with inferno's `--pid`/`--tid`
    /// (bare `--pid`/`--tid`, which `FoldFilterArgs` reads: with a value
    /// they are perf script's filters).
    pub fn collapse_with(&self, include_pid: bool, include_tid: bool) -> Collapse {
        let default_rules = !(self.addrs
            || self.all
            || self.jit
            || self.kernel
            || include_pid
            || include_tid
            || !self.skip_after.is_empty());
        if default_rules {
            return Collapse::Fast {
                event_filter: self.event_filter.clone(),
            };
        }
        // inferno collapse-perf's Opt::into_parts.
        let mut options = inferno::collapse::perf::Options::default();
        options.include_pid = include_pid;
        options.include_tid = include_tid;
        options.include_addrs = self.addrs;
        options.annotate_jit = self.jit || self.all;
        options.annotate_kernel = self.kernel || self.all;
        options.event_filter = self.event_filter.clone();
        options.nthreads = 1;
        options.skip_after = self.skip_after.clone();
        Collapse::Inferno(options)
    }
}
