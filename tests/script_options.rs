//! perf script's flags against the real perf: every case of
//! tests/fixtures/options/cases.tsv (fixture, command, arguments) runs
//! perfold as the case's recipe runs perf, and compares the bytes with
//! tests/fixtures/options/expected/<name> (made by perf 6.1 and
//! inferno-collapse-perf 0.12.8, see recipe.sh there). Cases perf refuses
//! (`perf-script-error`) must make perfold fail with perf's first message
//! line and print nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::first_difference;

struct Case {
    name: String,
    fixture: String,
    command: String,
    args: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn cases() -> Vec<Case> {
    let cases: Vec<Case> = common::tsv_rows("options/cases.tsv")
        .into_iter()
        .map(|f| Case {
            name: f[0].clone(),
            fixture: f[1].clone(),
            command: f[2].clone(),
            args: f[3..].to_vec(),
        })
        .collect();
    assert!(
        cases.len() >= 60,
        "expected the option cases, found {}",
        cases.len()
    );
    cases
}

/// Runs perfold for one case; (status ok, stdout, stderr).
fn run(case: &Case, tmp: &Path) -> (bool, Vec<u8>, String) {
    let dir = root().join(&case.fixture);
    let mut data = PathBuf::from("perf.data");
    if case.args.iter().any(|a| a.starts_with("--header")) {
        // perf prints the file's mtime: a copy with the recipe's mtime.
        let copy = tmp.join(format!("{}.data", case.name));
        std::fs::copy(dir.join("perf.data"), &copy).unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
        std::fs::File::options()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_modified(t)
            .unwrap();
        data = copy;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_perfold"))
        .arg(case.command.replace("-error", ""))
        .arg("-i")
        .arg(&data)
        .args(["--symfs", "../sysroot", "--kallsyms", "kallsyms"])
        .args(&case.args)
        .current_dir(&dir)
        .env("HOME", tmp)
        .env("TZ", "UTC")
        .env("PERFOLD_SPLIT_TURN", "1")
        .output()
        .expect("perfold runs");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_flag_case_matches_perf() {
    let tmp = std::env::temp_dir().join(format!("perfold-options-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut failures = Vec::new();
    for case in cases() {
        let expected = std::fs::read(root().join("options/expected").join(&case.name))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let (ok, stdout, stderr) = run(&case, &tmp);
        if case.command.ends_with("-error") {
            let perf_says = String::from_utf8_lossy(&expected);
            let first = perf_says.lines().next().unwrap_or("");
            if ok || !stdout.is_empty() || !stderr.contains(first) {
                failures.push(format!(
                    "{}: perf refuses with {first:?}; perfold: success={ok}, stderr {stderr:?}",
                    case.name
                ));
            }
            continue;
        }
        if !ok {
            failures.push(format!("{}: perfold failed: {stderr}", case.name));
        } else if stdout != expected {
            failures.push(format!(
                "{} ({} {}): {}",
                case.name,
                case.command,
                case.args.join(" "),
                first_difference(&expected, &stdout)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
