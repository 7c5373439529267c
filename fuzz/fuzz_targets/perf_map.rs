//! JIT symbol files (`/tmp/perf-<pid>.map`, perf's `dso__load_perf_map`)
//! with arbitrary contents, then lookups.
//!
//! The symbolizer reads such a DSO straight from its recorded path (no
//! `--symfs`), so each input is written to `/tmp/perf-fuzz-<pid>.map`.
#![no_main]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfold::symbolize::{SymbolizeOptions, Symbolizer};

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        common::remove_stale(Path::new("/tmp"), "perf-fuzz-", ".map");
        PathBuf::from(format!("/tmp/perf-fuzz-{}.map", std::process::id()))
    })
}

fn hex(s: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(s).ok()?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("write input");
    let mut sym = Symbolizer::new(SymbolizeOptions {
        symfs: None,
        kallsyms: None,
        buildid_dir: PathBuf::from("/nonexistent/.debug"),
    });
    let dso = sym.dso(path.to_str().unwrap().as_bytes(), None);

    // Addresses: fixed ones, and the starts the first lines name (and
    // their neighbours).
    let mut addrs = vec![0u64, 1, 0x1000, u64::MAX];
    for line in data.split(|&b| b == b'\n').take(8) {
        if let Some(a) = line.split(|&b| b == b' ').next().and_then(hex) {
            addrs.extend([a, a.wrapping_add(1), a.wrapping_sub(1)]);
        }
    }
    let mut found = Vec::new();
    for &a in &addrs {
        if let Some(s) = sym.lookup(dso, a) {
            found.push((s.start, s.end));
        }
    }
    for (start, end) in found {
        for a in [start, end.wrapping_sub(1), end] {
            let _ = sym.lookup(dso, a);
        }
    }
});
