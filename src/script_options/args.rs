//! The clap flags of perf script's options, with perf's names, shared by
//! `perf-script`, `fold` and `flamegraph` where they make sense there.
//!
//! In `fold` and `flamegraph`, `--pid` and `--tid` also keep
//! inferno-collapse-perf's meaning (flags without a value: put the PID /
//! TID in the process name): `--pid 42` / `--pid=42` filters as perf
//! does, a bare `--pid` is inferno's; both may be given.

use clap::Args;

use super::fields::FieldSpec;
use super::filters::FilterStrings;
use super::ScriptOptions;

/// Sample filters every command takes (and `--itrace`/`--no-itrace`).
#[derive(Args, Debug, Clone, Default)]
pub struct CommonFilterArgs {
    /// Only samples in these time ranges, as perf's `--time`: `START,STOP`
    /// in seconds (either side may be empty; several ranges separated by
    /// spaces), or percent slices of the recording: `10%/2` (the 2nd 10%),
    /// `0%-10%,30%-40%`, `25%`.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// Only samples on these CPUs (`0,2-3`), as perf's `-C/--cpu`.
    #[arg(short = 'C', long = "cpu", value_name = "CPUS")]
    pub cpu: Option<String>,
    /// Only samples whose address is in these DSOs (short or full names), as
    /// perf's `--dsos`.
    #[arg(long, value_name = "DSOS")]
    pub dsos: Option<String>,
    /// Only samples whose address is in these symbols (names, or hex
    /// addresses), as perf's `-S/--symbols`.
    #[arg(short = 'S', long = "symbols", value_name = "SYMBOLS")]
    pub symbols: Option<String>,
    /// perf's instruction-trace decoding options (`--itrace=i0ns`, ...):
    /// read with perf's grammar; perfold does not decode AUX trace data.
    #[arg(long, value_name = "OPTS", num_args = 0..=1, require_equals = true,
          default_missing_value = "", action = clap::ArgAction::Append)]
    pub itrace: Vec<String>,
    /// Do not decode AUX trace data, as perf's `--no-itrace` (what perfold
    /// always does).
    #[arg(long)]
    pub no_itrace: bool,
}

impl CommonFilterArgs {
    /// `--itrace` values as perf reads them; the error is perf's message.
    pub fn check_itrace(&self) -> Result<(), String> {
        self.itrace.iter().try_for_each(|o| super::itrace::check(o))
    }
}

/// perf-script's own flags.
#[derive(Args, Debug, Clone, Default)]
pub struct ScriptArgs {
    /// Fields to print, perf's `-F/--fields` grammar: `comm,tid,ip,sym`
    /// (replace), `+pid,-cpu` (add/remove), `sw:...` / `hw:` / `trace:` /
    /// `raw:` / `break:` / `synth:` (one event kind). Fields: comm, tid,
    /// pid, time, cpu, event, trace, ip, sym, symoff, dso, addr, period,
    /// misc, flags, callindent, uregs, iregs, ...
    #[arg(
        short = 'F',
        long = "fields",
        value_name = "FIELDS",
        allow_hyphen_values = true
    )]
    pub fields: Vec<String>,
    #[command(flatten)]
    pub common: CommonFilterArgs,
    /// Only samples of threads with these comms, as perf's `-c/--comms`.
    #[arg(short = 'c', long = "comms", value_name = "COMMS")]
    pub comms: Option<String>,
    /// Only samples of these process ids, as perf's `--pid`.
    #[arg(long, value_name = "PIDS")]
    pub pid: Option<String>,
    /// Only samples of these thread ids, as perf's `--tid`.
    #[arg(long, value_name = "TIDS")]
    pub tid: Option<String>,
    /// Print the file's header block first, as perf's `--header`.
    #[arg(long)]
    pub header: bool,
    /// Print only the file's header block, as perf's `--header-only`.
    #[arg(long)]
    pub header_only: bool,
    /// Times with nanoseconds (9 decimals), as perf's `--ns`.
    #[arg(long)]
    pub ns: bool,
    /// Times relative to the first printed event, as perf's `--reltime`.
    #[arg(long)]
    pub reltime: bool,
    /// Times relative to the previous printed event, as perf's `--deltatime`.
    #[arg(long)]
    pub deltatime: bool,
    /// Print the sample's own address instead of its call chain, as perf's
    /// `-G/--hide-call-graph`.
    #[arg(short = 'G', long)]
    pub hide_call_graph: bool,
    /// Print FORK, COMM and EXIT records, as perf's `--show-task-events`.
    #[arg(long)]
    pub show_task_events: bool,
    /// Print MMAP and MMAP2 records, as perf's `--show-mmap-events`.
    #[arg(long)]
    pub show_mmap_events: bool,
    /// Print context-switch records, as perf's `--show-switch-events`.
    #[arg(long)]
    pub show_switch_events: bool,
    /// Print LOST records, as perf's `--show-lost-events`.
    #[arg(long)]
    pub show_lost_events: bool,
    /// Full source file paths in `srcline`, as perf's `--full-source-path`.
    #[arg(long)]
    pub full_source_path: bool,
    /// At most N code blocks per sample in `brstackinsn`, as perf's
    /// `--max-blocks` (0: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_blocks: u32,
}

/// fold's and flamegraph's filters.
#[derive(Args, Debug, Clone, Default)]
pub struct FoldFilterArgs {
    #[command(flatten)]
    pub common: CommonFilterArgs,
    /// Only samples of threads with these comms, as perf's `--comms`.
    #[arg(long = "comms", value_name = "COMMS")]
    pub comms: Option<String>,
    /// `--pid LIST`: only these process ids (perf's filter). A bare `--pid`:
    /// inferno-collapse-perf's flag (the PID goes into the process name).
    #[arg(long, value_name = "PIDS", num_args = 0..=1, default_missing_value = "",
          action = clap::ArgAction::Append)]
    pub pid: Vec<String>,
    /// `--tid LIST`: only these thread ids (perf's filter). A bare `--tid`:
    /// inferno-collapse-perf's flag (the TID goes into the process name).
    #[arg(long, value_name = "TIDS", num_args = 0..=1, default_missing_value = "",
          action = clap::ArgAction::Append)]
    pub tid: Vec<String>,
}

/// Flags of the symbolization that perf script shares with the other
/// commands' perf pipeline.
#[derive(Args, Debug, Clone, Default)]
pub struct CallchainArgs {
    /// Use at most N callchain entries per sample, as perf's `--max-stack`
    /// (default 127).
    #[arg(long, value_name = "N")]
    pub max_stack: Option<u32>,
    /// Print symbols as they are in the files, as perf's `--no-demangle`.
    #[arg(long, overrides_with = "demangle")]
    pub no_demangle: bool,
    /// Demangle symbol names (the default), as perf's `--demangle`.
    #[arg(long, overrides_with = "no_demangle")]
    pub demangle: bool,
    /// Demangle kernel symbol names too, as perf's `--demangle-kernel`.
    #[arg(long)]
    pub demangle_kernel: bool,
}

fn first_list(v: &[String]) -> Option<String> {
    // The last value given wins, as for perf's OPT_STRING.
    v.iter().rev().find(|s| !s.is_empty()).cloned()
}

impl FoldFilterArgs {
    /// inferno-collapse-perf's `--pid`: a bare `--pid` was given.
    pub fn inferno_pid(&self) -> bool {
        self.pid.iter().any(|s| s.is_empty())
    }

    /// inferno-collapse-perf's `--tid`: a bare `--tid` was given.
    pub fn inferno_tid(&self) -> bool {
        self.tid.iter().any(|s| s.is_empty())
    }

    /// The filters as [`ScriptOptions`] (fields stay the defaults).
    pub fn options(&self) -> ScriptOptions {
        ScriptOptions {
            filters: FilterStrings {
                comms: self.comms.clone(),
                pids: first_list(&self.pid),
                tids: first_list(&self.tid),
                dsos: self.common.dsos.clone(),
                symbols: self.common.symbols.clone(),
            },
            cpu_list: self.common.cpu.clone(),
            time: self.common.time.clone(),
            ..ScriptOptions::default()
        }
    }
}

impl ScriptArgs {
    /// Reads the flags as perf does; the error is perf's message.
    pub fn options(&self) -> Result<ScriptOptions, String> {
        if self.reltime && self.deltatime {
            return Err("reltime and deltatime - the two don't get along well. \
                 Please limit to --reltime or --deltatime."
                .into());
        }
        self.common.check_itrace()?;
        let mut fields = FieldSpec::default();
        let mut field_warnings = Vec::new();
        for f in &self.fields {
            fields.parse(f, &mut field_warnings)?;
        }
        Ok(ScriptOptions {
            fields,
            field_warnings,
            filters: FilterStrings {
                comms: self.comms.clone(),
                pids: self.pid.clone(),
                tids: self.tid.clone(),
                dsos: self.common.dsos.clone(),
                symbols: self.common.symbols.clone(),
            },
            cpu_list: self.common.cpu.clone(),
            time: self.common.time.clone(),
            ns: self.ns,
            reltime: self.reltime,
            deltatime: self.deltatime,
            hide_call_graph: self.hide_call_graph,
            show_task_events: self.show_task_events,
            show_mmap_events: self.show_mmap_events,
            show_switch_events: self.show_switch_events,
            show_lost_events: self.show_lost_events,
            header: self.header,
            header_only: self.header_only,
            full_source_path: self.full_source_path,
            max_blocks: self.max_blocks,
        })
    }
}
