//! The `perfold` binary: hand perf's own commands to perf, parse flags, run,
//! print one error line.

use clap::Parser;

fn main() {
    grow_heap_in_larger_steps();
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

/// glibc grows and trims the heap 128 KiB past what is in use: a run that
/// allocates and frees tables of a few MB (unwinding, DWARF units, folded
/// stacks) then pays a page fault per page again and again. With 16 MiB,
/// page faults on the DWARF bench round fall by a tenth and its wall time by
/// 2-5 % (docs/performance.md); peak RSS grows by 1-2 MB.
fn grow_heap_in_larger_steps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a glibc malloc parameter; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 16 << 20);
    }
}
