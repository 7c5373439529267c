//! Command-line flags (clap) and the per-command choice of writer.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::pipeline::{self, Options};
use crate::writers::folded::{FoldOutput, FoldWriter, Folder};
use crate::writers::script::ScriptWriter;

#[derive(Parser, Debug)]
#[command(
    name = "perfold",
    version,
    about = "perf.data to perf-script text, folded stacks and flame graphs, byte-identical to perf and inferno"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print what `perf script` prints for the file.
    #[command(alias = "script")]
    PerfScript(Input),
    /// Print folded stacks, as `perf script | inferno-collapse-perf`.
    Fold {
        #[command(flatten)]
        input: Input,
        /// Keep only samples of this event (default: the first event seen, as inferno).
        #[arg(long, value_name = "EVENT")]
        event_filter: Option<String>,
    },
    /// Draw the flame graph SVG, as `... | inferno-collapse-perf | inferno-flamegraph`.
    Flamegraph {
        #[command(flatten)]
        input: Input,
        /// Keep only samples of this event (default: the first event seen, as inferno).
        #[arg(long, value_name = "EVENT")]
        event_filter: Option<String>,
        /// Write the SVG to FILE instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Flags every command shares (perf's names and meanings).
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
}

impl Input {
    fn options(&self) -> Options {
        let path = self
            .input
            .clone()
            .or_else(|| self.file.clone())
            .unwrap_or_else(|| PathBuf::from("perf.data"));
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
        o
    }
}

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
}

/// Standard output as a plain file: the writers buffer in large chunks
/// themselves, so the line buffering of `io::Stdout` would only add a copy.
fn stdout() -> Box<dyn Write + Send> {
    use std::os::fd::AsFd;
    match io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(File::from(fd)),
        Err(_) => Box::new(BufWriter::with_capacity(1 << 18, io::stdout())),
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let (opts, result) = match &cli.command {
        Command::PerfScript(input) => {
            let opts = input.options();
            let mut w = ScriptWriter::new(stdout());
            let r = pipeline::run(&opts, &mut w);
            (opts, r)
        }
        Command::Fold {
            input,
            event_filter,
        } => {
            let opts = input.options();
            let folder = Folder::new(event_filter.clone());
            let mut w = FoldWriter::new(folder, FoldOutput::Folded, stdout());
            let r = pipeline::run(&opts, &mut w);
            (opts, r)
        }
        Command::Flamegraph {
            input,
            event_filter,
            output,
        } => {
            let opts = input.options();
            let out: Box<dyn Write + Send> = match output {
                Some(path) => match File::create(path) {
                    Ok(f) => Box::new(f),
                    Err(e) => {
                        return Err(Failure {
                            file: Some(path.display().to_string()),
                            error: Error::Io(e),
                        })
                    }
                },
                None => stdout(),
            };
            let folder = Folder::new(event_filter.clone());
            let mut w = FoldWriter::new(folder, FoldOutput::FlameGraph, out);
            let r = pipeline::run(&opts, &mut w);
            (opts, r)
        }
    };
    result.map_err(|error| match error {
        // inferno refuses to draw an empty graph (it still writes an SVG
        // saying so, as perfold does): that is about the input, not the output.
        Error::Output(e) if e.kind() == io::ErrorKind::InvalidData => Failure {
            file: Some(opts.input.display().to_string()),
            error: Error::Usage(format!("{e}: the recording has no samples to draw")),
        },
        Error::Output(_) => Failure { file: None, error },
        _ => Failure {
            file: Some(opts.input.display().to_string()),
            error,
        },
    })
}
