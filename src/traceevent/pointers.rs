//! `%p` conversions (`print_arg_pointer` in event-parse.c): kernel symbols
//! (`%pS %ps %pF %pf`, resolved like perf's `machine__resolve_kernel_addr`),
//! MAC addresses (`%pM %pm`), IPv4/IPv6/sockaddr (`%pI4 %pi6 %pISpc`...),
//! UUIDs (`%pU`), hex buffers (`%ph`), and plain `%p` as glibc prints it.

use super::clib::{c_int, printf, CArg};
use super::eval::Ctx;
use super::event::{Arg, ArgId};

/// `print_arg_pointer`: `format` is the whole conversion (`%pS`, `%pI4`...).
pub(crate) fn print_arg_pointer(
    ctx: &mut Ctx<'_, '_>,
    out: &mut Vec<u8>,
    format: &[u8],
    plen: i32,
    arg: ArgId,
) {
    let rest = match format.iter().position(|&b| b == b'p') {
        Some(i) => &format[i + 1..],
        None => &[][..],
    };
    match rest.first().copied().unwrap_or(0) {
        b'F' | b'f' | b'S' | b's' => print_function(ctx, out, rest[0], arg),
        b'M' | b'm' => print_mac(ctx, out, rest, arg),
        b'I' | b'i' => print_ip(ctx, out, rest, arg),
        b'U' => print_uuid(ctx, out, rest, arg),
        b'h' => print_raw_buff(ctx, out, rest, arg, plen),
        _ => {
            let v = ctx.eval_num(arg);
            printf(out, b"%p", &[CArg::Int(v)]);
        }
    }
}

/// `print_function`: `name` (`%ps`) or `name+0xoff` (`%pS`), else the address.
fn print_function(ctx: &mut Ctx<'_, '_>, out: &mut Vec<u8>, conv: u8, arg: ArgId) {
    let val = ctx.eval_num(arg);
    let found = ctx.resolver.as_mut().and_then(|r| r.resolve(val));
    match found {
        Some((name, start)) => {
            out.extend_from_slice(name.as_bytes());
            if conv == b'F' || conv == b'S' {
                printf(out, b"+0x%llx", &[CArg::Int(val.wrapping_sub(start))]);
            }
        }
        None => printf(out, b"0x%llx", &[CArg::Int(val)]),
    }
}

/// The field behind a `%pM`/`%pI`/`%pU` argument, or the text libtraceevent
/// prints when the argument is not a field.
fn field_arg(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, arg: ArgId) -> Option<(i64, i32)> {
    match ctx.pf().node(arg) {
        Arg::Field(Some(f)) => {
            let f = &ctx.ev.fields[*f];
            Some((i64::from(f.offset), f.size))
        }
        Arg::Field(None) => None,
        other => {
            printf(
                out,
                b"ARG TYPE NOT FIELD BUT %d",
                &[CArg::Int(other.c_type())],
            );
            None
        }
    }
}

/// `print_mac_arg`.
fn print_mac(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, f: &[u8], arg: ArgId) {
    let Some((off, size)) = field_arg(ctx, out, arg) else {
        return;
    };
    let sep: &[u8] = match (f[0], f.get(1)) {
        (b'm', _) => b"",
        (b'M', Some(b'F')) => b"-",
        _ => b":",
    };
    let reverse = f.get(1) == Some(&b'R');
    if size != 6 {
        out.extend_from_slice(b"INVALIDMAC");
        return;
    }
    for i in 0..6 {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        let idx = if reverse { 5 - i } else { i };
        printf(out, b"%.2x", &[CArg::Int(u64::from(ctx.byte(off + idx)))]);
    }
}

/// `parse_ip4_print_args`: whether `h`/`l`/`n`/`b` asks for reversed bytes.
fn ip4_reverse(ctx: &Ctx<'_, '_>, c: Option<&u8>) -> bool {
    match c {
        Some(b'h') => !ctx.tep.big_endian,
        Some(b'l') => true,
        _ => false,
    }
}

/// `print_ip4_addr`.
fn print_ip4_addr(out: &mut Vec<u8>, i: u8, reverse: bool, b: &[u8]) {
    let fmt: &[u8] = if i == b'i' {
        b"%03d.%03d.%03d.%03d"
    } else {
        b"%d.%d.%d.%d"
    };
    let order: [usize; 4] = if reverse { [3, 2, 1, 0] } else { [0, 1, 2, 3] };
    let args = order.map(|k| c_int(i32::from(b[k])));
    printf(out, fmt, &args);
}

/// `print_ip6_addr`: eight groups of four hex digits (colons for `I`).
fn print_ip6_addr(out: &mut Vec<u8>, i: u8, b: &[u8]) {
    for j in (0..16).step_by(2) {
        printf(
            out,
            b"%02x%02x",
            &[CArg::Int(u64::from(b[j])), CArg::Int(u64::from(b[j + 1]))],
        );
        if i == b'I' && j < 14 {
            out.push(b':');
        }
    }
}

/// `print_ip6c_addr`: the compressed form (`::`), IPv4-mapped tails dotted.
fn print_ip6c_addr(out: &mut Vec<u8>, a: &[u8]) {
    let word = |k: usize| u16::from_be_bytes([a[2 * k], a[2 * k + 1]]);
    let v4mapped = (0..5).all(|k| word(k) == 0) && word(5) == 0xffff;
    let isatap = (a[8] | 0x02) == 0x02 && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe;
    let use_ipv4 = v4mapped || isatap;
    let range = if use_ipv4 { 6 } else { 8 };
    let mut zerolength = [0usize; 8];
    for (i, z) in zerolength.iter_mut().enumerate().take(range) {
        *z = (i..range).take_while(|&j| word(j) == 0).count();
    }
    let (mut longest, mut colonpos) = (1, None);
    for (i, &z) in zerolength.iter().enumerate().take(range) {
        if z > longest {
            longest = z;
            colonpos = Some(i);
        }
    }
    let mut needcolon = false;
    let mut i = 0;
    while i < range {
        if Some(i) == colonpos {
            if needcolon || i == 0 {
                out.push(b':');
            }
            out.push(b':');
            needcolon = false;
            i += longest;
            continue;
        }
        if needcolon {
            out.push(b':');
        }
        let w = word(i);
        let (hi, lo) = (w >> 8, w & 0xff);
        if hi != 0 {
            printf(
                out,
                b"%x%02x",
                &[CArg::Int(u64::from(hi)), CArg::Int(u64::from(lo))],
            );
        } else {
            printf(out, b"%x", &[CArg::Int(u64::from(lo))]);
        }
        needcolon = true;
        i += 1;
    }
    if use_ipv4 {
        if needcolon {
            out.push(b':');
        }
        print_ip4_addr(out, b'I', false, &a[12..16]);
    }
}

/// `print_ip_arg`: `f` starts at the `I`/`i` after `%p`.
fn print_ip(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, f: &[u8], arg: ArgId) {
    let i = f[0];
    let ptr = f.get(2..).unwrap_or(&[]);
    match f.get(1) {
        Some(b'4') => {
            let reverse = ip4_reverse(ctx, ptr.first());
            let Some((off, size)) = field_arg(ctx, out, arg) else {
                return;
            };
            if size != 4 {
                out.extend_from_slice(b"INVALIDIPv4");
                return;
            }
            print_ip4_addr(out, i, reverse, &ctx.bytes(off, 4));
        }
        Some(b'6') => {
            let have_c = i == b'I' && ptr.first() == Some(&b'c');
            let Some((off, size)) = field_arg(ctx, out, arg) else {
                return;
            };
            if size != 16 {
                out.extend_from_slice(b"INVALIDIPv6");
                return;
            }
            let b = ctx.bytes(off, 16);
            if have_c {
                print_ip6c_addr(out, &b);
            } else {
                print_ip6_addr(out, i, &b);
            }
        }
        Some(b'S') => print_ipsa(ctx, out, i, ptr, arg),
        _ => {}
    }
}

/// `print_ipsa_arg`: a `struct sockaddr` field, IPv4 or IPv6, `p` adds the port.
fn print_ipsa(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, i: u8, mut ptr: &[u8], arg: ArgId) {
    let (mut have_p, mut have_c) = (false, false);
    if i == b'I' {
        if ptr.first() == Some(&b'p') {
            have_p = true;
            ptr = &ptr[1..];
        }
        if ptr.first() == Some(&b'c') {
            have_c = true;
            ptr = &ptr[1..];
        }
    }
    let reverse = ip4_reverse(ctx, ptr.first());
    let Some((off, size)) = field_arg(ctx, out, arg) else {
        return;
    };
    let family = ctx.native(off, 2);
    let port = |at: i64| u16::from_be_bytes([ctx.byte(at), ctx.byte(at + 1)]);
    if family == 2 {
        if size < 16 {
            out.extend_from_slice(b"INVALIDIPv4");
            return;
        }
        print_ip4_addr(out, i, reverse, &ctx.bytes(off + 4, 4));
        if have_p {
            printf(out, b":%d", &[c_int(i32::from(port(off + 2)))]);
        }
    } else if family == 10 {
        if size < 28 {
            out.extend_from_slice(b"INVALIDIPv6");
            return;
        }
        if have_p {
            out.push(b'[');
        }
        let b = ctx.bytes(off + 8, 16);
        if have_c {
            print_ip6c_addr(out, &b);
        } else {
            print_ip6_addr(out, i, &b);
        }
        if have_p {
            printf(out, b"]:%d", &[c_int(i32::from(port(off + 2)))]);
        }
    }
}

/// `print_uuid_arg`: `%pU` with `b`/`B` (big-endian) or `l`/`L` (GUID order).
fn print_uuid(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, f: &[u8], arg: ArgId) {
    const GUID: [i64; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let (upper, guid) = match f.get(1) {
        Some(b'L') => (true, true),
        Some(b'l') => (false, true),
        Some(b'B') => (true, false),
        _ => (false, false),
    };
    let Some((off, size)) = field_arg(ctx, out, arg) else {
        return;
    };
    if size != 16 {
        out.extend_from_slice(b"INVALIDUUID");
        return;
    }
    let fmt: &[u8] = if upper { b"%02X" } else { b"%02x" };
    for (i, &g) in GUID.iter().enumerate() {
        let idx = if guid { g } else { i as i64 };
        printf(out, fmt, &[CArg::Int(u64::from(ctx.byte(off + idx)))]);
        if matches!(i, 3 | 5 | 7 | 9) {
            out.push(b'-');
        }
    }
}

/// `print_raw_buff_arg`: `%*ph` of a dynamic array, at most `plen` bytes.
fn print_raw_buff(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, f: &[u8], arg: ArgId, plen: i32) {
    let delim: &[u8] = match f.get(1) {
        Some(b'C') => b":",
        Some(b'D') => b"-",
        Some(b'N') => b"",
        _ => b" ",
    };
    let Arg::DynArray(field) = ctx.pf().node(arg) else {
        let t = ctx.pf().node(arg).c_type();
        printf(out, b"ARG TYPE NOT FIELD BUT %d", &[CArg::Int(t)]);
        return;
    };
    let fl = &ctx.ev.fields[*field];
    let v = ctx.read_number(i64::from(fl.offset), i64::from(fl.size));
    let arr_len = (v >> 16) as i32;
    let base = (v & 0xffff) as i64;
    let n = plen.min(arr_len);
    for i in 0..ctx.loop_len(base, i64::from(n)) {
        if i > 0 {
            out.extend_from_slice(delim);
        }
        printf(out, b"%02x", &[CArg::Int(u64::from(ctx.byte(base + i)))]);
    }
}
