//! perf script's command-line options beyond the input and symbol paths:
//! which fields print (`-F`), how times print, which samples are kept
//! (`--time`, `-c`, `--pid`, `--tid`, `-C`, `--dsos`, `-S`), call-graph
//! depth and visibility, side-band records (`--show-*-events`) and the
//! header block (`--header`, `--header-only`).
//!
//! - [`fields`]: the `-F` grammar, perf's defaults and checks;
//! - [`time_ranges`]: `--time` in every form perf reads;
//! - [`filters`]: the comm/pid/tid/cpu/dso/symbol lists;
//! - (the `PERF_RECORD_*` lines of side-band records are `writers::side_band`);
//! - [`regs`]: the `iregs`/`uregs` fields;
//! - [`header`]: the `# ========` block;
//! - [`itrace`]: `--itrace`'s grammar (perfold decodes no trace data);
//! - [`args`]: the clap flags, shared by perf-script, fold and flamegraph.
//!
//! A leaf: nothing here uses another perfold module. The text with these
//! fields is `writers::fields` (and `writers::line_start`).

pub mod args;
pub mod fields;
pub mod filters;
pub mod header;
pub mod itrace;
pub mod regs;
pub mod time_ranges;

use fields::FieldSpec;
use filters::FilterStrings;

/// Everything the user asked for beyond perf script's defaults.
#[derive(Debug, Clone, Default)]
pub struct ScriptOptions {
    /// The `-F` requests, applied in order.
    pub fields: FieldSpec,
    /// What perf warns about while reading `-F` (printed on stderr).
    pub field_warnings: Vec<String>,
    pub filters: FilterStrings,
    /// `-C/--cpu`.
    pub cpu_list: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    pub ns: bool,
    pub reltime: bool,
    pub deltatime: bool,
    /// `-G/--hide-call-graph`.
    pub hide_call_graph: bool,
    pub show_task_events: bool,
    pub show_mmap_events: bool,
    pub show_switch_events: bool,
    pub show_lost_events: bool,
    pub header: bool,
    pub header_only: bool,
    /// `--full-source-path` (for `srcline`).
    pub full_source_path: bool,
    /// `--max-blocks`: at most this many blocks of `brstackinsn` (0: all).
    pub max_blocks: u32,
}

impl ScriptOptions {
    /// Whether the output is perf script's default text (the writers' fast
    /// path applies).
    pub fn is_default(&self) -> bool {
        !self.fields.set_by_user()
            && !self.fields.print_flags
            && !self.ns
            && !self.reltime
            && !self.deltatime
            && !self.hide_call_graph
            && !self.shows_side_band()
    }

    /// Whether any side-band record prints.
    pub fn shows_side_band(&self) -> bool {
        self.show_task_events
            || self.show_mmap_events
            || self.show_switch_events
            || self.show_lost_events
    }
}
