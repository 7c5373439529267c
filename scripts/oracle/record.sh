#!/usr/bin/env bash
# record.sh [--freq N] [--cases A,B,...] [--dwarf] OUTDIR
#
# Builds the workloads in scripts/oracle/workloads/ into OUTDIR/bin and records each case with
# the host's perf into OUTDIR/<case>.data (the exact command in OUTDIR/<case>.cmd, perf's own
# messages in OUTDIR/<case>.record.log). Saves /proc/kallsyms as OUTDIR/kallsyms. Must run on
# the host as root (perf needs the kernel); perf record also fills the build-id cache ~/.debug,
# which compare.sh --docker mounts read-only.
#
#   --freq N      sampling frequency for the -F cases (default 999; fixtures use 499)
#   --cases LIST  record only these cases (comma-separated; see `record.sh --list`)
#   --dwarf       also record the --call-graph dwarf cases (c-dwarf, c-fp-dwarf, cpp-dwarf,
#                 rust-dwarf with dwarf,16384 as cargo-flamegraph, c-dwarf-zstd, shell-dwarf,
#                 unwind-dwarf: signal handler frames, lazy PLT binding, libc mapped as data;
#                 c-debugframe-dwarf: a program whose CFI is only in .debug_frame, with no
#                 .eh_frame_hdr, which Debian's x86_64 perf does not unwind through)
#   --list        print the case table and exit
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
workloads=$here/workloads
freq=999
only=
dwarf=0
list=0

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --freq) freq=${2:?--freq needs a value}; shift 2 ;;
    --cases) only=${2:?--cases needs a value}; shift 2 ;;
    --dwarf) dwarf=1; shift ;;
    --list) list=1; shift ;;
    -h|--help) usage ;;
    -*) echo "record.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done

# Case table: name | workload binary | perf record event/call-graph options.
# `@F` is replaced by the sampling frequency.
cases_table() {
  cat <<'EOF'
c-fp           c-fp      -e cpu-clock -F @F -g
c-nofp         c-nofp    -e cpu-clock -F @F -g
c-nocg         c-fp      -e cpu-clock -F @F
cpp-fp         cpp-fp    -e cpu-clock -F @F -g
cpp-nofp       cpp-nofp  -e cpu-clock -F @F -g
cpp-nocg       cpp-fp    -e cpu-clock -F @F
rust-fp        rust-fp   -e cpu-clock -F @F -g
rust-nofp      rust-nofp -e cpu-clock -F @F -g
rust-nocg      rust-fp   -e cpu-clock -F @F
shell          shell     -e cpu-clock -F @F -g
shell-nocg     shell     -e cpu-clock -F @F
cpp-taskclock  cpp-fp    -e task-clock -F @F -g
c-pagefaults   c-fp      -e page-faults -c 1 -g
c-multi        c-fp      -e cpu-clock -e page-faults -F @F -g
c-zstd         c-fp      -z -e cpu-clock -F @F -g
c-misc         misc      -e cpu-clock -F @F -g
c-sched        c-fp      -e sched:sched_switch -e sched:sched_wakeup -e sched:sched_process_exit -g
shell-syscalls shell     -e syscalls:sys_enter_openat -e syscalls:sys_exit_read -e sched:sched_process_exec
c-jit          jit       -e cpu-clock -F @F -g
c-syswide      c-fp      -a -e cpu-clock -F @F -g
c-opts         c-fp      -e cpu-clock -e page-faults -e sched:sched_process_exit -F @F -g --sample-cpu -d --switch-events
EOF
  if [ "$dwarf" = 1 ]; then
    cat <<'EOF'
c-dwarf        c-nofp    -e cpu-clock -F @F --call-graph dwarf
c-fp-dwarf     c-fp      -e cpu-clock -F @F --call-graph dwarf
cpp-dwarf      cpp-nofp  -e cpu-clock -F @F --call-graph dwarf
rust-dwarf     rust-nofp -e cpu-clock -F @F --call-graph dwarf,16384
c-dwarf-zstd   c-nofp    -z -e cpu-clock -F @F --call-graph dwarf
shell-dwarf    shell     -e cpu-clock -F @F --call-graph dwarf
unwind-dwarf   unwind    -e cpu-clock -F @F --call-graph dwarf
c-debugframe-dwarf c-debugframe -e cpu-clock -F @F --call-graph dwarf
EOF
  fi
}

if [ "$list" = 1 ]; then cases_table; exit 0; fi
[ $# -eq 1 ] || usage
[ "$(id -u)" = 0 ] || { echo "record.sh: run as root (perf record needs the kernel)" >&2; exit 1; }

mkdir -p "$1"
outdir=$(cd "$1" && pwd)
bin=$outdir/bin
mkdir -p "$bin"

want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

# Build. Sources are copied next to the binaries and compiled from there, so a binary's
# DW_AT_comp_dir (and so its build-id) depends only on OUTDIR. The exact commands go to
# OUTDIR/bin/build.cmds (make-fixture.sh copies them into the fixture's recipe).
build() {
  local t0=$SECONDS
  cp "$workloads"/c_work.c "$workloads"/cpp_work.cpp "$workloads"/rust_work.rs "$workloads"/misc_work.c "$workloads"/jit_work.c "$workloads"/unwind_work.c "$bin"/
  cp "$workloads"/shell_work.sh "$bin"/shell
  chmod +x "$bin"/shell
  (
    cd "$bin"
    : > build.cmds
    run() { echo "(cd $bin && $*)" >> build.cmds; "$@"; }
    run gcc -O2 -g -pthread -fno-omit-frame-pointer -o c-fp c_work.c
    run gcc -O2 -g -pthread -fomit-frame-pointer -o c-nofp c_work.c
    run g++ -O2 -g -pthread -fno-omit-frame-pointer -o cpp-fp cpp_work.cpp
    run g++ -O2 -g -pthread -fomit-frame-pointer -o cpp-nofp cpp_work.cpp
    run rustc -C force-frame-pointers=yes -g -O -o rust-fp rust_work.rs
    run rustc -g -O -o rust-nofp rust_work.rs
    run gcc -O2 -g -pthread -fno-omit-frame-pointer -o misc misc_work.c
    run gcc -O2 -g -fno-omit-frame-pointer -o jit jit_work.c
    run gcc -O2 -g -fomit-frame-pointer -Wl,-z,lazy -o unwind unwind_work.c -lm
    run gcc -O2 -g -pthread -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -Wl,--no-eh-frame-hdr -o c-debugframe c_work.c
    echo "# $(gcc --version | head -1); $(rustc --version)" >> build.cmds
  )
  echo "record.sh: built workloads in $bin ($((SECONDS - t0)) s)"
}
build

{
  echo "perf_version=$(perf version)"
  echo "kernel=$(uname -r)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "freq=$freq"
} > "$outdir"/record.env

n=0
while read -r name binary args; do
  want "$name" || continue
  args=${args//@F/$freq}
  data=$outdir/$name.data
  # shellcheck disable=SC2206 # the table's options are meant to be split
  cmd=(perf record $args -o "$data" -- "$bin/$binary")
  printf '%q ' "${cmd[@]}" | sed 's/ $//' > "$outdir/$name.cmd"
  echo >> "$outdir/$name.cmd"
  t0=$EPOCHREALTIME
  rm -f "$data" "$data.old"
  if ! "${cmd[@]}" > "$outdir/$name.record.log" 2>&1; then
    echo "record.sh: perf record failed for $name:" >&2
    cat "$outdir/$name.record.log" >&2
    exit 1
  fi
  t1=$EPOCHREALTIME
  samples=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$outdir/$name.record.log" | tail -1)
  printf 'record.sh: %-14s %6s samples %5.2f s  %s\n' "$name" "${samples:-?}" \
    "$(awk "BEGIN{print $t1 - $t0}")" "$(cat "$outdir/$name.cmd")"
  n=$((n + 1))
done < <(cases_table)

# Cases the table cannot express.
# c-pipe: pipe mode (perf record -o -), attributes and features arrive as records.
if want c-pipe; then
  echo "perf record -e cpu-clock -F $freq -g -o - -- $bin/c-fp > $outdir/c-pipe.data" > "$outdir/c-pipe.cmd"
  perf record -e cpu-clock -F "$freq" -g -o - -- "$bin/c-fp" > "$outdir/c-pipe.data" 2> "$outdir/c-pipe.record.log"
  echo "record.sh: c-pipe         $(cat "$outdir/c-pipe.cmd")"
  n=$((n + 1))
fi
# node-jit: JavaScript JIT frames named by node's /tmp/perf-<pid>.map (only where node exists).
if want node-jit && command -v node > /dev/null; then
  cp "$workloads/node_work.js" "$bin/"
  cmd=(perf record -e cpu-clock -F "$freq" -g -o "$outdir/node-jit.data" -- node --perf-basic-prof "$bin/node_work.js")
  printf '%q ' "${cmd[@]}" > "$outdir/node-jit.cmd"
  (cd "$bin" && "${cmd[@]}") > "$outdir/node-jit.record.log" 2>&1
  echo "record.sh: node-jit       $(cat "$outdir/node-jit.cmd")"
  n=$((n + 1))
fi
# python3.12-perf, python3.13-perf: CPython's perf trampolines (`-X perf`, 3.12+) name Python
# frames in /tmp/perf-<pid>.map (only where pyenv has that version).
for v in 3.12.1 3.13.0; do
  name=python${v%.*}-perf
  py=$HOME/.pyenv/versions/$v/bin/python${v%.*}
  if want "$name" && [ -x "$py" ]; then
    cp "$workloads/python_work.py" "$bin/"
    cmd=(perf record -e cpu-clock -F "$freq" -g -o "$outdir/$name.data" -- "$py" -X perf "$bin/python_work.py")
    printf '%q ' "${cmd[@]}" > "$outdir/$name.cmd"
    (cd "$bin" && "${cmd[@]}") > "$outdir/$name.record.log" 2>&1
    printf 'record.sh: %-14s %s\n' "$name" "$(cat "$outdir/$name.cmd")"
    n=$((n + 1))
  fi
done
# c-killed: perf record killed with SIGKILL while recording; perf 6.1 leaves the header's
# data size at 0 and perf script refuses the file (exit 255, nothing printed).
if want c-killed; then
  data=$outdir/c-killed.data
  rm -f "$data"
  perf record -e cpu-clock -F 20000 -g -o "$data" -- sh -c "while :; do $bin/c-fp > /dev/null; done" \
    > "$outdir/c-killed.record.log" 2>&1 &
  rec=$!
  sleep 3
  kill -KILL "$rec"
  wait "$rec" 2> /dev/null || true
  pkill -f "while :; do $bin/c-fp" || true
  echo "perf record -e cpu-clock -F 20000 -g -o $data -- sh -c 'while :; do c-fp; done', SIGKILL after 3 s" > "$outdir/c-killed.cmd"
  echo "record.sh: c-killed       $(stat -c %s "$data") bytes, perf record killed with SIGKILL"
  n=$((n + 1))
fi

[ "$n" -gt 0 ] || { echo "record.sh: no case matched --cases $only" >&2; exit 1; }
# Kernel addresses are only valid for this boot; keep the kallsyms read at recording time.
cp /proc/kallsyms "$outdir"/kallsyms
echo "record.sh: $n recordings in $outdir (kallsyms: $outdir/kallsyms)"
