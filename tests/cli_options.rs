//! The flag goldens: every case of tests/fixtures/inferno-options/cases.txt, perfold
//! with the flags against what inferno 0.12.8 made with the same flags from
//! the text perf 6.1 printed for the fixture (tests/fixtures/inferno-options/recipe.sh).
//! Byte for byte; this test never writes an expected file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{first_difference, fixture, run_perfold};

fn fixtures() -> PathBuf {
    fixture("")
}

/// A fresh scratch directory (emptied first: `--cp` must find no palette.map).
fn tempdir(tag: &str) -> PathBuf {
    let dir = common::scratch_dir(&format!("options-{tag}"));
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Case {
    name: String,
    kind: String,
    case: String,
    perfold: Vec<String>,
    flame: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixtures().join("inferno-options/cases.txt")).unwrap();
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(f.len(), 7, "cases.txt line {l:?}");
            Case {
                name: f[0].into(),
                kind: f[1].into(),
                case: f[2].into(),
                perfold: f[3].split_whitespace().map(String::from).collect(),
                flame: f[6].into(),
            }
        })
        .collect();
    assert!(
        cases.len() >= 20,
        "expected the option cases, found {}",
        cases.len()
    );
    cases
}

fn perfold(dir: &Path, args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_perfold(&args, dir)
}

/// The kallsyms of two fixtures recorded on the same boot, for `perfold diff`.
fn merged_kallsyms(a: &str, b: &str) -> PathBuf {
    let mut lines: Vec<String> = [a, b]
        .iter()
        .flat_map(|c| {
            std::fs::read_to_string(fixtures().join(c).join("kallsyms"))
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort_by_key(|l| u64::from_str_radix(l.split(' ').next().unwrap_or("0"), 16).unwrap_or(0));
    lines.dedup();
    let path = tempdir(&format!("kallsyms-{a}-{b}")).join("kallsyms");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn run_case(c: &Case) -> Result<(), String> {
    let fx = fixtures();
    let (dir, mut args) = match c.kind.as_str() {
        "fold" | "svg" => {
            let sub = if c.kind == "fold" {
                "fold"
            } else {
                "flamegraph"
            };
            let mut args = vec![sub.to_string()];
            args.extend(c.perfold.iter().cloned());
            args.push("perf.data".into());
            args.extend(["--kallsyms".into(), "kallsyms".into()]);
            (fx.join(&c.case), args)
        }
        "diff" => {
            let (a, b) = c.case.split_once(',').unwrap();
            let mut args = vec!["diff".to_string()];
            args.extend(c.perfold.iter().cloned());
            args.push(format!("../{a}/perf.data"));
            args.push(format!("../{b}/perf.data"));
            args.push("--kallsyms".into());
            args.push(merged_kallsyms(a, b).display().to_string());
            (fx.join(a), args)
        }
        k => panic!("unknown kind {k}"),
    };
    args.extend(["--symfs".into(), "../sysroot".into()]);
    let ext = if c.kind == "fold" || (c.kind == "diff" && c.flame.is_empty()) {
        "folded"
    } else {
        "svg"
    };
    let expected = std::fs::read(fx.join("inferno-options").join(format!("{}.{ext}", c.name)))
        .map_err(|e| format!("{}: {e}", c.name))?;
    let out = perfold(&dir, &args);
    if !out.status.success() {
        return Err(format!(
            "{}: perfold {} failed: {}",
            c.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if out.stdout != expected {
        return Err(format!(
            "{}: perfold {} differs from inferno ({} bytes, expected {}): {}",
            c.name,
            args.join(" "),
            out.stdout.len(),
            expected.len(),
            first_difference(&expected, &out.stdout)
        ));
    }
    Ok(())
}

#[test]
fn every_option_case_matches_inferno() {
    let failures: Vec<String> = cases().iter().filter_map(|c| run_case(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `--cp` reads and writes ./palette.map as inferno-flamegraph does.
#[test]
fn consistent_palette_writes_inferno_palette_map() {
    let dir = tempdir("cp");
    let case = fixtures().join("c-fp");
    let args: Vec<String> = [
        "flamegraph",
        "--cp",
        case.join("perf.data").to_str().unwrap(),
        "--kallsyms",
        case.join("kallsyms").to_str().unwrap(),
        "--symfs",
        fixtures().join("sysroot").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = perfold(&dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let options = fixtures().join("inferno-options");
    assert!(out.stdout == std::fs::read(options.join("svg-cp.svg")).unwrap());
    assert!(
        std::fs::read(dir.join("palette.map")).unwrap()
            == std::fs::read(options.join("svg-cp.palette.map")).unwrap()
    );
}

/// The CLI conventions: version, alias, errors on a directory or a missing perf.data.
#[test]
fn cli_conventions() {
    let dir = tempdir("conventions");
    let run = |args: &[&str]| {
        perfold(
            &dir,
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    let v = run(&["--version"]);
    let v = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.contains("perf 6.1") && v.contains("inferno 0.12.8"),
        "{v}"
    );
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    assert!(help.contains("[alias: script]"), "{help}");
    let out = run(&["fold", "."]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "perfold: .: is a directory\n"
    );
    assert!(!out.status.success());
    let out = run(&["perf-script"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "perfold: perf.data: No such file or directory  (try 'perf record' first, or `perfold flamegraph -- COMMAND`)\n"
    );
    // A named file that is missing gets no hint.
    let out = run(&["perf-script", "-i", "nothing.data"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "perfold: nothing.data: No such file or directory (os error 2)\n"
    );
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("flamegraph")
        );
    }
    let man = run(&["man"]);
    assert!(String::from_utf8_lossy(&man.stdout).starts_with(".ie \\n(.g .ds Aq"));
}

/// cargo-flamegraph runs `$PERF script --force [--no-inline] -i FILE`.
#[test]
fn perf_script_accepts_force() {
    let case = fixtures().join("c-fp");
    let args: Vec<String> = [
        "script",
        "--force",
        "-i",
        "perf.data",
        "--kallsyms",
        "kallsyms",
        "--symfs",
        "../sysroot",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = perfold(&case, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == std::fs::read(case.join("expected.script")).unwrap());
}

/// Commands perfold does not implement run the real perf ($PERFOLD_PERF),
/// with the same arguments, stdin, stdout and exit status.
#[test]
fn other_commands_go_to_perf() {
    let dir = tempdir("delegate");
    let fake = dir.join("fake-perf");
    std::fs::write(&fake, "#!/bin/sh\necho \"args: $*\"\ncat\nexit 7\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_perfold"))
        .args(["record", "-F", "997", "--", "x y"])
        .env("PERFOLD_PERF", &fake)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "args: record -F 997 -- x y\nfrom stdin\n"
    );
}

/// `perfold flamegraph -- CMD` records with cargo-flamegraph's perf record
/// defaults into ./perf.data, then writes ./flamegraph.svg; `fold -- CMD`
/// prints the folded stacks. The "perf" here copies a fixture as the recording.
#[test]
fn one_step_records_with_cargo_flamegraph_defaults_then_draws() {
    let dir = tempdir("one-step");
    let case = fixtures().join("c-fp");
    let fake = dir.join("fake-perf");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$*\" >> perf-args\necho program output\n[ \"$6 $7\" = \"-g -o\" ] || exit 3\ncp {} \"$8\"\n",
            case.join("perf.data").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let common = |sub: &str| -> Vec<String> {
        vec![
            sub.into(),
            "--kallsyms".into(),
            case.join("kallsyms").display().to_string(),
            "--symfs".into(),
            fixtures().join("sysroot").display().to_string(),
            "--".into(),
            "./prog".into(),
            "arg 1".into(),
        ]
    };
    let run = |args: Vec<String>| {
        Command::new(env!("CARGO_BIN_EXE_perfold"))
            .args(args)
            .current_dir(&dir)
            .env("PERFOLD_PERF", &fake)
            .env("HOME", common::empty_home())
            .output()
            .unwrap()
    };
    let out = run(common("flamegraph"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "perfold: wrote flamegraph.svg\n"
    );
    // The recorded command's output: on stdout when the SVG goes to a file ...
    assert_eq!(String::from_utf8_lossy(&out.stdout), "program output\n");
    assert!(
        std::fs::read(dir.join("flamegraph.svg")).unwrap()
            == std::fs::read(case.join("expected.svg")).unwrap()
    );
    let out = run(common("fold"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == std::fs::read(case.join("expected.folded")).unwrap());
    // ... on stderr when perfold's result goes to stdout.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "program output\n");
    let mut attach = common("flamegraph");
    attach.truncate(5);
    attach.extend([
        "-p".into(),
        "42,43".into(),
        "-F".into(),
        "99".into(),
        "--call-graph".into(),
        "fp".into(),
        "-o".into(),
        "out.svg".into(),
    ]);
    let out = run(attach);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(dir.join("out.svg")).unwrap()
            == std::fs::read(case.join("expected.svg")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("perf-args")).unwrap(),
        "record -F 997 --call-graph dwarf,64000 -g -o perf.data -- ./prog arg 1\n\
         record -F 997 --call-graph dwarf,64000 -g -o perf.data -- ./prog arg 1\n\
         record -F 99 --call-graph fp -g -o perf.data -p 42,43\n"
    );
    // perf record failing stops the run with its status.
    let out = Command::new(env!("CARGO_BIN_EXE_perfold"))
        .args(["flamegraph", "--", "./prog"])
        .current_dir(&dir)
        .env("PERFOLD_PERF", "/bin/false")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "perfold: perf record failed (exit status 1): /bin/false record -F 997 --call-graph dwarf,64000 -g -o perf.data -- ./prog\n"
    );
}
