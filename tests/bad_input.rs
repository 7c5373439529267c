//! Bad input and the command line: exact one-line errors, exit status, and
//! output that stays valid up to the damage.

mod common;
use common::{perfold_command, record_offsets, run_perfold, scratch_dir};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::fixture;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("bad").join(name)
}

struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn perfold(args: &[&str], cwd: &Path) -> Run {
    let out = run_perfold(args, cwd);
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn missing_file_is_one_line() {
    let r = perfold(&["fold", "does-not-exist.data"], &std::env::temp_dir());
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        "perfold: does-not-exist.data: No such file or directory (os error 2)\n"
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn not_a_perf_data_file() {
    let path = scratch("text.data");
    std::fs::write(&path, "this is not a perf.data file, just text\n".repeat(4)).unwrap();
    let r = perfold(&["perf-script", path.to_str().unwrap()], Path::new("/"));
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        format!(
            "perfold: {}: offset 0: not a perf.data file (bad magic)\n",
            path.display()
        )
    );
}

#[test]
fn truncated_file_prints_what_came_before_then_the_cut() {
    let case = fixture("c-fp");
    let data = std::fs::read(case.join("perf.data")).unwrap();
    let records = record_offsets(&data);
    // Cut in the middle of a record about two thirds into the data.
    let (at, len) = records[records.len() * 2 / 3];
    let cut = at + len / 2;
    let path = scratch("truncated.data");
    std::fs::write(&path, &data[..cut]).unwrap();
    let p = path.to_str().unwrap();
    let r = perfold(
        &[
            "perf-script",
            p,
            "--symfs",
            "../sysroot",
            "--kallsyms",
            "kallsyms",
        ],
        &case,
    );
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        format!(
            "perfold: {p}: offset {at}: file is truncated: record of {len} bytes, {} left\n",
            cut - at
        )
    );
    // Everything printed is whole samples, each one a sample perf printed too
    // (its comm and frames may differ: records after the cut, such as the
    // exec's COMM and MMAPs written later from another CPU's buffer, are lost).
    let full = std::fs::read_to_string(case.join("expected.script")).unwrap();
    let out = String::from_utf8(r.stdout).unwrap();
    assert!(out.ends_with("\n\n"), "output ends inside a sample");
    let blocks: Vec<&str> = out.split_terminator("\n\n").collect();
    assert!(
        blocks.len() > 10,
        "only {} samples before the cut",
        blocks.len()
    );
    for b in blocks {
        // "<comm> <tid> <time>: <period> <event>:" - the comm may be an
        // older one too, when the COMM record was after the cut.
        let header = b.lines().next().unwrap();
        let after_comm = header.split_once(' ').unwrap().1;
        assert!(
            full.contains(after_comm),
            "sample not in perf's output: {header}"
        );
    }
}

#[test]
fn zero_data_size_is_reported() {
    let case = fixture("c-fp");
    let mut data = std::fs::read(case.join("perf.data")).unwrap();
    data[48..56].copy_from_slice(&0u64.to_le_bytes());
    let path = scratch("zero-size.data");
    std::fs::write(&path, &data).unwrap();
    let p = path.to_str().unwrap();
    let r = perfold(&["fold", p], &case);
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        format!("perfold: {p}: offset 40: the data size field is 0 (was perf record properly terminated?)\n")
    );
}

#[test]
fn closed_stdout_exits_quietly() {
    let case = fixture("c-fp");
    let mut child = perfold_command(
        &[
            "perf-script",
            "perf.data",
            "--symfs",
            "../sysroot",
            "--kallsyms",
            "kallsyms",
        ],
        &case,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn reads_standard_input() {
    let case = fixture("c-fp");
    let file = std::fs::File::open(case.join("perf.data")).unwrap();
    let out = perfold_command(
        &[
            "fold",
            "-",
            "--symfs",
            "../sysroot",
            "--kallsyms",
            "kallsyms",
        ],
        &case,
    )
    .stdin(file)
    .output()
    .unwrap();
    assert!(out.status.success());
    let expected = std::fs::read(case.join("expected.folded")).unwrap();
    assert!(
        out.stdout == expected,
        "folded stacks from standard input differ from inferno's"
    );
}

#[test]
fn full_disk_is_a_clear_error() {
    let case = fixture("c-fp");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = perfold_command(
        &[
            "perf-script",
            "perf.data",
            "--symfs",
            "../sysroot",
            "--kallsyms",
            "kallsyms",
        ],
        &case,
    )
    .stdout(full)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "perfold: write error: No space left on device (os error 28)\n"
    );
}

#[test]
fn unwritable_output_file_is_named() {
    let case = fixture("c-fp");
    let r = perfold(
        &[
            "flamegraph",
            "perf.data",
            "-o",
            "/nonexistent-dir/flame.svg",
        ],
        &case,
    );
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        "perfold: /nonexistent-dir/flame.svg: No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_recording_without_samples_draws_inferno_s_empty_graph_and_fails() {
    // A truncation right after the header's records: no sample survives.
    let case = fixture("c-fp");
    let data = std::fs::read(case.join("perf.data")).unwrap();
    let first = record_offsets(&data)[0].0;
    let mut empty = data[..first].to_vec();
    // Say the data section is empty but present (8 bytes of a FINISHED_ROUND).
    empty.extend_from_slice(&[68, 0, 0, 0, 0, 0, 8, 0]);
    empty[48..56].copy_from_slice(&8u64.to_le_bytes());
    // No feature sections (their table would follow the data section).
    empty[72..104].fill(0);
    let path = scratch("no-samples.data");
    std::fs::write(&path, &empty).unwrap();
    let p = path.to_str().unwrap();
    let r = perfold(&["flamegraph", p], &case);
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        format!("perfold: {p}: No stack counts found: the recording has no samples to draw\n")
    );
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("ERROR: No valid input provided to flamegraph")
    );
}

#[test]
fn verbose_reports_where_symbols_were_looked_for() {
    let case = fixture("cpp-fp");
    let r = perfold(
        &[
            "fold",
            "-v",
            "perf.data",
            "--symfs",
            "../sysroot",
            "--kallsyms",
            "kallsyms",
        ],
        &case,
    );
    assert_eq!(r.status, 0);
    // libstdc++ has only .dynsym in the fixture's sysroot: perf's search
    // order, and what was found at each place.
    let bid = "28/9ee39f8c07bd4fa48102dfeeb7e6f9c76158b4";
    let lib = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30";
    let expected = format!(
        "perfold: 144 samples with frames without a symbol; by DSO:\n\
         \x20 {lib}: 143 of 143 frames without a symbol\n\
         \x20   ../sysroot/.debug/.build-id/{bid}/elf: not there\n\
         \x20   ../sysroot/.debug/.build-id/{bid}/debug: not there\n\
         \x20   ../sysroot//usr/lib/debug{lib}.debug: not there\n\
         \x20   ../sysroot//usr/lib/debug{lib}: not there\n\
         \x20   ../sysroot//usr/lib/debug/.build-id/{bid}.debug: not there\n\
         \x20   ../sysroot/{lib}: used (.dynsym only: no full symbol table)\n\
         \x20   ../sysroot//usr/lib/x86_64-linux-gnu/.debug/libstdc++.so.6.0.30: not there\n\
         \x20   ../sysroot//usr/lib/debug/lib/x86_64-linux-gnu/libstdc++.so.6.0.30: not there\n\
         \x20 [unknown]: 1 frame at addresses no recorded mapping covers\n"
    );
    assert_eq!(r.stderr, expected);
}
