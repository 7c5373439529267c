//! Seeded mutation test: a small real recording, damaged in many ways, must
//! give either output or one clean error line naming the offset, never a
//! panic. Truncations are checked against their exact error line.

mod common;
use common::record_offsets;

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use perfold::Error;
use perfold::Options;
use perfold::ScriptWriter;
use perfold::{FoldOutput, FoldWriter, Folder};

fn fixture() -> Vec<u8> {
    std::fs::read(common::fixture("c-fp/perf.data")).unwrap()
}

fn scratch_dir() -> PathBuf {
    let d = common::scratch_dir("mutations");
    std::fs::create_dir_all(d.join("symfs")).unwrap();
    std::fs::write(d.join("kallsyms"), "").unwrap();
    d
}

/// Runs perfold (as a library) on `bytes`; `Err` holds the error's text.
/// Symbols come from an empty symfs, so the run is about the file alone.
fn run(dir: &Path, name: &str, bytes: &[u8], fold: bool) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut o = Options::new(path);
    o.symfs = Some(dir.join("symfs"));
    o.buildid_dir = dir.join("symfs/.debug");
    o.kallsyms = Some(dir.join("kallsyms"));
    let result = catch_unwind(AssertUnwindSafe(|| {
        if fold {
            let mut w = FoldWriter::new(Folder::new(None), FoldOutput::Folded, io::sink());
            perfold::run(&o, &mut w)
        } else {
            let mut w = ScriptWriter::new(Box::new(io::sink()));
            perfold::run(&o, &mut w)
        }
    }));
    match result {
        Err(_) => panic!("perfold panicked on mutation {name}"),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            let text = e.to_string();
            assert!(
                !text.contains('\n'),
                "{name}: error is not one line: {text:?}"
            );
            assert!(!text.is_empty(), "{name}: empty error");
            if let Error::Data { offset, .. } = e {
                assert!(
                    offset <= bytes.len() as u64 + 8,
                    "{name}: offset {offset} beyond the file ({} bytes)",
                    bytes.len()
                );
            }
            Err(text)
        }
    }
}

/// xorshift64: the same mutations on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn truncation_at_every_record_boundary_names_the_cut() {
    let data = fixture();
    let dir = scratch_dir();
    for (i, &(at, len)) in record_offsets(&data).iter().enumerate() {
        // At the record's start: its header is missing.
        let err = run(&dir, "cut.data", &data[..at], i % 2 == 0).unwrap_err();
        assert_eq!(
            err,
            format!("offset {at}: file is truncated: record header needs 8 bytes, 0 left")
        );
        // In the middle of the record.
        let cut = at + len / 2;
        let err = run(&dir, "cut.data", &data[..cut], i % 2 == 1).unwrap_err();
        let left = cut - at;
        let expected = if left < 8 {
            format!("offset {at}: file is truncated: record header needs 8 bytes, {left} left")
        } else {
            format!("offset {at}: file is truncated: record of {len} bytes, {left} left")
        };
        assert_eq!(err, expected);
    }
}

#[test]
fn hostile_record_sizes_are_rejected_at_their_record() {
    let data = fixture();
    let dir = scratch_dir();
    let recs = record_offsets(&data);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..40 {
        let (at, _) = recs[rng.next(recs.len())];
        for size in [0u16, 1, 7] {
            let mut bad = data.clone();
            bad[at + 6..at + 8].copy_from_slice(&size.to_le_bytes());
            let err = run(&dir, "size.data", &bad, size == 1).unwrap_err();
            assert_eq!(err, format!("offset {at}: record size {size} is invalid"));
        }
        let mut bad = data.clone();
        bad[at + 6..at + 8].copy_from_slice(&u16::MAX.to_le_bytes());
        // A huge size swallows later records: an error or a shorter output, no panic.
        let _ = run(&dir, "size.data", &bad, false);
    }
}

#[test]
fn bit_flips_zeroed_blocks_and_duplicated_slices_never_panic() {
    let data = fixture();
    let dir = scratch_dir();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut ok, mut errors) = (0, 0);
    for round in 0..600 {
        let mut bad = data.clone();
        match round % 3 {
            0 => {
                for _ in 0..1 + rng.next(8) {
                    let at = rng.next(bad.len());
                    bad[at] ^= 1 << rng.next(8);
                }
            }
            1 => {
                let at = rng.next(bad.len());
                let end = (at + 1 + rng.next(256)).min(bad.len());
                bad[at..end].fill(0);
            }
            _ => {
                let len = 1 + rng.next(512);
                let from = rng.next(bad.len() - len);
                let to = rng.next(bad.len() - len);
                let slice = bad[from..from + len].to_vec();
                bad[to..to + len].copy_from_slice(&slice);
            }
        }
        match run(&dir, "mutant.data", &bad, round % 2 == 0) {
            Ok(()) => ok += 1,
            Err(_) => errors += 1,
        }
    }
    // Both outcomes occur: the mutations reach the parser, not just padding.
    assert!(ok > 0 && errors > 0, "ok {ok}, errors {errors}");
}
