//! Throughput of the whole pipeline on the golden fixtures (bytes of
//! perf.data per second): perf-script text and folded stacks, output
//! discarded. Wall-time comparisons with perf and inferno are in
//! scripts/bench.sh; this tracks perfold's own speed between changes.

use std::io;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use perfold::Options;
use perfold::ScriptWriter;
use perfold::{FoldOutput, FoldWriter, Folder};

fn options(case: &Path) -> Options {
    let mut o = Options::new(case.join("perf.data"));
    let sysroot = case.parent().unwrap().join("sysroot");
    o.buildid_dir = sysroot.join(".debug");
    o.symfs = Some(sysroot);
    o.kallsyms = Some(case.join("kallsyms"));
    o
}

fn bench(c: &mut Criterion) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut group = c.benchmark_group("pipeline");
    for case in ["c-fp", "cpp-fp", "rust-fp"] {
        let opts = options(&fixtures.join(case));
        let size = std::fs::metadata(&opts.input).unwrap().len();
        group.throughput(Throughput::Bytes(size));
        group.bench_function(format!("{case}/perf-script"), |b| {
            b.iter(|| {
                let mut w = ScriptWriter::new(Box::new(io::sink()));
                perfold::run(&opts, &mut w).unwrap();
            })
        });
        group.bench_function(format!("{case}/fold"), |b| {
            b.iter(|| {
                let mut w = FoldWriter::new(Folder::new(None), FoldOutput::Folded, io::sink());
                perfold::run(&opts, &mut w).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
