#!/bin/sh
# Multi-process workload for the perfold oracle: a few short processes (sh -c pipelines of
# seq, gzip, sort and sha256sum over generated data). SCALE ($1, default 1) multiplies the
# data size; about 0.5 s of CPU at 1.
set -e
n=$((${1:-1} * 300000))
tmp=${TMPDIR:-/tmp}/perfold-shell.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
sh -c "seq 1 $n | sha256sum > '$tmp/a.sum'"
sh -c "seq 1 $n | gzip -6 -c > '$tmp/data.gz'"
sh -c "gzip -dc '$tmp/data.gz' | sort -r | sha256sum > '$tmp/b.sum'"
sh -c "gzip -dc '$tmp/data.gz' | sort -n -k1,1 | gzip -1 -c | sha256sum > '$tmp/c.sum'"
cat "$tmp/a.sum" "$tmp/b.sum" "$tmp/c.sum" | sha256sum | cut -c1-16
