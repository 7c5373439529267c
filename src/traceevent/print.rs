//! Writing one event's text: `pretty_print` (via `print_event_cache`,
//! `print_arg_number`, `print_arg_string`/`print_str_arg`,
//! `print_arg_pointer`) and, for events whose format failed to parse,
//! `[FAILED TO PARSE]` followed by `tep_print_fields`.

use super::clib::{c_int, printf, CArg};
use super::eval::Ctx;
use super::event::{
    Arg, ArgId, Field, FlagSym, ParseKind, FIELD_IS_ARRAY, FIELD_IS_DYNAMIC, FIELD_IS_LONG,
};
use super::event::{FIELD_IS_POINTER, FIELD_IS_RELATIVE, FIELD_IS_SIGNED, FIELD_IS_STRING};

/// `tep_print_event(.., "%s", TEP_PRINT_INFO)` for one record, cut at the
/// first NUL as `trace_seq_do_fprintf`'s `%.*s` does.
pub(crate) fn print_info(ctx: &mut Ctx<'_, '_>, out: &mut Vec<u8>) {
    let start = out.len();
    if ctx.ev.failed {
        out.extend_from_slice(b"[FAILED TO PARSE]");
        print_fields(ctx, out);
    } else {
        print_event_cache(ctx, out);
    }
    if let Some(nul) = out[start..].iter().position(|&b| b == 0) {
        out.truncate(start + nul);
    }
}

/// `print_event_cache`.
fn print_event_cache(ctx: &mut Ctx<'_, '_>, out: &mut Vec<u8>) {
    let ev = ctx.ev;
    for p in &ev.print.cache {
        let len_arg = p.len_arg.map(|a| ctx.eval_num(a) as i32);
        let Some(arg) = p.arg else {
            out.extend_from_slice(&p.format);
            continue;
        };
        match p.kind {
            ParseKind::Text => out.extend_from_slice(&p.format),
            ParseKind::Digit => print_arg_number(ctx, out, &p.format, len_arg, p.ls, arg),
            ParseKind::Str => {
                let mut s = Vec::new();
                print_str_arg(ctx, &mut s, &p.format, len_arg.unwrap_or(-1), arg);
                let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                out.extend_from_slice(&s[..end]);
            }
            ParseKind::Pointer => {
                super::pointers::print_arg_pointer(ctx, out, &p.format, len_arg.unwrap_or(1), arg)
            }
        }
    }
}

/// `print_arg_number`: the value cast as the `h`/`l` count says, then printf.
fn print_arg_number(
    ctx: &mut Ctx<'_, '_>,
    out: &mut Vec<u8>,
    format: &[u8],
    plen: Option<i32>,
    ls: i32,
    arg: ArgId,
) {
    let val = ctx.eval_num(arg);
    let v = match ls {
        -2 => c_int(i32::from(val as i8)),
        -1 => c_int(i32::from(val as i16)),
        0 => c_int(val as i32),
        1 | 2 => CArg::Int(val),
        _ => return,
    };
    match plen.filter(|&p| p >= 0) {
        Some(p) => printf(out, format, &[c_int(p), v]),
        None => printf(out, format, &[v]),
    }
}

/// `print_str_to_seq`.
fn print_str_to_seq(out: &mut Vec<u8>, format: &[u8], len_arg: i32, s: &[u8]) {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    if len_arg >= 0 {
        printf(out, format, &[c_int(len_arg), CArg::Str(s)]);
    } else {
        printf(out, format, &[CArg::Str(s)]);
    }
}

/// The NUL-terminated string at `off` of the raw data (cut at its end).
pub(crate) fn c_string(ctx: &Ctx<'_, '_>, off: i64) -> Vec<u8> {
    let Some(rest) = usize::try_from(off).ok().and_then(|o| ctx.data.get(o..)) else {
        return Vec::new();
    };
    rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())].to_vec()
}

/// `eval_flag`: a flag/symbol value, numeric or one of the names
/// libtraceevent knows; -1 otherwise.
fn eval_flag(flag: &[u8]) -> i64 {
    if flag.first().is_some_and(u8::is_ascii_digit) {
        return super::clib::strtoull(flag) as i64;
    }
    const NAMES: [(&[u8], i64); 12] = [
        (b"HI_SOFTIRQ", 0),
        (b"TIMER_SOFTIRQ", 1),
        (b"NET_TX_SOFTIRQ", 2),
        (b"NET_RX_SOFTIRQ", 3),
        (b"BLOCK_SOFTIRQ", 4),
        (b"IRQ_POLL_SOFTIRQ", 5),
        (b"TASKLET_SOFTIRQ", 6),
        (b"SCHED_SOFTIRQ", 7),
        (b"HRTIMER_SOFTIRQ", 8),
        (b"RCU_SOFTIRQ", 9),
        (b"HRTIMER_NORESTART", 0),
        (b"HRTIMER_RESTART", 1),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == flag)
        .map_or(-1, |&(_, v)| v)
}

/// The start of an array argument of `__print_hex`/`__print_array`.
fn array_base(ctx: &Ctx<'_, '_>, arg: ArgId) -> Option<i64> {
    match ctx.pf().node(arg) {
        Arg::DynArray(f) => {
            let f = &ctx.ev.fields[*f];
            Some((ctx.read_number(i64::from(f.offset), i64::from(f.size)) & 0xffff) as i64)
        }
        Arg::Field(Some(f)) => Some(i64::from(ctx.ev.fields[*f].offset)),
        _ => None,
    }
}

/// `print_str_arg`: an argument printed through a `%s` conversion.
pub(crate) fn print_str_arg(
    ctx: &mut Ctx<'_, '_>,
    out: &mut Vec<u8>,
    format: &[u8],
    len_arg: i32,
    arg: ArgId,
) {
    let ev = ctx.ev;
    match ev.print.node(arg) {
        Arg::Atom(a) => print_str_to_seq(out, format, len_arg, a),
        Arg::Field(Some(f)) => {
            let f = &ev.fields[*f];
            let long = i64::from(ctx.tep.long_size);
            if !f.has(FIELD_IS_ARRAY) && i64::from(f.size) == long {
                let n = if long == 8 { 8 } else { 4 };
                let addr = ctx.native(i64::from(f.offset), n);
                match ctx.tep.printk.get(&addr) {
                    Some(s) => out.extend_from_slice(s),
                    None => printf(out, b"%llx", &[CArg::Int(addr)]),
                }
                return;
            }
            let len = if f.size != 0 {
                i64::from(f.size)
            } else {
                ctx.data.len() as i64 - i64::from(f.offset)
            };
            let s = ctx.bytes(
                i64::from(f.offset),
                ctx.loop_len(i64::from(f.offset), len) as usize,
            );
            print_str_to_seq(out, format, len_arg, &s);
        }
        Arg::Flags {
            field,
            delim,
            flags,
        } => print_flags(ctx, out, format, len_arg, *field, delim.as_deref(), flags),
        Arg::Symbol { field, syms } => {
            let val = ctx.eval_num(*field) as i64;
            match syms.iter().find(|s| eval_flag(&s.value) == val) {
                Some(s) => print_str_to_seq(out, format, len_arg, &s.text),
                None => printf(out, b"0x%llx", &[CArg::Int(val as u64)]),
            }
        }
        Arg::Hex {
            field,
            size,
            is_str,
        } => {
            let Some(base) = array_base(ctx, *field) else {
                return;
            };
            let len = ctx.eval_num(*size) as i32;
            for i in 0..ctx.loop_len(base, i64::from(len)) {
                if i > 0 && !is_str {
                    out.push(b' ');
                }
                printf(out, b"%02x", &[CArg::Int(u64::from(ctx.byte(base + i)))]);
            }
        }
        Arg::IntArray {
            field,
            count,
            el_size,
        } => print_int_array(ctx, out, *field, *count, *el_size),
        Arg::Str(Some(f)) => {
            let (off, _) = ctx.dynamic_location(&ev.fields[*f]);
            let s = c_string(ctx, off);
            print_str_to_seq(out, format, len_arg, &s);
        }
        Arg::Bitmask(Some(f)) => {
            let (off, _) = ctx.dynamic_location(&ev.fields[*f]);
            // The size is the top half of an `int`: negative when its top bit
            // is set, and then libtraceevent's malloc fails and prints nothing.
            let size = i64::from((ctx.read_u32(i64::from(ev.fields[*f].offset)) as i32) >> 16);
            if size >= 0 {
                let s = bitmask_string(ctx, off, size);
                print_str_to_seq(out, format, len_arg, &s);
            }
        }
        Arg::Op {
            op, left, right, ..
        } if op.first() == Some(&b'?') => {
            let cond = left.map_or(0, |l| ctx.eval_num(l));
            if let Some(Arg::Op { left, right, .. }) = right.map(|r| ev.print.node(r)) {
                if let Some(branch) = if cond != 0 { *left } else { *right } {
                    print_str_arg(ctx, out, format, len_arg, branch);
                }
            }
        }
        _ => {}
    }
}

/// `__print_flags()` in `print_str_arg`: the names of the set flags,
/// `delim` between them, the bits left over in hex.
fn print_flags(
    ctx: &mut Ctx<'_, '_>,
    out: &mut Vec<u8>,
    format: &[u8],
    len_arg: i32,
    field: ArgId,
    delim: Option<&[u8]>,
    flags: &[FlagSym],
) {
    let mut val = ctx.eval_num(field) as i64;
    let mut printed = false;
    for fl in flags {
        let fval = eval_flag(&fl.value);
        if val == 0 && fval < 0 {
            print_str_to_seq(out, format, len_arg, &fl.text);
            break;
        }
        if fval > 0 && (val & fval) == fval {
            if let (true, Some(d)) = (printed, delim) {
                out.extend_from_slice(d);
            }
            print_str_to_seq(out, format, len_arg, &fl.text);
            printed = true;
            val &= !fval;
        }
    }
    if val != 0 {
        if let (true, Some(d)) = (printed, delim) {
            out.extend_from_slice(d);
        }
        printf(out, b"0x%llx", &[CArg::Int(val as u64)]);
    }
}

/// `__print_array()` in `print_str_arg`: `count` elements of `el_size`
/// bytes each, space-separated (`BAD SIZE` for an odd size).
fn print_int_array(
    ctx: &mut Ctx<'_, '_>,
    out: &mut Vec<u8>,
    field: ArgId,
    count: ArgId,
    el_size: ArgId,
) {
    let Some(mut at) = array_base(ctx, field) else {
        return;
    };
    let len = ctx.eval_num(count) as i32;
    let mut el = ctx.eval_num(el_size) as i32;
    for i in 0..len {
        if ctx.loop_len(at, 1) == 0 {
            break;
        }
        if i > 0 {
            out.push(b' ');
        }
        if matches!(el, 1 | 2 | 4 | 8) {
            let v = ctx.native(at, el as usize);
            printf(out, b"%lu", &[CArg::Int(v)]);
        } else {
            let b = u64::from(ctx.byte(at));
            printf(out, b"BAD SIZE:%d 0x%x", &[c_int(el), CArg::Int(b)]);
            el = 1;
        }
        at += i64::from(el);
    }
}

/// `print_bitmask_to_seq`'s string: hex of the bitmask bytes, most
/// significant first, a comma every 32 bits.
fn bitmask_string(ctx: &Ctx<'_, '_>, off: i64, size: i64) -> Vec<u8> {
    let nr_bits = size * 8;
    let str_size = (nr_bits + 3) / 4 + (nr_bits - 1) / 32;
    let mut s = vec![b'0'; str_size.max(0) as usize];
    let mut len = 0i64;
    let mut i = str_size - 2;
    while i >= 0 {
        let index = if ctx.tep.big_endian {
            size - (len + 1)
        } else {
            len
        };
        let hex = format!("{:02x}", ctx.byte(off + index));
        s[i as usize..i as usize + 2].copy_from_slice(hex.as_bytes());
        len += 1;
        if len & 3 == 0 && i > 0 {
            i -= 1;
            s[i as usize] = b',';
        }
        i -= 2;
    }
    s
}

fn is_printable_array(s: &[u8]) -> bool {
    s.iter()
        .take_while(|&&b| b != 0)
        .all(|&b| (0x20..0x7f).contains(&b) || super::lexer::is_c_space(i32::from(b)))
}

/// `tep_print_fields`: ` name=value` for each of the event's own fields.
fn print_fields(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>) {
    for f in ctx.ev.own_fields() {
        out.push(b' ');
        out.extend_from_slice(&f.name);
        out.push(b'=');
        print_field(ctx, out, f);
    }
}

/// `tep_print_field`.
fn print_field(ctx: &Ctx<'_, '_>, out: &mut Vec<u8>, f: &Field) {
    if f.has(FIELD_IS_ARRAY) {
        let (mut off, mut len) = (i64::from(f.offset), i64::from(f.size as u32));
        if f.has(FIELD_IS_DYNAMIC) {
            let v = ctx.read_number(off, len);
            len = ((v as u32) >> 16) as i64;
            off = (v & 0xffff) as i64;
            if f.has(FIELD_IS_RELATIVE) {
                off += i64::from(f.offset) + i64::from(f.size);
            }
        }
        let is_string = f.has(FIELD_IS_STRING) && !f.string_cleared.get();
        let len = ctx.loop_len(off, len);
        if is_string && is_printable_array(&ctx.bytes(off, len as usize)) {
            out.extend_from_slice(&c_string(ctx, off));
        } else {
            out.extend_from_slice(b"ARRAY[");
            for i in 0..len {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                printf(out, b"%02x", &[CArg::Int(u64::from(ctx.byte(off + i)))]);
            }
            out.push(b']');
            f.string_cleared.set(true);
        }
        return;
    }
    let val = ctx.field_value(f);
    if f.has(FIELD_IS_POINTER) {
        printf(out, b"0x%llx", &[CArg::Int(val)]);
    } else if f.has(FIELD_IS_SIGNED) {
        match f.size {
            4 if f.has(FIELD_IS_LONG) => printf(out, b"0x%x", &[c_int(val as i32)]),
            4 => printf(out, b"%d", &[c_int(val as i32)]),
            2 => printf(out, b"%2d", &[c_int(i32::from(val as i16))]),
            1 => printf(out, b"%1d", &[c_int(i32::from(val as i8))]),
            _ => printf(out, b"%lld", &[CArg::Int(val)]),
        }
    } else if f.has(FIELD_IS_LONG) {
        printf(out, b"0x%llx", &[CArg::Int(val)]);
    } else {
        printf(out, b"%llu", &[CArg::Int(val)]);
    }
}
