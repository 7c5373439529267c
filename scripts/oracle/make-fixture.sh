#!/usr/bin/env bash
# make-fixture.sh CASE OUTDIR
#
# Turns the recording OUTDIR/CASE.data into a machine-independent golden fixture:
#   tests/fixtures/CASE/perf.data        the recording (copied unchanged)
#   tests/fixtures/CASE/kallsyms         OUTDIR/kallsyms, trimmed to the symbols the samples need
#                                        (the full file is kept if trimming changes perf's output)
#   tests/fixtures/CASE/expected.script  perf script on the committed inputs (see recipe.sh)
#   tests/fixtures/CASE/expected.folded  ... | inferno-collapse-perf
#   tests/fixtures/CASE/expected.svg     ... | inferno-flamegraph
#   tests/fixtures/CASE/recipe.sh        how it was recorded; running it regenerates expected.*
#   tests/fixtures/sysroot/              shared by all fixtures: every DSO the recordings
#                                        need at its recorded path, debug files at
#                                        /usr/lib/debug/.build-id/xx/yyyy.debug, and the vDSO
#                                        in sysroot/.debug (perf --symfs DIR uses DIR/.debug as
#                                        its build-id cache)
#
# If OUTDIR/CASE.data does not exist it is recorded first with `record.sh --freq 499`.
# A recording made at more than 499 Hz is refused (fixtures stay small).
# The expected outputs are always produced by the real perf and inferno on the committed files,
# with an empty HOME and PERF_CONFIG=/dev/null; the script then checks that a second run with
# another HOME (and, when `unshare` works, with /proc/kallsyms, /proc/modules and
# /sys/kernel/notes hidden) gives the same bytes, and that the output equals what perf prints
# for OUTDIR/CASE.data on this host (full kallsyms, ~/.debug), i.e. nothing was lost.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
max_freq=499

[ $# -eq 2 ] || { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
case_name=$1
mkdir -p "$2"
outdir=$(cd "$2" && pwd)
data=$outdir/$case_name.data
fixtures=$repo/tests/fixtures
fx=$fixtures/$case_name
sysroot=$fixtures/sysroot

die() { echo "make-fixture.sh: $*" >&2; exit 1; }
log() { echo "make-fixture.sh: $case_name: $*"; }

if [ ! -f "$data" ]; then
  dwarf_flag=(); [[ $case_name == *dwarf* ]] && dwarf_flag=(--dwarf)
  "$here"/record.sh --freq "$max_freq" "${dwarf_flag[@]}" --cases "$case_name" "$outdir"
fi
[ -f "$outdir/kallsyms" ] || die "$outdir/kallsyms missing (record.sh saves it)"
freq=$(perf evlist -F -i "$data" 2>/dev/null | sed -n 's/.*sample_freq=\([0-9]*\).*/\1/p' | sort -n | tail -1)
if [ -n "$freq" ] && [ "$freq" -gt "$max_freq" ]; then
  die "$data was recorded at $freq Hz; fixtures use at most $max_freq Hz: record.sh --freq $max_freq --cases $case_name $outdir"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# What perf prints on this host, with the full kallsyms and the host's build-id cache.
perf script -i "$data" --kallsyms "$outdir/kallsyms" > "$work/host.script" 2> "$work/host.stderr"

build_id_of() { # FILE -> build-id (hex) or nothing
  readelf -n "$1" 2>/dev/null | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p' | head -1
}

# copy_into_sysroot SRC DEST_ABS_PATH: copy unless an identical file is already there; a
# different file at the same path means two recordings need two versions: refuse.
copy_into_sysroot() {
  local src=$1 dest=$sysroot$2
  if [ -e "$dest" ]; then
    cmp -s "$src" "$dest" && return 0
    die "$dest exists and differs from $src (fixtures recorded from different builds? regenerate all fixtures from one OUTDIR)"
  fi
  mkdir -p "$(dirname "$dest")"
  cp "$src" "$dest"
  chmod u+w "$dest"
}

# DSOs: those with a recorded build-id (perf buildid-list: the DSOs sample IPs hit) and every
# DSO a printed frame names (callchains reach DSOs without recorded build-ids).
declare -A recorded_id=()
while read -r id path; do
  # perf record -z (6.1) writes the table with empty build-ids: only a path.
  [ -n "$path" ] || { path=$id; id=; }
  recorded_id[$path]=$id
done < <(perf buildid-list -i "$data" 2>/dev/null)
# Every printed frame as "ADDRESS DSO": callchain lines, and the sample line itself when the
# recording has no callchain.
sed -n -e 's/^\t *\([0-9a-f]\{1,16\}\) .* (\(.*\))$/\1 \2/p' \
  -e 's/^[^\t].*: \{1,\}\([0-9a-f]\{1,16\}\) .* (\(.*\))$/\1 \2/p' "$work/host.script" > "$work/frames"
mapfile -t dsos < <({ printf '%s\n' "${!recorded_id[@]}"; cut -d' ' -f2- "$work/frames"; } | sort -u)

mkdir -p "$sysroot" "$fx"
for dso in "${dsos[@]}"; do
  id=${recorded_id[$dso]:-}
  case $dso in
    '[kernel.kallsyms]'|'[unknown]'|'[anon]'*|'[heap]'|'[stack]'|'//anon'|/tmp/perf-*.map|inlined) continue ;;
    '[vdso]')
      [ -n "$id" ] || continue
      src="$HOME/.debug/[vdso]/$id/vdso"
      [ -f "$src" ] || { log "WARNING: no cached vDSO image for build-id $id"; continue; }
      copy_into_sysroot "$src" "/.debug/[vdso]/$id/vdso"
      mkdir -p "$sysroot/.debug/.build-id/${id:0:2}"
      ln -sfn "../../[vdso]/$id" "$sysroot/.debug/.build-id/${id:0:2}/${id:2}"
      continue ;;
    '['*) log "WARNING: not handled: $dso"; continue ;;
  esac
  # The file perf record saw: the build-id cache copy if there is one, else the path itself.
  src=$dso
  if [ -n "$id" ] && [ -f "$HOME/.debug/.build-id/${id:0:2}/${id:2}/elf" ]; then
    src=$(readlink -f "$HOME/.debug/.build-id/${id:0:2}/${id:2}/elf")
  fi
  [ -f "$src" ] || die "cannot find $dso (build-id ${id:-none}) on this host"
  file_id=$(build_id_of "$src")
  if [ -n "$id" ] && [ "$file_id" != "$id" ]; then
    die "$src has build-id ${file_id:-none}, the recording says $id"
  fi
  copy_into_sysroot "$src" "$dso"
  if [ -n "$file_id" ] && [ -f "/usr/lib/debug/.build-id/${file_id:0:2}/${file_id:2}.debug" ]; then
    copy_into_sysroot "/usr/lib/debug/.build-id/${file_id:0:2}/${file_id:2}.debug" \
      "/usr/lib/debug/.build-id/${file_id:0:2}/${file_id:2}.debug"
  fi
done

cp "$data" "$fx/perf.data"

# Kernel symbols: keep, for every kernel address printed, the symbols at the start address of
# the symbol that contains it and at the next address (perf ends a kallsyms symbol where the
# next one starts), plus perf's reference symbols. Checked below against the full file.
trim_kallsyms() {
  awk '$2 == "[kernel.kallsyms]" && length($1) == 16 { print $1 }' "$work/frames" | sort -u > "$work/kaddrs"
  # distinct start addresses of the symbol types perf loads (fixed-width hex: text order)
  awk 'toupper($2) ~ /^[TWDB]$/ { print $1 }' "$outdir/kallsyms" | sort -u > "$work/starts"
  awk '
    FILENAME == ARGV[1] { u[++m] = $1 ""; next }
    FILENAME == ARGV[2] {
      a = $1 ""
      while (j < m && u[j + 1] <= a) j++
      if (j > 0) { want[u[j]] = 1; if (j < m) want[u[j + 1]] = 1 }
      next
    }
    ($1 "") in want || $3 == "_text" || $3 == "_stext" || $3 == "_etext"
  ' "$work/starts" "$work/kaddrs" "$outdir/kallsyms"
}
trim_kallsyms > "$fx/kallsyms"

# The recipe. Running it regenerates the expected outputs from the committed inputs only.
{
  echo '#!/bin/sh'
  echo "# Fixture '$case_name', generated by scripts/oracle/make-fixture.sh on $(date -u +%Y-%m-%d)."
  echo "# Host: $(perf version) ($(dpkg-query -W -f='linux-perf ${Version}' linux-perf 2>/dev/null || true)), kernel $(uname -r),"
  echo "#   $(dpkg-query -W -f='libc6 ${Version}' libc6 2>/dev/null || true), inferno 0.12.8."
  echo "# Workloads built from scripts/oracle/workloads/ by scripts/oracle/record.sh:"
  if [ -f "$outdir/bin/build.cmds" ]; then sed 's/^/#   /' "$outdir/bin/build.cmds"; fi
  echo "# Recorded with:"
  sed 's/^/#   /' "$outdir/$case_name.cmd" 2>/dev/null || echo "#   (unknown)"
  echo "# kallsyms: /proc/kallsyms of the recording boot, trimmed to the symbols the samples need"
  echo "#   (make-fixture.sh checked that perf prints the same with the full file)."
  echo "# sysroot: ../sysroot holds the DSOs at their recorded paths, their /usr/lib/debug files and"
  echo "#   the vDSO in ../sysroot/.debug (perf --symfs DIR uses DIR/.debug as its build-id cache)."
  echo "#"
  echo "# Regenerate the expected outputs (perf 6.1 + inferno 0.12.8 on PATH): sh recipe.sh"
  cat <<'EOF'
set -eu
cd "$(dirname "$0")"
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
HOME=$empty PERF_CONFIG=/dev/null perf script -i perf.data --symfs ../sysroot --kallsyms kallsyms > expected.script
inferno-collapse-perf < expected.script > expected.folded
inferno-flamegraph < expected.folded > expected.svg
EOF
  if [[ $case_name == *dwarf* ]]; then
    echo 'HOME=$empty PERF_CONFIG=/dev/null perf script --no-inline -i perf.data --symfs ../sysroot --kallsyms kallsyms > expected.noinline'
  fi
} > "$fx/recipe.sh"
chmod +x "$fx/recipe.sh"

run_recipe() { # -> expected.* in the fixture dir; stderr to $work/recipe.stderr
  "$fx/recipe.sh" 2> "$work/recipe.stderr" || { cat "$work/recipe.stderr" >&2; die "recipe.sh failed"; }
  if [ -s "$work/recipe.stderr" ]; then
    log "WARNING: recipe.sh wrote to stderr:"; sed 's/^/    /' "$work/recipe.stderr" >&2
  fi
}

# 1. Trimmed kallsyms must not change the output; else keep the full file.
run_recipe
if ! cmp -s "$fx/expected.script" "$work/host.script"; then
  cp "$outdir/kallsyms" "$fx/kallsyms"
  run_recipe
  if cmp -s "$fx/expected.script" "$work/host.script"; then
    log "trimmed kallsyms changed perf's output; keeping the full kallsyms"
  fi
fi
# 2. The fixture must print what perf prints on this host; otherwise something is missing.
if ! cmp -s "$fx/expected.script" "$work/host.script"; then
  diff "$work/host.script" "$fx/expected.script" | head -20 >&2 || true
  die "perf prints something else from the fixture than from the host recording (above: host < > fixture)"
fi
# 3. Nothing outside the fixture is used: another HOME, other cwd, the running kernel hidden.
for f in script folded svg; do cp "$fx/expected.$f" "$work/first.$f"; done
(cd / && HOME=/nonexistent "$fx/recipe.sh" 2>/dev/null)
hidden=""
if unshare -m true 2>/dev/null; then
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare -m sh -c '
    for f in /proc/kallsyms /proc/modules /sys/kernel/notes /proc/kcore; do
      [ -e "$f" ] && mount --bind /dev/null "$f"
    done
    HOME=/root/does-not-exist "$1"' sh "$fx/recipe.sh" 2>/dev/null
  hidden=" and with the running kernel hidden"
fi
for f in script folded svg; do
  cmp -s "$fx/expected.$f" "$work/first.$f" || die "expected.$f depends on something outside the fixture"
done

lines=$(wc -l < "$fx/expected.script")
log "OK: $lines script lines, $(wc -l < "$fx/expected.folded") folded stacks, kallsyms $(wc -l < "$fx/kallsyms") lines;" \
  "reproducible with another HOME$hidden"
