#!/usr/bin/env python3
"""first-event-samples.py < SCRIPT > SCRIPT: keeps the samples of the first event only.

The input of the golden folded stacks for the documented inferno deviation (docs/parity.md,
issue 11 item 8): in a recording without call graphs and with several events,
inferno-collapse-perf 0.12.8 reads every line after a sample of another event as part of
that skipped sample. perfold folds what inferno folds when it skips just that sample, which
is inferno's output for this text: perf script's lines of the event inferno chooses (the
first one) and nothing else.
"""
import re
import sys

EVENT = re.compile(rb'\s\d+\.\d+:\s+\d+\s+(\S+):\s')
first = None
for line in sys.stdin.buffer:
    if line.startswith(b'\t') or not line.strip():
        sys.exit('first-event-samples.py: a callchain or blank line: only for recordings without call graphs')
    m = EVENT.search(line)
    if not m:
        sys.exit('first-event-samples.py: no event in %r' % line[:100])
    if first is None:
        first = m.group(1)
    if m.group(1) == first:
        sys.stdout.buffer.write(line)
