//! Once its caches are warm, the per-sample path (parse, DWARF unwinding,
//! symbol and inline lookups, folding) allocates nothing.
//!
//! A golden DWARF fixture is turned into a pipe-mode stream whose samples
//! are all repeated twice after the original records; the last copy reaches
//! the pipeline after every (DSO, address), comm and stack has been seen.
//! A counting allocator records, on the pipeline's thread, the allocations
//! between consecutive samples; every sample of the last copy must show none.
//! `c-dwarf` covers rows framehop steps, `unwind-dwarf` the rows evaluated
//! with gimli (signal trampolines) and libunwind's cached states.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;

use perfold::Folder;
use perfold::Options;
use perfold::{Names, SampleSink, SampleView};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|a| a.get())
}

const RECORD_SAMPLE: u32 = 9;
const RECORD_HEADER_ATTR: u32 = 64;
/// 1000 s: moves each copy of the samples after the previous one.
const LATER: u64 = 1_000_000_000_000;
/// Copies of the samples after the recording. The first copy sees the
/// address space as the recording left it (e.g. after a late mmap), which
/// may reach new (DSO, address) pairs; the second is fully warm.
const REPEATS: u64 = 2;

mod common;
use common::u64_at;

/// The file-mode recording as a pipe-mode stream, with every sample record
/// appended [`REPEATS`] more times after the original records.
fn pipe_with_repeated_samples(file: &[u8]) -> (Vec<u8>, usize) {
    assert_eq!(&file[..8], b"PERFILE2");
    let attr_size = u64_at(file, 16) as usize;
    let (attrs_off, attrs_size) = (u64_at(file, 24) as usize, u64_at(file, 32) as usize);
    let (data_off, data_size) = (u64_at(file, 40) as usize, u64_at(file, 48) as usize);
    let mut out = b"PERFILE2".to_vec();
    out.extend_from_slice(&16u64.to_le_bytes());
    for entry in file[attrs_off..attrs_off + attrs_size].chunks_exact(attr_size) {
        let attr = &entry[..attr_size - 16];
        let (ids_off, ids_size) = (
            u64_at(entry, attr_size - 16) as usize,
            u64_at(entry, attr_size - 8) as usize,
        );
        let ids = &file[ids_off..ids_off + ids_size];
        let size = 8 + attr.len() + ids.len();
        out.extend_from_slice(&RECORD_HEADER_ATTR.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(size as u16).to_le_bytes());
        out.extend_from_slice(attr);
        out.extend_from_slice(ids);
    }
    // Where a sample's time is (perf_event_attr.sample_type of the only event).
    let sample_type = u64_at(&file[attrs_off..], 24);
    let time_at = 8
        + 8 * ((sample_type & (1 << 16) != 0) as usize)
        + 8 * ((sample_type & 1 != 0) as usize)
        + 8 * ((sample_type & 2 != 0) as usize);
    assert!(sample_type & 4 != 0, "samples carry a time");
    let data = &file[data_off..data_off + data_size];
    out.extend_from_slice(data);
    let mut samples = 0;
    for copy in 1..=REPEATS {
        samples = 0;
        let mut at = 0;
        while at + 8 <= data.len() {
            let type_ = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
            let size = u16::from_le_bytes(data[at + 6..at + 8].try_into().unwrap()) as usize;
            assert!(size >= 8, "record at {at} has size {size}");
            if type_ == RECORD_SAMPLE {
                // Later than every original record, in the original order.
                let mut rec = data[at..at + size].to_vec();
                let t = u64_at(&rec, time_at) + copy * LATER;
                rec[time_at..time_at + 8].copy_from_slice(&t.to_le_bytes());
                out.extend_from_slice(&rec);
                samples += 1;
            }
            at += size;
        }
    }
    (out, samples)
}

/// Folds every sample and records the allocations made since the previous one.
struct CountingSink {
    folder: Folder,
    last: u64,
    per_sample: Vec<u64>,
    /// Take pending frames (inline lookups on the worker thread).
    deferred: bool,
}

impl SampleSink for CountingSink {
    fn takes_pending_frames(&self) -> bool {
        self.deferred
    }
    fn resolve_deferred(&mut self, names: &Names) {
        self.folder.resolve_deferred(names);
    }
    fn sample(&mut self, s: &SampleView, names: &Names) -> io::Result<()> {
        self.folder.add(s, names);
        let now = allocs();
        let since = now - self.last;
        self.per_sample.push(since);
        // The push above may allocate; it is not part of the pipeline.
        self.last = allocs();
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn warm_samples_do_not_allocate() {
    let stack = "start_thread;deep_worker;deep_recurse";
    let immediate = warm_run("c-dwarf", stack, false);
    let deferred = warm_run("c-dwarf", stack, true);
    // Inline lookups on the worker thread fold to the same stacks.
    assert_eq!(immediate, deferred);
}

/// Signal frames: rows evaluated with gimli (the trampoline's expressions)
/// on every sample through the SIGPROF handler.
#[test]
fn warm_signal_frames_do_not_allocate() {
    let stack = "main;busy;[libc.so.6];on_prof;handler_work";
    assert_eq!(
        warm_run("unwind-dwarf", stack, false),
        warm_run("unwind-dwarf", stack, true)
    );
}

/// Runs the repeated stream of fixture `name`; asserts the warm samples
/// allocate nothing and that some folded stack contains `stack`, and
/// returns the folded lines.
fn warm_run(name: &str, stack: &str, deferred: bool) -> Vec<(String, u64)> {
    let case = common::fixture(name);
    let file = std::fs::read(case.join("perf.data")).unwrap();
    let (pipe, samples) = pipe_with_repeated_samples(&file);
    assert!(samples > 20, "the fixture has {samples} samples");
    let dir = common::scratch_dir(&format!("alloc-{name}-{deferred}"));
    let input = dir.join("repeated.pipe.data");
    std::fs::write(&input, &pipe).unwrap();

    let mut opts = Options::new(input);
    opts.symfs = Some(case.join("../sysroot"));
    opts.kallsyms = Some(case.join("kallsyms"));
    opts.buildid_dir = dir.join("no-build-id-cache");
    let mut sink = CountingSink {
        folder: Folder::new(None),
        last: 0,
        per_sample: Vec::with_capacity(8 * samples),
        deferred,
    };
    sink.last = allocs();
    perfold::run(&opts, &mut sink).expect("the stream reads");
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(sink.per_sample.len(), (1 + REPEATS as usize) * samples);
    let warm = &sink.per_sample[REPEATS as usize * samples..];
    let allocating: Vec<(usize, u64)> = warm
        .iter()
        .enumerate()
        .filter(|(_, &n)| n != 0)
        .map(|(i, &n)| (i, n))
        .collect();
    // The first pass did allocate (caches filled), so the counter works.
    assert!(sink.per_sample[..samples].iter().sum::<u64>() > 0);
    // The samples were unwound and symbolized (user frames of the workload).
    let lines = sink.folder.into_lines();
    assert!(
        lines.iter().any(|(s, _)| s.contains(stack)),
        "no stack with {stack} in {lines:?}"
    );
    assert!(
        allocating.is_empty(),
        "repeated samples allocated (deferred inlines: {deferred}; index, allocations): {allocating:?}"
    );
    lines
}
