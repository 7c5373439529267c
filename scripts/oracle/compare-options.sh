#!/usr/bin/env bash
# compare-options.sh [--perfold PATH] OUTDIR
#
# perf script's flags, byte for byte: for every line of options.tsv (recording, command,
# arguments), runs the oracle on OUTDIR/<case>.data (made by record.sh)
#   perf script -i F --kallsyms OUTDIR/kallsyms ARGS            (command perf-script)
#   ... | inferno-collapse-perf [| inferno-flamegraph]          (fold, flamegraph)
# with the host's perf and inferno, and perfold with the same arguments
#   perfold perf-script|fold|flamegraph --kallsyms OUTDIR/kallsyms ARGS F
# and compares the outputs. `--header` cases run on a copy of the recording with a fixed mtime
# (perf prints it). Recordings that are missing are skipped (and counted). Diffs go to
# OUTDIR/options-diffs/. Exit status 1 if any output differs or perfold fails where perf did not.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
perfold=$repo/target/release/perfold
usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --perfold) perfold=${2:?--perfold needs a path}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "compare-options.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
outdir=$(cd "$1" && pwd)
case $perfold in /*) ;; *) perfold=$(pwd)/$perfold ;; esac
[ -x "$perfold" ] || { echo "compare-options.sh: perfold not found at $perfold" >&2; exit 2; }
work=$outdir/options
diffs=$outdir/options-diffs
rm -rf "$work" "$diffs"
mkdir -p "$work" "$diffs"
k=$outdir/kallsyms

# @PID, @TID, @RANGE, @RANGES for one recording.
substitute() { # DATA ARG
  local data=$1 arg=$2 first
  case $arg in
    @PID) PERF_CONFIG=/dev/null perf script -i "$data" --kallsyms "$k" -F pid -G 2> /dev/null | awk 'NR == 1 { print $1 }' ;;
    @TID) PERF_CONFIG=/dev/null perf script -i "$data" --kallsyms "$k" -F tid -G 2> /dev/null | awk 'NR == 1 { print $1 }' ;;
    @RANGE|@RANGES)
      first=$(PERF_CONFIG=/dev/null perf script -i "$data" --kallsyms "$k" -F time -G 2> /dev/null | awk 'NR == 1 { sub(":", "", $1); print $1 }')
      if [ "$arg" = @RANGE ]; then
        awk -v f="$first" 'BEGIN { printf "%.6f,%.6f", f + 0.1, f + 0.2 }'
      else
        awk -v f="$first" 'BEGIN { printf "%.6f,%.6f %.6f,%.6f", f + 0.05, f + 0.1, f + 0.2, f + 0.3 }'
      fi ;;
    *) printf '%s' "$arg" ;;
  esac
}

n=0 ok=0 bad=0 skipped=0
while IFS=$'\t' read -r -a f; do
  [ ${#f[@]} -ge 2 ] || continue
  case ${f[0]} in \#*) continue ;; esac
  c=${f[0]} cmd=${f[1]}
  data=$outdir/$c.data
  n=$((n + 1))
  if [ ! -f "$data" ]; then skipped=$((skipped + 1)); continue; fi
  args=()
  for a in "${f[@]:2}"; do args+=("$(substitute "$data" "$a")"); done
  if [[ " ${args[*]} " == *" --header"* ]]; then
    cp "$data" "$work/$n.data"
    touch -d '2026-01-01 00:00:00 UTC' "$work/$n.data"
    data=$work/$n.data
  fi
  oracle() { TZ=UTC PERF_CONFIG=/dev/null perf script -i "$data" --kallsyms "$k" "${args[@]}"; }
  set +e
  case $cmd in
    perf-script) oracle > "$work/$n.want" 2> "$work/$n.want.stderr" ;;
    fold) oracle 2> "$work/$n.want.stderr" | inferno-collapse-perf > "$work/$n.want" ;;
    flamegraph) oracle 2> "$work/$n.want.stderr" | inferno-collapse-perf | inferno-flamegraph > "$work/$n.want" ;;
  esac
  want_rc=$?
  TZ=UTC "$perfold" "$cmd" --kallsyms "$k" "${args[@]}" "$data" > "$work/$n.got" 2> "$work/$n.got.stderr"
  got_rc=$?
  set -e
  label="$c $cmd ${args[*]}"
  if cmp -s "$work/$n.want" "$work/$n.got" && { [ $got_rc = 0 ] || [ $want_rc != 0 ]; }; then
    ok=$((ok + 1)); printf 'OK    %s\n' "$label"
  else
    bad=$((bad + 1)); printf 'DIFF  %s (perfold exit %s)\n' "$label" "$got_rc"
    diff -u "$work/$n.want" "$work/$n.got" > "$diffs/$n.diff" || true
  fi
done < "$here/options.tsv"
echo "compare-options.sh: $ok OK, $bad DIFF, $skipped skipped (recording missing) of $n (diffs: $diffs)"
[ "$bad" = 0 ]
