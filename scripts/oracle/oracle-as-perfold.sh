#!/usr/bin/env bash
# oracle-as-perfold.sh perf-script [PERF-SCRIPT FLAGS] [--kallsyms FILE] [--symfs DIR] FILE
# oracle-as-perfold.sh fold|flamegraph [FLAGS] [--kallsyms FILE] [--symfs DIR] FILE
# oracle-as-perfold.sh diff FLAGS [--kallsyms FILE] [--symfs DIR] BASE FILE
#
# A stand-in for perfold made of the oracle itself (perf script | inferno), to check the
# harness's OK path: `compare.sh --perfold scripts/oracle/oracle-as-perfold.sh OUTDIR` must
# report OK everywhere. FLAGS must be the perfold flags of a line of variants.txt, whose
# inferno flags are then used.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:?usage: oracle-as-perfold.sh perf-script|fold|flamegraph|diff [FLAGS] [--kallsyms F] [--symfs D] FILE...}
shift
opts=() flags=() files=()
while [ $# -gt 0 ]; do
  case $1 in
    --kallsyms|--symfs) opts+=("$1" "$2"); shift 2 ;;
    -*) flags+=("$1"); shift ;;
    *)
      # a flag's value, or an input file (the last one or two words)
      if [ ${#flags[@]} -gt 0 ] && [ $# -gt 1 ] && { [ "$cmd" != diff ] || [ $# -gt 2 ]; }; then
        flags+=("$1")
      else
        files+=("$1")
      fi
      shift
      ;;
  esac
done
collapse='' diffargs='' flame=''
if [ ${#flags[@]} -gt 0 ] && [ "$cmd" != perf-script ]; then
  want="${flags[*]}" found=0
  kind=$cmd
  [ "$cmd" = flamegraph ] && kind=svg
  while IFS='|' read -r _name k p c d f; do
    k=$(echo $k)
    read -ra words <<< "$p"
    p="${words[*]}"
    if [ "$k" = "$kind" ] && [ "$p" = "$want" ]; then
      collapse=$c diffargs=$d flame=$f found=1
      break
    fi
  done < <(grep -v '^#' "$here/variants.txt")
  [ $found = 1 ] || { echo "oracle-as-perfold.sh: flags not in variants.txt: $want" >&2; exit 2; }
fi
script() { PERF_CONFIG=/dev/null perf script -i "$1" "${opts[@]}"; }
# shellcheck disable=SC2086 # the inferno flags are split on spaces on purpose
case $cmd in
  perf-script) PERF_CONFIG=/dev/null perf script "${flags[@]}" -i "${files[0]}" "${opts[@]}" ;;
  fold) script "${files[0]}" | inferno-collapse-perf $collapse ;;
  flamegraph) script "${files[0]}" | inferno-collapse-perf $collapse | inferno-flamegraph $flame ;;
  diff)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    script "${files[0]}" | inferno-collapse-perf $collapse > "$tmp/a"
    script "${files[1]}" | inferno-collapse-perf $collapse > "$tmp/b"
    set -- $diffargs
    shift
    inferno-diff-folded "$@" "$tmp/a" "$tmp/b" | inferno-flamegraph $flame
    ;;
  *) echo "oracle-as-perfold.sh: unknown command $cmd" >&2; exit 2 ;;
esac
