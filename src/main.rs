//! The `perfold` binary: hand perf's own commands to perf, parse flags, run,
//! print one error line.

use clap::Parser;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(line) = perfold::cli::perf_exec::hand_over_if_perf_command(&args) {
        eprintln!("perfold: {line}");
        std::process::exit(127);
    }
    let cli = perfold::cli::Cli::parse_from(perfold::cli::bare_flags_made_explicit(args));
    if let Err(failure) = perfold::cli::run(cli) {
        // A reader that closed the pipe (`perfold perf-script | head`) is not an error.
        if failure.error.is_broken_pipe() {
            std::process::exit(0);
        }
        eprintln!("{}", failure.line());
        std::process::exit(1);
    }
}
