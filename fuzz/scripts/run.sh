#!/usr/bin/env bash
# Runs one fuzz target: fuzz/scripts/run.sh TARGET [libFuzzer flags...]
# New inputs go to a working corpus outside the repo ($PERFOLD_FUZZ_WORK,
# default /dev/shm/perfold-fuzz-work/TARGET); the committed seeds in
# fuzz/corpus/TARGET are only read. Crashes land in fuzz/artifacts/TARGET.
# Stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# SANITIZER=none (default: address) builds without ASan, about twice as
# fast; each sanitizer has its own target dir so both can run at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=$1
shift
case $target in
  read_records | symbolize_elf) max_len=65536 ;;
  parse_sample) max_len=4096 ;;
  kallsyms) max_len=16384 ;;
  demangle) max_len=1024 ;;
  perf_map) max_len=16384 ;;
  tracing) max_len=65536 ;;
  unwind_stack) max_len=16384 ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
work=${PERFOLD_FUZZ_WORK:-/dev/shm/perfold-fuzz-work}/$target
mkdir -p "$work"
sanitizer=${SANITIZER:-address}
RUSTC_BOOTSTRAP=1 exec cargo fuzz run -s "$sanitizer" --target-dir "target/$sanitizer" -a "$target" \
  "$work" "corpus/$target" -- \
  -max_len=$max_len -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@"
