#!/usr/bin/env bash
# compare.sh [--native|--docker|--both] [--perfold PATH] [--cases A,B,...] OUTDIR
#
# For every recording OUTDIR/<case>.data (made by record.sh), produces the oracle outputs
#   perf script -i F --kallsyms OUTDIR/kallsyms  |  inferno-collapse-perf  |  inferno-flamegraph
# into OUTDIR/oracle/, runs perfold's three commands into OUTDIR/perfold/
#   perfold perf-script|fold|flamegraph --kallsyms OUTDIR/kallsyms F
# byte-compares them, prints a table and writes unified diffs to OUTDIR/diffs/ (SVGs are diffed
# one element per line; the count in DIFF(n) is the number of -/+ lines of the diff).
# Then the flag variants of variants.txt (inferno-collapse-perf, inferno-flamegraph and
# inferno-diff-folded flags against perfold's fold, flamegraph and diff with the same flags):
# one line per variant, with the cases that differ.
#
#   --native       the oracle is the host's perf and inferno (default)
#   --docker       the oracle runs in the container ORACLE_IMAGE (build-image.sh) with
#                  --network none; OUTDIR and ~/.debug are mounted at their host paths
#   --both         run the oracle both ways and require identical bytes, then compare perfold
#                  against the docker outputs
#   --perfold PATH perfold binary (default: target/release/perfold of this repository)
#   --cases LIST   only these cases (comma-separated)
#   --parity FILE  the allow list (default: docs/parity.md of this repository)
#
# Exit status: 0 if every output is identical or its difference is allowed in the parity file
# by a line `<!-- allow: <case-glob> <script|fold|svg|*> -->`; 1 otherwise (also if perfold
# fails, or --both finds the container and the host disagree); 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=./lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

mode=native
perfold=$repo/target/release/perfold
only=
parity=$repo/docs/parity.md
usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --native) mode=native; shift ;;
    --docker) mode=docker; shift ;;
    --both) mode=both; shift ;;
    --perfold) perfold=${2:?--perfold needs a path}; shift 2 ;;
    --cases) only=${2:?--cases needs a value}; shift 2 ;;
    --parity) parity=${2:?--parity needs a file}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "compare.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
outdir=$(cd "$1" && pwd)
[ -f "$outdir/kallsyms" ] || { echo "compare.sh: $outdir/kallsyms missing (run record.sh)" >&2; exit 2; }
case $perfold in /*) ;; *) perfold=$(pwd)/$perfold ;; esac
[ -x "$perfold" ] || { echo "compare.sh: perfold not found at $perfold (cargo build --release, or --perfold PATH)" >&2; exit 2; }

cases=()
for data in "$outdir"/*.data; do
  [ -f "$data" ] || continue
  c=$(basename "$data" .data)
  if [ -z "$only" ] || [[ ",$only," == *",$c,"* ]]; then cases+=("$c"); fi
done
[ ${#cases[@]} -gt 0 ] || { echo "compare.sh: no recordings in $outdir" >&2; exit 2; }

rm -rf "$outdir/oracle" "$outdir/oracle-native" "$outdir/perfold" "$outdir/diffs"
mkdir -p "$outdir/perfold" "$outdir/diffs"

# ---- oracle ----------------------------------------------------------------------------
oracle_native() { # DEST
  "$here/oracle-outputs.sh" "$outdir" "$1" "${cases[@]}"
}

# The DSOs (executable mappings) the recordings map outside OUTDIR. perf reads a DSO from its recorded path when the
# build-id cache has no copy (DSOs that only callchains reach have no recorded build-id), so
# the container must see the host's files there: those the image has in another version
# (or not at all) are mounted read-only from the host at their paths.
dso_list() {
  for c in "${cases[@]}"; do
    # perf refuses some recordings on purpose (c-killed): no mappings then.
    { perf script -i "$outdir/$c.data" --show-mmap-events -F comm 2>/dev/null || true; } |
      sed -n 's/^.*PERF_RECORD_MMAP2\{0,1\} .*\]: [r-][w-]x[ps-] \(\/.*\)$/\1/p'
  done | sort -u | while read -r p; do
    case $p in "$outdir"/*|/tmp/perf-*.map) continue ;; esac
    if [ -f "$p" ]; then echo "$p"; fi
  done
}

oracle_docker() { # DEST
  local dest=$1 home=${HOME:-/root} p
  oracle_docker_env
  docker image inspect "$ORACLE_IMAGE" > /dev/null 2>&1 ||
    { echo "compare.sh: no image $ORACLE_IMAGE (run build-image.sh; dockerd.sh start)" >&2; exit 2; }
  mkdir -p "$dest"
  dso_list | xargs -r sha256sum > "$dest/dsos.sha256"
  docker run --rm --network none -v "$dest:$dest:ro" "$ORACLE_IMAGE" \
    sha256sum --quiet -c "$dest/dsos.sha256" 2> /dev/null | sed -n 's/: FAILED.*$//p' > "$dest/dsos.differ" || true
  local mounts=(-v "$outdir:$outdir" -v "$here:$here:ro")
  [ -d "$home/.debug" ] && mounts+=(-v "$home/.debug:$home/.debug:ro")
  # JIT symbol maps: perf reads /tmp/perf-<pid>.map at report time (c-jit writes one).
  for p in /tmp/perf-*.map; do
    [ -f "$p" ] && mounts+=(-v "$p:$p:ro")
  done
  while read -r p; do
    echo "compare.sh: the image has another $p: mounting the host's"
    mounts+=(-v "$p:$p:ro")
  done < "$dest/dsos.differ"
  docker run --rm --network none -e HOME="$home" "${mounts[@]}" "$ORACLE_IMAGE" \
    sh -c 'h=$1 o=$2 d=$3; shift 3; "$h/oracle-outputs.sh" "$o" "$d" "$@"; chown -R --reference="$o" "$d"' \
    sh "$here" "$outdir" "$dest" "${cases[@]}"
}

t0=$(now)
case $mode in
  native) oracle_native "$outdir/oracle" ;;
  docker) oracle_docker "$outdir/oracle" ;;
  both)
    oracle_docker "$outdir/oracle"
    oracle_native "$outdir/oracle-native"
    ;;
esac
echo "compare.sh: oracle ($mode) for ${#cases[@]} recordings: $(since "$t0")"

status=0
if [ "$mode" = both ]; then
  same=0
  for c in "${cases[@]}"; do
    for f in script folded svg status; do
      if cmp -s "$outdir/oracle/$c.$f" "$outdir/oracle-native/$c.$f"; then
        same=$((same + 1))
      else
        echo "compare.sh: ORACLE MISMATCH $c.$f: container and host differ" >&2
        diff -u "$outdir/oracle-native/$c.$f" "$outdir/oracle/$c.$f" \
          > "$outdir/diffs/oracle-$c.$f.diff" || true
        status=1
      fi
    done
  done
  echo "compare.sh: container vs host oracle: $same of $((${#cases[@]} * 4)) files identical"
fi

# ---- perfold ---------------------------------------------------------------------------
t0=$(now)
for c in "${cases[@]}"; do
  cmds=(perf-script:script fold:folded flamegraph:svg)
  if [[ $c == *dwarf* ]]; then cmds+=(perf-script@--no-inline:noinline); fi
  for cmd in "${cmds[@]}"; do
    sub=${cmd%%:*} ext=${cmd#*:}
    flags=()
    if [[ $sub == *@* ]]; then flags=("${sub#*@}"); sub=${sub%%@*}; fi
    rc=0
    "$perfold" "$sub" "${flags[@]}" --kallsyms "$outdir/kallsyms" "$outdir/$c.data" \
      > "$outdir/perfold/$c.$ext" 2> "$outdir/perfold/$c.$ext.stderr" || rc=$?
    echo "$rc" > "$outdir/perfold/$c.$ext.rc"
  done
done
# Flag variants (variants.txt).
variant_list=()
while IFS='|' read -r name kind args _collapse diff _flame; do
  variant_list+=("$(echo $name)|$(echo $kind)|$args|$diff")
done < <(grep -v '^#' "$here/variants.txt")
for c in "${cases[@]}"; do
  for v in "${variant_list[@]}"; do
    IFS='|' read -r name kind args diff <<< "$v"
    got=$outdir/perfold/$c.v-$name
    rc=0
    # shellcheck disable=SC2086 # the flags are split on spaces on purpose
    case $kind in
      fold) "$perfold" fold $args --kallsyms "$outdir/kallsyms" "$outdir/$c.data" > "$got.folded" 2> "$got.stderr" || rc=$? ;;
      svg) "$perfold" flamegraph $args --kallsyms "$outdir/kallsyms" "$outdir/$c.data" > "$got.svg" 2> "$got.stderr" || rc=$? ;;
      diff)
        base=$(echo $diff | cut -d' ' -f1)
        [ -f "$outdir/$base.data" ] || continue
        "$perfold" diff $args --kallsyms "$outdir/kallsyms" "$outdir/$base.data" "$outdir/$c.data" \
          > "$got.svg" 2> "$got.stderr" || rc=$?
        ;;
    esac
    echo "$rc" > "$got.rc"
  done
done
echo "compare.sh: perfold for ${#cases[@]} recordings: $(since "$t0")"

# ---- compare ---------------------------------------------------------------------------
# docs/parity.md: <!-- allow: <case-glob> <script|fold|svg|*> -->
allows=()
if [ -f "$parity" ]; then
  while read -r glob out; do allows+=("$glob $out"); done < <(
    sed -n 's/^[[:space:]]*<!--[[:space:]]*allow:[[:space:]]*\([^[:space:]]\{1,\}\)[[:space:]]\{1,\}\([^[:space:]]\{1,\}\)[[:space:]]*-->[[:space:]]*$/\1 \2/p' \
      "$parity")
fi
allowed() { # CASE OUTPUT
  local a glob out
  for a in "${allows[@]}"; do
    glob=${a% *} out=${a#* }
    # shellcheck disable=SC2053 # glob match on purpose
    if [[ $1 == $glob ]] && [[ $out == "*" || $out == "$2" ]]; then return 0; fi
  done
  return 1
}

printf '\n%-16s %-14s %-14s %-14s %-14s\n' case script fold svg noinline
n_ok=0 n_diff=0 n_allowed=0 n_err=0
for c in "${cases[@]}"; do
  row=()
  outs=(script:script fold:folded svg:svg)
  if [ -f "$outdir/oracle/$c.noinline" ]; then outs+=(noinline:noinline); fi
  for cmd in "${outs[@]}"; do
    name=${cmd%%:*} ext=${cmd#*:}
    want=$outdir/oracle/$c.$ext got=$outdir/perfold/$c.$ext
    rc=$(cat "$got.rc")
    # The oracle's exit status for this output: perf script's, or for fold and
    # svg the first failure along the pipeline that made it.
    perf_rc=$(awk -v want="$name" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); rc[kv[1]] = kv[2] }
        r = rc["perf-script"]
        if (want == "noinline") r = rc["noinline"]
        if (want != "script" && want != "noinline" && r == 0) r = rc["fold"]
        if (want == "svg" && r == 0) r = rc["svg"]
        print r }' "$outdir/oracle/$c.status")
    if [ "$rc" != 0 ] && [ "${perf_rc:-0}" != 0 ] && cmp -s "$want" "$got"; then
      # The oracle failed too (perf refused the file, or inferno-flamegraph had
      # no stacks to draw), and both wrote the same bytes.
      cell="OK(fails)"; n_ok=$((n_ok + 1))
    elif [ "$rc" != 0 ] && ! { [ "${perf_rc:-0}" != 0 ] && allowed "$c" "$name"; }; then
      cell="ERR(exit $rc)"
      n_err=$((n_err + 1)); status=1
    elif cmp -s "$want" "$got"; then
      cell=OK; n_ok=$((n_ok + 1))
    else
      d=$outdir/diffs/$c.$name.diff
      if [ "$name" = svg ]; then
        # inferno writes most of the SVG on one line: diff it one element per line.
        diff -u --label "$want" --label "$got" <(sed 's/></>\n</g' "$want") <(sed 's/></>\n</g' "$got") > "$d" || true
      else
        diff -u "$want" "$got" > "$d" || true
      fi
      lines=$(grep -c '^[-+]' "$d" || true)
      lines=$((lines - 2))
      if allowed "$c" "$name"; then
        cell="allowed($lines)"; n_allowed=$((n_allowed + 1))
      else
        cell="DIFF($lines)"; n_diff=$((n_diff + 1)); status=1
      fi
    fi
    row+=("$cell")
  done
  if [ "${#row[@]}" -lt 4 ]; then row+=("-"); fi
  printf '%-16s %-14s %-14s %-14s %-14s\n' "$c" "${row[@]}"
done
echo
echo "flag variants (variants.txt): cases OK / compared, and those that are not"
for v in "${variant_list[@]}"; do
  IFS='|' read -r name kind _args _diff <<< "$v"
  ext=folded out=fold
  [ "$kind" = fold ] || { ext=svg out=svg; }
  ok=0 all=0 bad=()
  for c in "${cases[@]}"; do
    want=$outdir/oracle/$c.v-$name.$ext got=$outdir/perfold/$c.v-$name.$ext
    [ -f "$want" ] && [ -f "$outdir/perfold/$c.v-$name.rc" ] || continue
    all=$((all + 1))
    rc=$(cat "$outdir/perfold/$c.v-$name.rc") want_rc=$(cat "$outdir/oracle/$c.v-$name.rc")
    # perf script's own status on this recording: when perf refused the file
    # (c-killed), the pipeline's last command still exits 0, and perfold's
    # one-line error with the same bytes written is what the main table
    # calls OK(fails).
    script_rc=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "perf-script") print kv[2] } }' \
      "$outdir/oracle/$c.status")
    if cmp -s "$want" "$got" && { [ "$rc" = 0 ] || [ "$want_rc" != 0 ] || [ "${script_rc:-0}" != 0 ]; }; then
      ok=$((ok + 1)); n_ok=$((n_ok + 1))
    elif allowed "$c" "$out" || allowed "$c" "v-$name"; then
      ok=$((ok + 1)); n_allowed=$((n_allowed + 1))
    elif [ "$rc" != 0 ]; then
      bad+=("$c:ERR(exit $rc)"); n_err=$((n_err + 1)); status=1
    else
      if [ "$ext" = svg ]; then
        diff -u --label "$want" --label "$got" <(sed 's/></>\n</g' "$want") <(sed 's/></>\n</g' "$got") \
          > "$outdir/diffs/$c.v-$name.diff" || true
      else
        diff -u "$want" "$got" > "$outdir/diffs/$c.v-$name.diff" || true
      fi
      bad+=("$c:DIFF"); n_diff=$((n_diff + 1)); status=1
    fi
  done
  printf '  %-14s %-5s %3d / %-3d %s\n' "$name" "$kind" "$ok" "$all" "${bad[*]:-}"
done
echo
echo "compare.sh: $n_ok OK, $n_diff DIFF, $n_allowed allowed by $(basename "$parity"), $n_err perfold errors" \
  "(oracle: $outdir/oracle, perfold: $outdir/perfold, diffs: $outdir/diffs)"
exit $status
