#!/usr/bin/env bash
# cargo-flamegraph.sh [--perfold PATH] OUTDIR
#
# perfold as a drop-in for cargo-flamegraph (issue 13): records OUTDIR/bin/rust-nofp (built by
# record.sh) with cargo-flamegraph's `flamegraph -- CMD` twice, once with the real perf and once
# with PERF=perfold (perfold hands `record` to perf and answers `script --force` itself), then
# draws each recording with both: the SVGs of one recording must be identical. Prints the time of
# `flamegraph --perfdata` with and without PERF=perfold. Needs `flamegraph` (cargo install
# flamegraph) and root (perf record).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=./lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"
perfold=$repo/target/release/perfold
if [ "${1:-}" = --perfold ]; then perfold=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2; fi
outdir=$(cd "${1:?usage: cargo-flamegraph.sh [--perfold PATH] OUTDIR}" && pwd)
prog=$outdir/bin/rust-nofp
[ -x "$prog" ] || { echo "cargo-flamegraph.sh: $prog missing (run record.sh)" >&2; exit 2; }
command -v flamegraph > /dev/null || { echo "cargo-flamegraph.sh: flamegraph not on PATH (cargo install flamegraph)" >&2; exit 2; }
work=$outdir/cargo-flamegraph
rm -rf "$work"
mkdir -p "$work"
cd "$work"
status=0
for who in perf perfold; do
  env_perf=()
  [ $who = perfold ] && env_perf=(PERF="$perfold")
  env "${env_perf[@]}" flamegraph -o "recorded-by-$who.svg" -- "$prog" 2 > "record-$who.log" 2>&1
  mv perf.data "rec-$who.data"
  for drawer in perf perfold; do
    env_perf=()
    [ $drawer = perfold ] && env_perf=(PERF="$perfold")
    t0=$(now)
    env "${env_perf[@]}" flamegraph --perfdata "rec-$who.data" -o "$who.by-$drawer.svg" > /dev/null 2>&1
    echo "cargo-flamegraph.sh: recording by $who ($(du -m "rec-$who.data" | cut -f1) MB), flamegraph --perfdata with $drawer: $(since "$t0")"
  done
  if cmp -s "$who.by-perf.svg" "$who.by-perfold.svg" && cmp -s "$who.by-perf.svg" "recorded-by-$who.svg"; then
    echo "cargo-flamegraph.sh: recording by $who: the three SVGs are identical"
  else
    echo "cargo-flamegraph.sh: recording by $who: SVGs DIFFER ($work)" >&2
    status=1
  fi
done
exit $status
