//! Kernel symbols from an arbitrary kallsyms file (perf's kallsyms__parse,
//! symbol fix-ups, module split, relocation), then lookups.
//!
//! Leading lines that start with `@` set up what a recording would: `@r
//! NAME HEX` is the kernel MMAP's relocation reference (`_text` and its
//! address), `@m NAME` a module map `[NAME]`. The rest is the kallsyms
//! file, written to tmpfs and passed as `--kallsyms`.
#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfold::symbolize::{SymbolizeOptions, Symbolizer};

struct Env {
    file: PathBuf,
    buildid_dir: PathBuf,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = common::scratch_dir("kallsyms");
        Env {
            file: dir.join("kallsyms"),
            buildid_dir: dir.join(".debug"),
        }
    })
}

fn hex(s: &[u8]) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let mut rest = data;
    let mut reloc = None;
    let mut modules = Vec::new();
    while rest.first() == Some(&b'@') {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[1..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        let mut words = line.split(|&b| b == b' ');
        match words.next() {
            Some(b"r") => {
                let name = String::from_utf8_lossy(words.next().unwrap_or(b"")).into_owned();
                let addr = words.next().and_then(hex).unwrap_or(0);
                reloc = Some((name, addr));
            }
            Some(b"m") => {
                modules.push(String::from_utf8_lossy(words.next().unwrap_or(b"")).into_owned());
            }
            _ => {}
        }
    }
    std::fs::write(&env.file, rest).expect("write input");

    let mut sym = Symbolizer::new(SymbolizeOptions {
        symfs: None,
        kallsyms: Some(env.file.clone()),
        buildid_dir: env.buildid_dir.clone(),
    });
    if let Some((name, addr)) = &reloc {
        sym.set_kernel_ref_reloc(name, *addr);
    }
    for m in &modules {
        sym.add_kernel_module(m);
    }

    // Addresses: fixed ones, the first few the file lists (and one past),
    // and the kernel map's range once loaded.
    let mut addrs = vec![0u64, 1, 0xffff_ffff_8100_0000, u64::MAX];
    for line in rest.split(|&b| b == b'\n').take(8) {
        if let Some(a) = line.split(|&b| b == b' ').next().and_then(hex) {
            addrs.extend([a, a.wrapping_add(1), a.wrapping_sub(1)]);
        }
    }
    for &a in &addrs {
        if let Some(s) = sym.lookup_kernel(a) {
            let _ = (s.start, s.end, s.name.len());
        }
    }
    if let Some((lo, hi)) = sym.kernel_map_range() {
        for a in [
            lo,
            hi,
            hi.wrapping_sub(1),
            lo.wrapping_add(hi.wrapping_sub(lo) / 2),
        ] {
            let _ = sym.lookup_kernel(a);
        }
    }
});
