//! Hardware-sampling recordings (issue 12): LBR call graphs, memory-sampling
//! fields, branch stacks and AUX trace data, from real files recorded elsewhere
//! and synthetic ones (tests/fixtures/hw/README.md). Each case is compared
//! byte for byte with what perf 6.1 and inferno 0.12.8 produced for it
//! (tests/fixtures/hw/recipe.sh); this test never writes an expected file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{empty_home, first_difference};

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hw")
        .join(case)
}

/// The case's `perf script` options (`--symfs`, `--kallsyms`, `--no-itrace`).
fn shared_args(case: &str) -> Vec<String> {
    let args = std::fs::read_to_string(case_dir(case).join("perf-args")).unwrap_or_default();
    args.split_whitespace().map(String::from).collect()
}

/// Runs perfold in the case's directory with a HOME that holds no build-id cache,
/// as the recipe runs perf.
/// (At the default `-j`, all cores, in turns of one record: where the
/// output allows it, the replicas share even these small files.)
fn perfold(case: &str, command: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perfold"))
        .args(command.split(' '))
        .arg("perf.data")
        .args(shared_args(case))
        .current_dir(case_dir(case))
        .env("HOME", empty_home())
        .env("PERFOLD_SPLIT_TURN", "1")
        .output()
        .expect("perfold runs")
}

/// perf-script, fold and flamegraph of each case against its goldens.
fn check(cases: &[&str]) {
    let mut failures = Vec::new();
    for case in cases {
        for (command, file) in [
            ("perf-script", "expected.script"),
            ("fold", "expected.folded"),
            ("flamegraph", "expected.svg"),
        ] {
            let expected = std::fs::read(case_dir(case).join(file))
                .unwrap_or_else(|e| panic!("{case}: {file}: {e}"));
            let out = perfold(case, command);
            // Text that folds to nothing: inferno-flamegraph writes its "No
            // stack counts found" SVG and fails, as perfold does.
            let empty_graph = command == "flamegraph"
                && std::fs::read(case_dir(case).join("expected.folded"))
                    .is_ok_and(|f| f.is_empty());
            if empty_graph {
                let stderr = String::from_utf8_lossy(&out.stderr);
                if out.status.success()
                    || stderr != "perfold: perf.data: No stack counts found: the recording has no samples to draw\n"
                {
                    failures.push(format!("{case} ({command}): exit {}, {stderr}", out.status));
                }
            } else if !out.status.success() {
                failures.push(format!(
                    "{case} ({command}): failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            if (out.status.success() || empty_graph) && out.stdout != expected {
                failures.push(format!(
                    "{case} ({command}): {}",
                    first_difference(&expected, &out.stdout)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Branch stacks (`-b`, `-j any_call`, with and without hw_idx, hardware and
/// raw events): perf 6.1's default fields print nothing of them; the samples
/// still parse past the stack.
#[test]
fn branch_stack_recordings_match_perf() {
    check(&[
        "pdc-branch",
        "pdc-branch-hw-index",
        "syn-brstack-any",
        "syn-brstack-raw-hw-index",
    ]);
}

/// A hardware event with ADDR, DATA_SRC, WEIGHT and PHYS_ADDR: perf's default
/// fields for hardware events print none of them.
#[test]
fn memory_fields_of_hardware_events_are_not_printed() {
    check(&["syn-mem-hardware"]);
}

/// Intel PT: the AUXTRACE records' trailing trace bytes are skipped, every
/// other sample printed as `perf script --no-itrace` prints it, and one stderr
/// line says what was not decoded.
#[test]
fn aux_trace_recordings_match_perf_without_decoding() {
    check(&["pdc-intel-pt"]);
    for command in ["perf-script", "fold", "flamegraph"] {
        let out = perfold("pdc-intel-pt", command);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "perfold: perf.data: Intel PT trace data not decoded (2 AUXTRACE records, \
             149968 bytes skipped); the other samples are printed as `perf script \
             --no-itrace` prints them\n",
            "{command}"
        );
    }
}

/// Pipe mode: the trace bytes follow each AUXTRACE record in the stream. perf
/// 6.1 cannot read this file (`bad event header size`), so there is no golden:
/// perfold prints the same samples from a path and from a pipe, and its line.
#[test]
fn piped_aux_trace_is_skipped_in_a_stream() {
    let dir = case_dir("pdc-piped-intel-pt");
    let from_path = perfold("pdc-piped-intel-pt", "perf-script");
    let from_pipe = Command::new(env!("CARGO_BIN_EXE_perfold"))
        .args(["perf-script", "-"])
        .stdin(std::fs::File::open(dir.join("perf.data")).unwrap())
        .current_dir(&dir)
        .env("HOME", empty_home())
        .output()
        .unwrap();
    for (out, name) in [(&from_path, "perf.data"), (&from_pipe, "-")] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "perfold: {name}: Intel PT trace data not decoded (2 AUXTRACE records, \
                 144592 bytes skipped); the other samples are printed as `perf script \
                 --no-itrace` prints them\n"
            )
        );
    }
    assert_eq!(from_path.stdout, from_pipe.stdout);
    let text = String::from_utf8_lossy(&from_path.stdout);
    assert_eq!(text.lines().filter(|l| l.contains(" cycles: ")).count(), 11);
}

/// A file without AUX data says nothing on stderr.
#[test]
fn no_aux_message_without_aux_data() {
    let out = perfold("pdc-branch", "perf-script");
    assert!(out.status.success() && out.stderr.is_empty());
}

/// `--call-graph lbr`: the kernel part of the callchain, then the user part
/// from the LBR call stack (a real perf 5.4 recording whose first samples have
/// empty stacks, and synthetic ones with and without hw_idx: hypervisor
/// markers, no user marker, an unknown marker, unmapped branch addresses).
#[test]
fn lbr_call_graphs_match_perf() {
    check(&["syn-lbr", "syn-lbr-hw-index"]);
}

/// Memory sampling of raw events: addr, decoded data source, weight,
/// instruction latency, phys addr and page sizes, each only when the first
/// raw event samples it; with a callchain, the phys addr line that leaves
/// inferno's stack open.
#[test]
fn memory_sampling_fields_match_perf() {
    check(&[
        "pdc-weight-struct",
        "syn-mem-raw",
        "syn-mem-weight-struct",
        "syn-mem-weight-only",
        "syn-mem-callchain",
    ]);
}

/// `-F` on the hardware fixtures (tests/fixtures/hw/fields.tsv): branch stacks
/// (`brstack`, `brstacksym`, `brstackoff`), the memory fields, `iregs`,
/// `insn`/`insnlen`, against perf 6.1's output in fields/<name>. A case perf
/// refuses (fields/<name>.error) must make perfold fail with perf's first line
/// and print nothing.
#[test]
fn field_cases_match_perf() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hw");
    let mut failures = Vec::new();
    let mut count = 0;
    for f in common::tsv_rows("hw/fields.tsv") {
        let (name, case, args) = (f[0].as_str(), f[1].as_str(), &f[2..]);
        count += 1;
        // At one thread and with the sink on its own thread (`-j`): the
        // extra fields travel to the sink thread with each sample.
        for jobs in ["1", "2", "8"] {
            let out = Command::new(env!("CARGO_BIN_EXE_perfold"))
                .args(["perf-script", "-j", jobs, "-i", "perf.data"])
                .args(shared_args(case))
                .args(args)
                .current_dir(case_dir(case))
                .env("HOME", empty_home())
                .env("PERFOLD_SPLIT_TURN", "1")
                .output()
                .expect("perfold runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            if let Ok(error) =
                std::fs::read_to_string(dir.join("fields").join(format!("{name}.error")))
            {
                let first = error.lines().next().unwrap_or("");
                if out.status.success() || !out.stdout.is_empty() || !stderr.contains(first) {
                    failures.push(format!(
                        "{name}: perf refuses with {first:?}; perfold: {stderr:?}"
                    ));
                }
                continue;
            }
            let expected = std::fs::read(dir.join("fields").join(name)).unwrap();
            if !out.status.success() {
                failures.push(format!("{name}: perfold failed: {stderr}"));
            } else if out.stdout != expected {
                failures.push(format!(
                    "{name} ({case} {}, -j {jobs}): {}",
                    args.join(" "),
                    first_difference(&expected, &out.stdout)
                ));
            }
        }
    }
    assert!(count >= 25, "fields.tsv: {count} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Branch flags of every kind, kernel and unmapped branch addresses and
/// interrupt registers: perf's default fields print none of them.
#[test]
fn branch_flags_and_interrupt_registers_by_default() {
    check(&["syn-brstack-flags-iregs"]);
}
