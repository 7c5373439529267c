//! Golden parity on real arm64 recordings (tests/fixtures/aarch64, see its
//! recipe.sh): perfold, on any host, against the `perf script` text perf
//! 6.1 printed in the arm64 guest, and against inferno 0.12.8 run on that
//! text (expected/*.folded, *.svg). Expected files are only read here.
//!
//! One allowed difference, in the `-g` recordings: kernel frames inside
//! modules. The guest's perf read /proc/kcore and printed them as
//! `([kernel.kallsyms])`; offline (no kcore) perf 6.1 prints the module map,
//! e.g. `([ext4])`, and so does perfold (docs/parity.md). The comparison maps
//! perfold's module names back to `[kernel.kallsyms]` and checks that no
//! other byte differs.

mod common;
use common::{first_difference, perfold_command};

use std::path::{Path, PathBuf};

const RECORDINGS: [&str; 6] = [
    "c-fp.dwarf",
    "c-fp.fp",
    "c-nofp.dwarf",
    "c-nofp.fp",
    "cpp.dwarf",
    "cpp.fp",
];

/// The kernel modules with frames in these recordings.
const MODULES: [&str; 3] = ["ext4", "jbd2", "virtio_blk"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aarch64")
}

fn perfold(rec: &str, command: &str, extra: &[&str]) -> Vec<u8> {
    let input = format!("recordings/{rec}.perf.data");
    let mut args = vec![
        command,
        &input,
        "--symfs",
        "sysroot",
        "--kallsyms",
        "kallsyms",
    ];
    args.extend(extra);
    let out = perfold_command(&args, &dir())
        .output()
        .expect("perfold runs");
    assert!(
        out.status.success(),
        "{rec}: perfold {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "{rec}: stderr {:?}", out.stderr);
    out.stdout
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The perf text for `rec`: the default one if it was kept (it differs from
/// the --no-inline text), else the --no-inline one.
fn expected_script(rec: &str, inline: bool) -> Vec<u8> {
    let default = dir().join(format!("recordings/{rec}.perf.data.perf-script.txt"));
    if inline && default.is_file() {
        return std::fs::read(default).unwrap();
    }
    read(&format!(
        "recordings/{rec}.perf.data.perf-script-no-inline.txt"
    ))
}

/// perfold's module frames renamed as the guest printed them; returns the
/// text and how many frames were renamed.
fn as_guest_printed(text: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let mut renamed = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let mut done = false;
        for m in MODULES {
            let suffix = format!(" ([{m}])\n");
            if line.ends_with(suffix.as_bytes()) {
                out.extend_from_slice(&line[..line.len() - suffix.len()]);
                out.extend_from_slice(b" ([kernel.kallsyms])\n");
                renamed += 1;
                done = true;
                break;
            }
        }
        if !done {
            out.extend_from_slice(line);
        }
    }
    (out, renamed)
}

fn check_script(rec: &str, inline: bool) {
    let extra: &[&str] = if inline { &[] } else { &["--no-inline"] };
    let actual = perfold(rec, "perf-script", extra);
    let expected = expected_script(rec, inline);
    let (actual, renamed) = as_guest_printed(&actual);
    if rec.ends_with(".dwarf") {
        // No module frame in the DWARF recordings: byte for byte.
        assert_eq!(renamed, 0, "{rec}: module frames in a DWARF recording");
    }
    assert!(
        expected == actual,
        "{rec} perf-script{}: {}",
        if inline { "" } else { " --no-inline" },
        first_difference(&expected, &actual)
    );
}

#[test]
fn script_no_inline() {
    for rec in RECORDINGS {
        check_script(rec, false);
    }
}

/// Default perf-script, inline frames included (cpp.dwarf has 1925 of
/// them: PLT stubs only covered by the `$x` mapping symbol get none, as in
/// bfd's AArch64 backend, and templates with trailing empty packs are
/// spelled as libiberty spells them).
#[test]
fn script_default() {
    for rec in RECORDINGS {
        check_script(rec, true);
    }
}

/// The module renaming only ever touches frames of the `-g` recordings,
/// and exactly as many as the guest printed inside modules.
#[test]
fn module_frames_are_named_after_their_module() {
    let counts = [("c-fp.fp", 2), ("c-nofp.fp", 7), ("cpp.fp", 3)];
    for (rec, want) in counts {
        let actual = perfold(rec, "perf-script", &["--no-inline"]);
        assert_eq!(as_guest_printed(&actual).1, want, "{rec}");
    }
}

fn check_inferno(rec: &str, command: &str, file: &str, extra: &[&str]) {
    let expected = read(&format!("expected/{file}"));
    let actual = perfold(rec, command, extra);
    assert!(
        expected == actual,
        "{rec} {command} {extra:?}: {}",
        first_difference(&expected, &actual)
    );
}

#[test]
fn fold_and_flamegraph() {
    for rec in RECORDINGS {
        check_inferno(rec, "fold", &format!("{rec}.folded"), &[]);
        check_inferno(rec, "flamegraph", &format!("{rec}.svg"), &[]);
    }
}

#[test]
fn fold_no_inline() {
    for rec in RECORDINGS {
        let file = if rec.ends_with(".dwarf") {
            format!("{rec}.no-inline.folded")
        } else {
            format!("{rec}.folded")
        };
        check_inferno(rec, "fold", &file, &["--no-inline"]);
    }
}
