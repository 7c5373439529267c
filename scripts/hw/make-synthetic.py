#!/usr/bin/env python3
"""Writes synthetic perf.data files for the hardware-sampling cases of issue 12.

No PMU is available where perfold is developed, so LBR call stacks, memory-sampling
fields (ADDR, DATA_SRC, WEIGHT, WEIGHT_STRUCT, PHYS_ADDR, DATA_PAGE_SIZE) and branch stacks
are written here as perf 6.1 would read them from a real recording: a file-mode header,
one attribute per event with its ids, HEADER_EVENT_DESC naming the events, then COMM,
MMAP2 and SAMPLE records with sample-id trailers. User addresses fall in the c-fp fixture
binary (tests/fixtures/sysroot/tmp/perfold-fx/bin/c-fp) and kernel addresses in a small
kallsyms file written beside each case, so both perf and perfold print symbols.

Usage: make-synthetic.py OUTDIR   (writes OUTDIR/syn-*/{perf.data,kallsyms,perf-args})
The expected outputs are then made by perf 6.1 and inferno (tests/fixtures/hw/recipe.sh).
"""

import os
import struct
import sys

# perf_event_attr.sample_type bits
IP, TID, TIME, ADDR, READ, CALLCHAIN, ID, CPU, PERIOD, STREAM_ID, RAW, BRANCH_STACK = (
    1 << i for i in range(12)
)
REGS_USER, STACK_USER, WEIGHT, DATA_SRC, IDENTIFIER, TRANSACTION, REGS_INTR, PHYS_ADDR = (
    1 << i for i in range(12, 20)
)
AUX, CGROUP, DATA_PAGE_SIZE, CODE_PAGE_SIZE, WEIGHT_STRUCT = (1 << i for i in range(20, 25))

# branch_sample_type bits
BR_USER, BR_KERNEL, BR_ANY = 1 << 0, 1 << 1, 1 << 3
BR_ANY_CALL, BR_CALL_STACK, BR_NO_FLAGS, BR_NO_CYCLES, BR_HW_INDEX = (
    1 << 4, 1 << 11, 1 << 14, 1 << 15, 1 << 17)

# attr flags
F_DISABLED, F_INHERIT, F_EXCL_KERNEL, F_EXCL_HV = 1 << 0, 1 << 1, 1 << 5, 1 << 6
F_MMAP, F_COMM, F_FREQ, F_TASK, F_SAMPLE_ID_ALL, F_MMAP2, F_COMM_EXEC = (
    1 << 8, 1 << 9, 1 << 10, 1 << 13, 1 << 18, 1 << 23, 1 << 24)


def precise(n):
    return n << 15


TYPE_HARDWARE, TYPE_RAW = 0, 4
CONTEXT_HV = (1 << 64) - 32
CONTEXT_KERNEL = (1 << 64) - 128
CONTEXT_USER = (1 << 64) - 512
CONTEXT_GUEST = (1 << 64) - 2048

# The c-fp fixture binary: text at file offset 0x1000, loaded at BASE.
BIN = b"/tmp/perfold-fx/bin/c-fp"
BASE = 0x555555554000
SYM = {  # function starts (vaddr) of c-fp
    "main": 0x10F0, "fib": 0x12B0, "fib_worker": 0x1320, "string_work": 0x1390,
    "checksum": 0x1420, "sort_worker": 0x14A0, "deep_recurse": 0x1550, "deep_worker": 0x15A0,
}


def u(name, off=0):
    """Runtime address of c-fp symbol `name` plus `off`."""
    return BASE + SYM[name] + off


KBASE = 0xFFFFFFFF81000000
KALLSYMS = [
    (0x000000, "T", "_stext"), (0x000000, "T", "_text"),
    (0x000100, "T", "entry_SYSCALL_64_after_hwframe"), (0x001000, "T", "do_syscall_64"),
    (0x002000, "T", "__x64_sys_read"), (0x003000, "T", "asm_exc_page_fault"),
    (0x004000, "T", "exc_page_fault"), (0x005000, "T", "handle_mm_fault"),
    (0x006000, "T", "_etext"),
]


def k(name, off=0):
    return KBASE + next(a for a, _, n in KALLSYMS if n == name) + off


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


class Event:
    def __init__(self, name, type_, config, sample_type, branch_sample_type=0, flags=0,
                 period=4000, ids=(1,), regs_intr=0):
        self.name, self.type, self.config = name, type_, config
        self.regs_intr = regs_intr
        self.sample_type, self.branch_sample_type = sample_type, branch_sample_type
        self.flags = flags | F_SAMPLE_ID_ALL | F_MMAP | F_COMM | F_MMAP2 | F_COMM_EXEC
        self.period, self.ids = period, list(ids)

    def attr(self):
        a = bytearray(128)
        struct.pack_into("<IIQQQQQ", a, 0, self.type, 128, self.config, self.period,
                         self.sample_type, 0, self.flags)
        struct.pack_into("<Q", a, 72, self.branch_sample_type)
        struct.pack_into("<Q", a, 96, self.regs_intr)
        return bytes(a)

    def trailer(self, pid, tid, time, cpu=0):
        """The sample-id trailer of a non-sample record."""
        st, out = self.sample_type, b""
        if st & TID:
            out += struct.pack("<ii", pid, tid)
        if st & TIME:
            out += struct.pack("<Q", time)
        if st & ID:
            out += struct.pack("<Q", self.ids[0])
        if st & CPU:
            out += struct.pack("<II", cpu, 0)
        if st & IDENTIFIER:
            out += struct.pack("<Q", self.ids[0])
        return out


def record(type_, misc, body):
    return struct.pack("<IHH", type_, misc, 8 + len(body)) + body


def comm(ev, pid, tid, name, time):
    body = struct.pack("<ii", pid, tid) + pad8(name + b"\0")
    return record(3, 0, body + ev.trailer(pid, tid, time))


def mmap2(ev, pid, tid, start, length, pgoff, filename, time, prot=5, misc=2):
    body = struct.pack("<iiQQQIIQQII", pid, tid, start, length, pgoff, 8, 1, 1234, 0, prot, 2)
    return record(10, misc, body + pad8(filename + b"\0") + ev.trailer(pid, tid, time))


def kernel_mmap(ev, time):
    body = struct.pack("<iiQQQ", -1, 0, KBASE, 0x6000, KBASE) + pad8(b"[kernel.kallsyms]_text\0")
    return record(1, 1, body + ev.trailer(-1, 0, time))


def sample(ev, s):
    """A PERF_RECORD_SAMPLE laid out by `ev`'s sample_type; `s` holds the values."""
    st, out = ev.sample_type, b""
    pid = s.get("pid", 100)
    if st & IDENTIFIER:
        out += struct.pack("<Q", ev.ids[0])
    if st & IP:
        out += struct.pack("<Q", s["ip"])
    if st & TID:
        out += struct.pack("<ii", pid, s.get("tid", pid))
    if st & TIME:
        out += struct.pack("<Q", s["time"])
    if st & ADDR:
        out += struct.pack("<Q", s.get("addr", 0))
    if st & ID:
        out += struct.pack("<Q", ev.ids[0])
    if st & CPU:
        out += struct.pack("<II", s.get("cpu", 0), 0)
    if st & PERIOD:
        out += struct.pack("<Q", s.get("period", 1000))
    if st & CALLCHAIN:
        chain = s.get("callchain", [])
        out += struct.pack("<Q", len(chain)) + b"".join(struct.pack("<Q", x) for x in chain)
    if st & BRANCH_STACK:
        lbr = s.get("lbr", [])
        out += struct.pack("<Q", len(lbr))
        if ev.branch_sample_type & BR_HW_INDEX:
            out += struct.pack("<Q", s.get("hw_idx", max(len(lbr) - 1, 0)))
        out += b"".join(struct.pack("<QQQ", f, t, fl) for f, t, fl in
                        ((e + (0,))[:3] for e in lbr))
    if st & (WEIGHT | WEIGHT_STRUCT):
        if st & WEIGHT:
            out += struct.pack("<Q", s.get("weight", 0))
        else:
            out += struct.pack("<IHH", s.get("weight", 0) & 0xFFFFFFFF, s.get("ins_lat", 0),
                               s.get("p_stage", 0))
    if st & DATA_SRC:
        out += struct.pack("<Q", s.get("data_src", 0))
    if st & REGS_INTR:
        regs = s.get("intr_regs")
        if regs is None:
            out += struct.pack("<Q", 0)  # PERF_SAMPLE_REGS_ABI_NONE: no values
        else:
            out += struct.pack("<Q", 2) + b"".join(struct.pack("<Q", r) for r in regs)
    if st & PHYS_ADDR:
        out += struct.pack("<Q", s.get("phys_addr", 0))
    if st & DATA_PAGE_SIZE:
        out += struct.pack("<Q", s.get("data_page_size", 0))
    if st & CODE_PAGE_SIZE:
        out += struct.pack("<Q", s.get("code_page_size", 0))
    misc = s.get("misc", 2)  # PERF_RECORD_MISC_USER
    return record(9, misc, out)


def perf_header_string(s):
    b = s.encode() + b"\0"
    b += b"\0" * (-len(b) % 64)
    return struct.pack("<I", len(b)) + b


def event_desc(events):
    out = struct.pack("<II", len(events), 128)
    for ev in events:
        out += ev.attr() + struct.pack("<I", len(ev.ids)) + perf_header_string(ev.name)
        out += b"".join(struct.pack("<Q", i) for i in ev.ids)
    return out


def write_file(path, events, records):
    """A file-mode perf.data: header, ids, attrs, data, features (EVENT_DESC, ARCH)."""
    ids = b""
    id_secs = []
    ids_at = 104
    for ev in events:
        blob = b"".join(struct.pack("<Q", i) for i in ev.ids)
        id_secs.append((ids_at + len(ids), len(blob)))
        ids += blob
    attrs_at = ids_at + len(ids)
    attrs = b"".join(ev.attr() + struct.pack("<QQ", *sec) for ev, sec in zip(events, id_secs))
    data_at = attrs_at + len(attrs)
    data = b"".join(records)
    feats = {6: perf_header_string("x86_64"), 12: event_desc(events)}  # ARCH, EVENT_DESC
    table_at = data_at + len(data)
    at = table_at + 16 * len(feats)
    table, blobs = b"", b""
    bits = bytearray(32)
    for fid in sorted(feats):
        bits[fid // 8] |= 1 << (fid % 8)
        table += struct.pack("<QQ", at, len(feats[fid]))
        at += len(feats[fid])
        blobs += feats[fid]
    header = b"PERFILE2" + struct.pack("<QQQQQQQQ", 104, 144, attrs_at, len(attrs), data_at,
                                       len(data), 0, 0) + bytes(bits)
    with open(path, "wb") as f:
        f.write(header + ids + attrs + data + table + blobs)


def setup(ev, pid=100, name=b"c-fp"):
    """The records before the samples: kernel map, the process and its binary."""
    return [
        kernel_mmap(ev, 1_000_000),
        comm(ev, pid, pid, name, 1_000_100),
        mmap2(ev, pid, pid, BASE + 0x1000, 0x1000, 0x1000, BIN, 1_000_200),
    ]


def write_case(outdir, case, events, records, args=""):
    d = os.path.join(outdir, case)
    os.makedirs(d, exist_ok=True)
    write_file(os.path.join(d, "perf.data"), events, records)
    with open(os.path.join(d, "kallsyms"), "w") as f:
        for off, kind, name in KALLSYMS:
            f.write(f"{KBASE + off:016x} {kind} {name}\n")
    with open(os.path.join(d, "perf-args"), "w") as f:
        f.write(f"--symfs ../../sysroot --kallsyms kallsyms {args}".strip() + "\n")


def lbr_samples(t0):
    """Samples of an LBR call-stack recording (`perf record --call-graph lbr`)."""
    user_chain = [CONTEXT_USER, u("fib", 0x10), u("fib_worker", 0x30), 0x7FFF00001000]
    return [
        # Kernel part, then the user part from the LBR: entries[0].to, then every from.
        dict(time=t0, ip=k("do_syscall_64", 0x20), misc=1,
             callchain=[CONTEXT_KERNEL, k("do_syscall_64", 0x20),
                        k("entry_SYSCALL_64_after_hwframe", 0x40)] + user_chain,
             lbr=[(u("fib_worker", 0x2b), u("fib")), (u("main", 0x40), u("fib_worker")),
                  (0x7FFF00002000, u("main"))]),
        # User only.
        dict(time=t0 + 1000, ip=u("fib", 0x10), callchain=user_chain,
             lbr=[(u("fib", 0x20), u("fib")), (u("fib_worker", 0x2b), u("fib"))]),
        # No PERF_CONTEXT_USER: the frame-pointer chain as it is.
        dict(time=t0 + 2000, ip=k("exc_page_fault", 8), misc=1,
             callchain=[CONTEXT_KERNEL, k("exc_page_fault", 8), k("asm_exc_page_fault", 0x22)],
             lbr=[(u("main", 0x40), u("fib_worker"))]),
        # LBR addresses outside any map, and a deeper stack.
        dict(time=t0 + 3000, ip=u("deep_recurse", 4),
             callchain=[CONTEXT_USER, u("deep_recurse", 4)],
             lbr=[(u("deep_recurse", 0x30), u("deep_recurse")),
                  (u("deep_recurse", 0x30), u("deep_recurse")),
                  (u("deep_worker", 0x12), u("deep_recurse")),
                  (0x1234, u("deep_worker")), (0xFFFFFFFFFFFFF000, 0x10)]),
        # An unknown context marker in the kernel part: perf drops the whole chain.
        dict(time=t0 + 4000, ip=k("do_syscall_64", 0x20), misc=1,
             callchain=[CONTEXT_KERNEL, k("do_syscall_64", 0x20), CONTEXT_GUEST,
                        k("do_syscall_64", 0x30)] + user_chain,
             lbr=[(u("fib_worker", 0x2b), u("fib"))]),
        # Hypervisor and kernel markers before the user part.
        dict(time=t0 + 5000, ip=u("sort_worker", 0x44),
             callchain=[CONTEXT_HV, 0xFFFFFFFF80001000, CONTEXT_KERNEL,
                        k("handle_mm_fault", 0x10), CONTEXT_USER, u("sort_worker", 0x44)],
             lbr=[(u("main", 0x60), u("sort_worker"))]),
        # An empty LBR stack: perf still adds entries[0].to, read past the stack
        # (here from the next record, the next sample's ip or pid/tid).
        dict(time=t0 + 5500, ip=u("string_work", 0x22),
             callchain=[CONTEXT_USER, u("string_work", 0x22), u("main", 0x70)], lbr=[]),
        # The same user stack again (folds add up).
        dict(time=t0 + 6000, ip=u("fib", 0x10), callchain=user_chain,
             lbr=[(u("fib", 0x20), u("fib")), (u("fib_worker", 0x2b), u("fib"))]),
    ]


def lbr_case(outdir, case, hw_index):
    bst = BR_USER | BR_CALL_STACK | BR_NO_FLAGS | BR_NO_CYCLES | (BR_HW_INDEX if hw_index else 0)
    ev = Event("cycles:u", TYPE_HARDWARE, 0, IP | TID | TIME | CALLCHAIN | PERIOD | BRANCH_STACK,
               bst, F_FREQ | F_EXCL_KERNEL | F_EXCL_HV | precise(3))
    recs = setup(ev) + [sample(ev, s) for s in lbr_samples(2_000_000_000)]
    write_case(outdir, case, [ev], recs)


# data_src values: (op, lvl, snoop, lock, dtlb, lvl_num, remote, snoopx, blk, hops)
def data_src(op=0, lvl=0, snoop=0, lock=0, dtlb=0, lvl_num=0, remote=0, snoopx=0, blk=0, hops=0):
    return (op | lvl << 5 | snoop << 19 | lock << 24 | dtlb << 26 | lvl_num << 33
            | remote << 37 | snoopx << 38 | blk << 40 | hops << 43)


DATA_SRCS = [
    0,
    data_src(op=2, lvl=0x8 | 0x2, snoop=2, lock=1, dtlb=0x8 | 0x10 | 0x2, blk=1),
    data_src(op=2, lvl=0x10 | 0x2, snoop=2, lock=0, dtlb=0x18 | 0x2),
    data_src(op=4, lvl=0x40 | 0x4, snoop=8, lock=2, dtlb=0x20 | 0x4, blk=2),
    data_src(op=8, lvl=0x80 | 0x2, snoop=0x10, dtlb=0x40, blk=4 | 2),
    data_src(op=0x10, lvl=1, snoop=1, dtlb=1, lock=1, blk=1),
    data_src(op=1),
    data_src(op=2, lvl=0x100 | 0x200 | 0x400 | 0x800 | 0x1000 | 0x2000 | 0x2, snoop=0x1E,
             dtlb=0x7E, remote=1, snoopx=3, lvl_num=3),
    data_src(op=2, lvl=0x2, remote=1, hops=2, lvl_num=0xD, snoopx=1),
    data_src(op=2, lvl_num=0xC, snoop=4),
    data_src(op=6, lvl=0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x4, snoop=0x1F, lock=2, dtlb=0x7F,
             lvl_num=0x5, remote=1, snoopx=3, blk=6),
    data_src(op=2, lvl=0x20 | 0x2, lvl_num=0x9, hops=4, remote=1),
    data_src(op=2, lvl=0x20 | 0x2, lvl_num=0xF, hops=1),
    data_src(op=2, lvl=0x20 | 0x2, lvl_num=0xE, hops=3),
    data_src(op=2, lvl=0x20 | 0x2, lvl_num=0xA, hops=0),
    data_src(op=2, lvl=0x20 | 0x2, lvl_num=0xB),
]

USER_IPS = [u("fib", 0x10), u("checksum", 4), u("string_work", 0x22), u("sort_worker", 0x44),
            u("main", 0x31), 0x7F0000001000]
PAGE_SIZES = [0, 4096, 2 << 20, 1 << 30, 8192, 1000, 2048, 12345678]


def mem_samples(t0, with_chain=False):
    out = []
    for i, ds in enumerate(DATA_SRCS):
        ip = USER_IPS[i % len(USER_IPS)]
        s = dict(time=t0 + i * 1000, ip=ip, addr=0x7FFC00000000 + i * 0x1238, cpu=i % 4,
                 period=10007 + i, weight=(i * 37) % 300 + (1 << 33 if i == 7 else 0),
                 ins_lat=(i * 11) % 70, p_stage=i, data_src=ds, phys_addr=0x1234000 + i * 0x40,
                 data_page_size=PAGE_SIZES[i % len(PAGE_SIZES)], code_page_size=4096)
        if i == 3:
            s.update(ip=k("exc_page_fault", 8), misc=1, addr=0xFFFF888000001000)
        if with_chain:
            s["callchain"] = [CONTEXT_USER, ip, u("fib_worker", 0x30), u("main", 0x50)]
            if i == 3:
                s["callchain"] = [CONTEXT_KERNEL, ip, k("asm_exc_page_fault", 0x22),
                                  CONTEXT_USER, u("main", 0x50)]
        out.append(s)
    return out


def mem_case(outdir, case, name, type_, sample_type, with_chain=False):
    ev = Event(name, type_, 0x1CD if type_ == TYPE_RAW else 0, sample_type,
               flags=precise(2), period=10007)
    recs = setup(ev) + [sample(ev, s) for s in mem_samples(3_000_000_000, with_chain)]
    write_case(outdir, case, [ev], recs)


def branch_case(outdir, case, type_, bst):
    ev = Event("cycles:u" if type_ == TYPE_HARDWARE else "cpu/branch-instructions/u", type_,
               0 if type_ == TYPE_HARDWARE else 0xC4, IP | TID | TIME | PERIOD | BRANCH_STACK,
               bst, F_FREQ | F_EXCL_KERNEL | F_EXCL_HV)
    samples = [dict(time=4_000_000_000 + i * 1000, ip=USER_IPS[i % 5],
                    lbr=[(u("fib", 0x20 + i), u("fib"), 0x1 | (i << 4)),
                         (u("main", 0x40), u("fib_worker"), 0x2)][: i % 3])
               for i in range(6)]
    recs = setup(ev) + [sample(ev, s) for s in samples]
    write_case(outdir, case, [ev], recs)


def flags_case(outdir, case):
    """Branch flags of every kind (mispredicted, predicted, in_tx, abort, cycles, each
    branch type and extended type), kernel and unmapped addresses, and interrupt
    registers (AX, BX, IP, R15 and XMM0), one sample with ABI_NONE."""
    mask = (1 << 0) | (1 << 1) | (1 << 8) | (1 << 23) | (1 << 32)
    ev = Event("cycles", TYPE_HARDWARE, 0, IP | TID | TIME | PERIOD | BRANCH_STACK | REGS_INTR,
               BR_USER | BR_KERNEL | BR_ANY, F_FREQ, regs_intr=mask)
    samples = []
    for i in range(8):
        lbr = []
        for j in range(3):
            n = i * 3 + j
            fl = (n & 0xF) | ((n * 7) << 4) | ((n % 16) << 20) | ((n % 8) << 26)
            frm = [u("fib", 0x20 + n), k("do_syscall_64", n), 0x1000 + n][j]
            to = [u("main", n), u("fib_worker"), k("exc_page_fault", 4)][j]
            lbr.append((frm, to, fl))
        s = dict(time=5_000_000_000 + i * 1000, ip=USER_IPS[i % 5], lbr=lbr[: 1 + i % 3],
                 intr_regs=[i, 0x10 * i, USER_IPS[i % 5], 0xFFFF_FFFF_0000_0000 + i, 7])
        if i == 3:
            s.update(ip=k("do_syscall_64", 8), misc=1, intr_regs=None)
        samples.append(s)
    recs = setup(ev) + [sample(ev, s) for s in samples]
    write_case(outdir, case, [ev], recs)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    lbr_case(out, "syn-lbr", hw_index=False)
    lbr_case(out, "syn-lbr-hw-index", hw_index=True)
    common = IP | TID | TIME | ADDR | CPU | PERIOD | DATA_SRC
    mem_case(out, "syn-mem-raw", "cpu/mem-loads,ldlat=30/P", TYPE_RAW,
             common | WEIGHT | PHYS_ADDR | DATA_PAGE_SIZE | CODE_PAGE_SIZE)
    mem_case(out, "syn-mem-weight-struct", "cpu/mem-loads-aux/", TYPE_RAW,
             common | WEIGHT_STRUCT, with_chain=False)
    mem_case(out, "syn-mem-callchain", "cpu/mem-stores/P", TYPE_RAW,
             IP | TID | TIME | ADDR | PERIOD | CALLCHAIN | WEIGHT_STRUCT | DATA_SRC | PHYS_ADDR,
             with_chain=True)
    mem_case(out, "syn-mem-weight-only", "r1cd:pp", TYPE_RAW, IP | TID | TIME | PERIOD | WEIGHT)
    mem_case(out, "syn-mem-hardware", "cycles:pp", TYPE_HARDWARE,
             common | WEIGHT | PHYS_ADDR)
    branch_case(out, "syn-brstack-any", TYPE_HARDWARE, BR_USER | BR_ANY)
    branch_case(out, "syn-brstack-raw-hw-index", TYPE_RAW, BR_USER | BR_ANY_CALL | BR_HW_INDEX)
    flags_case(out, "syn-brstack-flags-iregs")


if __name__ == "__main__":
    main()
