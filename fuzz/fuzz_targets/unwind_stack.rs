//! DWARF unwinding over arbitrary registers and stack bytes.
//!
//! The `c-dwarf` fixture is turned once into a pipe-mode stream (its
//! attributes as HEADER_ATTR records, then its records); for each input,
//! the user registers and stack copy of its first 16 samples are replaced by
//! the fuzz bytes (repeated to fill them), and the stream goes through the
//! whole pipeline with the folded-stack writer. Unwinding must end, bounded,
//! without a panic, whatever the stack holds.
//!
//! `--symfs` holds only the `c-nofp` binary (libc and its debug file would
//! cost seconds per input under ASan), so walks run through that binary's
//! CFI and stop in libc.
#![no_main]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use perfold::pipeline::{self, Options};
use perfold::writers::folded::{FoldOutput, FoldWriter, Folder};

const RECORD_SAMPLE: u32 = 9;
const RECORD_HEADER_ATTR: u32 = 64;
const SAMPLE_REGS_USER: u64 = 1 << 12;
const SAMPLE_STACK_USER: u64 = 1 << 13;
/// Samples whose registers and stack are replaced.
const FUZZED_SAMPLES: usize = 16;

struct Env {
    input: PathBuf,
    opts: Options,
    /// The stream, and the byte ranges of the fuzzed samples' regs+stack.
    stream: Vec<u8>,
    regions: Vec<std::ops::Range<usize>>,
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = common::scratch_dir("unwind_stack");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let file = std::fs::read(fixtures.join("c-dwarf/perf.data")).expect("c-dwarf fixture");
        let (stream, regions) = pipe_stream(&file);
        let symfs = dir.join("symfs");
        let bin = "tmp/perfold-fx/bin/c-nofp";
        std::fs::create_dir_all(symfs.join(bin).parent().unwrap()).unwrap();
        std::fs::copy(fixtures.join("sysroot").join(bin), symfs.join(bin)).expect("c-nofp");
        let input = dir.join("stream.data");
        let mut opts = Options::new(input.clone());
        opts.symfs = Some(symfs);
        opts.kallsyms = Some(fixtures.join("c-dwarf/kallsyms"));
        opts.buildid_dir = dir.join(".debug");
        Env {
            input,
            opts,
            stream,
            regions,
        }
    })
}

/// The fixture as a pipe-mode stream, and where the regs+stack of its first
/// samples are.
fn pipe_stream(file: &[u8]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let attr_size = u64_at(file, 16) as usize;
    let (attrs_off, attrs_size) = (u64_at(file, 24) as usize, u64_at(file, 32) as usize);
    let (data_off, data_size) = (u64_at(file, 40) as usize, u64_at(file, 48) as usize);
    let sample_regs_user = u64_at(&file[attrs_off..], 80);
    let sample_type = u64_at(&file[attrs_off..], 24);
    assert!(sample_type & SAMPLE_REGS_USER != 0 && sample_type & SAMPLE_STACK_USER != 0);
    let nregs = sample_regs_user.count_ones() as usize;
    // u64 fields after the stack copy: weight, data_src, transaction,
    // phys_addr, cgroup, data and code page sizes, weight_struct.
    let after: u64 = [14, 15, 17, 19, 21, 22, 23, 24].iter().map(|b| 1u64 << b).sum();
    let trailing = 8 * (sample_type & after).count_ones() as usize;
    let mut out = b"PERFILE2".to_vec();
    out.extend_from_slice(&16u64.to_le_bytes());
    for entry in file[attrs_off..attrs_off + attrs_size].chunks_exact(attr_size) {
        let attr = &entry[..attr_size - 16];
        let ids_off = u64_at(entry, attr_size - 16) as usize;
        let ids_size = u64_at(entry, attr_size - 8) as usize;
        let ids = &file[ids_off..ids_off + ids_size];
        out.extend_from_slice(&RECORD_HEADER_ATTR.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&((8 + attr.len() + ids.len()) as u16).to_le_bytes());
        out.extend_from_slice(attr);
        out.extend_from_slice(ids);
    }
    let data = &file[data_off..data_off + data_size];
    let mut regions = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let type_ = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        let size = u16::from_le_bytes(data[at + 6..at + 8].try_into().unwrap()) as usize;
        let start = out.len();
        out.extend_from_slice(&data[at..at + size]);
        if type_ == RECORD_SAMPLE && regions.len() < FUZZED_SAMPLES {
            // The record ends with: abi, regs, stack size, stack, dyn size.
            let rec = &data[at..at + size];
            let stack_size = find_stack_size(rec, nregs, trailing);
            if let Some((regs_at, stack_len)) = stack_size {
                // Registers and the stack bytes (not the sizes).
                regions.push(start + regs_at..start + regs_at + nregs * 8);
                let stack_at = regs_at + nregs * 8 + 8;
                regions.push(start + stack_at..start + stack_at + stack_len);
            }
        }
        at += size;
    }
    (out, regions)
}

/// Where the user registers start and how long the stack copy is, found
/// from the record's end: `[abi=2][regs][size][stack of size][dyn size]`
/// and `trailing` bytes of later fields.
fn find_stack_size(rec: &[u8], nregs: usize, trailing: usize) -> Option<(usize, usize)> {
    // Try every 8-aligned candidate size from the end.
    let end = rec.len().checked_sub(trailing)?;
    let mut size_at = end.checked_sub(16)?;
    loop {
        let size = u64_at(rec, size_at) as usize;
        if size.checked_add(size_at + 16) == Some(end) {
            let regs_at = size_at.checked_sub(nregs * 8)?;
            let abi = u64_at(rec, regs_at.checked_sub(8)?);
            return (abi == 2).then_some((regs_at, size));
        }
        size_at = size_at.checked_sub(8)?;
    }
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let env = env();
    let mut stream = env.stream.clone();
    let mut k = 0;
    for r in &env.regions {
        for b in &mut stream[r.clone()] {
            *b = data[k % data.len()];
            k += 1;
        }
    }
    std::fs::write(&env.input, &stream).expect("write input");
    let mut folded = Vec::new();
    let mut fold = FoldWriter::new(Folder::new(None), FoldOutput::Folded, &mut folded);
    // The stream itself is valid: only the stacks are hostile.
    pipeline::run(&env.opts, &mut fold).expect("a valid stream with hostile stacks reads");
});
