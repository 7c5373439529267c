#!/usr/bin/env bash
# build-image.sh [--force]
#
# Builds the oracle image ORACLE_IMAGE (default perfold-oracle:bookworm) without a container
# registry: Debian 12 from the host's Debian mirror by debootstrap, the oracle's packages at
# exactly the host's versions, and the host's inferno binaries.
#
#   1. debootstrap --variant=minbase --include=linux-perf,binutils,libc6-dbg bookworm ROOT MIRROR
#      (MIRROR: the host's bookworm mirror from /etc/apt/sources.list.d/*.sources or
#      /etc/apt/sources.list)
#   2. in ROOT (chroot, host's apt sources): the packages in $pinned get the host's versions,
#      from apt when the mirror still has that version, else repacked from the host's installed
#      package with dpkg-repack (the host's linux-perf is often newer than any index: Debian
#      drops superseded versions). Every pinned version is then checked against the host.
#   3. tar -C ROOT -c . | docker import - perfold-oracle:base
#   4. docker create/cp/commit: the host's inferno-collapse-perf, inferno-flamegraph and inferno-diff-folded
#      (inferno $INFERNO_VERSION, from `cargo install`) into /usr/local/bin -> ORACLE_IMAGE
#
# Cache: the image carries a label with the pinned versions, the inferno binaries' checksums and
# this script's checksum; when an image with the same label exists nothing is rebuilt (--force
# rebuilds). Needs root, debootstrap, dpkg-repack (installed with apt when missing) and a
# running docker daemon (dockerd.sh start). Work files in $ORACLE_BUILD_DIR
# (default /var/tmp/perfold-oracle-build), removed at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=./lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"
oracle_docker_env

force=0
case ${1:-} in
  --force) force=1 ;;
  '') ;;
  *) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "build-image.sh: run as root" >&2; exit 1; }

# Packages whose files decide the oracle's output: perf and the libraries it reads DWARF and
# unwinds with, addr2line (binutils, for inline frames), and the libc the workloads link
# (its debug symbols come from libc6-dbg) and libstdc++/libgcc.
pinned=(linux-perf libunwind8 libdw1 libelf1 binutils binutils-common binutils-x86-64-linux-gnu
  libbinutils libctf0 libctf-nobfd0 libgprofng0 libc6 libc6-dbg libstdc++6 libgcc-s1)

host_version() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$1" 2> /dev/null | awk '$1 == "ii" { print $2 }'; }

for p in linux-perf libc6 libc6-dbg binutils; do
  [ -n "$(host_version "$p")" ] || { echo "build-image.sh: the host needs $p installed (it is the reference)" >&2; exit 1; }
done
collapse=$(command -v inferno-collapse-perf) || { echo "build-image.sh: inferno-collapse-perf not on PATH (cargo install inferno --version $INFERNO_VERSION --locked)" >&2; exit 1; }
flamegraph=$(command -v inferno-flamegraph) || { echo "build-image.sh: inferno-flamegraph not on PATH" >&2; exit 1; }
difffolded=$(command -v inferno-diff-folded) || { echo "build-image.sh: inferno-diff-folded not on PATH" >&2; exit 1; }
if command -v cargo > /dev/null && ! cargo install --list 2> /dev/null | grep -q "^inferno v$INFERNO_VERSION:"; then
  echo "build-image.sh: WARNING: the installed inferno is not $INFERNO_VERSION ($(cargo install --list | grep '^inferno ' || echo none))" >&2
fi

key=$( {
  for p in "${pinned[@]}"; do echo "$p=$(host_version "$p")"; done
  sha256sum "$collapse" "$flamegraph" "$difffolded" "${BASH_SOURCE[0]}" | cut -d' ' -f1
} | sha256sum | cut -c1-16)

if [ "$force" = 0 ] &&
  [ "$(docker image inspect -f '{{ index .Config.Labels "perfold.oracle.key" }}' "$ORACLE_IMAGE" 2> /dev/null)" = "$key" ]; then
  echo "build-image.sh: $ORACLE_IMAGE is up to date (key $key); --force rebuilds"
  exit 0
fi

# The host's bookworm mirror (the first deb entry for the suite bookworm).
host_mirror() {
  local f m=
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    m=$(awk 'BEGIN { RS = ""; FS = "\n" }
      { uris = ""; deb = 0; bw = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:.*[ \t]deb([ \t]|$)/) deb = 1
          if ($i ~ /^Suites:.*[ \t]bookworm([ \t]|$)/) bw = 1
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] } }
        if (deb && bw && uris != "") { print uris; exit } }' "$f")
    [ -n "$m" ] && { echo "$m"; return; }
  done
  if [ -f /etc/apt/sources.list ]; then
    m=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]\{1,\}\)[[:space:]]\{1,\}bookworm[[:space:]].*/\2/p' /etc/apt/sources.list | head -1)
    [ -n "$m" ] && { echo "$m"; return; }
  fi
  echo http://deb.debian.org/debian
}
mirror=$(host_mirror)

work=${ORACLE_BUILD_DIR:-/var/tmp/perfold-oracle-build}
root=$work/rootfs
rm -rf "$work"
mkdir -p "$work/debs"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

t_all=$(now)
t0=$(now)
echo "build-image.sh: debootstrap bookworm from $mirror ..."
if ! debootstrap --variant=minbase --include=linux-perf,binutils,libc6-dbg bookworm "$root" "$mirror" \
  > "$work/debootstrap.log" 2>&1; then
  tail -30 "$work/debootstrap.log" >&2
  echo "build-image.sh: debootstrap failed" >&2
  exit 1
fi
echo "build-image.sh: debootstrap: $(since "$t0")"

# Run a command in the chroot with /proc mounted in a private mount namespace (so nothing stays
# mounted if we are interrupted).
in_root() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
    "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive HOME=/root "$@"
}
# shellcheck disable=SC2016 # dpkg-query format
chroot_version() { in_root dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$1" 2> /dev/null | awk '$1 == "ii" { print $2 }'; }

t0=$(now)
# The host's apt sources (security and updates suites too) for the pinned versions.
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -f "$root/etc/apt/sources.list"
cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2> /dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
in_root apt-get update -qq > "$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }

from_apt=() repack=()
for p in "${pinned[@]}"; do
  hv=$(host_version "$p")
  [ -n "$hv" ] || continue
  [ "$(chroot_version "$p")" = "$hv" ] && continue
  if in_root apt-cache madison "$p" 2> /dev/null | awk -F' *[|] *' -v v="$hv" '$2 == v { f = 1 } END { exit !f }'; then
    from_apt+=("$p=$hv")
  else
    repack+=("$p")
  fi
done
if [ ${#from_apt[@]} -gt 0 ]; then
  echo "build-image.sh: from apt at the host's versions: ${from_apt[*]}"
  in_root apt-get install -y -qq --allow-downgrades --no-install-recommends "${from_apt[@]}" \
    >> "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }
fi
if [ ${#repack[@]} -gt 0 ]; then
  command -v dpkg-repack > /dev/null || apt-get install -y -qq dpkg-repack > /dev/null
  echo "build-image.sh: not in the mirror at the host's version, repacked from the host: ${repack[*]}"
  mkdir -p "$root/tmp/debs"
  (cd "$root/tmp/debs" && dpkg-repack "${repack[@]}" > "$work/repack.log" 2>&1) ||
    { cat "$work/repack.log" >&2; exit 1; }
  in_root sh -c 'dpkg -i /tmp/debs/*.deb' >> "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }
  rm -rf "$root/tmp/debs"
fi
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

# Check: every pinned package at the host's version, the same perf and addr2line binaries.
bad=0
printf '  %-28s %-22s %s\n' package host image
for p in "${pinned[@]}"; do
  hv=$(host_version "$p") cv=$(chroot_version "$p")
  [ -n "$hv" ] || continue
  mark=""; [ "$hv" = "$cv" ] || { mark="  <-- MISMATCH"; bad=1; }
  printf '  %-28s %-22s %s%s\n' "$p" "$hv" "${cv:-(missing)}" "$mark"
done
for f in /usr/bin/perf /usr/bin/x86_64-linux-gnu-addr2line; do
  cmp -s "$f" "$root$f" || { echo "build-image.sh: $f differs between host and image" >&2; bad=1; }
done
[ "$bad" = 0 ] || { echo "build-image.sh: the image does not match the host" >&2; exit 1; }
echo "build-image.sh: packages pinned to the host's versions: $(since "$t0")"

t0=$(now)
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - perfold-oracle:base > /dev/null
cid=$(docker create perfold-oracle:base)
docker cp -q -L "$collapse" "$cid:/usr/local/bin/inferno-collapse-perf" > /dev/null
docker cp -q -L "$difffolded" "$cid:/usr/local/bin/inferno-diff-folded" > /dev/null
docker cp -q -L "$flamegraph" "$cid:/usr/local/bin/inferno-flamegraph" > /dev/null
docker commit --change "LABEL perfold.oracle.key=$key" \
  --change "LABEL perfold.oracle.perf=$(host_version linux-perf) perfold.oracle.inferno=$INFERNO_VERSION" \
  "$cid" "$ORACLE_IMAGE" > /dev/null
docker rm "$cid" > /dev/null
echo "build-image.sh: docker import + inferno: $(since "$t0")"

# Smoke test, as compare.sh runs it.
docker run --rm --network none "$ORACLE_IMAGE" sh -c \
  'perf version && inferno-collapse-perf --help > /dev/null && inferno-flamegraph --help > /dev/null && inferno-diff-folded --help > /dev/null && echo inferno ok' \
  2> >(grep -v 'IPv4 forwarding is disabled' >&2)
echo "build-image.sh: built $ORACLE_IMAGE (key $key) in $(since "$t_all")"
