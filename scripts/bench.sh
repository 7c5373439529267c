#!/usr/bin/env bash
# bench.sh [--min-mb N] [--freq F] [--keep DIR] [--data FILE]
#
# Times perfold side by side with the pipeline it replaces, on one recording, in one run:
#   perfold fold         vs  perf script | inferno-collapse-perf
#   perfold perf-script  vs  perf script
# and prints the wall-time ratio and the peak RSS of each (GNU time's %M; for the pipeline the
# larger of its two processes). The outputs are also compared byte for byte (perf-script text
# in a separate, untimed run).
#
# The recording is a `perf record -g` profile of a multi-process workload (the oracle
# workloads: C, C++ and Rust programs with threads plus shell pipelines, several at once),
# grown until the file holds at least --min-mb MB (default 100).
#   --min-mb N   minimum size of the recording in MB (default 100)
#   --freq F     sampling frequency (default 20000)
#   --keep DIR   work in DIR and keep it (default: a temporary directory, removed)
#   --data FILE  skip recording and use FILE
#   --dwarf      record with --call-graph dwarf (binaries without frame pointers) a Rust-heavy
#                round (perfold itself reading a ~100 MB recording, next to the C, C++ and
#                Rust workloads); perf script then adds inline frames (it runs addr2line), perfold
#                does too, in-process. Use --freq 4000 --min-mb 500 for the issue-5 table.
#   --fork-exec  record a fork/exec-heavy workload instead: thousands of short processes
#                (shell pipelines of sha256sum, gzip, sort, awk, wc) next to the programs
# Needs root (perf record), perf, inferno-collapse-perf, gcc, g++, rustc.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
min_mb=100
freq=20000
keep=
data=
forkexec=0
dwarf=0
while [ $# -gt 0 ]; do
  case $1 in
    --min-mb) min_mb=$2; shift 2 ;;
    --freq) freq=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --fork-exec) forkexec=1; shift ;;
    --dwarf) dwarf=1; shift ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

callgraph=-g
if [ "$dwarf" = 1 ]; then callgraph="--call-graph dwarf"; fi

if [ -n "$keep" ]; then
  work=$keep; mkdir -p "$work"
else
  work=$(mktemp -d /tmp/perfold-bench.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)

(cd "$root" && cargo build --release --quiet)
perfold=$root/target/release/perfold

if [ -z "$data" ]; then
  wl=$root/scripts/oracle/workloads
  mkdir -p "$work/bin"
  fp=-fno-omit-frame-pointer rfp=yes
  if [ "$dwarf" = 1 ]; then fp=-fomit-frame-pointer rfp=no; fi
  gcc -O2 -g -pthread $fp -o "$work/bin/c" "$wl/c_work.c"
  g++ -O2 -g -pthread $fp -o "$work/bin/cpp" "$wl/cpp_work.cpp"
  rustc -C force-frame-pointers=$rfp -g -O -o "$work/bin/rust" "$wl/rust_work.rs"
  cp "$wl/shell_work.sh" "$work/bin/shell.sh"
  data=$work/bench.data
  # One round: all workloads at once, as separate processes.
  if [ "$forkexec" = 1 ]; then
    cat > "$work/bin/round.sh" <<ROUND
#!/bin/sh
"$work/bin/c" >/dev/null &
i=0
while [ \$i -lt 150 ]; do
  seq 1 2000 | sha256sum | gzip -c | sort | awk '{ n += length(\$0) } END { print n }' | wc -c > /dev/null
  i=\$((i + 1))
done
wait
ROUND
  elif [ "$dwarf" = 1 ]; then
    # A Rust-heavy round: perfold itself (release, line tables and inline
    # info, thousands of inlined functions) reading a DWARF recording of the
    # C, C++ and Rust workloads (~100-200 MB), next to those workloads.
    cp "$perfold" "$work/bin/perfold-workload"
    perf record -q -e cpu-clock -F 4000 --call-graph dwarf -o "$work/input.data" -- \
      sh -c "$work/bin/c 2 & $work/bin/cpp 2 & $work/bin/rust 2 & wait" >/dev/null 2>&1
    cat > "$work/bin/round.sh" <<ROUND
#!/bin/sh
"$work/bin/perfold-workload" perf-script "$work/input.data" >/dev/null &
"$work/bin/perfold-workload" fold "$work/input.data" >/dev/null &
"$work/bin/c" >/dev/null & "$work/bin/cpp" >/dev/null & "$work/bin/rust" >/dev/null &
wait
ROUND
  else
    cat > "$work/bin/round.sh" <<ROUND
#!/bin/sh
"$work/bin/c" >/dev/null & "$work/bin/cpp" >/dev/null & "$work/bin/rust" >/dev/null &
sh "$work/bin/shell.sh" >/dev/null 2>&1 &
wait
ROUND
  fi
  chmod +x "$work/bin/round.sh"
  rounds=4
  while :; do
    # shellcheck disable=SC2086 # $callgraph is two words for dwarf
    perf record -q -e cpu-clock -F "$freq" $callgraph -o "$data" -- \
      sh -c "i=0; while [ \$i -lt $rounds ]; do $work/bin/round.sh; i=\$((i+1)); done" 2>/dev/null
    size_mb=$(( $(stat -c %s "$data") / 1000000 ))
    [ "$size_mb" -ge "$min_mb" ] && break
    rounds=$(( rounds * (min_mb + min_mb / 5) / (size_mb > 0 ? size_mb : 1) + 1 ))
  done
fi

size_mb=$(awk -v b="$(stat -c %s "$data")" 'BEGIN{printf "%.1f", b/1e6}')
samples=$(perf report -i "$data" --stats 2>/dev/null | awk '/SAMPLE events:/{print $3; exit}' || true)

# run NAME CMD...: wall seconds and peak RSS (KiB) of CMD into $work/NAME.{wall,rss}
run() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}' > "$work/$name.wall"
}

# perf script | inferno-collapse-perf, each stage under GNU time.
run pipeline sh -c "/usr/bin/time -f %M -o '$work/ps1.rss' perf script -i '$data' 2>/dev/null \
  | /usr/bin/time -f %M -o '$work/inf.rss' inferno-collapse-perf > '$work/pipeline.folded'"
run perfold_fold /usr/bin/time -f %M -o "$work/pf_fold.rss" "$perfold" fold "$data" > "$work/perfold.folded"
# perf-script text is hundreds of MB: timed runs write it to /dev/null (so page-cache
# writeback of one run cannot slow the next), and a separate untimed run compares it.
run perf_script sh -c "/usr/bin/time -f %M -o '$work/ps2.rss' perf script -i '$data' > /dev/null 2>&1"
run perfold_script /usr/bin/time -f %M -o "$work/pf_script.rss" "$perfold" perf-script "$data" > /dev/null
script_same=$(cmp -s <(perf script -i "$data" 2>/dev/null) <("$perfold" perf-script "$data") && echo identical || echo DIFFERENT)

rss() { tail -1 "$1"; }
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }
pipe_rss=$(max "$(rss "$work/ps1.rss")" "$(rss "$work/inf.rss")")
same() { cmp -s "$1" "$2" && echo identical || echo DIFFERENT; }

mib() { awk -v k="$1" 'BEGIN{printf "%.0f MiB", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1fx", a/b; else print "n/a" }'; }

echo "recording: $data ($size_mb MB, ${samples:-?} samples)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(perf --version); $(cargo install --list 2>/dev/null | grep -o "^inferno v[0-9.]*" || echo "inferno ?"); perfold $("$perfold" --version | awk '{print $2}'); $(date -u +%Y-%m-%d)"
echo
printf '| %-42s | %9s | %9s | %-9s |\n' "command" "wall (s)" "peak RSS" "output"
printf '|%s|%s|%s|%s|\n' "--------------------------------------------" "-----------" "-----------" "-----------"
printf '| %-42s | %9s | %9s | %-9s |\n' "perf script | inferno-collapse-perf" "$(cat "$work/pipeline.wall")" "$(mib "$pipe_rss")" "reference"
printf '| %-42s | %9s | %9s | %-9s |\n' "perfold fold" "$(cat "$work/perfold_fold.wall")" "$(mib "$(rss "$work/pf_fold.rss")")" "$(same "$work/pipeline.folded" "$work/perfold.folded")"
printf '| %-42s | %9s | %9s | %-9s |\n' "perf script" "$(cat "$work/perf_script.wall")" "$(mib "$(rss "$work/ps2.rss")")" "reference"
printf '| %-42s | %9s | %9s | %-9s |\n' "perfold perf-script" "$(cat "$work/perfold_script.wall")" "$(mib "$(rss "$work/pf_script.rss")")" "$script_same"
echo
echo "fold speed-up:        $(ratio "$(cat "$work/pipeline.wall")" "$(cat "$work/perfold_fold.wall")")"
echo "perf-script speed-up: $(ratio "$(cat "$work/perf_script.wall")" "$(cat "$work/perfold_script.wall")")"
