#!/usr/bin/env bash
# measure.sh [--isolated] [--perfold PATH] [--perf612 PATH] OUT FILE...
#
# Runs perf 6.1 (perf script | inferno-collapse-perf | inferno-flamegraph) and perfold
# (perf-script, fold, flamegraph) on perf.data files recorded elsewhere and prints one line
# per file: script/fold/svg identical (=), different (DIFF n lines) or failed (ERR).
# Outputs go to OUT/<name>.{perf,perfold}.{script,folded,svg,stderr}; where perf 6.1 refuses
# a file and --perf612 is given, OUT/<name>.perf612.script holds perf 6.12's text.
# Where perf 6.1 refuses a file with PERF_RECORD_COMPRESSED2, it also runs on the file rewritten
# with COMPRESSED records (rewrite-perf-data.py compressed1; OUT/<name>.perf-c1.script) and the
# note says whether perfold's text equals that.
#   --isolated   both tools run with --symfs EMPTY --kallsyms EMPTY (no DSO or kernel symbol
#                of this machine: the outputs no longer depend on the host)
# HOME is an empty directory (no build-id cache) and PERF_CONFIG=/dev/null.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
perfold=$here/../../target/release/perfold
perf612=
iso=()
while [ $# -gt 0 ]; do
  case $1 in
    --isolated) iso=(yes); shift ;;
    --perfold) perfold=$2; shift 2 ;;
    --perf612) perf612=$2; shift 2 ;;
    *) break ;;
  esac
done
out=${1:?usage: measure.sh [--isolated] OUT FILE...}; shift
mkdir -p "$out"
home=$(mktemp -d); empty=$(mktemp -d); : > "$empty/kallsyms"
trap 'rm -rf "$home" "$empty"' EXIT
opts=()
[ ${#iso[@]} -gt 0 ] && opts=(--symfs "$empty/root" --kallsyms "$empty/kallsyms") && mkdir -p "$empty/root"
cmp_count() { # A B -> "=" or "DIFF n"
  if cmp -s "$1" "$2"; then echo "="; else
    echo "DIFF$(diff <(tr '>' '\n' < "$1") <(tr '>' '\n' < "$2") | grep -c '^[<>]')"; fi
}
printf '%-52s %-9s %-9s %-9s %s\n' file script fold svg note
for f in "$@"; do
  n=$(basename "$f")
  o=$out/$n
  HOME=$home PERF_CONFIG=/dev/null timeout 120 perf script -i "$f" "${opts[@]}" > "$o.perf.script" 2> "$o.perf.stderr"
  ps=$?
  inferno-collapse-perf < "$o.perf.script" > "$o.perf.folded" 2>> "$o.perf.stderr"
  inferno-flamegraph < "$o.perf.folded" > "$o.perf.svg" 2>> "$o.perf.stderr"
  HOME=$home timeout 120 "$perfold" perf-script "$f" "${opts[@]}" > "$o.perfold.script" 2> "$o.perfold.stderr"
  qs=$?
  HOME=$home timeout 120 "$perfold" fold "$f" "${opts[@]}" > "$o.perfold.folded" 2>> "$o.perfold.stderr"
  HOME=$home timeout 120 "$perfold" flamegraph "$f" "${opts[@]}" > "$o.perfold.svg" 2>> "$o.perfold.stderr"
  note="perf=$ps perfold=$qs"
  if [ $ps != 0 ] && [ -n "$perf612" ]; then
    HOME=$home PERF_CONFIG=/dev/null timeout 120 "$perf612" script -i "$f" "${opts[@]}" > "$o.perf612.script" 2> "$o.perf612.stderr"
    note="$note perf612=$? ($(grep -c . < "$o.perf612.script") lines)"
  fi
  if [ $ps != 0 ] && python3 "$here/rewrite-perf-data.py" compressed1 "$f" "$home/c1.data" 2> /dev/null; then
    # COMPRESSED2 (perf 6.1 stops at type 83): perf 6.1 on the same records as COMPRESSED.
    HOME=$home PERF_CONFIG=/dev/null timeout 120 perf script -i "$home/c1.data" "${opts[@]}" > "$o.perf-c1.script" 2> "$o.perf-c1.stderr"
    note="$note compressed1=$? script:$(cmp_count "$o.perf-c1.script" "$o.perfold.script")"
  fi
  printf '%-52s %-9s %-9s %-9s %s\n' "$n" "$(cmp_count "$o.perf.script" "$o.perfold.script")" \
    "$(cmp_count "$o.perf.folded" "$o.perfold.folded")" "$(cmp_count "$o.perf.svg" "$o.perfold.svg")" "$note"
done
