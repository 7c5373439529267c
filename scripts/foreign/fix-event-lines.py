#!/usr/bin/env python3
"""fix-event-lines.py < SCRIPT > SCRIPT: perf script's event lines in the shape inferno reads.

The input of the golden folded stacks for two inferno deviations of docs/parity.md (issue 11
item 8). inferno-collapse-perf 0.12.8 finds the comm by the first all-digit word after it (the
tid, or pid/tid) and the period and event in the words after the time's colon. It misreads:

- a tid of -1 (or pid/tid -1/-1): no digit word, so the period is taken for the tid, the time
  becomes part of the comm and every sample is a stack of its own, counted 1;
- a line without tid (no PERF_SAMPLE_TID): the same;
- a line without time (no PERF_SAMPLE_TIME): the event and period are read from the words after
  the event's colon (the frame of a sample without call graph: then no stack is ever closed and
  the rest of the input is one junk stack).

This script changes only the shape of each event line, not what inferno folds from it: a tid's
minus signs are dropped, a missing tid is written 0 and a missing time 0.000000:. Frame lines
(starting with a tab) and blank lines are copied. perfold's fold equals inferno's on the output
(src/writers/folded.rs, `Folder::render_line`).
"""
import re
import sys

# comm, then the optional tid (or pid/tid), cpu and time, then the period and event.
LINE = re.compile(rb'^(.*?)(\s+-?\d+(?:/-?\d+)?)?(\s+\[\d+\])?(\s+\d+\.\d+:)?(\s+\d+\s+[^\s:]+:(?:\s.*)?)$',
                  re.S)

for line in sys.stdin.buffer:
    if line.startswith(b'\t') or not line.strip():
        sys.stdout.buffer.write(line)
        continue
    m = LINE.match(line)
    if not m:
        sys.exit('fix-event-lines.py: not an event line: %r' % line[:100])
    comm, tid, cpu, time, rest = (g or b'' for g in m.groups())
    tid = tid.replace(b'-', b'') if tid else b' 0'
    time = time or b' 0.000000:'
    sys.stdout.buffer.write(comm + tid + cpu + time + rest)
