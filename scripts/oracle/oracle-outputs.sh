#!/usr/bin/env bash
# oracle-outputs.sh OUTDIR DEST [CASE...]
#
# The oracle: for each recording OUTDIR/<case>.data (or only the CASEs given), writes
#   DEST/<case>.script   perf script -i <case>.data --kallsyms OUTDIR/kallsyms
#   DEST/<case>.folded   ... | inferno-collapse-perf
#   DEST/<case>.svg      ... | inferno-flamegraph
#   DEST/<case>.stderr   what the three wrote to stderr
#   DEST/<case>.status   their exit codes ("perf-script=0 fold=0 svg=0")
# compare.sh runs it on the host (--native) or inside the oracle container (--docker).
# PERF_CONFIG=/dev/null: a user's ~/.perfconfig must not change the oracle.
set -uo pipefail

outdir=${1:?usage: oracle-outputs.sh OUTDIR DEST [CASE...]}
dest=${2:?usage: oracle-outputs.sh OUTDIR DEST [CASE...]}
shift 2
mkdir -p "$dest"

if [ $# -eq 0 ]; then
  set --
  for data in "$outdir"/*.data; do set -- "$@" "$(basename "$data" .data)"; done
fi

for c in "$@"; do
  data=$outdir/$c.data
  PERF_CONFIG=/dev/null perf script -i "$data" --kallsyms "$outdir/kallsyms" \
    > "$dest/$c.script" 2> "$dest/$c.stderr"
  s1=$?
  inferno-collapse-perf < "$dest/$c.script" > "$dest/$c.folded" 2>> "$dest/$c.stderr"
  s2=$?
  inferno-flamegraph < "$dest/$c.folded" > "$dest/$c.svg" 2>> "$dest/$c.stderr"
  s3=$?
  # DWARF cases: also perf's --no-inline text (inline frames exist only there).
  if [[ $c == *dwarf* ]]; then
    PERF_CONFIG=/dev/null perf script --no-inline -i "$data" --kallsyms "$outdir/kallsyms" \
      > "$dest/$c.noinline" 2>> "$dest/$c.stderr"
    s1="$s1 noinline=$?"
  fi
  echo "perf-script=$s1 fold=$s2 svg=$s3" > "$dest/$c.status"
done
