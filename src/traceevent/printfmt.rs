//! The print fmt string split into literal text and conversions, each
//! conversion paired with its argument (`parse_args`, `parse_arg_format`,
//! `parse_arg_string`, `parse_arg_format_pointer` in event-parse.c).
//!
//! libtraceevent accepts only `# h l L . z Z 0-9 - *` between `%` and the
//! conversion; any other character (`c`, `+`, a space...) ends the
//! conversion and is printed as `>c<` without consuming an argument.

use super::event::{ArgId, ParseKind, PrintFmt, PrintParse};

/// `parse_args`: the print cache, and whether the event must be marked
/// failed (too few arguments, a second `*`, a bad modifier count).
pub(crate) fn parse_args(format: &[u8], pf: &PrintFmt) -> (Vec<PrintParse>, bool) {
    let mut out = Vec::new();
    let mut failed = false;
    let mut args = pf.args.iter().copied().peekable();
    let mut len = format.len() as i64;
    let mut pos = 0;
    while pos < format.len() {
        let rest = &format[pos..];
        let ret = if rest[0] == b'%' && rest.get(1) != Some(&b'%') {
            parse_arg_format(&mut out, rest, &mut args, &mut failed)
        } else {
            parse_arg_string(&mut out, rest)
        };
        len -= ret as i64;
        if len > 0 {
            pos += ret;
        } else {
            break;
        }
    }
    (out, failed)
}

/// `parse_arg_string`: literal text up to the next conversion.
fn parse_arg_string(out: &mut Vec<PrintParse>, f: &[u8]) -> usize {
    let mut s = Vec::new();
    let mut i = 0;
    while i < f.len() {
        match f[i] {
            b'\\' => {
                i += 1;
                let Some(&c) = f.get(i) else {
                    break;
                };
                s.push(match c {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    other => other,
                });
            }
            b'%' => {
                if f.get(i + 1) == Some(&b'%') {
                    s.push(b'%');
                    i += 1;
                } else {
                    break;
                }
            }
            c => s.push(c),
        }
        i += 1;
    }
    out.push(PrintParse {
        kind: ParseKind::Text,
        format: s,
        arg: None,
        len_arg: None,
        ls: 0,
    });
    i
}

/// `parse_arg_format`: one conversion starting at `%`; returns the bytes used.
fn parse_arg_format(
    out: &mut Vec<PrintParse>,
    f: &[u8],
    args: &mut std::iter::Peekable<impl Iterator<Item = ArgId>>,
    failed: &mut bool,
) -> usize {
    let mut ret = 1;
    let mut ls = 0i32;
    let mut len_arg = None;
    let mut i = 1;
    let add = |out: &mut Vec<PrintParse>, kind, end: usize, arg, len_arg, ls, failed: &mut bool| {
        let mut len = end + 1;
        // "bad format!": digits allow 30 bytes, the others 31.
        let limit = if kind == ParseKind::Digit { 30 } else { 31 };
        if len > limit {
            *failed = true;
            len = 31;
        }
        out.push(PrintParse {
            kind,
            format: f[..len.min(f.len())].to_vec(),
            arg,
            len_arg,
            ls,
        });
    };
    while i < f.len() {
        match f[i] {
            b'#' | b'.' | b'z' | b'Z' | b'0'..=b'9' | b'-' => {}
            b'h' => ls -= 1,
            b'l' => ls += 1,
            b'L' => ls = 2,
            b'*' => {
                if len_arg.is_some() || args.peek().is_none() {
                    *failed = true;
                    return ret;
                }
                len_arg = args.next();
            }
            b'p' => {
                let Some(arg) = args.next() else {
                    *failed = true;
                    return ret;
                };
                let res = parse_arg_format_pointer(&f[i + 1..]);
                i += res;
                ret += res;
                add(out, ParseKind::Pointer, i, Some(arg), len_arg, ls, failed);
                return ret + 1;
            }
            b'd' | b'u' | b'i' | b'x' | b'X' | b'o' => {
                let Some(arg) = args.next() else {
                    *failed = true;
                    return ret;
                };
                if !(-2..=2).contains(&ls) {
                    *failed = true;
                }
                add(out, ParseKind::Digit, i, Some(arg), len_arg, ls, failed);
                return ret + 1;
            }
            b's' => {
                let Some(arg) = args.next() else {
                    *failed = true;
                    return ret;
                };
                add(out, ParseKind::Str, i, Some(arg), len_arg, 0, failed);
                return ret + 1;
            }
            c => {
                out.push(PrintParse {
                    kind: ParseKind::Text,
                    format: vec![b'>', c, b'<'],
                    arg: None,
                    len_arg: None,
                    ls: 0,
                });
                return ret + 1;
            }
        }
        ret += 1;
        i += 1;
    }
    ret
}

/// `parse_arg_format_pointer`: how many letters after `%p` belong to it.
fn parse_arg_format_pointer(f: &[u8]) -> usize {
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    match at(0) {
        b'F' | b'S' | b'f' | b's' => 1,
        b'M' | b'm' => 1 + usize::from(matches!(at(1), b'R' | b'F')),
        b'I' | b'i' => {
            let mut ret = 0;
            let mut index = 2;
            let kind = at(1);
            if kind == b'S' {
                while matches!(at(index), b'p' | b'f' | b's') {
                    ret += 1;
                    index += 1;
                }
            }
            if matches!(kind, b'S' | b'4') && matches!(at(index), b'h' | b'n' | b'l' | b'b') {
                ret += 1;
                index += 1;
            }
            if kind == b'4' {
                ret += 1;
            } else if matches!(kind, b'S' | b'6') {
                if at(index) == b'c' {
                    ret += 1;
                }
                ret += 1;
            }
            ret + 1
        }
        b'U' => 1 + usize::from(matches!(at(1), b'L' | b'l' | b'B' | b'b')),
        b'h' => 1 + usize::from(matches!(at(1), b'C' | b'D' | b'N')),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(fmt: &str, nargs: usize) -> (Vec<(ParseKind, String)>, bool) {
        let pf = PrintFmt {
            args: (0..nargs).collect(),
            ..PrintFmt::default()
        };
        let (c, failed) = parse_args(fmt.as_bytes(), &pf);
        let v = c
            .into_iter()
            .map(|p| (p.kind, String::from_utf8(p.format).unwrap()))
            .collect();
        (v, failed)
    }

    #[test]
    fn splits_conversions_and_text() {
        let (v, failed) = split("a=%d b=%-08llx\\n c=%pS%%", 3);
        assert!(!failed);
        let kinds: Vec<_> = v.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(kinds, ["a=", "%d", " b=", "%-08llx", "\n c=", "%pS", "%"]);
    }

    #[test]
    fn unknown_conversion_prints_marker() {
        let (v, failed) = split("x=%c y=%d", 2);
        assert!(!failed);
        assert_eq!(v[1], (ParseKind::Text, ">c<".to_string()));
        assert_eq!(v[3], (ParseKind::Digit, "%d".to_string()));
    }

    #[test]
    fn missing_argument_fails() {
        assert!(split("%d %d", 1).1);
    }

    #[test]
    fn pointer_extensions() {
        assert_eq!(parse_arg_format_pointer(b"ISpc x"), 4);
        assert_eq!(parse_arg_format_pointer(b"I4 x"), 2);
        assert_eq!(parse_arg_format_pointer(b"I6c"), 3);
        assert_eq!(parse_arg_format_pointer(b"MR"), 2);
        assert_eq!(parse_arg_format_pointer(b" "), 0);
    }
}
