#!/usr/bin/env bash
# bench.sh [ROUND] [--min-mb N] [--freq F] [--keep DIR] [--data FILE] [--runs N]
#
# Times perfold side by side with the pipeline it replaces, in one run:
#   perfold fold         vs  perf script | inferno-collapse-perf
#   perfold perf-script  vs  perf script
# and prints the wall-time ratio and the peak RSS of each (GNU time's %M; for the pipeline the
# larger of its two processes). The outputs are also compared byte for byte (perf-script text
# in a separate, untimed run). A grown round runs each command --runs times in turn and
# compares median walls (perfold's first run, which fills a new build's cache, is shown too).
#
# Rounds (issue 14 counts the least favourable one):
#   (default)    `perf record -g` of a multi-process mix (the oracle workloads: C, C++ and Rust
#                programs with threads plus shell pipelines, several at once), grown until the
#                file holds at least --min-mb MB (default 100)
#   --dwarf-mix  the same mix built without frame pointers, `--call-graph dwarf` at -F 2000
#                (C-heavy: perf's addr2line has few distinct addresses to resolve)
#   --dwarf      a Rust-heavy DWARF round (perfold itself reading a ~100 MB recording, next to the
#                C, C++ and Rust workloads); perf script then adds inline frames (it runs
#                addr2line), perfold does too, in-process. --freq 4000 --min-mb 500: issue 5's table
#   --fork-exec  a fork/exec-heavy workload: thousands of short processes (shell pipelines of
#                sha256sum, gzip, sort, awk, wc) next to the programs
#   --node       `node --perf-basic-prof` on the oracle's node workload (a 100 MB C++ binary
#                with 180 k symbols, JIT frames from /tmp/perf-<pid>.map); best of 3 runs
#   --corpus DIR small recordings made by scripts/oracle/record.sh (fp, dwarf, pipe, zstd, JIT
#                maps, tracepoints; 0.01-17 MB) into DIR if it holds none, then compared file by
#                file (best of 3 runs each): total ratio, worst file, largest RSS
#   --all DIR    every round above but --dwarf and --fork-exec (work files in DIR, kept), then
#                a summary with the least favourable ratio of each kind
# Options:
#   --min-mb N   minimum size of a grown recording in MB (default 100; --dwarf-mix 400)
#   --freq F     sampling frequency (default 20000; --dwarf-mix 2000)
#   --keep DIR   work in DIR and keep it (default: a temporary directory, removed)
#   --data FILE  skip recording and use FILE
#   --runs N     runs of each command in a grown round (default 3; the median wall counts)
# Environment: PERFOLD=BINARY times that perfold build instead of building this checkout.
# Needs root (perf record), perf, inferno-collapse-perf, gcc, g++, rustc (node for --node).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
min_mb=
freq=
keep=
data=
round=mix
corpus=
runs=3
while [ $# -gt 0 ]; do
  case $1 in
    --min-mb) min_mb=$2; shift 2 ;;
    --freq) freq=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --fork-exec) round=fork-exec; shift ;;
    --dwarf) round=dwarf; shift ;;
    --dwarf-mix) round=dwarf-mix; shift ;;
    --node) round=node; shift ;;
    --corpus) round=corpus; corpus=$2; shift 2 ;;
    --all) round=all; keep=$2; shift 2 ;;
    *) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

if [ "$round" = all ]; then
  mkdir -p "$keep"
  keep=$(cd "$keep" && pwd)
  "$0" --keep "$keep/mix" | tee "$keep/mix.txt"
  "$0" --dwarf-mix --keep "$keep/dwarf-mix" | tee "$keep/dwarf-mix.txt"
  if command -v node > /dev/null; then "$0" --node --keep "$keep/node" | tee "$keep/node.txt"; fi
  "$0" --corpus "$keep/corpus" --keep "$keep/corpus-work" | tee "$keep/corpus.txt"
  echo
  echo "summary (least favourable round of each kind counts):"
  grep -H -E '^(fold speed-up|perf-script speed-up|first runs|fold total|RSS)' "$keep"/*.txt \
    | sed "s|^$keep/||; s|\.txt:|: |"
  worst() { grep -h "^$1" "$keep"/*.txt | grep -o '[0-9.]*x' | sort -g | head -1; }
  echo "least favourable fold ratio: $(worst 'fold speed-up\|fold total\|fold worst')"
  echo "least favourable perf-script ratio: $(worst 'perf-script speed-up\|perf-script total\|perf-script worst')"
  exit 0
fi

case $round in
  dwarf-mix) : "${freq:=2000}" "${min_mb:=400}" ;;
  *) : "${freq:=20000}" "${min_mb:=100}" ;;
esac
callgraph=-g
case $round in dwarf|dwarf-mix) callgraph="--call-graph dwarf" ;; esac

if [ -n "$keep" ]; then
  work=$keep; mkdir -p "$work"
else
  work=$(mktemp -d /tmp/perfold-bench.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)

if [ -n "${PERFOLD:-}" ]; then
  perfold=$PERFOLD
else
  (cd "$root" && cargo build --release --quiet)
  perfold=$root/target/release/perfold
fi

machine() {
  echo "machine: $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(perf --version); $(cargo install --list 2>/dev/null | grep -o "^inferno v[0-9.]*" || echo "inferno ?"); perfold $("$perfold" --version | awk '{print $2}'); $(date -u +%Y-%m-%dT%H:%MZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
mib() { awk -v k="$1" 'BEGIN{printf "%.0f MiB", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1fx", a/b; else print "n/a" }'; }
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }

# timed SECONDS_FILE RSS_FILE CMD...: wall seconds of CMD into SECONDS_FILE, its peak RSS
# (KiB, GNU time) into RSS_FILE.
timed() {
  local secs=$1 rssf=$2; shift 2
  local t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$rssf" "$@"
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f\n", b-a}' > "$secs"
}

# compare_small FILE: best of 3 wall times and the peak RSS of each command on one small
# recording; prints "name fold_pipe fold_pf script_perf script_pf rss_pipe rss_pf same_fold same_script".
compare_small() {
  local f=$1 name; name=$(basename "$f" .data)
  local d=$work/runs/$name; mkdir -p "$d"
  local i best_pipe=999 best_fold=999 best_ps=999 best_pfs=999 t
  for i in 1 2 3; do
    t0=$EPOCHREALTIME
    perf script -i "$f" 2>/dev/null | inferno-collapse-perf > "$d/pipe.folded" 2>/dev/null
    t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}')
    best_pipe=$(awk -v a="$best_pipe" -v b="$t" 'BEGIN{print (b<a)?b:a}')
    timed "$d/t" "$d/pf.rss" "$perfold" fold "$f" > "$d/pf.folded" 2>/dev/null || true
    best_fold=$(awk -v a="$best_fold" -v b="$(cat "$d/t")" 'BEGIN{print (b<a)?b:a}')
    timed "$d/t" "$d/ps.rss" perf script -i "$f" > /dev/null 2>&1 || true
    best_ps=$(awk -v a="$best_ps" -v b="$(cat "$d/t")" 'BEGIN{print (b<a)?b:a}')
    timed "$d/t" "$d/pfs.rss" "$perfold" perf-script "$f" > /dev/null 2>&1 || true
    best_pfs=$(awk -v a="$best_pfs" -v b="$(cat "$d/t")" 'BEGIN{print (b<a)?b:a}')
  done
  local same_fold same_script
  same_fold=$(cmp -s "$d/pipe.folded" "$d/pf.folded" && echo identical || echo DIFFERENT)
  same_script=$(cmp -s <(perf script -i "$f" 2>/dev/null) <("$perfold" perf-script "$f" 2>/dev/null) && echo identical || echo DIFFERENT)
  echo "$name $best_pipe $best_fold $best_ps $best_pfs $(tail -1 "$d/ps.rss") $(tail -1 "$d/pf.rss") $same_fold $same_script"
}

# small_table FILE...: compare_small on each, a table, the totals and the worst file.
small_table() {
  machine
  echo
  printf '| %-16s | %8s | %9s | %9s | %6s | %9s | %9s | %6s | %9s | %9s | %-9s |\n' \
    recording MB "pipeline" "fold" ratio "perf scr." "perfold" ratio "perf RSS" "fold RSS" output
  printf '|%s|\n' "------------------|----------|-----------|-----------|--------|-----------|-----------|--------|-----------|-----------|-----------"
  local f line
  : > "$work/small.rows"
  for f in "$@"; do
    line=$(compare_small "$f")
    echo "$line $(stat -c %s "$f")" >> "$work/small.rows"
    # shellcheck disable=SC2086 # fields
    set -- $line "$(stat -c %s "$f")"
    printf '| %-16s | %8.2f | %9.3f | %9.3f | %6s | %9.3f | %9.3f | %6s | %9s | %9s | %-9s |\n' \
      "$1" "$(awk -v b="${10}" 'BEGIN{print b/1e6}')" "$2" "$3" "$(ratio "$2" "$3")" "$4" "$5" \
      "$(ratio "$4" "$5")" "$(mib "$6")" "$(mib "$7")" "$([ "$8$9" = identicalidentical ] && echo identical || echo "fold $8, script $9")"
  done
  echo
  awk '{p+=$2; f+=$3; s+=$4; q+=$5; if ($6>pr) pr=$6; if ($7>fr) fr=$7;
        r=$2/$3; if (wf=="" || r<wf) {wf=r; wn=$1}
        r2=$4/$5; if (ws=="" || r2<ws) {ws=r2; wsn=$1}}
       END{printf "fold total: %.1fx (%.3f s against %.3f s over %d recordings)\n", p/f, f, p, NR;
           printf "perf-script total: %.1fx (%.3f s against %.3f s)\n", s/q, q, s;
           printf "fold worst file: %.1fx (%s)\n", wf, wn;
           printf "perf-script worst file: %.1fx (%s)\n", ws, wsn;
           printf "RSS largest: perfold %.0f MiB, perf %.0f MiB\n", fr/1024, pr/1024}' "$work/small.rows"
}

if [ "$round" = corpus ]; then
  mkdir -p "$corpus"
  if ! ls "$corpus"/*.data > /dev/null 2>&1; then
    cases=c-fp,cpp-fp,rust-fp,shell,c-nocg,c-zstd,c-misc,c-sched,shell-syscalls,c-jit,c-multi,c-pagefaults,cpp-taskclock,c-pipe,node-jit
    cases=$cases,c-dwarf,cpp-dwarf,rust-dwarf,c-dwarf-zstd,shell-dwarf,unwind-dwarf
    "$here/oracle/record.sh" --dwarf --cases "$cases" "$corpus" > "$work/record.log" 2>&1
  fi
  small_table "$corpus"/*.data
  exit 0
fi

if [ "$round" = node ] && [ -z "$data" ]; then
  mkdir -p "$work/node"
  cp "$root/scripts/oracle/workloads/node_work.js" "$work/node/"
  (cd "$work/node" && perf record -q -e cpu-clock -F 999 -g -o "$work/node.data" -- \
    node --perf-basic-prof node_work.js > /dev/null 2>&1)
  small_table "$work/node.data"
  exit 0
fi
if [ "$round" = node ]; then small_table "$data"; exit 0; fi

if [ -z "$data" ]; then
  wl=$root/scripts/oracle/workloads
  mkdir -p "$work/bin"
  fp=-fno-omit-frame-pointer rfp=yes
  case $round in dwarf|dwarf-mix) fp=-fomit-frame-pointer rfp=no ;; esac
  gcc -O2 -g -pthread $fp -o "$work/bin/c" "$wl/c_work.c"
  g++ -O2 -g -pthread $fp -o "$work/bin/cpp" "$wl/cpp_work.cpp"
  rustc -C force-frame-pointers=$rfp -g -O -o "$work/bin/rust" "$wl/rust_work.rs"
  cp "$wl/shell_work.sh" "$work/bin/shell.sh"
  data=$work/bench.data
  # One round: all workloads at once, as separate processes.
  if [ "$round" = fork-exec ]; then
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
  elif [ "$round" = dwarf ]; then
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

# The recording just written is still being flushed to disk: writing it back is perf record's
# cost, and would fall on whichever command runs first.
sync
# Each command runs $runs times, the four in turn (so a slow phase of the machine falls on
# all of them alike); the ratio is of the median walls, the RSS the largest of any run.
# perfold's first run is also shown on its own: with a perfold binary new to the persistent
# cache (a fresh build) it is the run that fills the cache.
for i in $(seq 1 "$runs"); do
  # perf script | inferno-collapse-perf, each stage under GNU time.
  t0=$EPOCHREALTIME
  sh -c "/usr/bin/time -f %M -o '$work/ps1.rss.$i' perf script -i '$data' 2>/dev/null \
    | /usr/bin/time -f %M -o '$work/inf.rss.$i' inferno-collapse-perf > '$work/pipeline.folded'"
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f\n", b-a}' > "$work/pipeline.wall.$i"
  timed "$work/perfold_fold.wall.$i" "$work/pf_fold.rss.$i" "$perfold" fold "$data" > "$work/perfold.folded"
  # perf-script text is hundreds of MB: timed runs write it to /dev/null (so page-cache
  # writeback of one run cannot slow the next), and a separate untimed run compares it.
  timed "$work/perf_script.wall.$i" "$work/ps2.rss.$i" sh -c "perf script -i '$data' > /dev/null 2>&1"
  timed "$work/perfold_script.wall.$i" "$work/pf_script.rss.$i" "$perfold" perf-script "$data" > /dev/null
done
script_same=$(cmp -s <(perf script -i "$data" 2>/dev/null) <("$perfold" perf-script "$data") && echo identical || echo DIFFERENT)

# median NAME / largest NAME / first NAME: over the runs' files NAME.1 .. NAME.$runs (GNU
# time's RSS files end with the value).
median() { for i in $(seq 1 "$runs"); do tail -1 "$work/$1.$i"; done | sort -g \
  | awk '{v[NR]=$1} END{printf "%.4f", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
largest() { for i in $(seq 1 "$runs"); do tail -1 "$work/$1.$i"; done | sort -g | tail -1; }
first() { tail -1 "$work/$1.1"; }
pipe_rss=$(max "$(largest ps1.rss)" "$(largest inf.rss)")
same() { cmp -s "$1" "$2" && echo identical || echo DIFFERENT; }
secs() { awk -v s="$1" 'BEGIN{printf "%.2f", s}'; }

echo "round: $round; recording: $data ($size_mb MB, ${samples:-?} samples, -F $freq $callgraph)"
machine
echo
echo "wall: the median of $runs runs (each command in turn); peak RSS: the largest of any run"
echo
printf '| %-42s | %9s | %9s | %9s | %-9s |\n' "command" "wall (s)" "first run" "peak RSS" "output"
printf '|%s|%s|%s|%s|%s|\n' "--------------------------------------------" "-----------" "-----------" "-----------" "-----------"
printf '| %-42s | %9s | %9s | %9s | %-9s |\n' "perf script | inferno-collapse-perf" "$(secs "$(median pipeline.wall)")" "$(secs "$(first pipeline.wall)")" "$(mib "$pipe_rss")" "reference"
printf '| %-42s | %9s | %9s | %9s | %-9s |\n' "perfold fold" "$(secs "$(median perfold_fold.wall)")" "$(secs "$(first perfold_fold.wall)")" "$(mib "$(largest pf_fold.rss)")" "$(same "$work/pipeline.folded" "$work/perfold.folded")"
printf '| %-42s | %9s | %9s | %9s | %-9s |\n' "perf script" "$(secs "$(median perf_script.wall)")" "$(secs "$(first perf_script.wall)")" "$(mib "$(largest ps2.rss)")" "reference"
printf '| %-42s | %9s | %9s | %9s | %-9s |\n' "perfold perf-script" "$(secs "$(median perfold_script.wall)")" "$(secs "$(first perfold_script.wall)")" "$(mib "$(largest pf_script.rss)")" "$script_same"
echo
echo "fold speed-up:        $(ratio "$(median pipeline.wall)" "$(median perfold_fold.wall)")"
echo "perf-script speed-up: $(ratio "$(median perf_script.wall)" "$(median perfold_script.wall)")"
echo "first runs: fold $(ratio "$(first pipeline.wall)" "$(first perfold_fold.wall)"), perf-script $(ratio "$(first perf_script.wall)" "$(first perfold_script.wall)")"
echo "RSS of perf's: fold $(awk -v a="$(largest pf_fold.rss)" -v b="$pipe_rss" 'BEGIN{printf "%.2f", a/b}'), perf-script $(awk -v a="$(largest pf_script.rss)" -v b="$(largest ps2.rss)" 'BEGIN{printf "%.2f", a/b}')"
