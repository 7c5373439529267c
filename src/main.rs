//! The `perfold` binary: parse flags, run, print one error line.

use clap::Parser;

fn main() {
    let cli = perfold::cli::Cli::parse();
    if let Err(failure) = perfold::cli::run(cli) {
        // A reader that closed the pipe (`perfold perf-script | head`) is not an error.
        if failure.error.is_broken_pipe() {
            std::process::exit(0);
        }
        eprintln!("{}", failure.line());
        std::process::exit(1);
    }
}
