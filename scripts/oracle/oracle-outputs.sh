#!/usr/bin/env bash
# oracle-outputs.sh OUTDIR DEST [CASE...]
#
# The oracle: for each recording OUTDIR/<case>.data (or only the CASEs given), writes
#   DEST/<case>.script   perf script -i <case>.data --kallsyms OUTDIR/kallsyms
#   DEST/<case>.folded   ... | inferno-collapse-perf
#   DEST/<case>.svg      ... | inferno-flamegraph
#   DEST/<case>.stderr   what the three wrote to stderr
#   DEST/<case>.status   their exit codes ("perf-script=0 fold=0 svg=0")
#   DEST/<case>.v-<name>.{folded,svg}  each flag variant of variants.txt (and .rc: its exit code)
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

# Flag variants (variants.txt): inferno with the flags on the text perf printed above.
variants=$(dirname "${BASH_SOURCE[0]}")/variants.txt
for c in "$@"; do
  grep -v '^#' "$variants" | while IFS='|' read -r name kind _perfold collapse diff flame; do
    name=$(echo $name) kind=$(echo $kind)
    out=$dest/$c.v-$name
    # shellcheck disable=SC2086 # the flags are split on spaces on purpose
    case $kind in
      fold)
        inferno-collapse-perf $collapse < "$dest/$c.script" > "$out.folded" 2> /dev/null
        echo $? > "$out.rc"
        ;;
      svg)
        inferno-collapse-perf $collapse < "$dest/$c.script" 2> /dev/null |
          inferno-flamegraph $flame > "$out.svg" 2> /dev/null
        echo $? > "$out.rc"
        ;;
      diff)
        set -- $diff
        base=$1
        shift
        [ -f "$dest/$base.script" ] || continue
        inferno-collapse-perf $collapse < "$dest/$base.script" > "$out.base" 2> /dev/null
        inferno-collapse-perf $collapse < "$dest/$c.script" > "$out.after" 2> /dev/null
        inferno-diff-folded "$@" "$out.base" "$out.after" 2> /dev/null |
          inferno-flamegraph $flame > "$out.svg" 2> /dev/null
        echo $? > "$out.rc"
        rm -f "$out.base" "$out.after"
        ;;
    esac
  done
done
