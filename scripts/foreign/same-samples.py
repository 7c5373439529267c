#!/usr/bin/env python3
"""same-samples.py A B: do two `perf script` texts hold the same samples in the same order?

For files perf 6.1 refuses (a 136-byte perf_event_attr, written by perf 6.3 and newer), the
reference is perf 6.12, whose header line is laid out differently (wider pid column); this
compares what both must agree on: per sample the pid/tid, the time and the number of
callchain frames. Prints the first difference and exits 1, or the sample count and exits 0.
"""
import re
import sys

HEAD = re.compile(rb'^\s*.*?\s+(\d+(?:/\d+)?)\s+(?:\[\d+\]\s+)?(\d+\.\d+):')


def samples(path):
    out = []
    for line in open(path, 'rb'):
        line = line.rstrip(b'\n')
        if not line:
            continue
        if line.startswith(b'\t'):
            if out:
                out[-1][2] += 1
            continue
        m = HEAD.match(line)
        if not m:
            sys.exit('%s: not a sample line: %r' % (path, line[:120]))
        out.append([m.group(1), m.group(2), 0])
    return out


a, b = samples(sys.argv[1]), samples(sys.argv[2])
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        print('sample %d differs: %s vs %s' % (i + 1, x, y))
        sys.exit(1)
if len(a) != len(b):
    print('sample counts differ: %d vs %d' % (len(a), len(b)))
    sys.exit(1)
print('%d samples: same pid/tid, time and frame count' % len(a))
