#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from tests/fixtures.

Only small files are copied (each < 200 KB). Run from anywhere:
    python3 fuzz/scripts/make_seeds.py [--zstd]
(--zstd also records the two compressed seeds anew with `perf record -z`.)
Needs `perf` (for the pipe-mode copies, skipped without it), `nm` and
`gcc` (for tiny ELF seeds, skipped without them).
"""
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
CASES = ["c-fp", "c-nocg", "cpp-fp", "rust-fp"]
LIMIT = 200 * 1024


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if len(data) >= LIMIT:
        print(f"skip {target}/{name}: {len(data)} bytes", file=sys.stderr)
        return
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def records(data):
    """(offset, type, misc, payload) of a file-mode perf.data's data section."""
    off, size = struct.unpack_from("<QQ", data, 40)
    at = off
    while at < off + size:
        typ, misc, sz = struct.unpack_from("<IHH", data, at)
        if sz < 8:
            break
        yield at, typ, misc, data[at + 8 : at + sz]
        at += sz


def first_attr(data):
    attr_size = struct.unpack_from("<Q", data, 16)[0]
    off = struct.unpack_from("<Q", data, 24)[0]
    return data[off : off + attr_size - 16]


def read_records():
    # tracepoints.data (perf record -e sched:sched_process_exec -e
    # sched:sched_switch -e syscalls:sys_enter_openat) is committed as is.
    for case in CASES:
        data = open(os.path.join(FIX, case, "perf.data"), "rb").read()
        out("read_records", f"{case}.data", data)
        if shutil.which("perf"):
            # The same recording in pipe mode (attributes as records).
            r = subprocess.run(
                ["perf", "inject", "-i", os.path.join(FIX, case, "perf.data"), "-o", "-"],
                capture_output=True,
            )
            if r.returncode == 0 and r.stdout:
                out("read_records", f"{case}-pipe.data", r.stdout)


def read_records_zstd():
    """Compressed recordings (perf record -z), file and pipe mode, of a
    shell loop. Needs perf and permission to record; the bytes differ on
    every run (times, pids, addresses), so this is only run with --zstd."""
    loop = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"
    with tempfile.TemporaryDirectory() as t:
        f = os.path.join(t, "z.data")
        rec = ["perf", "record", "-z", "-F", "4999", "-g"]
        if subprocess.run(rec + ["-o", f, "--", "sh", "-c", loop], capture_output=True).returncode == 0:
            out("read_records", "zstd-sh.data", open(f, "rb").read())
        r = subprocess.run(rec + ["-o", "-", "--", "sh", "-c", loop], capture_output=True)
        if r.returncode == 0:
            out("read_records", "zstd-sh-pipe.data", r.stdout)


def parse_sample():
    for case in CASES:
        data = open(os.path.join(FIX, case, "perf.data"), "rb").read()
        attr = first_attr(data)[:255]
        seen = {}
        for at, typ, misc, payload in records(data):
            # Samples, MMAP/MMAP2, COMM, FORK/EXIT: a few of each type.
            if typ not in (1, 3, 4, 7, 9, 10) or seen.get(typ, 0) >= 4:
                continue
            seen[typ] = seen.get(typ, 0) + 1
            blob = bytes([len(attr)]) + attr + struct.pack("<H", misc) + payload
            out("parse_sample", f"{case}-type{typ}-{at}", blob)


def symbolize_elf():
    out(
        "symbolize_elf",
        "c-fp.elf",
        open(os.path.join(FIX, "sysroot/tmp/perfold-fx/bin/c-fp"), "rb").read(),
    )
    vdso = os.path.join(
        FIX, "sysroot/.debug/[vdso]/e95baaeaec8534edc5df3654182ddf12b19d9b23/vdso"
    )
    out("symbolize_elf", "vdso.elf", open(vdso, "rb").read())
    if not shutil.which("gcc"):
        return
    src = (
        "static int helper(int x) { return x * 3; }\n"
        "int weak_fn(int) __attribute__((weak));\n"
        "int weak_fn(int x) { return helper(x) + 1; }\n"
        "int data_obj = 7;\n"
        "int main(int c, char **v) { (void)v; return weak_fn(c) + data_obj; }\n"
    )
    with tempfile.TemporaryDirectory() as t:
        c = os.path.join(t, "t.c")
        open(c, "w").write(src)
        builds = {
            "tiny-exe.elf": ["-Os", "-o"],
            "tiny-pie-buildid.elf": ["-Os", "-fPIE", "-pie", "-Wl,--build-id", "-o"],
            "tiny-shared.elf": ["-Os", "-fPIC", "-shared", "-o"],
            "tiny-reloc.elf": ["-Os", "-c", "-o"],
        }
        for name, flags in builds.items():
            dst = os.path.join(t, name)
            if subprocess.run(["gcc", c] + flags + [dst]).returncode == 0:
                out("symbolize_elf", name, open(dst, "rb").read())
                if name == "tiny-exe.elf" and shutil.which("strip"):
                    s = dst + ".stripped"
                    subprocess.run(["strip", "-o", s, dst])
                    out("symbolize_elf", "tiny-exe-stripped.elf", open(s, "rb").read())


def kallsyms():
    for case in CASES:
        data = open(os.path.join(FIX, case, "kallsyms"), "rb").read()
        out("kallsyms", f"{case}.kallsyms", data)
    c = open(os.path.join(FIX, "c-fp", "kallsyms"), "rb").read()
    first = c.split(b"\n")[0].split(b" ")[0]
    out("kallsyms", "c-fp-reloc.kallsyms", b"@r _text " + first + b"\n" + c)
    mod = (
        b"@m ext4\n"
        b"ffffffff81000000 T _text\n"
        b"ffffffff81000100 t local_fn\n"
        b"ffffffff81000200 W weak_fn\n"
        b"ffffffffc0000000 t ext4_fn\t[ext4]\n"
        b"ffffffffc0001000 t other_fn\t[other]\n"
        b"ffffffff82000000 T after_modules\n"
        b"ffffffff82000100 T __entry_SYSCALL_64_trampoline\n"
        b"ffffffff82000200 B some_bss\n"
    )
    out("kallsyms", "modules.kallsyms", mod)


def perf_map():
    out(
        "perf_map",
        "v8-style.map",
        b"7f0000001000 40 jitted_fn\n7f0000001040 20 LazyCompile:*foo /app/x.js:1:2\n"
        b"0x7f0000002000 0x100 Interpreter\n7f0000002100 0 zero_size\n",
    )
    out(
        "perf_map",
        "quirks.map",
        b"  +7f0000001000   10 a\n-1 1 neg\nzz 1 bad\n7f0000003000 ffffffffffffffff huge\n7f0000004000 1",
    )


def features(data):
    """{feature id: section bytes} of a file-mode perf.data."""
    off, size = struct.unpack_from("<QQ", data, 40)
    bits = int.from_bytes(data[72:104], "little")
    at = off + size
    out = {}
    for feat in range(1, 256):
        if bits >> feat & 1:
            o, n = struct.unpack_from("<QQ", data, at)
            out[feat] = data[o : o + n]
            at += 16
    return out


def raw_payloads(data):
    """PERF_SAMPLE_RAW bytes of the samples of a single-layout perf.data."""
    st = struct.unpack_from("<Q", first_attr(data), 24)[0]
    for _, typ, _, p in records(data):
        if typ != 9:
            continue
        at = 0
        for bit in (16, 0, 1, 2, 3, 6, 9, 7, 8):  # IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU, PERIOD
            if st >> bit & 1:
                at += 8
        if st >> 4 & 1:  # READ: not in these recordings
            continue
        if st >> 5 & 1:
            nr = struct.unpack_from("<Q", p, at)[0]
            at += 8 + 8 * nr
        if st >> 10 & 1:
            n = struct.unpack_from("<I", p, at)[0]
            yield p[at + 4 : at + 4 + n]


def tracing():
    """Tracing data + one raw payload per event id, from the committed
    tracepoint recording (perf record -e sched:sched_process_exec
    -e sched:sched_switch -e syscalls:sys_enter_openat)."""
    src = os.path.join(CORPUS, "read_records", "tracepoints.data")
    if not os.path.exists(src):
        return
    data = open(src, "rb").read()
    td = features(data).get(1)
    if not td:
        return
    seen = set()
    for raw in raw_payloads(data):
        common_type = struct.unpack_from("<H", raw, 0)[0]
        if common_type in seen:
            continue
        seen.add(common_type)
        out("tracing", f"tracepoints-type{common_type}", struct.pack("<I", len(td)) + td + raw)
    out("tracing", "tracepoints-noraw", struct.pack("<I", len(td)) + td)


def demangle():
    names = set()
    bins = ["cpp-fp", "rust-fp", "c-fp"]
    if shutil.which("nm"):
        for b in bins:
            r = subprocess.run(
                ["nm", os.path.join(FIX, "sysroot/tmp/perfold-fx/bin", b)],
                capture_output=True,
            )
            syms = [l.split()[-1] for l in r.stdout.decode("latin-1").splitlines() if l.split()]
            cpp = [s for s in syms if s.startswith("_Z") and "17h" not in s]
            legacy = [s for s in syms if s.startswith("_ZN") and "17h" in s]
            v0 = [s for s in syms if s.startswith("_R")]
            for group in (cpp, legacy, v0):
                group.sort(key=len)
                # Short, long and a spread in between.
                step = max(1, len(group) // 12)
                names.update(group[::step])
                names.update(group[-2:])
    names.update(
        [
            "caml_program",
            "camlStdlib__list__map_1234",
            "camlFoo__bar_$5b$5d_12",
            "Ljava/lang/Object;",
            "Ljava/util/HashMap;get(Ljava/lang/Object;)Ljava/lang/Object;",
            "_ZN4core3ptr13drop_in_place17h0123456789abcdefE",
            "_ZN3foo$LT$T$GT$3bar17h0123456789abcdefE",
            "_ZZ4mainE1x",
            "_ZN9__gnu_cxx13new_allocatorIcED2Ev",
            "_ZNKSt6vectorIiSaIiEE4sizeEv",
            "_ZTV3Foo",
            "_ZTI3Foo",
            "_ZThn8_N3Foo3barEv",
            "_ZGVZ4mainE1x",
            "_Z1fIJidEEvDpT_",
            "_ZN1AcvT_IiEEv",
            "main",
        ]
    )
    for n in sorted(names):
        b = n.encode("latin-1")
        out("demangle", hashlib.sha1(b).hexdigest()[:16], b)


if __name__ == "__main__":
    for f in (read_records, parse_sample, symbolize_elf, kallsyms, perf_map, tracing, demangle):
        f()
    if "--zstd" in sys.argv:
        read_records_zstd()
    total = 0
    for dirpath, _, files in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"corpus: {total} bytes")
