//! What a run reads and how: the input, the symbol sources, perf script's
//! options, `-j`.

use std::path::PathBuf;

use crate::script_options::ScriptOptions;

/// What a run reads and how it symbolizes; the same for every output.
#[derive(Debug, Clone)]
pub struct Options {
    /// The perf.data file, or `-` for standard input.
    pub input: PathBuf,
    /// perf's `--symfs`.
    pub symfs: Option<PathBuf>,
    /// perf's `--kallsyms`.
    pub kallsyms: Option<PathBuf>,
    /// perf's `--no-inline` (inline frames only exist on DWARF-unwound chains).
    pub no_inline: bool,
    /// Most callchain entries used per sample (perf script's `--max-stack`).
    pub max_stack: usize,
    /// The build-id cache (`~/.debug`, or `<symfs>/.debug` with `--symfs`).
    pub buildid_dir: PathBuf,
    /// Print the symbol report on stderr at the end (`--verbose`).
    pub verbose: bool,
    /// No progress line on stderr even when it is a terminal (`-q`).
    pub quiet: bool,
    /// perf script's fields, filters and side-band records.
    pub script: ScriptOptions,
    /// Demangle symbol names (perf's `--no-demangle` turns it off).
    pub demangle: bool,
    /// `-j N`: with 2 or more, the sink runs on a thread of its own
    /// (`crate::workers`); the output is the same at any N.
    pub jobs: usize,
}

impl Options {
    /// Options for `input` with perf's environment-derived defaults.
    pub fn new(input: PathBuf) -> Options {
        // perf 6.1's set_buildid_dir: $HOME/.debug (it does not read
        // PERF_BUILDID_DIR, it only exports it to the programs it starts).
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
        let buildid_dir = PathBuf::from(home).join(".debug");
        Options {
            input,
            symfs: None,
            kallsyms: None,
            no_inline: false,
            // perf script's `scripting_max_stack` default: PERF_MAX_STACK_DEPTH.
            max_stack: 127,
            buildid_dir,
            verbose: false,
            quiet: false,
            script: ScriptOptions::default(),
            demangle: true,
            jobs: 1,
        }
    }
}
