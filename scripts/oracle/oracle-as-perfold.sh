#!/usr/bin/env bash
# oracle-as-perfold.sh perf-script|fold|flamegraph [--kallsyms FILE] [--symfs DIR] FILE
#
# A stand-in for perfold made of the oracle itself (perf script | inferno), to check the
# harness's OK path: `compare.sh --perfold scripts/oracle/oracle-as-perfold.sh OUTDIR` must
# report OK everywhere.
set -euo pipefail
cmd=${1:?usage: oracle-as-perfold.sh perf-script|fold|flamegraph [--kallsyms F] [--symfs D] FILE}
shift
opts=()
while [ $# -gt 1 ]; do
  case $1 in
    --kallsyms|--symfs) opts+=("$1" "$2"); shift 2 ;;
    *) echo "oracle-as-perfold.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
file=${1:?no input file}
script() { PERF_CONFIG=/dev/null perf script -i "$file" "${opts[@]}"; }
case $cmd in
  perf-script) script ;;
  fold) script | inferno-collapse-perf ;;
  flamegraph) script | inferno-collapse-perf | inferno-flamegraph ;;
  *) echo "oracle-as-perfold.sh: unknown command $cmd" >&2; exit 2 ;;
esac
