#!/bin/sh
# Remakes the hardware-sampling goldens (tests/fixtures/hw) with the perf and inferno on
# PATH in a scratch copy laid out like the repository and fails if any differs from the
# committed ones: synthetic files rebuilt by make-synthetic.py, outputs by perf and inferno.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tests/fixtures" "$work/scripts/hw"
cp -r "$repo/tests/fixtures/hw" "$work/tests/fixtures/hw"
ln -s "$repo/tests/fixtures/sysroot" "$work/tests/fixtures/sysroot"
cp "$repo/scripts/hw/make-synthetic.py" "$work/scripts/hw/"
sh "$work/tests/fixtures/hw/recipe.sh"
diff -r "$repo/tests/fixtures/hw" "$work/tests/fixtures/hw"
echo "hw goldens: identical ($(perf version 2>/dev/null), inferno on PATH)"
