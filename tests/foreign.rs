//! Recordings made elsewhere (tests/fixtures/foreign/, sources and licences in
//! its README.md): public test files of other profiling tools, recorded by
//! perf 3.2 to 6.12 on other machines, and synthetic files made from this
//! repository's fixtures with another byte order or header version. Each case
//! is compared byte for byte with what perf 6.1 and inferno 0.12.8 printed for
//! it (`make-goldens.sh`), run with the options in the case's `args` file.

use std::path::{Path, PathBuf};

mod common;
use common::{check_goldens, fixture_cases, perfold_command, perfold_stdout};

fn cases() -> Vec<PathBuf> {
    fixture_cases("foreign", 11)
}

fn perfold(case: &Path, command: &str) -> Vec<u8> {
    let args = std::fs::read_to_string(case.join("args"))
        .unwrap_or_else(|e| panic!("{}: args: {e}", case.display()));
    let mut argv = vec![command, "perf.data"];
    argv.extend(args.split_whitespace());
    perfold_stdout(&argv, case)
}

fn check(command: &str, expected_file: &str) {
    check_goldens(command, expected_file, &cases(), perfold);
}

#[test]
fn foreign_perf_script_matches_perf() {
    check("perf-script", "expected.script");
}

#[test]
fn foreign_fold_matches_inferno_collapse_perf() {
    check("fold", "expected.folded");
}

#[test]
fn foreign_flamegraph_matches_inferno_flamegraph() {
    check("flamegraph", "expected.svg");
}

/// `--verbose` names the kernel whose recorded build-id is not this
/// machine's (perf only says "No kallsyms or vmlinux with build-id ... was
/// found"); its frames print `[unknown]` under the recorded vmlinux path.
#[test]
fn verbose_names_the_kernel_with_another_build_id() {
    let case = cases()
        .into_iter()
        .find(|c| c.ends_with("synth-kernel-vmlinux-row"))
        .expect("the synth-kernel-vmlinux-row fixture");
    let home = common::empty_home();
    let out = perfold_command(&["perf-script", "--verbose", "perf.data"], &case)
        .env("HOME", &home)
        .output()
        .expect("perfold runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = "perfold: 13 samples with frames without a symbol; by DSO:\n\
         \x20 /lib/modules/3.8.11/build/vmlinux: 13 of 13 frames without a symbol\n\
         \x20   build-id mismatch: recorded build-id 635d9e4f686bf3b5adf08d7a735a5260899b17a6 \
         is not this machine's kernel (";
    assert!(stderr.starts_with(expected), "{stderr}");
    let tail = format!(
        "), and {}/.debug/[kernel.kallsyms] holds no kallsyms of it\n",
        home.display()
    );
    assert!(stderr.ends_with(&tail), "{stderr}");
}

/// `--verbose` names a user DSO whose file under `--symfs` has another
/// build-id than the one recorded: perf (`symsrc__init`'s build-id check)
/// does not use it and prints its frames `[unknown]`, and so does perfold.
/// Here `c-fp` is recorded and the symfs holds the `c-nofp` build under its
/// name.
#[test]
fn verbose_names_the_dso_with_another_build_id() {
    let fixtures = common::fixture("");
    let symfs = common::scratch_dir("mismatch-symfs");
    let bin = symfs.join("tmp/perfold-fx/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(
        fixtures.join("sysroot/tmp/perfold-fx/bin/c-nofp"),
        bin.join("c-fp"),
    )
    .unwrap();
    let symfs_arg = symfs.to_str().unwrap();
    let out = perfold_command(
        &[
            "perf-script",
            "--verbose",
            "perf.data",
            "--symfs",
            symfs_arg,
            "--kallsyms",
            "kallsyms",
        ],
        &fixtures.join("c-fp"),
    )
    .output()
    .expect("perfold runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = "  /tmp/perfold-fx/bin/c-fp: 1087 of 1087 frames without a symbol\n\
         \x20   recorded build-id bdf8656acdd541b44b55f9929724370af9985ee1\n";
    assert!(stderr.contains(expected), "{stderr}");
    let mismatch = format!(
        "    {symfs_arg}//tmp/perfold-fx/bin/c-fp: build-id mismatch: \
         another build of this file, not used\n"
    );
    assert!(stderr.contains(&mismatch), "{stderr}");
    // No symbol of the other build is printed.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let frames: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with(" (/tmp/perfold-fx/bin/c-fp)"))
        .collect();
    assert_eq!(frames.len(), 1087);
    assert!(
        frames.iter().all(|l| l.contains(" [unknown] (")),
        "{frames:?}"
    );
}
