#!/usr/bin/env python3
"""rewrite-perf-data.py MODE IN OUT [options]: synthetic perf.data files with a property no
public recording of an allowed licence has, made from a real little-endian recording.

  bswap [--arch NAME]  the same recording as a big-endian machine (ppc64, s390x) would have
                       written it: header, attributes (bitfields bit-reversed per byte), ids,
                       the features perf reads (build-ids, strings, nrcpus, total_mem, cmdline,
                       event_desc, tracing data; others are dropped) and every record, field
                       by field at its width (a tracepoint's raw data by its format's fields) (perf 6.1 util/session.c swap ops and util/header.c, read in reverse).
                       --arch also replaces HEADER_ARCH (e.g. ppc64, s390x).
  arch NAME            only replaces HEADER_ARCH (e.g. i686, armv7l, riscv64, mips64).
  v1                   a version-1 file (magic PERFFILE, perf <= 3.2): attributes cut to
                       PERF_ATTR_SIZE_VER4 (104 bytes), by whose entry size perf tells the order.
  kernel-row NAME      renames the kernel's row of the build-id table ([kernel.kallsyms]) to
                       NAME, as perf record writes it when it found the kernel's vmlinux
                       (e.g. /lib/modules/V/build/vmlinux): perf then names the kernel DSO so.
  kernel-map-len LEN   the kernel's PERF_RECORD_MMAP ([kernel.kallsyms]_text) cut to LEN bytes
                       (hex or decimal): until perf loads the kernel's symbols and moves the
                       map to the first and last symbol (dso__load_kernel_sym: map__fixup_start/
                       end), only addresses below the cut are in it. On an x86 host perf loads
                       them at the first printed sample (script_fetch_insn ->
                       machine__get_kernel_start), elsewhere at the first lookup in the map.
  compressed2          every PERF_RECORD_COMPRESSED (81) of a `perf record -z` file becomes a
                       PERF_RECORD_COMPRESSED2 (83: u64 data size, data, padding to 8 bytes), as
                       perf 6.15 and newer write them.
  compressed1          the reverse: every COMPRESSED2 (83) becomes a COMPRESSED (81) holding the
                       same zstd data, which perf 6.1 reads; IN may be a pipe-mode file too.
                       The reference for files with COMPRESSED2 that perf 6.1 refuses
                       (linux-perf-data's `*.compressed2*.data`, measured by measure.sh).

perf 6.1 must print for OUT what it prints for IN (bswap, v1, compressed2 keep the samples):
the golden tests compare perfold on OUT with perf 6.1 on OUT where perf 6.1 reads it, and with
perf 6.1 on IN where it does not (COMPRESSED2).
"""
import re
import struct
import sys

SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_ADDR, SAMPLE_READ = 1, 2, 4, 8, 16
SAMPLE_CALLCHAIN, SAMPLE_ID, SAMPLE_CPU, SAMPLE_PERIOD, SAMPLE_STREAM_ID = 32, 64, 128, 256, 512
SAMPLE_RAW, SAMPLE_BRANCH_STACK, SAMPLE_REGS_USER, SAMPLE_STACK_USER = 1 << 10, 1 << 11, 1 << 12, 1 << 13
SAMPLE_IDENTIFIER = 1 << 16
FEAT_TRACING_DATA, FEAT_BUILD_ID, FEAT_ARCH, FEAT_EVENT_DESC = 1, 2, 6, 12
STRING_FEATS = {3, 4, 5, 6, 8, 9}  # hostname, osrelease, version, arch, cpudesc, cpuid


class Buf:
    """Little-endian reads and big-endian rewrites of fields of a bytearray."""

    def __init__(self, b):
        self.b = b

    def u(self, at, n):
        return int.from_bytes(self.b[at:at + n], 'little')

    def sw(self, at, n):
        if at + n <= len(self.b):
            self.b[at:at + n] = self.b[at:at + n][::-1]

    def sw64_from(self, at, end=None):
        end = len(self.b) if end is None else end
        while at + 8 <= end:
            self.sw(at, 8)
            at += 8


class Attr:
    def __init__(self, raw):
        raw = bytes(raw) + bytes(max(0, 136 - len(raw)))
        (self.type, self.size, self.config, self.period, self.sample_type,
         self.read_format, self.flags) = struct.unpack_from('<IIQQQQQ', raw, 0)
        self.branch_sample_type, self.regs_user = struct.unpack_from('<QQ', raw, 72)
        self.ids = []

    def has(self, bit):
        return self.sample_type & bit != 0

    def sample_id_all(self):
        return self.flags & (1 << 18) != 0

    def trailer_size(self):
        bits = [SAMPLE_TID, SAMPLE_TIME, SAMPLE_ID, SAMPLE_STREAM_ID, SAMPLE_CPU, SAMPLE_IDENTIFIER]
        return 8 * sum(1 for b in bits if self.has(b))


def swap_attr(b, at, size):
    """perf_event_attr at b[at:at+size], little-endian to big-endian."""
    f = Buf(b)
    widths = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (48, 4), (52, 4), (56, 8),
              (64, 8), (72, 8), (80, 8), (88, 4), (92, 4), (96, 8), (104, 4), (108, 2),
              (112, 4), (120, 8), (128, 8)]
    for off, n in widths:
        if off + n <= size:
            f.sw(at + off, n)
    if size >= 48:
        for i in range(at + 40, at + 48):
            b[i] = int('{:08b}'.format(b[i])[::-1], 2)


def attr_of(attrs, ident):
    for a in attrs:
        if ident in a.ids:
            return a
    return attrs[0]


def sample_attr(attrs, b):
    first = attrs[0]
    if len(attrs) == 1:
        return first
    if first.has(SAMPLE_IDENTIFIER):
        return attr_of(attrs, Buf(b).u(8, 8))
    if first.has(SAMPLE_ID):
        n = sum(1 for x in (SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_ADDR) if first.has(x))
        return attr_of(attrs, Buf(b).u(8 + 8 * n, 8))
    return first


def swap_sample(a, b):
    """A PERF_RECORD_SAMPLE record (header included) laid out by `a`."""
    f = Buf(b)
    at = 8
    for bit in (SAMPLE_IDENTIFIER, SAMPLE_IP):
        if a.has(bit):
            f.sw(at, 8); at += 8
    if a.has(SAMPLE_TID):
        f.sw(at, 4); f.sw(at + 4, 4); at += 8
    for bit in (SAMPLE_TIME, SAMPLE_ADDR, SAMPLE_ID, SAMPLE_STREAM_ID):
        if a.has(bit):
            f.sw(at, 8); at += 8
    if a.has(SAMPLE_CPU):
        f.sw(at, 4); f.sw(at + 4, 4); at += 8
    if a.has(SAMPLE_PERIOD):
        f.sw(at, 8); at += 8
    if a.has(SAMPLE_READ):
        raise SystemExit('samples with read values are not handled')
    if a.has(SAMPLE_CALLCHAIN):
        nr = f.u(at, 8)
        f.sw64_from(at, at + 8 + 8 * nr); at += 8 + 8 * nr
    if a.has(SAMPLE_RAW):
        size = f.u(at, 4)
        f.sw(at, 4)
        swap_raw(b, at + 4, size)
        at += (4 + size + 7) // 8 * 8
    if a.has(SAMPLE_BRANCH_STACK):
        raise SystemExit('branch stacks are not handled')
    if a.has(SAMPLE_REGS_USER):
        abi = f.u(at, 8)
        n = 1 + (bin(a.regs_user).count('1') if abi else 0)
        f.sw64_from(at, at + 8 * n); at += 8 * n
    if a.has(SAMPLE_STACK_USER):
        size = f.u(at, 8)
        f.sw(at, 8); at += 8
        if size:
            at += size
            f.sw(at, 8); at += 8
    f.sw64_from(at)


# Tracepoint formats of the file's tracing data: id -> [(offset, size, element size)],
# filled by bswap() before the records are swapped.
RAW_FORMATS = {}
FIELD = re.compile(r'field:([^;]*);\s*offset:(\d+);\s*size:(\d+);')


def parse_format(text):
    """(id, fields) of one tracepoint format text: each field's offset, size and the size of
    its elements (arrays are swapped element by element, __data_loc as a u32)."""
    ident = int(re.search(r'^ID: (\d+)', text, re.M).group(1))
    fields = []
    for decl, off, size in FIELD.findall(text):
        off, size = int(off), int(size)
        n = re.search(r'\[(\d+)\]\s*$', decl.strip())
        elem = size // int(n.group(1)) if n and int(n.group(1)) else size
        if '__data_loc' in decl:
            elem = 4
        fields.append((off, size, elem))
    return ident, fields


def swap_raw(b, at, size):
    """A tracepoint's raw data as its machine writes it: each field in its byte order (the
    event is told by common_type, the first u16)."""
    f = Buf(b)
    ident = f.u(at, 2)
    for off, fsize, elem in RAW_FORMATS.get(ident, [(0, 2, 2)]):
        if elem in (2, 4, 8) and off + fsize <= size:
            for p in range(at + off, at + off + fsize, elem):
                f.sw(p, elem)


def tracing_data(b, off, swap):
    """Walks the HEADER_TRACING_DATA section at b[off:]: records the tracepoint formats, and
    with `swap` writes its numbers big-endian and its endianness byte 1 (perf 6.1
    util/trace-event-read.c reads them in the file's order)."""
    f = Buf(b)
    p = off + 10
    p = b.index(b'\0', p) + 1  # version
    if swap:
        b[p] = 1
    p += 2
    if swap:
        f.sw(p, 4)
    p += 4

    def num(n):
        nonlocal p
        v = f.u(p, n)
        if swap:
            f.sw(p, n)
        p += n
        return v

    for name in (b'header_page\0', b'header_event\0'):
        assert b[p:p + len(name)] == name, name
        p += len(name)
        n = num(8)
        p += n

    def formats(count):
        nonlocal p
        for _ in range(count):
            n = num(8)
            ident, fields = parse_format(b[p:p + n].decode('latin-1'))
            RAW_FORMATS[ident] = fields
            p += n

    formats(num(4))  # ftrace
    for _ in range(num(4)):  # event systems
        p = b.index(b'\0', p) + 1
        formats(num(4))
    for width in (4, 4, 8):  # kallsyms, printk, saved cmdlines (version 0.6)
        n = num(width)
        p += n


def swap_trailer(attrs, b, end):
    """The sample-id trailer at b[end - size:end]."""
    a = attrs[0]
    f = Buf(b)
    at = end - a.trailer_size()
    if len(attrs) > 1 and a.has(SAMPLE_IDENTIFIER):
        a = attr_of(attrs, f.u(end - 8, 8))
    for bit in (SAMPLE_TID, SAMPLE_TIME, SAMPLE_ID, SAMPLE_STREAM_ID, SAMPLE_CPU, SAMPLE_IDENTIFIER):
        if a.has(bit):
            if bit in (SAMPLE_TID, SAMPLE_CPU):
                f.sw(at, 4); f.sw(at + 4, 4)
            else:
                f.sw(at, 8)
            at += 8
    return end - attrs[0].trailer_size()


def swap_record(attrs, b):
    """One record (header included), little-endian to big-endian, in place."""
    f = Buf(b)
    typ, misc = f.u(0, 4), f.u(4, 2)
    f.sw(0, 4); f.sw(4, 2); f.sw(6, 2)
    if typ == 9:
        swap_sample(sample_attr(attrs, b), b)
        return
    if typ >= 64:
        if typ == 66:
            f.sw(8, 4)
        elif typ == 83:
            f.sw(8, 8)
        elif typ == 64:
            size = f.u(12, 4) or 64
            swap_attr(b, 8, size)
            f.sw64_from(8 + size)
        elif typ in (69, 79):  # ID_INDEX, TIME_CONV
            f.sw64_from(8)
        elif typ == 78:  # EVENT_UPDATE: perf swaps type and id only
            f.sw(8, 8); f.sw(16, 8)
        elif typ == 73:  # THREAD_MAP: nr, then (pid u64, comm[16])
            nr = f.u(8, 8); f.sw(8, 8)
            for i in range(nr):
                f.sw(16 + 24 * i, 8)
        elif typ == 74:  # CPU_MAP
            kind = f.u(8, 2); f.sw(8, 2)
            if kind == 0:
                nr = f.u(10, 2); f.sw(10, 2)
                for i in range(nr):
                    f.sw(12 + 2 * i, 2)
            elif kind == 1:
                nr, long_size = f.u(10, 2), f.u(12, 2)
                f.sw(10, 2); f.sw(12, 2)
                start, width = (14, 4) if long_size == 4 else (18, 8)
                for i in range(nr):
                    f.sw(start + width * i, width)
            elif kind == 2:
                f.sw(12, 2); f.sw(14, 2)
        elif typ not in (68, 81, 82):
            raise SystemExit('record type %d is not handled' % typ)
        return
    end = len(b)
    if attrs[0].sample_id_all():
        end = swap_trailer(attrs, b, end)
    if typ in (1, 10):  # MMAP, MMAP2
        f.sw(8, 4); f.sw(12, 4)
        for at in (16, 24, 32):
            f.sw(at, 8)
        if typ == 10:
            if not misc & (1 << 14):
                f.sw(40, 4); f.sw(44, 4); f.sw(48, 8); f.sw(56, 8)
            f.sw(64, 4); f.sw(68, 4)
    elif typ == 3:  # COMM
        f.sw(8, 4); f.sw(12, 4)
    elif typ in (4, 7):  # EXIT, FORK
        for at in (8, 12, 16, 20):
            f.sw(at, 4)
        f.sw(24, 8)
    elif typ in (2, 5, 6, 13):  # LOST, THROTTLE, UNTHROTTLE, LOST_SAMPLES
        f.sw64_from(8, end)
    elif typ == 14:  # SWITCH: the trailer only
        pass
    elif typ == 15:  # SWITCH_CPU_WIDE: next_prev_pid, next_prev_tid
        f.sw(8, 4); f.sw(12, 4)
    else:
        raise SystemExit('record type %d is not handled' % typ)


def header(b):
    magic, size, attr_size = struct.unpack_from('<8sQQ', b, 0)
    attrs_off, attrs_size, data_off, data_size = struct.unpack_from('<QQQQ', b, 24)
    return dict(attr_size=attr_size, attrs=(attrs_off, attrs_size), data=(data_off, data_size))


def read_attrs(b, h):
    off, size = h['attrs']
    attrs = []
    for at in range(off, off + size, h['attr_size']):
        a = Attr(b[at:at + h['attr_size'] - 16])
        ids_off, ids_size = struct.unpack_from('<QQ', b, at + h['attr_size'] - 16)
        a.ids = list(struct.unpack_from('<%dQ' % (ids_size // 8), b, ids_off))
        attrs.append(a)
    return attrs


def feature_table(b, h):
    """[(feature, table entry offset, section offset, section size)]."""
    bits = int.from_bytes(b[72:104], 'little')
    at = sum(h['data'])
    out = []
    for feat in range(256):
        if bits >> feat & 1:
            off, size = struct.unpack_from('<QQ', b, at)
            out.append((feat, at, off, size))
            at += 16
    return out


def set_arch(b, h, name):
    for feat, _, off, size in feature_table(b, h):
        if feat == FEAT_ARCH:
            n = struct.unpack_from('<I', b, off)[0]
            enc = name.encode() + b'\0'
            if len(enc) > n:
                raise SystemExit('arch name too long for the section')
            b[off + 4:off + 4 + n] = enc + bytes(n - len(enc))
            return
    raise SystemExit('the file has no HEADER_ARCH')


def bswap(b, arch):
    h = header(b)
    if arch:
        set_arch(b, h, arch)
    attrs = read_attrs(b, h)
    f = Buf(b)
    table = feature_table(b, h)
    for feat, _, off, size in table:
        if feat == FEAT_TRACING_DATA:
            tracing_data(b, off, False)
    # records
    at, end = h['data'][0], sum(h['data'])
    while at < end:
        size = f.u(at + 6, 2)
        rec = bytearray(b[at:at + size])
        swap_record(attrs, rec)
        b[at:at + size] = rec
        at += size
    # features: keep those whose layout is swapped here, drop the others
    table = feature_table(b, h)
    kept = []
    for feat, _, off, size in table:
        if feat == FEAT_TRACING_DATA:
            tracing_data(b, off, True)
        elif feat in STRING_FEATS:
            f.sw(off, 4)
        elif feat == 7:  # NRCPUS
            f.sw(off, 4); f.sw(off + 4, 4)
        elif feat == 10:  # TOTAL_MEM
            f.sw(off, 8)
        elif feat == 11:  # CMDLINE
            nr = f.u(off, 4); f.sw(off, 4); p = off + 4
            for _ in range(nr):
                n = f.u(p, 4); f.sw(p, 4); p += 4 + n
        elif feat == FEAT_BUILD_ID:
            p = off
            while p + 8 <= off + size:
                n = f.u(p + 6, 2)
                f.sw(p, 4); f.sw(p + 4, 2); f.sw(p + 6, 2); f.sw(p + 8, 4)
                p += n
        elif feat == FEAT_EVENT_DESC:
            nr, asz = f.u(off, 4), f.u(off + 4, 4)
            f.sw(off, 4); f.sw(off + 4, 4); p = off + 8
            for _ in range(nr):
                swap_attr(b, p, asz); p += asz
                nids, n = f.u(p, 4), f.u(p + 4, 4)
                f.sw(p, 4); f.sw(p + 4, 4); p += 8 + n
                f.sw64_from(p, p + 8 * nids); p += 8 * nids
        else:
            continue
        kept.append((feat, off, size))
    bits = 0
    at = sum(h['data'])
    for feat, off, size in kept:
        bits |= 1 << feat
        struct.pack_into('>QQ', b, at, off, size)
        at += 16
    b[at:at + 16 * (len(table) - len(kept))] = bytes(16 * (len(table) - len(kept)))
    # a 64-bit machine's feature bitmap: u64 words in its order
    b[72:104] = b''.join(((bits >> (64 * i)) & (2**64 - 1)).to_bytes(8, 'big') for i in range(4))
    # attributes and their ids
    off, size = h['attrs']
    asz = h['attr_size']
    for p in range(off, off + size, asz):
        ids_off, ids_size = struct.unpack_from('<QQ', b, p + asz - 16)
        f.sw64_from(ids_off, ids_off + ids_size)
        swap_attr(b, p, asz - 16)
        f.sw(p + asz - 16, 8); f.sw(p + asz - 8, 8)
    # header: magic in the other order, then u64 fields
    b[0:8] = b'PERFILE2'[::-1]
    f.sw64_from(8, 72)


def v1(b):
    h = header(b)
    off, size = h['attrs']
    asz = h['attr_size']
    n = size // asz
    new_asz = 104 + 16
    out = bytearray()
    for i in range(n):
        p = off + i * asz
        raw = bytearray(b[p:p + min(asz - 16, 104)])
        raw += bytes(104 - len(raw))
        struct.pack_into('<I', raw, 4, 104)
        out += raw + b[p + asz - 16:p + asz]
    b[off:off + size] = out + bytes(size - len(out))
    struct.pack_into('<Q', b, 16, new_asz)
    struct.pack_into('<Q', b, 32, len(out))
    b[0:8] = b'PERFFILE'


def kernel_row(b, name):
    h = header(b)
    for feat, _, off, size in feature_table(b, h):
        if feat != FEAT_BUILD_ID:
            continue
        p = off
        while p + 8 <= off + size:
            n = struct.unpack_from('<H', b, p + 6)[0]
            name_at = p + 8 + 4 + 24
            old = bytes(b[name_at:p + n]).split(b'\0')[0]
            if old == b'[kernel.kallsyms]':
                new = name.encode() + b'\0'
                if len(new) > p + n - name_at:
                    raise SystemExit('name too long for the row')
                b[name_at:p + n] = new + bytes(p + n - name_at - len(new))
                return
            p += n
    raise SystemExit('no [kernel.kallsyms] row in the build-id table')


def compressed2(b):
    h = header(b)
    at, end = h['data']
    end += at
    out = bytearray()
    n = 0
    while at < end:
        typ, size = struct.unpack_from('<I', b, at)[0], struct.unpack_from('<H', b, at + 6)[0]
        rec = b[at:at + size]
        if typ == 81:
            data = rec[8:]
            total = (16 + len(data) + 7) // 8 * 8
            if total > 0xffff:
                raise SystemExit('a COMPRESSED2 record would exceed 64 KiB')
            rec = struct.pack('<IHHQ', 83, 0, total, len(data)) + data + bytes(total - 16 - len(data))
            n += 1
        out += rec
        at += size
    if not n:
        raise SystemExit('no PERF_RECORD_COMPRESSED in the file')
    replace_data(b, h, out)


def replace_data(b, h, out):
    """Puts `out` in place of the file's data section; the feature sections after it move."""
    data_off, data_size = h['data']
    delta = len(out) - data_size
    rest = bytearray(b[data_off + data_size:])
    bits = int.from_bytes(b[72:104], 'little')
    for i in range(bin(bits).count('1')):
        off = struct.unpack_from('<Q', rest, 16 * i)[0]
        struct.pack_into('<Q', rest, 16 * i, off + delta)
    nb = bytearray(b[:data_off]) + out + rest
    struct.pack_into('<Q', nb, 48, len(out))
    b[:] = nb


def compressed1_records(b, at, end):
    """The records of b[at:end] with every COMPRESSED2 made a COMPRESSED, and their count."""
    out = bytearray()
    n = 0
    while at + 8 <= end:
        typ, size = struct.unpack_from('<I', b, at)[0], struct.unpack_from('<H', b, at + 6)[0]
        if size < 8 or at + size > end:
            break  # a cut stream: the rest is copied as it is
        rec = b[at:at + size]
        if typ == 83:
            data_size = struct.unpack_from('<Q', rec, 8)[0]
            data = rec[16:16 + data_size]
            rec = struct.pack('<IHH', 81, 0, 8 + len(data)) + data
            n += 1
        out += rec
        at += size
    out += b[at:end]
    return out, n


def compressed1(b):
    if b[:8] == b'PERFILE2' and struct.unpack_from('<Q', b, 8)[0] == 16:
        out, n = compressed1_records(b, 16, len(b))
        if not n:
            raise SystemExit('no PERF_RECORD_COMPRESSED2 in the stream')
        b[16:] = out
        return
    h = header(b)
    data_off, data_size = h['data']
    out, n = compressed1_records(b, data_off, data_off + data_size)
    if not n:
        raise SystemExit('no PERF_RECORD_COMPRESSED2 in the file')
    replace_data(b, h, out)


def kernel_map_len(b, length):
    at, size = header(b)['data']
    end = at + size
    while at + 8 <= end:
        rtype, _, rsize = struct.unpack_from('<IHH', b, at)
        if rsize < 8:
            break
        # PERF_RECORD_MMAP: pid, tid, start, len, pgoff, filename.
        if rtype == 1 and bytes(b[at + 40:at + rsize]).startswith(b'[kernel.kallsyms]'):
            struct.pack_into('<Q', b, at + 24, length)
            return
        at += rsize
    raise SystemExit('no [kernel.kallsyms] mmap record')


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    mode, src, dst = args[0], args[1], args[2]
    b = bytearray(open(src, 'rb').read())
    if mode == 'compressed1':
        compressed1(b)
        open(dst, 'wb').write(b)
        return
    if b[:8] != b'PERFILE2' or struct.unpack_from('<Q', b, 8)[0] != 104:
        sys.exit('IN must be a little-endian perf.data file (not pipe mode)')
    if mode == 'bswap':
        arch = args[4] if len(args) > 4 and args[3] == '--arch' else None
        bswap(b, arch)
    elif mode == 'arch':
        set_arch(b, header(b), args[3])
    elif mode == 'kernel-row':
        kernel_row(b, args[3])
    elif mode == 'kernel-map-len':
        kernel_map_len(b, int(args[3], 0))
    elif mode == 'v1':
        v1(b)
    elif mode == 'compressed2':
        compressed2(b)
    else:
        sys.exit(__doc__)
    open(dst, 'wb').write(b)


if __name__ == '__main__':
    main()
