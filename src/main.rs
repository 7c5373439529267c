//! The `perfold` binary: hand perf's own commands to perf, parse flags, run,
//! print one error line.

use clap::Parser;

fn main() {
    prepare_heap();
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

/// The main thread's heap, in glibc: grown in 16 MiB steps, and backed by
/// transparent huge pages where the kernel gives them on request
/// (`enabled = madvise`, the common default).
///
/// - glibc grows and trims the heap 128 KiB past what is in use: a run that
///   allocates and frees tables of a few MB (unwinding, DWARF units, folded
///   stacks) then pays a page fault per page again and again. With a 16 MiB
///   top pad, page faults on the DWARF bench round fall by a tenth and its
///   wall time by 2-5 %.
/// - The pipeline's thread still faulted its heap in 4 KiB at a time: about
///   half of the 17.5 k page faults of the DWARF bench round. A 48 MiB block
///   taken and freed at once leaves a heap of that size (kept: the trim
///   threshold is raised past it), advised `MADV_HUGEPAGE`: page faults
///   fall to 12 k and the round's wall time by a tenth, as with glibc's own
///   `glibc.malloc.hugetlb=1` tunable, which only the environment can set
///   (docs/performance.md, session 11). Peak RSS grows by 2-3 MB: a huge
///   page is resident whole once touched.
///
/// Setting any of these turns glibc's dynamic mmap threshold off; it stays
/// at its initial 128 KiB, as it did with the top pad alone.
fn prepare_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets glibc malloc parameters and malloc/free take and
    // give back one block, all before any other thread exists; madvise
    // only changes the page size backing a range of this process's own
    // heap (checked to lie between the block and the break), not its bytes.
    unsafe {
        const TOP_PAD: usize = 16 << 20;
        const RESERVE: usize = 48 << 20;
        const HUGE_PAGE: usize = 2 << 20;
        libc::mallopt(libc::M_TOP_PAD, TOP_PAD as i32);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        // The block from the heap, not from a map of its own.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        let block = libc::malloc(RESERVE);
        libc::free(block);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
        let (block, brk) = (block as usize, libc::sbrk(0) as usize);
        let start = block.next_multiple_of(HUGE_PAGE);
        if block != 0 && start < brk && brk - block <= RESERVE + 2 * TOP_PAD {
            libc::madvise(start as *mut libc::c_void, brk - start, libc::MADV_HUGEPAGE);
        }
    }
}
