#!/bin/sh
# Remakes the goldens of the recordings from elsewhere (tests/fixtures/foreign) with the perf and
# inferno on PATH in a scratch copy laid out like the repository (make-goldens.sh without a
# corpus: the committed real recordings are kept, the synthetic ones rebuilt from the fixtures
# they come from) and fails if any file differs from the committed ones.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tests/fixtures" "$work/scripts"
cp -r "$repo/tests/fixtures/foreign" "$work/tests/fixtures/foreign"
for d in sysroot c-fp c-nocg c-dwarf c-opts c-zstd; do
  ln -s "$repo/tests/fixtures/$d" "$work/tests/fixtures/$d"
done
cp -r "$repo/scripts/foreign" "$repo/scripts/fixtures" "$work/scripts/"
sh "$work/tests/fixtures/foreign/make-goldens.sh" 2> /dev/null
diff -r "$repo/tests/fixtures/foreign" "$work/tests/fixtures/foreign"
echo "foreign goldens: identical ($(perf version 2> /dev/null), inferno on PATH)"
