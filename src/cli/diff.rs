//! `perfold diff BEFORE AFTER`: both recordings folded (with the fold flags),
//! merged by inferno's `differential` module as `inferno-diff-folded` 0.12.8
//! merges two folded files (`-n/--normalize`, `-s/--strip`), then drawn as
//! `inferno-flamegraph` draws the two-count lines (`--negate` and the other
//! flame graph flags).

use std::path::PathBuf;

use clap::Args;

use super::flame_args::FlameArgs;
use super::fold_args::FoldArgs;
use super::{check_input, create_output, draw_with, failure, stdout, Failure, ReadArgs};
use crate::error::Error;
use crate::script_options::args::FoldFilterArgs;
use crate::stacks;

#[derive(Args, Debug)]
pub struct DiffCommand {
    /// The recording before the change
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,
    /// The recording after the change
    #[arg(value_name = "AFTER")]
    pub after: PathBuf,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Write the SVG (or with --folded the lines) to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print inferno-diff-folded's lines (stack, count before, count after) instead of the SVG
    #[arg(long)]
    pub folded: bool,
    /// Normalize the first profile count to match the second (inferno-diff-folded -n)
    #[arg(
        short = 'n',
        long,
        help_heading = "Differential (inferno-diff-folded's flags)"
    )]
    pub normalize: bool,
    /// Strip hex numbers (addresses) (inferno-diff-folded -s)
    #[arg(
        short = 's',
        long,
        help_heading = "Differential (inferno-diff-folded's flags)"
    )]
    pub strip: bool,
    #[command(flatten)]
    pub filters: FoldFilterArgs,
    #[command(flatten)]
    pub fold: FoldArgs,
    #[command(flatten)]
    pub flame: FlameArgs,
}

/// Runs `perfold diff`.
pub fn run(cmd: &DiffCommand) -> Result<(), Failure> {
    let collapse = super::collapse(&cmd.fold, &cmd.filters);
    let mut folded = Vec::new();
    for path in [&cmd.before, &cmd.after] {
        check_input(path, true)?;
        let mut opts = cmd.read.options(path.clone());
        opts.script = cmd.filters.options();
        let lines = stacks::folded_lines(&opts, &collapse).map_err(|e| failure(path, e))?;
        let mut text = lines.join("\n");
        text.push('\n');
        folded.push(text);
    }
    let options = inferno::differential::Options {
        normalize: cmd.normalize,
        strip_hex: cmd.strip,
    };
    let mut merged = Vec::new();
    inferno::differential::from_readers(
        options,
        folded[0].as_bytes(),
        folded[1].as_bytes(),
        &mut merged,
    )
    .map_err(|e| Failure {
        file: None,
        error: Error::Output(e),
    })?;
    // inferno-diff-folded writes its lines in hash order, a new order each
    // run: perfold sorts them (bytewise, as `LC_ALL=C sort`); the graph is
    // the same, as inferno-flamegraph sorts its input anyway.
    let mut lines: Vec<String> = String::from_utf8_lossy(&merged)
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    lines.sort_unstable();
    let mut out = match &cmd.output {
        Some(path) => create_output(path)?,
        None => stdout(),
    };
    if cmd.folded {
        return out
            .write_all(lines.concat().as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| Failure {
                file: None,
                error: Error::Output(e),
            });
    }
    draw_with(&cmd.flame, &lines, &mut out).map_err(|e| failure(&cmd.after, e))
}
