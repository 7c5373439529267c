//! ELF symbol loading (section and program headers, .symtab/.dynsym, PLT
//! synthesis, build-id notes, .gnu_debuglink, perf's symbol fix-ups,
//! demangling) on arbitrary ELF bytes, then lookups.
//!
//! The symbolizer only reads files, found under `--symfs`: each input is
//! written to `<tmpfs dir>/symfs/bin/target` and registered as the DSO
//! `/bin/target`, once without a build-id and once with one that the file
//! must match (so the build-id notes are read and compared).
#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfold::symbolize::{SymbolizeOptions, Symbolizer};

struct Env {
    symfs: PathBuf,
    file: PathBuf,
    buildid_dir: PathBuf,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = common::scratch_dir("symbolize_elf");
        let symfs = dir.join("symfs");
        std::fs::create_dir_all(symfs.join("bin")).expect("scratch dir");
        Env {
            file: symfs.join("bin/target"),
            symfs,
            buildid_dir: dir.join(".debug"),
        }
    })
}

fn le_u64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    std::fs::write(&env.file, data).expect("write input");

    // Addresses to look up: fixed ones, and some the file itself names
    // (e_entry, e_phoff, e_shoff of a 64-bit header; a 32-bit e_entry).
    let mut addrs = vec![
        0u64,
        1,
        0x400,
        0x1000,
        0x1040,
        0x1139,
        0x2000,
        0x401000,
        u64::MAX,
    ];
    for at in [24, 32, 40] {
        addrs.extend(le_u64(data, at));
    }
    if let Some(b) = data.get(24..28) {
        addrs.push(u64::from(u32::from_le_bytes(b.try_into().unwrap())));
    }

    let mut sym = Symbolizer::new(SymbolizeOptions {
        symfs: Some(env.symfs.clone()),
        kallsyms: None,
        buildid_dir: env.buildid_dir.clone(),
    });
    let plain = sym.dso(b"/bin/target", None);
    let with_id = sym.dso(b"/bin/target", Some(&[0x5a; 20]));
    for dso in [plain, with_id] {
        let mut found = Vec::new();
        for &a in &addrs {
            if let Some(s) = sym.lookup(dso, a) {
                assert!(
                    s.start <= s.end,
                    "symbol {:?} ends before it starts",
                    s.name
                );
                found.push((s.start, s.end));
            }
        }
        // Around each symbol found: its first byte, its last, one past.
        for (start, end) in found {
            for a in [start, end.wrapping_sub(1), end] {
                let _ = sym.lookup(dso, a);
            }
        }
    }
});
