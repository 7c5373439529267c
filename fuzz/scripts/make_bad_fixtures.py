#!/usr/bin/env python3
"""Writes the hand-made hostile perf.data files of tests/fixtures/bad/.

Each is a minimal file-mode perf.data (one software cpu-clock attribute,
a few records) with one thing wrong. Deterministic: re-running rewrites
identical bytes. The `.expected` lines are not written here; they are
what perfold prints, checked by tests/bad_fixtures.rs.
    python3 fuzz/scripts/make_bad_fixtures.py
"""
import os
import struct

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "bad")

SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_CALLCHAIN, SAMPLE_PERIOD = 1, 2, 4, 32, 256
MMAP2, COMM, SAMPLE = 10, 3, 9
MISC_USER = 2
FEAT_BUILD_ID = 2
HEADER = 104
ATTR_SIZE = 136  # perf_event_attr as perf 6.1 writes it


def attr(sample_type):
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<IIQQQQQ", a, 0, 1, ATTR_SIZE, 0, 4000, sample_type, 0, 1 << 10)
    return bytes(a)


def record(typ, misc, payload):
    payload = payload + b"\0" * (-len(payload) % 8)
    return struct.pack("<IHH", typ, misc, 8 + len(payload)) + payload


def comm(pid, name):
    return record(COMM, 0, struct.pack("<ii", pid, pid) + name + b"\0")


def mmap2(pid, start, length, filename):
    body = struct.pack("<iiQQQIIQQII", pid, pid, start, length, 0, 8, 1, 1234, 0, 5, 2)
    return record(MMAP2, MISC_USER, body + filename + b"\0")


def sample(sample_type, pid, ip, time, callchain=None, nr=None):
    body = struct.pack("<Q", ip) + struct.pack("<ii", pid, pid) + struct.pack("<Q", time)
    if sample_type & SAMPLE_PERIOD:
        body += struct.pack("<Q", 1)
    if sample_type & SAMPLE_CALLCHAIN:
        chain = callchain or []
        body += struct.pack("<Q", len(chain) if nr is None else nr)
        body += b"".join(struct.pack("<Q", ip) for ip in chain)
    return record(SAMPLE, MISC_USER, body)


def perf_data(sample_type, data, features=b"", feature_bits=0, attrs_at=None, attrs_size=None):
    """Header, attribute (with an empty ids section), data, feature table."""
    a = attr(sample_type) + struct.pack("<QQ", 0, 0)
    attrs_off = HEADER
    data_off = attrs_off + len(a)
    bits = bytearray(32)
    for f in range(256):
        if feature_bits >> f & 1:
            bits[f // 8] |= 1 << (f % 8)
    h = b"PERFILE2" + struct.pack(
        "<QQQQQQQQ",
        HEADER,
        len(a),
        attrs_off if attrs_at is None else attrs_at,
        len(a) if attrs_size is None else attrs_size,
        data_off,
        len(data),
        0,
        0,
    ) + bytes(bits)
    assert len(h) == HEADER
    return h + a + data + features


def feature_table(data_end, sections):
    """The feature section table (at the data's end), then the sections."""
    table = b""
    body = b""
    at = data_end + 16 * len(sections)
    for s in sections:
        table += struct.pack("<QQ", at + len(body), len(s))
        body += s
    return table + body


ST = SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD
BASE = comm(100, b"victim") + mmap2(100, 0x7F0000000000, 0x10000, b"/tmp/victim")


def write(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    # The attrs section runs past the end of the file.
    good = perf_data(ST, BASE + sample(ST, 100, 0x7F0000000010, 1000))
    write("hand-attrs-past-end.data", perf_data(ST, BASE, attrs_at=1 << 20))

    # A record whose header size is below 8: 0 and 7.
    for size in (0, 7):
        bad = struct.pack("<IHH", SAMPLE, MISC_USER, size) + b"\0" * 24
        write(f"hand-record-size-{size}.data", perf_data(ST, BASE + bad))

    # A callchain whose count is 2^60.
    stc = ST | SAMPLE_CALLCHAIN
    write(
        "hand-callchain-2p60.data",
        perf_data(stc, BASE + sample(stc, 100, 0x7F0000000010, 1000, [0x7F0000000010], nr=1 << 60)),
    )

    # HEADER_BUILD_ID announced, but the file ends where its table entry should be.
    write("hand-feature-table-past-end.data", perf_data(ST, BASE, feature_bits=1 << FEAT_BUILD_ID))

    # A build-id table whose first entry has size 0.
    data = BASE + sample(ST, 100, 0x7F0000000010, 1000)
    data_end = HEADER + ATTR_SIZE + 16 + len(data)
    entry = struct.pack("<IHH", 0, 0, 0) + b"\0" * 28 + b"/tmp/victim\0"
    entry += b"\0" * (-len(entry) % 8)
    write(
        "hand-build-id-size-0.data",
        perf_data(ST, data, feature_table(data_end, [entry]), feature_bits=1 << FEAT_BUILD_ID),
    )

    # A sample in a JIT map (/tmp/perf-<pid>.map, the name perf gives
    # executable anonymous memory) whose map file does not exist.
    jit = comm(100, b"jit") + mmap2(100, 0x7F0000000000, 0x10000, b"/tmp/perf-4194303.map")
    write("hand-perf-map-missing.data", perf_data(ST, jit + sample(ST, 100, 0x7F0000000010, 1000)))

    # Two samples of one stack whose periods add up past 2^64 (folded counts).
    big = sample(ST, 100, 0x7F0000000010, 1000)
    big = big[:-8] + struct.pack("<Q", 1 << 63)
    write("hand-period-sum-overflow.data", perf_data(ST, BASE + big + big))

    # Two stacks (two processes) of 2^63 each: the flame graph's total
    # passes 2^64 inside inferno's merge.
    other = comm(200, b"other") + mmap2(200, 0x7F0000000000, 0x10000, b"/tmp/other")
    big2 = sample(ST, 200, 0x7F0000000020, 1001)
    big2 = big2[:-8] + struct.pack("<Q", 1 << 63)
    write("hand-flamegraph-total-overflow.data", perf_data(ST, BASE + other + big + big2))

    # A well-formed file (control: must succeed).
    write("hand-good.data", good)


if __name__ == "__main__":
    main()
