//! `-j N` never changes the output: every golden fixture (tests/fixtures,
//! tests/fixtures/foreign, where synth-kernel-map-short needs every replica
//! to load the kernel's map at the same sample) and every flag case of
//! tests/fixtures/options/cases.tsv, run at `-j 1`, `-j 2` and `-j 8`, gives
//! the bytes perf 6.1 and inferno 0.12.8 gave (the same expected files
//! parity.rs, foreign.rs and script_options.rs compare with).

mod common;
use common::{check_goldens, first_difference, perfold_stdout_with};

use std::path::{Path, PathBuf};

/// `-j` values, each with the records per replica turn
/// (`PERFOLD_SPLIT_TURN`, empty: the default): turns of one record or a few
/// make the replicas share even the smallest fixture. The same number is
/// the sink thread's batch size (`PERFOLD_SINK_BATCH`), so that batches wait
/// for inline answers where one pipeline feeds that thread.
const JOBS: [(&str, &str); 4] = [("1", ""), ("2", ""), ("2", "1"), ("8", "3")];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// perfold on a fixture with the arguments its recipe gives perf.
fn perfold(case: &Path, command: &str, extra: &[&str], (jobs, turn): (&str, &str)) -> Vec<u8> {
    let mut args: Vec<&str> = command.split(' ').collect();
    args.extend(["perf.data", "-j", jobs]);
    args.extend(extra);
    perfold_stdout_with(
        &args,
        case,
        &[("PERFOLD_SPLIT_TURN", turn), ("PERFOLD_SINK_BATCH", turn)],
    )
}

fn check_main(command: &str, expected: &str, only_with: Option<&str>) {
    let cases: Vec<PathBuf> = common::fixture_cases("", 4)
        .into_iter()
        .filter(|c| only_with.is_none_or(|f| c.join(f).is_file()))
        .collect();
    for jobs in JOBS {
        check_goldens(command, expected, &cases, |case, command| {
            let extra = ["--symfs", "../sysroot", "--kallsyms", "kallsyms"];
            perfold(case, command, &extra, jobs)
        });
    }
}

#[test]
fn perf_script_is_the_same_at_any_jobs() {
    check_main("perf-script", "expected.script", None);
    check_main(
        "perf-script --no-inline",
        "expected.noinline",
        Some("expected.noinline"),
    );
}

#[test]
fn fold_is_the_same_at_any_jobs() {
    check_main("fold", "expected.folded", None);
}

#[test]
fn flamegraph_is_the_same_at_any_jobs() {
    check_main("flamegraph", "expected.svg", None);
}

#[test]
fn foreign_recordings_are_the_same_at_any_jobs() {
    let cases = common::fixture_cases("foreign", 11);
    for jobs in JOBS {
        for (command, expected) in [
            ("perf-script", "expected.script"),
            ("fold", "expected.folded"),
        ] {
            check_goldens(command, expected, &cases, |case, command| {
                let args = std::fs::read_to_string(case.join("args")).expect("args");
                let extra: Vec<&str> = args.split_whitespace().collect();
                perfold(case, command, &extra, jobs)
            });
        }
    }
}

/// The flag cases perf accepts (fields, filters, side-band events, time
/// ranges, callchain options, inferno's flags), each at every `-j`.
#[test]
fn every_flag_case_is_the_same_at_any_jobs() {
    let tmp = std::env::temp_dir().join(format!("perfold-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut failures = Vec::new();
    let mut ran = 0;
    for f in common::tsv_rows("options/cases.tsv") {
        let (name, fixture, command, args) = (f[0].as_str(), f[1].as_str(), f[2].as_str(), &f[3..]);
        if command.ends_with("-error") {
            continue;
        }
        let dir = root().join(fixture);
        let mut data = PathBuf::from("perf.data");
        if args.iter().any(|a| a.starts_with("--header")) {
            // perf prints the file's mtime: a copy with the recipe's mtime.
            data = tmp.join(format!("{name}.data"));
            std::fs::copy(dir.join("perf.data"), &data).unwrap();
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
            let file = std::fs::File::options().write(true).open(&data).unwrap();
            file.set_modified(t).unwrap();
        }
        let expected = std::fs::read(root().join("options/expected").join(name)).unwrap();
        for (jobs, turn) in JOBS {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_perfold"))
                .arg(command)
                .arg("-i")
                .arg(&data)
                .args([
                    "--symfs",
                    "../sysroot",
                    "--kallsyms",
                    "kallsyms",
                    "-j",
                    jobs,
                ])
                .args(args)
                .current_dir(&dir)
                .env("HOME", &tmp)
                .env("TZ", "UTC")
                .env("PERFOLD_SPLIT_TURN", turn)
                .env("PERFOLD_SINK_BATCH", turn)
                .output()
                .expect("perfold runs");
            ran += 1;
            if out.stdout != expected || !out.status.success() {
                failures.push(format!(
                    "{name} -j {jobs} (turn {turn:?}): {}",
                    first_difference(&expected, &out.stdout)
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(ran >= 200, "expected the flag cases, ran {ran}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
