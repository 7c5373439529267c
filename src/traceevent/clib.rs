//! The few C library behaviours libtraceevent's output depends on:
//! `strtoull`/`strtoll` with base 0 (field offsets, atoms, flag values) and
//! glibc's `printf` for the conversions a print fmt can reach
//! (`d i u o x X s p` with flags `-0#+ `, width, precision, `*`, and the
//! `hh h l ll L q j z Z t` length modifiers).

/// One variadic argument as the callee reads it: an integer register or a
/// C string (bytes up to, not including, its NUL).
#[derive(Clone, Copy, Debug)]
pub(crate) enum CArg<'a> {
    Int(u64),
    Str(&'a [u8]),
}

/// glibc's strtoull scan (`crate::cnum`): (negative, magnitude, overflow).
fn parse_c_integer(s: &[u8], want_base: u32) -> (bool, u64, bool) {
    let n = crate::cnum::parse_c_integer(s, want_base);
    (n.neg, n.value, n.overflow)
}

/// C `strtoull(s, NULL, 0)` (also `strtoul` on LP64).
pub(crate) fn strtoull(s: &[u8]) -> u64 {
    strtoull_base(s, 0)
}

/// C `strtoull(s, NULL, base)` for base 0, 10 or 16.
pub(crate) fn strtoull_base(s: &[u8], base: u32) -> u64 {
    match parse_c_integer(s, base) {
        (_, _, true) => u64::MAX,
        (true, v, false) => v.wrapping_neg(),
        (false, v, false) => v,
    }
}

/// C `strtoll(s, NULL, 0)`.
pub(crate) fn strtoll(s: &[u8]) -> i64 {
    strtoll_base(s, 0)
}

/// C `strtol(s, NULL, 10)` (what `atoi` uses).
pub(crate) fn strtoll_base10(s: &[u8]) -> i64 {
    strtoll_base(s, 10)
}

fn strtoll_base(s: &[u8], base: u32) -> i64 {
    let (neg, v, over) = parse_c_integer(s, base);
    if neg {
        if over || v > 1u64 << 63 {
            i64::MIN
        } else {
            (v as i64).wrapping_neg()
        }
    } else if over || v > i64::MAX as u64 {
        i64::MAX
    } else {
        v as i64
    }
}

/// A parsed conversion: flags, width, precision, length and conversion char.
#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    alt: bool,
    plus: bool,
    space: bool,
    width: usize,
    precision: Option<usize>,
    /// Bytes the integer occupies: 1, 2, 4 or 8.
    int_bytes: u32,
    conv: u8,
}

/// glibc `snprintf(fmt, args...)` appended to `out`, for the conversions
/// libtraceevent's print fmts can produce. Missing arguments read as 0.
pub(crate) fn printf(out: &mut Vec<u8>, fmt: &[u8], args: &[CArg]) {
    let mut args = args.iter().copied();
    fn next_int<'a>(args: &mut impl Iterator<Item = CArg<'a>>) -> u64 {
        match args.next() {
            Some(CArg::Int(v)) => v,
            _ => 0,
        }
    }
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut sp = Spec {
            int_bytes: 4,
            ..Spec::default()
        };
        while let Some(&f) = fmt.get(i) {
            match f {
                b'-' => sp.left = true,
                b'0' => sp.zero = true,
                b'#' => sp.alt = true,
                b'+' => sp.plus = true,
                b' ' => sp.space = true,
                _ => break,
            }
            i += 1;
        }
        if fmt.get(i) == Some(&b'*') {
            let w = next_int(&mut args) as i32;
            if w < 0 {
                sp.left = true;
            }
            sp.width = w.unsigned_abs() as usize;
            i += 1;
        } else {
            while let Some(d) = fmt.get(i).filter(|c| c.is_ascii_digit()) {
                sp.width = sp
                    .width
                    .saturating_mul(10)
                    .saturating_add(usize::from(d - b'0'));
                i += 1;
            }
        }
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            if fmt.get(i) == Some(&b'*') {
                let p = next_int(&mut args) as i32;
                sp.precision = usize::try_from(p).ok();
                i += 1;
            } else {
                let mut p = 0usize;
                while let Some(d) = fmt.get(i).filter(|c| c.is_ascii_digit()) {
                    p = p.saturating_mul(10).saturating_add(usize::from(d - b'0'));
                    i += 1;
                }
                sp.precision = Some(p);
            }
        }
        match (fmt.get(i), fmt.get(i + 1)) {
            (Some(b'h'), Some(b'h')) => (sp.int_bytes, i) = (1, i + 2),
            (Some(b'h'), _) => (sp.int_bytes, i) = (2, i + 1),
            (Some(b'l'), Some(b'l')) => (sp.int_bytes, i) = (8, i + 2),
            (Some(b'l' | b'L' | b'q' | b'j' | b'z' | b'Z' | b't'), _) => {
                (sp.int_bytes, i) = (8, i + 1)
            }
            _ => {}
        }
        let Some(&conv) = fmt.get(i) else {
            out.extend_from_slice(&fmt[start..]);
            return;
        };
        i += 1;
        sp.conv = conv;
        match conv {
            b'%' => out.push(b'%'),
            b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
                let v = next_int(&mut args);
                format_int(out, &sp, v);
            }
            b'p' => {
                let v = next_int(&mut args);
                format_pointer(out, &sp, v);
            }
            b'c' => {
                let v = next_int(&mut args) as u8;
                pad(out, &sp, b"", &[v], false);
            }
            b's' => {
                let s = match args.next() {
                    Some(CArg::Str(s)) => s,
                    _ => b"(null)".as_slice(),
                };
                let s = match sp.precision {
                    Some(p) if p < s.len() => &s[..p],
                    _ => s,
                };
                pad(out, &sp, b"", s, false);
            }
            _ => out.extend_from_slice(&fmt[start..i]),
        }
    }
}

/// Writes `prefix` + `body` padded to the width (zeros go between them).
fn pad(out: &mut Vec<u8>, sp: &Spec, prefix: &[u8], body: &[u8], zero_ok: bool) {
    let len = prefix.len() + body.len();
    let fill = sp.width.saturating_sub(len);
    if sp.left {
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
        out.resize(out.len() + fill, b' ');
    } else if sp.zero && zero_ok {
        out.extend_from_slice(prefix);
        out.resize(out.len() + fill, b'0');
        out.extend_from_slice(body);
    } else {
        out.resize(out.len() + fill, b' ');
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
    }
}

fn format_int(out: &mut Vec<u8>, sp: &Spec, raw: u64) {
    let bits = sp.int_bytes * 8;
    let masked = if bits == 64 {
        raw
    } else {
        raw & ((1u64 << bits) - 1)
    };
    let signed = matches!(sp.conv, b'd' | b'i');
    let (neg, mag) = if signed {
        let shift = 64 - bits;
        let v = ((masked << shift) as i64) >> shift;
        (v < 0, v.unsigned_abs())
    } else {
        (false, masked)
    };
    let mut digits = match sp.conv {
        b'o' => format!("{mag:o}"),
        b'x' => format!("{mag:x}"),
        b'X' => format!("{mag:X}"),
        _ => mag.to_string(),
    }
    .into_bytes();
    if sp.precision == Some(0) && mag == 0 {
        digits.clear();
    }
    if let Some(p) = sp.precision {
        if digits.len() < p {
            let mut d = vec![b'0'; p - digits.len()];
            d.extend_from_slice(&digits);
            digits = d;
        }
    }
    let mut prefix: Vec<u8> = Vec::new();
    if signed {
        if neg {
            prefix.push(b'-');
        } else if sp.plus {
            prefix.push(b'+');
        } else if sp.space {
            prefix.push(b' ');
        }
    }
    if sp.alt {
        match sp.conv {
            b'o' if digits.first() != Some(&b'0') => digits.insert(0, b'0'),
            b'x' if mag != 0 => prefix.extend_from_slice(b"0x"),
            b'X' if mag != 0 => prefix.extend_from_slice(b"0X"),
            _ => {}
        }
    }
    pad(out, sp, &prefix, &digits, sp.precision.is_none());
}

/// glibc `%p`: `(nil)` for NULL, else `%#lx`.
fn format_pointer(out: &mut Vec<u8>, sp: &Spec, v: u64) {
    if v == 0 {
        pad(out, sp, b"", b"(nil)", false);
        return;
    }
    let digits = format!("{v:x}").into_bytes();
    let prefix: &[u8] = if sp.plus {
        b"+0x"
    } else if sp.space {
        b" 0x"
    } else {
        b"0x"
    };
    pad(out, sp, prefix, &digits, sp.precision.is_none());
}

/// An `int` vararg as it sits in its 64-bit register (zero-extended).
pub(crate) fn c_int(v: i32) -> CArg<'static> {
    CArg::Int(u64::from(v as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_char;

    extern "C" {
        fn snprintf(buf: *mut c_char, n: usize, fmt: *const c_char, ...) -> i32;
    }

    fn ours(fmt: &str, args: &[CArg]) -> String {
        let mut out = Vec::new();
        printf(&mut out, fmt.as_bytes(), args);
        String::from_utf8(out).unwrap()
    }

    fn glibc_int(fmt: &str, v: u64) -> String {
        let mut buf = vec![0u8; 256];
        let f = std::ffi::CString::new(fmt).unwrap();
        let n = unsafe { snprintf(buf.as_mut_ptr().cast(), buf.len(), f.as_ptr(), v) };
        buf.truncate(n as usize);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn integers_match_glibc() {
        let fmts = [
            "%d",
            "%u",
            "%x",
            "%X",
            "%o",
            "%5d",
            "%-5d|",
            "%05d",
            "%.3d",
            "%8.3x",
            "%#x",
            "%#o",
            "%#08x",
            "%+d",
            "% d",
            "%ld",
            "%lld",
            "%llu",
            "%lx",
            "%hhd",
            "%hhu",
            "%hd",
            "%hu",
            "%zu",
            "%Lx",
            "%.0d",
            "%#.0o",
            "%-#10llx|",
            "%016llx",
            "%i",
            "%2d",
            "%1d",
            "%03d",
        ];
        let vals = [
            0u64,
            1,
            7,
            255,
            300,
            65535,
            70000,
            0x7fff_ffff,
            0xffff_ffff,
            0xffff_ff9c,
            u64::MAX,
            1 << 63,
            0x1234_5678_9abc,
        ];
        for f in fmts {
            for &v in &vals {
                assert_eq!(ours(f, &[CArg::Int(v)]), glibc_int(f, v), "{f} {v:#x}");
            }
        }
    }

    #[test]
    fn strings_pointers_and_stars() {
        assert_eq!(
            ours("[%05s][%-5s][%.1s]", &[CArg::Str(b"ab"); 3]),
            "[   ab][ab   ][a]"
        );
        assert_eq!(ours("%.*s", &[CArg::Int(2), CArg::Str(b"abcdef")]), "ab");
        assert_eq!(ours("%*d", &[CArg::Int(4), CArg::Int(7)]), "   7");
        assert_eq!(ours("%p %p", &[CArg::Int(0), CArg::Int(16)]), "(nil) 0x10");
        assert_eq!(ours("100%%", &[]), "100%");
    }

    #[test]
    fn c_number_parsing() {
        assert_eq!(strtoull(b"0x1f"), 31);
        assert_eq!(strtoull(b" 010"), 8);
        assert_eq!(strtoull(b"12UL"), 12);
        assert_eq!(strtoull(b"-1"), u64::MAX);
        assert_eq!(strtoull(b"HRTIMER"), 0);
        assert_eq!(strtoull(b"0x"), 0);
        assert_eq!(strtoull(b"99999999999999999999999"), u64::MAX);
        assert_eq!(strtoll(b"-5"), -5);
        assert_eq!(strtoll(b"0xffffffffffffffff"), i64::MAX);
    }
}
