//! The whole pipeline on arbitrary perf.data bytes, through both the
//! `perf script` writer and the folded-stack writer.
//!
//! perfold has no in-memory entry point: `PerfData::open` takes a path and
//! memory-maps it. Each input is written to a file on tmpfs (`/dev/shm`),
//! which is what `pipeline::run` then reads.
//!
//! Symbols: `--symfs` is a copy of the small files of the fixtures'
//! sysroot (the `c-fp` binary and the vdso; under 64 KiB each) and
//! `--kallsyms` the `c-fp` kallsyms, so inputs derived from the seed
//! recordings reach the symbolizer and print symbol names. The big
//! libraries (libc, libstdc++, their debug file, the Rust and C++ test
//! binaries) are left out: loading and demangling them costs up to 3 s per
//! input under ASan; ELF loading is fuzzed by `symbolize_elf` instead.
#![no_main]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfold::pipeline::{self, Options};
use perfold::writers::folded::{FoldOutput, FoldWriter, Folder};
use perfold::writers::script::ScriptWriter;

struct Env {
    input: PathBuf,
    opts: Options,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = common::scratch_dir("read_records");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let input = dir.join("perf.data");
        let symfs = dir.join("symfs");
        copy_small_files(&fixtures.join("sysroot"), &symfs);
        let mut opts = Options::new(input.clone());
        opts.symfs = Some(symfs);
        opts.kallsyms = Some(fixtures.join("c-fp/kallsyms"));
        // No build-id cache of the machine's user: an empty directory.
        opts.buildid_dir = dir.join(".debug");
        Env { input, opts }
    })
}

/// Copies the files under `from` smaller than 64 KiB to the same paths under `to`.
fn copy_small_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("fixtures sysroot") {
        let entry = entry.expect("dir entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = std::fs::metadata(&src).expect("metadata");
        if meta.is_dir() {
            copy_small_files(&src, &dst);
        } else if meta.len() < 64 * 1024 {
            std::fs::create_dir_all(to).expect("symfs dir");
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Whether the counts of folded `stack count` lines add up within a u64.
fn total_fits(folded: &[u8]) -> bool {
    let mut total = 0u64;
    for line in folded.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let count = line.rsplit(|&b| b == b' ').next().unwrap_or(b"");
        let count: u64 = std::str::from_utf8(count)
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        match total.checked_add(count) {
            Some(t) => total = t,
            None => return false,
        }
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    std::fs::write(&env.input, data).expect("write input");

    let mut script = ScriptWriter::new(Box::new(std::io::sink()));
    let script_result = pipeline::run(&env.opts, &mut script);

    let mut folded = Vec::new();
    let mut fold = FoldWriter::new(Folder::new(None), FoldOutput::Folded, &mut folded);
    let fold_result = pipeline::run(&env.opts, &mut fold);

    // For one input in four (by length), the flame graph too. Not when the
    // folded counts add up past 2^64: inferno's merge adds them unchecked,
    // which `cargo fuzz -a` turns into a panic inside inferno (release
    // builds wrap, as `inferno-flamegraph` does).
    if data.len() % 4 == 3 && total_fits(&folded) {
        let mut svg = FoldWriter::new(Folder::new(None), FoldOutput::FlameGraph, std::io::sink());
        let svg_result = pipeline::run(&env.opts, &mut svg);
        // Same input error as the folded lines; an input without stacks
        // is an error of the flame graph alone ("no samples to draw").
        match (&svg_result, &fold_result) {
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (Ok(()), Err(b)) => panic!("the flame graph succeeded, the folded lines failed: {b}"),
            (Err(a), Ok(())) => assert!(!a.to_string().contains('\n')),
            (Ok(()), Ok(())) => {}
        }
    }

    // Both writers read the same records: they fail, or not, alike, and
    // an error is one line naming an offset (or a usage problem).
    match (&script_result, &fold_result) {
        (Ok(()), Ok(())) => {}
        (Err(a), Err(b)) => {
            let (a, b) = (a.to_string(), b.to_string());
            assert_eq!(a, b, "the two writers report different errors");
            assert!(!a.contains('\n'), "multi-line error: {a:?}");
        }
        _ => panic!("one writer failed and the other did not: {script_result:?} / {fold_result:?}"),
    }
});
