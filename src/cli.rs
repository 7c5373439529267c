//! Command-line flags (clap) and the per-command choice of writer.
//!
//! The flag families live in submodules: `flame_args` (inferno-flamegraph),
//! `fold_args` (inferno-collapse-perf), `record` (the one-step
//! recording), `diff` (inferno-diff-folded); `perf_exec` hands the perf
//! commands perfold does not implement to the real perf.

pub mod diff;
pub mod flame_args;
pub mod fold_args;
pub mod perf_exec;
pub mod record;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::error::Error;
use crate::pipeline::{self, Options};
use crate::script_options::args::{CallchainArgs, FoldFilterArgs, ScriptArgs};
use crate::script_options::header;
use crate::stacks;
use crate::writers::fields::FieldsWriter;
use crate::writers::line_start::TimeFormat;
use crate::writers::script::ScriptWriter;
use flame_args::FlameArgs;
use fold_args::FoldArgs;
use record::RecordArgs;

/// What `--version` prints after the name.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (reproduces perf 6.1's perf script and inferno 0.12.8's collapse-perf, diff-folded and flamegraph)"
);

#[derive(Parser, Debug)]
#[command(
    name = "perfold",
    version = VERSION,
    about = "perf.data to perf-script text, folded stacks and flame graphs, byte-identical to perf and inferno",
    after_help = "Any other perf command (record, report, stat ...) is handed to the real perf: \
                  $PERFOLD_PERF, else the first `perf` on PATH that is not perfold. \
                  So PERF=perfold cargo flamegraph works."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print what `perf script` prints for the file.
    #[command(visible_alias = "script")]
    PerfScript(ScriptCommand),
    /// Print folded stacks, as `perf script | inferno-collapse-perf`;
    /// with `-- COMMAND` (or -p PID), record it with perf first.
    Fold(FoldCommand),
    /// Draw the flame graph SVG, as `... | inferno-collapse-perf | inferno-flamegraph`;
    /// with `-- COMMAND` (or -p PID), record it with perf first and write flamegraph.svg.
    Flamegraph(FlamegraphCommand),
    /// Draw the differential flame graph of two recordings, as
    /// `inferno-diff-folded BEFORE.folded AFTER.folded | inferno-flamegraph`.
    Diff(diff::DiffCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): perfold man > perfold.1; perfold man fold > perfold-fold.1
    Man {
        /// A command's own page (perf-script, fold, flamegraph, diff, completions)
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

/// `perfold perf-script`.
#[derive(Args, Debug)]
pub struct ScriptCommand {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub script: ScriptArgs,
}

/// `perfold fold`.
#[derive(Args, Debug)]
pub struct FoldCommand {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub filters: FoldFilterArgs,
    #[command(flatten)]
    pub fold: FoldArgs,
    #[command(flatten)]
    pub record: RecordArgs,
}

/// `perfold flamegraph`.
#[derive(Args, Debug)]
pub struct FlamegraphCommand {
    #[command(flatten)]
    pub input: Input,
    /// Write the SVG to FILE [default: standard output; flamegraph.svg after recording]
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub filters: FoldFilterArgs,
    #[command(flatten)]
    pub fold: FoldArgs,
    #[command(flatten)]
    pub flame: FlameArgs,
    #[command(flatten)]
    pub record: RecordArgs,
}

/// The input file of a command (perf's names).
#[derive(Args, Debug)]
pub struct Input {
    /// The perf.data file (`-` for standard input). Default: ./perf.data.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The perf.data file, as perf's `-i`.
    #[arg(
        short = 'i',
        long = "input",
        value_name = "FILE",
        conflicts_with = "file"
    )]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How a recording is read and symbolized (perf's names and meanings).
#[derive(Args, Debug, Clone)]
pub struct ReadArgs {
    /// Look for every binary under DIR first, as perf's `--symfs`.
    #[arg(long, value_name = "DIR")]
    pub symfs: Option<PathBuf>,
    /// Kernel symbols from FILE, as perf's `--kallsyms`.
    #[arg(long, value_name = "FILE")]
    pub kallsyms: Option<PathBuf>,
    /// Do not expand inline frames, as perf's `--no-inline`.
    #[arg(long)]
    pub no_inline: bool,
    /// At the end, report on stderr, per DSO, the frames left without a symbol
    /// and every place searched for its symbols.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// No progress line on stderr (it is only drawn when stderr is a terminal).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Accepted as perf's `-f/--force` (cargo-flamegraph passes it): perf needs it to read a
    /// file another user owns; perfold reads any file it can open, so it changes nothing.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Threads to use: N pipelines read the file side by side, each unwinding,
    /// symbolizing and rendering or folding its share of the samples. Where perf's
    /// output depends on earlier samples in a way a share cannot see (inline frames
    /// of DWARF call graphs, -F fields other than the default, --verbose, a pipe) and
    /// for files under 16 MB, one pipeline reads and perf-script renders on a second
    /// thread. The output is the same at any N [default: all cores, at most 8]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub callchain: CallchainArgs,
}

impl Input {
    /// The file named on the command line, if any.
    pub fn named(&self) -> Option<&PathBuf> {
        self.input.as_ref().or(self.file.as_ref())
    }

    fn options(&self) -> Options {
        let path = self
            .named()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("perf.data"));
        self.read.options(path)
    }
}

impl ReadArgs {
    /// The pipeline options for reading `path`.
    pub fn options(&self, path: PathBuf) -> Options {
        let mut o = Options::new(path);
        if let Some(symfs) = &self.symfs {
            // perf's symbol__config_symfs: the build-id cache moves to <symfs>/.debug.
            o.buildid_dir = symfs.join(".debug");
        }
        o.symfs = self.symfs.clone();
        o.kallsyms = self.kallsyms.clone();
        o.no_inline = self.no_inline;
        o.verbose = self.verbose;
        o.quiet = self.quiet;
        if let Some(n) = self.callchain.max_stack {
            o.max_stack = n as usize;
        }
        o.demangle = !self.callchain.no_demangle;
        o.jobs = self.jobs.map_or_else(default_jobs, |n| n as usize);
        o
    }
}

/// The default `-j`: the cores this process may run on (1 when unknown), at
/// most [`MAX_DEFAULT_JOBS`].
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_DEFAULT_JOBS))
}

/// Each replica reads the whole file and holds its own symbol tables, so
/// past a few the reading they all repeat and their memory outgrow the
/// share of samples each one saves; `-j N` asks for more.
const MAX_DEFAULT_JOBS: usize = 8;

/// A failed run: the file it concerns (if any) and what went wrong.
pub struct Failure {
    pub file: Option<String>,
    pub error: Error,
}

impl Failure {
    /// The one line `main` prints.
    pub fn line(&self) -> String {
        match &self.file {
            Some(f) => format!("perfold: {f}: {}", self.error),
            None => format!("perfold: {}", self.error),
        }
    }

    fn usage(message: String) -> Failure {
        Failure {
            file: None,
            error: Error::Usage(message),
        }
    }

    fn about(path: &Path, error: Error) -> Failure {
        Failure {
            file: Some(path.display().to_string()),
            error,
        }
    }
}

/// Standard output as a plain file: the writers buffer in large chunks
/// themselves, so the line buffering of `io::Stdout` would only add a copy.
pub fn stdout() -> Box<dyn Write + Send> {
    use std::os::fd::AsFd;
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(File::from(fd)),
        Err(_) => Box::new(BufWriter::with_capacity(1 << 18, io::stdout())),
    }
}

/// Creates `path` for writing (`-`: standard output).
pub fn create_output(path: &Path) -> Result<Box<dyn Write + Send>, Failure> {
    if path == Path::new("-") {
        return Ok(stdout());
    }
    File::create(path)
        .map(|f| Box::new(f) as Box<dyn Write + Send>)
        .map_err(|e| Failure::about(path, Error::Io(e)))
}

/// Checks the input before reading: a directory says so, and a missing
/// default ./perf.data suggests recording one (perf's hint).
pub fn check_input(path: &Path, named: bool) -> Result<(), Failure> {
    if path == Path::new("-") {
        return Ok(());
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(Failure::about(path, Error::Usage("is a directory".into()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !named => Err(Failure::about(
            path,
            Error::Usage(
                "No such file or directory  (try 'perf record' first, or `perfold flamegraph -- COMMAND`)"
                    .into(),
            ),
        )),
        _ => Ok(()),
    }
}

/// Maps a pipeline error to the failure `main` prints.
pub fn failure(input: &Path, error: Error) -> Failure {
    match error {
        // inferno refuses to draw an empty graph (it still writes an SVG
        // saying so, as perfold does): that is about the input, not the output.
        Error::Output(e) if e.kind() == io::ErrorKind::InvalidData => Failure::about(
            input,
            Error::Usage(format!("{e}: the recording has no samples to draw")),
        ),
        Error::Output(_) => Failure { file: None, error },
        _ => Failure::about(input, error),
    }
}

/// Records first when the command asks for it (whether it did). With
/// `result_on_stdout`, the recorded command's output goes to stderr.
fn record_if_asked(
    input: &Input,
    record: &RecordArgs,
    result_on_stdout: bool,
) -> Result<bool, Failure> {
    if !record.wanted() {
        return Ok(false);
    }
    let path = record::recording_path(input.named());
    record
        .record(&path, result_on_stdout)
        .map_err(Failure::usage)?;
    Ok(true)
}

/// perf-script: the header block (`--header`, `--header-only`), then the
/// default writer or, for any other field choice, the fields writer.
fn run_script(opts: &Options) -> crate::error::Result<()> {
    let script = &opts.script;
    let mut preamble = Vec::new();
    // Standard input is read once, by the pipeline: no header block for it
    // (perf prints none for a pipe either).
    if (script.header || script.header_only) && opts.input.as_os_str() != "-" {
        preamble = header_block(&opts.input)?;
        if script.header_only {
            let mut out = stdout();
            return out
                .write_all(&preamble)
                .and_then(|_| out.flush())
                .map_err(Error::Output);
        }
    }
    if script.is_default() && preamble.is_empty() {
        if opts.jobs > 1 && pipeline::splits(opts, pipeline::SplitOutput::ScriptText) {
            return crate::workers::write_split(opts.jobs, stdout(), |share, sink| {
                pipeline::run_share(opts, share, sink)
            });
        }
        let mut w = ScriptWriter::new(stdout());
        return pipeline::run(opts, &mut w);
    }
    let times = TimeFormat::new(script.ns, script.reltime, script.deltatime);
    // Register names for `-F uregs` follow the recording's architecture.
    let arm64 = opts.input.as_os_str() != "-"
        && crate::reader::PerfData::open(&opts.input)
            .is_ok_and(|d| d.arch.as_deref() == Some("aarch64"));
    let mut w = FieldsWriter::new(stdout(), times, arm64, &preamble);
    pipeline::run(opts, &mut w)
}

/// perf's `perf_session__fprintf_info` for the input (a pipe has none).
fn header_block(input: &std::path::Path) -> crate::error::Result<Vec<u8>> {
    use std::os::unix::fs::MetadataExt;
    let data = crate::reader::PerfData::open(input)?;
    let Some(layout) = &data.layout else {
        return Ok(Vec::new());
    };
    let mtime = std::fs::metadata(input).map(|m| m.mtime()).unwrap_or(0);
    let features = layout
        .features
        .iter()
        .filter_map(|&(feat, off, size)| Some((feat, data.feature_bytes(off, size)?)))
        .collect();
    Ok(header::render(&header::FileHeader {
        mtime,
        data_offset: layout.data_offset,
        data_size: layout.data_size,
        feat_offset: layout.feat_offset,
        features,
        pipe: data.pipe_mode,
    }))
}

/// The folder fold and flamegraph use: a bare `--pid`/`--tid` is
/// inferno-collapse-perf's flag, `--pid LIST` perf script's filter.
fn collapse(fold: &FoldArgs, filters: &FoldFilterArgs) -> stacks::Collapse {
    fold.collapse_with(filters.inferno_pid(), filters.inferno_tid())
}

/// The command line with a bare `--pid`/`--tid` of fold, flamegraph and
/// diff made explicit (`--pid=`): those take an optional value (perf
/// script's pid/tid filter), so `perfold fold --pid perf.data` would read
/// the file name as the list. A value perf could not read as a list (it
/// starts with neither a digit nor `file://`) is inferno-collapse-perf's
/// flag followed by the next argument, as `inferno-collapse-perf --pid FILE`.
pub fn bare_flags_made_explicit(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let command = args
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'))
        .map(|a| a.to_string_lossy().into_owned());
    if !matches!(command.as_deref(), Some("fold" | "flamegraph" | "diff")) {
        return args;
    }
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        if arg == "--pid" || arg == "--tid" {
            let is_list = iter.peek().is_some_and(|next| {
                let next = next.to_string_lossy();
                next.starts_with(|c: char| c.is_ascii_digit()) || next.starts_with("file://")
            });
            if !is_list {
                let mut explicit = arg;
                explicit.push("=");
                out.push(explicit);
                continue;
            }
        }
        out.push(arg);
    }
    out
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::PerfScript(cmd) => {
            let mut opts = cmd.input.options();
            check_input(&opts.input, cmd.input.named().is_some())?;
            opts.script = cmd.script.options().map_err(Failure::usage)?;
            for w in &opts.script.field_warnings {
                eprintln!("{w}");
            }
            run_script(&opts).map_err(|e| failure(&opts.input, e))
        }
        Command::Fold(cmd) => {
            let recorded = record_if_asked(&cmd.input, &cmd.record, true)?;
            let mut opts = cmd.input.options();
            check_input(&opts.input, recorded || cmd.input.named().is_some())?;
            cmd.filters.common.check_itrace().map_err(Failure::usage)?;
            opts.script = cmd.filters.options();
            let mut out = stdout();
            stacks::fold_to(&opts, &collapse(&cmd.fold, &cmd.filters), &mut out)
                .map_err(|e| failure(&opts.input, e))
        }
        Command::Flamegraph(cmd) => run_flamegraph(cmd),
        Command::Diff(cmd) => diff::run(cmd),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "perfold", &mut io::stdout());
            Ok(())
        }
        Command::Man { command } => man_page(command.as_deref()),
    }
}

/// The man page of perfold, or of one of its commands (`perfold-fold`).
fn man_page(command: Option<&str>) -> Result<(), Failure> {
    let mut cli = Cli::command();
    cli.build();
    let page = match command {
        None => cli,
        Some(name) => {
            let sub = cli
                .get_subcommands()
                .find(|c| c.get_name() == name || c.get_all_aliases().any(|a| a == name))
                .ok_or_else(|| Failure::usage(format!("man: no command named {name}")))?;
            let title = format!("perfold-{}", sub.get_name());
            sub.clone().display_name(title)
        }
    };
    clap_mangen::Man::new(page)
        .render(&mut io::stdout())
        .map_err(|e| Failure {
            file: None,
            error: Error::Output(e),
        })
}

fn run_flamegraph(cmd: &FlamegraphCommand) -> Result<(), Failure> {
    let to_stdout = cmd.output.as_deref() == Some(Path::new("-"));
    let recorded = record_if_asked(&cmd.input, &cmd.record, to_stdout)?;
    let mut opts = cmd.input.options();
    check_input(&opts.input, recorded || cmd.input.named().is_some())?;
    cmd.filters.common.check_itrace().map_err(Failure::usage)?;
    opts.script = cmd.filters.options();
    let lines = stacks::folded_lines(&opts, &collapse(&cmd.fold, &cmd.filters))
        .map_err(|e| failure(&opts.input, e))?;
    let output = match (&cmd.output, recorded) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(PathBuf::from("flamegraph.svg")),
        (None, false) => None,
    };
    let mut out = match &output {
        Some(path) => create_output(path)?,
        None => stdout(),
    };
    draw_with(&cmd.flame, &lines, &mut out).map_err(|e| failure(&opts.input, e))?;
    if let Some(path) = output.filter(|p| p != Path::new("-")) {
        eprintln!("perfold: wrote {}", path.display());
    }
    Ok(())
}

/// Draws `lines` with the inferno options of `flame` (and its `--cp` palette map).
pub fn draw_with(
    flame: &FlameArgs,
    lines: &[String],
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let mut palette_map = flame_args::load_palette_map(flame)
        .map_err(|e| Error::Usage(format!("{}: {e}", flame_args::PALETTE_MAP_FILE)))?;
    let mut options = flame
        .to_options(palette_map.as_mut())
        .map_err(Error::Usage)?;
    crate::writers::flamegraph::draw_lines(&mut options, lines, out).map_err(Error::Output)?;
    drop(options);
    flame_args::save_palette_map(&palette_map)
        .map_err(|e| Error::Usage(format!("{}: {e}", flame_args::PALETTE_MAP_FILE)))
}
