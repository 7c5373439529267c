//! Helpers shared by the integration tests: running the perfold binary,
//! scratch directories and an empty HOME, the first differing line of two
//! outputs, tools a test needs, and perf.data byte access independent of
//! perfold's reader. Each test file uses what it needs (`mod common;`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The committed fixtures directory, or a case in it.
pub fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
}

/// A scratch directory of this test process, `$TMP/perfold-<tag>-<pid>`,
/// created if needed.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfold-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// An empty HOME: no build-id cache and no perf config of the machine is read.
pub fn empty_home() -> PathBuf {
    scratch_dir("home")
}

/// The perfold binary with `args`, run in `cwd` with an empty HOME, and
/// `-j` replicas taking turns of one record where the output allows them to
/// share the samples (`PERFOLD_SPLIT_TURN`), so that every golden also
/// checks the split of even the smallest fixture; where one pipeline feeds
/// the sink thread, it hands over each item on its own
/// (`PERFOLD_SINK_BATCH`), so batches wait for inline answers.
pub fn perfold_command(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfold"));
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", empty_home())
        .env("PERFOLD_SPLIT_TURN", "1")
        .env("PERFOLD_SINK_BATCH", "1");
    cmd
}

/// Runs perfold to the end (stdin empty), capturing stdout and stderr.
pub fn run_perfold(args: &[&str], cwd: &Path) -> Output {
    perfold_command(args, cwd)
        .stdin(Stdio::null())
        .output()
        .expect("perfold runs")
}

/// Runs perfold like [`run_perfold`] and returns its stdout; a failing run
/// fails the test with perfold's stderr.
pub fn perfold_stdout(args: &[&str], cwd: &Path) -> Vec<u8> {
    perfold_stdout_with(args, cwd, &[])
}

/// [`perfold_stdout`] with more environment variables.
pub fn perfold_stdout_with(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Vec<u8> {
    let out = perfold_command(args, cwd)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("perfold runs");
    assert!(
        out.status.success(),
        "{}: perfold {} failed: {}",
        cwd.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The first differing line of an expected (perf/inferno) and an actual
/// (perfold) output, long lines cut to 300 characters, for a readable failure.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let e: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let a: Vec<&[u8]> = actual.split(|&b| b == b'\n').collect();
    let clip = |l: Option<&&[u8]>| {
        l.map(|l| {
            String::from_utf8_lossy(l)
                .chars()
                .take(300)
                .collect::<String>()
        })
    };
    for i in 0..e.len().max(a.len()) {
        if e.get(i) != a.get(i) {
            return format!(
                "line {}:\n  perf/inferno: {:?}\n  perfold:      {:?}",
                i + 1,
                clip(e.get(i)),
                clip(a.get(i))
            );
        }
    }
    "no line differs (lengths differ)".into()
}

/// Whether the tool `cmd` runs (`cmd --version`). A test may skip what needs
/// a missing tool, except when `PERFOLD_REQUIRE_TOOLS` is set (`.ci/run` sets
/// it): then a missing tool fails the test instead of passing it silently.
pub fn have_tool(cmd: &str) -> bool {
    let found = Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || !tools_required(),
        "{cmd} is missing and PERFOLD_REQUIRE_TOOLS is set: the test would be skipped"
    );
    found
}

/// Whether `path` exists; like [`have_tool`], fails under `PERFOLD_REQUIRE_TOOLS`
/// when it does not.
pub fn have_file(path: &Path) -> bool {
    let found = path.exists();
    assert!(
        found || !tools_required(),
        "{} is missing and PERFOLD_REQUIRE_TOOLS is set: the test would be skipped",
        path.display()
    );
    found
}

fn tools_required() -> bool {
    std::env::var_os("PERFOLD_REQUIRE_TOOLS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A little-endian u64 of a perf.data header.
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// (offset, size) of every record in a file-mode perf.data's data section,
/// read independently of perfold's reader.
pub fn record_offsets(data: &[u8]) -> Vec<(usize, usize)> {
    let (off, size) = (u64_at(data, 40) as usize, u64_at(data, 48) as usize);
    let mut at = off;
    let mut out = Vec::new();
    while at < off + size {
        let len = u16::from_le_bytes([data[at + 6], data[at + 7]]) as usize;
        out.push((at, len));
        at += len;
    }
    out
}

/// The cases under `tests/fixtures/<dir>` (each a folder holding a perf.data),
/// sorted; fails when fewer than `at_least` are found (a lost fixture tree).
pub fn fixture_cases(dir: &str, at_least: usize) -> Vec<PathBuf> {
    let root = fixture(dir);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("perf.data").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= at_least,
        "expected at least {at_least} fixtures under {}, found {cases:?}",
        root.display()
    );
    cases
}

/// The rows of a tab-separated case table under tests/fixtures (`rel`), each
/// split into its fields; `#` comment lines and empty lines are skipped.
pub fn tsv_rows(rel: &str) -> Vec<Vec<String>> {
    let path = fixture(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

/// Runs `run(case, command)` on every case and compares its output with the
/// case's `expected_file` (made by perf and inferno), byte for byte; one
/// failure line per case that differs.
#[allow(dead_code)] // each test binary compiles common/ but not all use this
pub fn check_goldens(
    command: &str,
    expected_file: &str,
    cases: &[PathBuf],
    run: impl Fn(&Path, &str) -> Vec<u8>,
) {
    let mut failures = Vec::new();
    for case in cases {
        let expected = std::fs::read(case.join(expected_file))
            .unwrap_or_else(|e| panic!("{}: {expected_file}: {e}", case.display()));
        let actual = run(case, command);
        if expected != actual {
            failures.push(format!(
                "{} ({command}): {}",
                case.file_name().unwrap().to_string_lossy(),
                first_difference(&expected, &actual)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
