//! Golden parity: every fixture under tests/fixtures/<case>/ against the
//! outputs real perf 6.1 and inferno 0.12.8 produced for it (see each
//! case's recipe.sh). Byte for byte; a missing expected file is a failure,
//! never something this test writes.

mod common;
use common::{check_goldens, first_difference, fixture_cases, perfold_stdout};

use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    fixture_cases("", 4)
}

/// Runs perfold on a fixture as its recipe runs perf: `--symfs ../sysroot
/// --kallsyms kallsyms`, with a HOME that holds no build-id cache.
fn perfold(case: &Path, command: &str) -> Vec<u8> {
    let mut args: Vec<&str> = command.split(' ').collect();
    args.extend([
        "perf.data",
        "--symfs",
        "../sysroot",
        "--kallsyms",
        "kallsyms",
    ]);
    perfold_stdout(&args, case)
}

fn check(command: &str, expected_file: &str) {
    check_cases(command, expected_file, fixtures());
}

fn check_cases(command: &str, expected_file: &str, cases: Vec<PathBuf>) {
    check_goldens(command, expected_file, &cases, perfold);
}

#[test]
fn perf_script_matches_perf() {
    check("perf-script", "expected.script");
}

/// DWARF fixtures also carry perf's `--no-inline` text.
#[test]
fn perf_script_no_inline_matches_perf() {
    let dwarf: Vec<PathBuf> = fixtures()
        .into_iter()
        .filter(|c| c.join("expected.noinline").is_file())
        .collect();
    assert!(
        dwarf.len() >= 4,
        "expected the DWARF fixtures, found {dwarf:?}"
    );
    check_cases("perf-script --no-inline", "expected.noinline", dwarf);
}

#[test]
fn fold_matches_inferno_collapse_perf() {
    check("fold", "expected.folded");
}

#[test]
fn flamegraph_matches_inferno_flamegraph() {
    check("flamegraph", "expected.svg");
}

/// perfold's restatement of inferno-collapse-perf's line rules (used for
/// samples whose text has an unusual shape, e.g. tracepoints) folds perf's
/// own text of every fixture into inferno's exact output.
#[test]
fn inferno_line_rules_fold_perf_text_like_inferno() {
    use perfold::LineFolder;
    for case in fixtures() {
        // A fixture whose expected.folded is inferno on perf's text with its
        // event lines made readable (an inferno deviation of docs/parity.md)
        // has no golden of inferno's reading of the text itself.
        let recipe = std::fs::read_to_string(case.join("recipe.sh")).unwrap_or_default();
        if recipe.contains("fix-event-lines.py") {
            continue;
        }
        let text = std::fs::read(case.join("expected.script")).unwrap();
        let text = String::from_utf8_lossy(&text);
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        let (mut folder, mut filter) = (LineFolder::default(), None);
        // Feed sample by sample, as perfold does.
        for sample in text.split_inclusive("\n\n") {
            folder.feed(sample, &mut filter, &mut |s, w| {
                *counts.entry(s).or_default() += w
            });
        }
        let folded: String = counts.iter().map(|(s, w)| format!("{s} {w}\n")).collect();
        let expected = std::fs::read_to_string(case.join("expected.folded")).unwrap();
        assert!(
            folded == expected,
            "{}: {}",
            case.display(),
            first_difference(expected.as_bytes(), folded.as_bytes())
        );
    }
}
