//! Replays every `tests/fixtures/bad/*.data` file (fuzzer findings and
//! hand-made hostile inputs, see docs/reliability.md) through the binary,
//! with `perf-script`, `fold` and `flamegraph`.
//!
//! For each run: no panic (exit code not 101, no "panicked" on stderr), no
//! hang (60 s), and either success or exit 1 with exactly one stderr line.
//! When `<name>.expected` exists beside the file, the stderr of
//! `perf-script` and `fold` must be that line byte for byte (both read the
//! same records, so the same line); an empty `.expected` means they must
//! succeed with nothing on stderr. `flamegraph` is held to the first rules
//! only: it also fails, with its own line, when there is nothing to draw.
//! Runs use an empty `--symfs` and `HOME`, so no file of the machine is read
//! for symbols.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

const TIME_LIMIT: Duration = Duration::from_secs(60);

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

fn scratch() -> PathBuf {
    let dir = common::scratch_dir("bad-fixtures");
    std::fs::create_dir_all(dir.join("symfs")).unwrap();
    dir
}

struct Outcome {
    code: Option<i32>,
    stderr: String,
    timed_out: bool,
}

/// Runs `perfold <command> --symfs <empty> <name>` in the fixtures
/// directory; stdout is discarded, stderr kept.
fn run(command: &str, name: &str, scratch: &Path) -> Outcome {
    let symfs = scratch.join("symfs");
    let symfs = symfs.to_str().expect("a UTF-8 temp dir");
    let mut child = common::perfold_command(&[command, "--symfs", symfs, name], &bad_dir())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        stderr.read_to_end(&mut s).unwrap();
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            timed_out = true;
            child.kill().unwrap();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Outcome {
        code: status.code(),
        stderr: String::from_utf8_lossy(&reader.join().unwrap()).into_owned(),
        timed_out,
    }
}

/// What is wrong with one run, if anything.
fn check(name: &str, command: &str, out: &Outcome, expected: Option<&str>) -> Option<String> {
    let what = format!("{command} {name}");
    if out.timed_out {
        return Some(format!("{what}: still running after {TIME_LIMIT:?}"));
    }
    if out.code == Some(101) || out.stderr.contains("panicked") {
        let first = out.stderr.lines().find(|l| !l.is_empty()).unwrap_or("");
        return Some(format!("{what}: panicked: {first}"));
    }
    match out.code {
        Some(0) | Some(1) => {}
        other => return Some(format!("{what}: exit status {other:?}: {:?}", out.stderr)),
    }
    if out.code == Some(1) {
        let lines = out.stderr.lines().count();
        if lines != 1 || !out.stderr.ends_with('\n') {
            return Some(format!(
                "{what}: failed with {lines} stderr lines: {:?}",
                out.stderr
            ));
        }
    }
    if let Some(expected) = expected {
        if out.stderr != expected {
            return Some(format!(
                "{what}: exit {:?}\n   stderr:   {:?}\n   expected: {expected:?}",
                out.code, out.stderr
            ));
        }
    }
    if out.code == Some(0) && !out.stderr.is_empty() {
        return Some(format!("{what}: succeeded with stderr {:?}", out.stderr));
    }
    None
}

#[test]
fn bad_fixtures_fail_cleanly() {
    let scratch = scratch();
    let mut names: Vec<String> = std::fs::read_dir(bad_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".data"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no tests/fixtures/bad/*.data files");
    let mut problems = Vec::new();
    for name in &names {
        let stem = name.strip_suffix(".data").unwrap();
        let expected = std::fs::read_to_string(bad_dir().join(format!("{stem}.expected"))).ok();
        for command in ["perf-script", "fold", "flamegraph"] {
            let out = run(command, name, &scratch);
            let expected = expected.as_deref().filter(|_| command != "flamegraph");
            problems.extend(check(name, command, &out, expected));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        problems.is_empty(),
        "{} problems with the {} bad fixtures:\n{}",
        problems.len(),
        names.len(),
        problems.join("\n")
    );
}
