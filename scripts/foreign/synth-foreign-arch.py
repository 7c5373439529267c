#!/usr/bin/env python3
"""synth-foreign-arch.py ARCH OUTDIR [VARIANT]: a recording "made on" another machine, from scratch.

Writes OUTDIR/perf.data and OUTDIR/sysroot/usr/lib/libfoo.so: a small ELF shared object of
ARCH's class, byte order and e_machine with three functions in .symtab, and a perf.data file
in ARCH's byte order (HEADER_ARCH = ARCH's uname -m) holding one process that maps it and
cpu-clock samples with frame-pointer call chains through its functions (and one kernel frame).
perf reads both with `perf script -i OUTDIR/perf.data --symfs OUTDIR/sysroot`: this checks that
ELF symbols of any machine and records of any byte order are read (issue 11, item 6).

ARCH: x86_64 i686 armv7l aarch64 ppc64 ppc64le s390x riscv64 mips64
VARIANT (the shapes of perf script text inferno misreads, issue 11 item 8):
  notime   samples without PERF_SAMPLE_TIME (perf prints no time column)
  tidm1    every other sample has pid/tid -1
"""
import os
import struct
import sys

# uname -m -> (ELF class 32/64, big-endian, e_machine)
ARCHES = {
    'x86_64': (64, False, 62),
    'i686': (32, False, 3),
    'armv7l': (32, False, 40),
    'aarch64': (64, False, 183),
    'ppc64': (64, True, 21),
    'ppc64le': (64, False, 21),
    's390x': (64, True, 22),
    'riscv64': (64, False, 243),
    'mips64': (64, False, 8),
}
FUNCS = [('foo_main', 0x1000), ('foo_work', 0x1100), ('foo_leaf', 0x1200)]
TEXT_OFF, TEXT_SIZE = 0x1000, 0x300
MAP_START = 0x400000
PID = 4242
DSO = b'/usr/lib/libfoo.so'


def elf(bits, big, machine):
    e = '>' if big else '<'
    strtab = b'\0' + b''.join(n.encode() + b'\0' for n, _ in FUNCS)
    shstr = b'\0.text\0.symtab\0.strtab\0.shstrtab\0'
    syms = []
    name_at = 1
    for n, addr in FUNCS:
        info = 0x12  # STB_GLOBAL, STT_FUNC
        if bits == 64:
            syms.append(struct.pack(e + 'IBBHQQ', name_at, info, 0, 1, addr, 0x100))
        else:
            syms.append(struct.pack(e + 'IIIBBH', name_at, addr, 0x100, info, 0, 1))
        name_at += len(n) + 1
    null_sym = bytes(24 if bits == 64 else 16)
    symtab = null_sym + b''.join(syms)
    text = bytes(TEXT_SIZE)
    body = bytearray(bytes(TEXT_OFF) + text)
    symtab_off = len(body); body += symtab
    strtab_off = len(body); body += strtab
    shstr_off = len(body); body += shstr
    while len(body) % 8:
        body += b'\0'
    shoff = len(body)
    ehsize, phentsize, shentsize = (64, 56, 64) if bits == 64 else (52, 32, 40)
    phoff = ehsize

    def shdr(name, typ, flags, addr, off, size, link, info, align, entsize):
        if bits == 64:
            return struct.pack(e + 'IIQQQQIIQQ', name, typ, flags, addr, off, size, link, info,
                               align, entsize)
        return struct.pack(e + 'IIIIIIIIII', name, typ, flags, addr, off, size, link, info,
                           align, entsize)
    symsize = 24 if bits == 64 else 16
    shdrs = (shdr(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
             + shdr(1, 1, 6, TEXT_OFF, TEXT_OFF, TEXT_SIZE, 0, 0, 16, 0)
             + shdr(7, 2, 0, 0, symtab_off, len(symtab), 3, 1, 8, symsize)
             + shdr(15, 3, 0, 0, strtab_off, len(strtab), 0, 0, 1, 0)
             + shdr(23, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0))
    body += shdrs
    ident = b'\x7fELF' + bytes([2 if bits == 64 else 1, 2 if big else 1, 1, 0]) + bytes(8)
    if bits == 64:
        hdr = ident + struct.pack(e + 'HHIQQQIHHHHHH', 3, machine, 1, 0, phoff, shoff, 0,
                                  ehsize, phentsize, 1, shentsize, 5, 4)
        ph = struct.pack(e + 'IIQQQQQQ', 1, 5, 0, 0, 0, TEXT_OFF + TEXT_SIZE,
                         TEXT_OFF + TEXT_SIZE, 0x1000)
    else:
        hdr = ident + struct.pack(e + 'HHIIIIIHHHHHH', 3, machine, 1, 0, phoff, shoff, 0,
                                  ehsize, phentsize, 1, shentsize, 5, 4)
        ph = struct.pack(e + 'IIIIIIII', 1, 0, 0, 0, TEXT_OFF + TEXT_SIZE,
                         TEXT_OFF + TEXT_SIZE, 5, 0x1000)
    body[0:len(hdr)] = hdr
    body[phoff:phoff + len(ph)] = ph
    return bytes(body)


def perf_data(arch, big, variant):
    e = '>' if big else '<'
    SAMPLE = 1 | 2 | 4 | 32 | 256  # IP TID TIME CALLCHAIN PERIOD
    if variant == 'notime':
        SAMPLE &= ~4
    # flags: sample_id_all (18), exclude_guest (20), freq (10)? no: fixed period
    flags = (1 << 18) | (1 << 20)
    attr = bytearray(struct.pack(e + 'IIQQQQ', 1, 120, 0, 1000000, SAMPLE, 0))
    flag_bytes = flags.to_bytes(8, 'little')
    if big:  # big-endian bitfields: bit n is bit 7 - n % 8 of byte n / 8
        flag_bytes = bytes(int('{:08b}'.format(b)[::-1], 2) for b in flag_bytes)
    attr += flag_bytes + bytes(120 - 48)

    def rec(typ, misc, payload):
        while len(payload) % 8:
            payload += b'\0'
        return struct.pack(e + 'IHH', typ, misc, 8 + len(payload)) + payload

    def trailer(t):
        if variant == 'notime':
            return struct.pack(e + 'II', PID, PID)
        return struct.pack(e + 'IIQ', PID, PID, t)
    recs = bytearray()
    recs += rec(3, 0, struct.pack(e + 'II', PID, PID) + b'foo\0\0\0\0\0' + trailer(1000))
    fname = DSO + b'\0'
    fname += bytes(-len(fname) % 8)
    recs += rec(10, 2, struct.pack(e + 'IIQQQIIQQII', PID, PID, MAP_START, 0x2000, 0, 8, 1, 77,
                                    0, 5, 2) + fname + trailer(1001))
    ctx_kernel, ctx_user = 0xffffffffffffff80, 0xfffffffffffffe00
    t = 2000
    chains = [
        [ctx_user, MAP_START + 0x1210, MAP_START + 0x1120, MAP_START + 0x1040],
        [ctx_user, MAP_START + 0x1130, MAP_START + 0x1040],
        [ctx_kernel, 0xffffffff81000010, ctx_user, MAP_START + 0x1220, MAP_START + 0x1140,
         MAP_START + 0x1050],
        [ctx_user, MAP_START + 0x1310, MAP_START + 0x1040],  # past the last function
    ]
    for n, chain in enumerate(chains * 3):
        ip = chain[1]
        misc = 1 if chain[0] == ctx_kernel else 2
        pid = -1 if variant == 'tidm1' and n % 2 else PID
        body = struct.pack(e + 'Qii', ip, pid, pid)
        if variant != 'notime':
            body += struct.pack(e + 'Q', t)
        body += struct.pack(e + 'QQ', 1000000, len(chain))
        body += b''.join(struct.pack(e + 'Q', x) for x in chain)
        recs += rec(9, misc, body)
        t += 1000
    recs += rec(4, 0, struct.pack(e + 'IIIIQ', PID, PID, PID, PID, t) + trailer(t))

    # layout: header, attrs + ids, data, feature table, feature sections
    header_size = 104
    attrs_off = header_size
    attr_entry = bytes(attr) + struct.pack(e + 'QQ', 0, 0)
    data_off = attrs_off + len(attr_entry)
    data_off += -data_off % 8
    feat_table_off = data_off + len(recs)

    def string(s):
        b = s.encode() + b'\0'
        b += bytes(-len(b) % 64)
        return struct.pack(e + 'I', len(b)) + b
    feats = [(3, string('foreign-host')), (6, string(arch))]
    sections = bytearray()
    table = bytearray()
    sec_off = feat_table_off + 16 * len(feats)
    for _, data in feats:
        table += struct.pack(e + 'QQ', sec_off + len(sections), len(data))
        sections += data
    bits = 0
    for f, _ in feats:
        bits |= 1 << f
    bitmap = b''.join(((bits >> (64 * i)) & (2**64 - 1)).to_bytes(8, 'big' if big else 'little')
                      for i in range(4))
    magic = b'PERFILE2'[::-1] if big else b'PERFILE2'
    hdr = magic + struct.pack(e + 'QQQQQQQQ', header_size, len(attr_entry), attrs_off,
                              len(attr_entry), data_off, len(recs), 0, 0) + bitmap
    out = bytearray(hdr)
    out += attr_entry
    out += bytes(data_off - len(out))
    out += recs + table + sections
    return bytes(out)


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ARCHES:
        sys.exit(__doc__)
    arch, outdir = sys.argv[1], sys.argv[2]
    variant = sys.argv[3] if len(sys.argv) == 4 else None
    if variant not in (None, 'notime', 'tidm1'):
        sys.exit(__doc__)
    bits, big, machine = ARCHES[arch]
    lib = os.path.join(outdir, 'sysroot', DSO.decode().lstrip('/'))
    os.makedirs(os.path.dirname(lib), exist_ok=True)
    with open(lib, 'wb') as f:
        f.write(elf(bits, big, machine))
    with open(os.path.join(outdir, 'perf.data'), 'wb') as f:
        f.write(perf_data(arch, big, variant))


if __name__ == '__main__':
    main()
