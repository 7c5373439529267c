//! Event format files (`/sys/kernel/tracing/events/SYS/NAME/format`) as
//! libtraceevent's `parse_format` reads them: name, ID, the common and the
//! event's own fields, then the print fmt (handed to [`super::printargs`]).
//! Also the ring-buffer `header_page` (`tep_parse_header_page`), whose
//! `commit` field size becomes the file's long size.

use std::cell::Cell;

use super::clib::strtoull;
use super::event::{Field, PrintFmt, Tracepoint};
use super::event::{FIELD_IS_ARRAY, FIELD_IS_DYNAMIC, FIELD_IS_LONG, FIELD_IS_POINTER};
use super::event::{FIELD_IS_RELATIVE, FIELD_IS_SIGNED, FIELD_IS_STRING};
use super::lexer::{Lexer, Tok, Token};

/// What `parse_format` yields: no event at all when the name or ID cannot
/// be read (perf then rejects the whole tracing data), else the event,
/// possibly marked failed.
pub(crate) fn parse_event(buf: &[u8], system: &str, long_size: u32) -> Option<Tracepoint> {
    let mut lx = Lexer::new(buf);
    let name = event_read_name(&mut lx)?;
    let is_ftrace = system == "ftrace";
    let is_bprint = is_ftrace && name == b"bprint";
    let id = event_read_id(&mut lx)?;
    let mut ev = Tracepoint {
        name: String::from_utf8_lossy(&name).into_owned(),
        system: system.to_string(),
        id,
        fields: Vec::new(),
        nr_common: 0,
        failed: false,
        is_ftrace,
        print: PrintFmt::default(),
    };
    if !event_read_format(&mut lx, &mut ev, long_size) {
        ev.failed = true;
        return Some(ev);
    }
    match super::printargs::event_read_print(&mut lx, &ev) {
        Some(p) => ev.print = p,
        None => {
            ev.failed = true;
            return Some(ev);
        }
    }
    if ev.print.args.is_empty() && is_ftrace {
        // Old ftrace formats had no args: print every field in order.
        let (nc, n) = (ev.nr_common, ev.fields.len());
        ev.print.add_field_args(nc..n);
    }
    if !is_bprint {
        let (cache, failed) = super::printfmt::parse_args(&ev.print.format, &ev.print);
        ev.print.cache = cache;
        ev.failed |= failed;
    }
    Some(ev)
}

/// `event_read_name`.
fn event_read_name(lx: &mut Lexer) -> Option<Vec<u8>> {
    if !lx.expect(Tok::Item, b"name", false) || !lx.expect(Tok::Op, b":", false) {
        return None;
    }
    lx.expect_type(Tok::Item)
}

/// `event_read_id`: `strtoul` of the token, stored in an `int`.
fn event_read_id(lx: &mut Lexer) -> Option<i32> {
    if !lx.expect(Tok::Item, b"ID", true) || !lx.expect(Tok::Op, b":", false) {
        return None;
    }
    lx.expect_type(Tok::Item).map(|t| strtoull(&t) as i32)
}

/// `event_read_format`: false when it failed (the fields read so far stay).
fn event_read_format(lx: &mut Lexer, ev: &mut Tracepoint, long_size: u32) -> bool {
    if !lx.expect(Tok::Item, b"format", true) || !lx.expect(Tok::Op, b":", false) {
        return false;
    }
    if lx.expect_type(Tok::Newline).is_none() {
        return false;
    }
    let ok = event_read_fields(lx, &mut ev.fields, ev.is_ftrace, long_size);
    ev.nr_common = ev.fields.len();
    ok && event_read_fields(lx, &mut ev.fields, ev.is_ftrace, long_size)
}

/// `type_size`: element size of a dynamic array from its type name.
fn type_size(name: &[u8]) -> u32 {
    match name {
        b"u8" | b"s8" | b"char" => 1,
        b"u16" | b"s16" => 2,
        b"u32" | b"s32" => 4,
        b"u64" | b"s64" => 8,
        _ => 0,
    }
}

fn append(buf: &mut Vec<u8>, delim: &[u8], s: &[u8]) {
    buf.extend_from_slice(delim);
    buf.extend_from_slice(s);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `event_read_fields`: reads fields up to an empty line into `out`.
/// Returns false on a syntax error (fields completed before it are kept).
fn event_read_fields(lx: &mut Lexer, out: &mut Vec<Field>, ftrace: bool, long_size: u32) -> bool {
    loop {
        let (ty, tok) = lx.read();
        if ty == Tok::Newline {
            return true;
        }
        if ty != Tok::Item || tok != b"field" {
            return false;
        }
        let (mut ty, mut tok) = lx.read();
        if ftrace && ty == Tok::Item && tok == b"special" {
            (ty, tok) = lx.read();
        }
        if ty != Tok::Op || tok != b":" {
            return false;
        }
        let Some(mut last) = lx.expect_type(Tok::Item) else {
            return false;
        };
        let mut type_: Option<Vec<u8>> = None;
        let mut flags = 0;
        let mut delim: &[u8] = b" ";
        loop {
            (ty, tok) = lx.read();
            let is_star = ty == Tok::Op && tok == b"*";
            if ty == Tok::Item || is_star || (ftrace && ty == Tok::Op && tok == b".") {
                if is_star {
                    flags |= FIELD_IS_POINTER;
                }
                match &mut type_ {
                    Some(t) => append(t, delim, &last),
                    None => type_ = Some(std::mem::take(&mut last)),
                }
                last = tok;
                delim = b" ";
                continue;
            }
            if ty == Tok::Delim && last == b"__attribute__" && tok.first() == Some(&b'(') {
                // Handle __attribute__((user)): C would crash without a type before it.
                let Some(t) = type_.as_mut() else {
                    return false;
                };
                read_attribute_suffix(lx, t, &mut last, &mut delim);
                continue;
            }
            break;
        }
        let Some(mut type_) = type_ else {
            return false;
        };
        let mut name = last;
        if ty != Tok::Op {
            return false;
        }
        let mut arraylen = 0u32;
        let mut size_dynamic = 0;
        if tok == b"[" {
            flags |= FIELD_IS_ARRAY;
            let Some(array) = read_array_suffix(lx, tok, &mut type_, &mut name) else {
                return false;
            };
            (arraylen, size_dynamic) = (array.len, array.size_dynamic);
            (ty, tok) = array.next;
        }
        flags |= type_flags(&type_, flags);
        if ty != Tok::Op || tok != b";" {
            return false;
        }
        let Some(offset) = read_number_attr(lx, b"offset") else {
            return false;
        };
        let Some(size) = read_number_attr(lx, b"size") else {
            return false;
        };
        let Some(signed) = read_signed_attr(lx) else {
            return false;
        };
        if signed {
            flags |= FIELD_IS_SIGNED;
        }
        let size = size as i32;
        let elementsize = if flags & FIELD_IS_ARRAY != 0 {
            array_element_size(flags, size as u32, arraylen, size_dynamic, long_size)
        } else {
            size as u32
        };
        out.push(Field {
            type_,
            name,
            offset: offset as i32,
            size,
            elementsize,
            flags,
            string_cleared: Cell::new(false),
        });
    }
}

/// What an array field's `[...]` told.
struct ArraySuffix {
    /// The last number inside the brackets (0 if none).
    len: u32,
    /// The size of the type named after the brackets, if one is.
    size_dynamic: u32,
    /// The token after the field's declaration.
    next: Token,
}

/// An array field's `[...]` (from `open`, the `[` token) and, when a name
/// follows it, that name: the brackets go to the type `type_`, a
/// following name replaces `name`. `None` on a syntax error.
fn read_array_suffix(
    lx: &mut Lexer,
    open: Vec<u8>,
    type_: &mut Vec<u8>,
    name: &mut Vec<u8>,
) -> Option<ArraySuffix> {
    let mut brackets = open;
    let mut last_ty = Tok::Op;
    let (mut ty, mut tok) = lx.read();
    let mut len = if ty == Tok::Item {
        strtoull(&tok) as u32
    } else {
        0
    };
    while tok != b"]" {
        let d: &[u8] = if last_ty == Tok::Item && ty == Tok::Item {
            b" "
        } else {
            b""
        };
        last_ty = ty;
        append(&mut brackets, d, &tok);
        len = strtoull(&tok) as u32;
        (ty, tok) = lx.read();
        if ty == Tok::None {
            return None;
        }
    }
    brackets.push(b']');
    let mut size_dynamic = 0;
    let mut next = lx.read();
    if next.0 == Tok::Item {
        append(type_, b" ", name);
        type_.extend_from_slice(&brackets);
        size_dynamic = type_size(name);
        *name = std::mem::take(&mut next.1);
        next = lx.read();
    } else {
        type_.extend_from_slice(&brackets);
    }
    Some(ArraySuffix {
        len,
        size_dynamic,
        next,
    })
}

/// The tokens of `__attribute__((...))` after a field's type, up to the
/// closing parenthesis, appended to the type `t` (`last` ends as the last
/// token read).
fn read_attribute_suffix(lx: &mut Lexer, t: &mut Vec<u8>, last: &mut Vec<u8>, delim: &mut &[u8]) {
    append(t, b" ", last);
    t.push(b'(');
    *delim = b" ";
    let mut depth = 1;
    loop {
        let (ty2, tok2) = lx.read();
        if ty2 == Tok::None {
            break;
        }
        if ty2 == Tok::Delim {
            if tok2.first() == Some(&b'(') {
                depth += 1;
            } else if tok2.first() == Some(&b')') {
                depth -= 1;
            }
            if depth == 0 {
                break;
            }
            t.extend_from_slice(&tok2);
            *delim = b"";
        } else {
            append(t, delim, &tok2);
            *delim = b" ";
        }
        *last = tok2;
    }
}

/// The flags a field's type gives it: a char/u8/s8 array is a string,
/// `__data_loc` / `__rel_loc` are dynamic, `long` is long.
fn type_flags(type_: &[u8], flags: u32) -> u32 {
    let mut more = 0;
    let is_string = flags & FIELD_IS_ARRAY != 0
        && (contains(type_, b"char") || contains(type_, b"u8") || contains(type_, b"s8"));
    if is_string {
        more |= FIELD_IS_STRING;
    }
    if type_.starts_with(b"__data_loc") {
        more |= FIELD_IS_DYNAMIC;
    }
    if type_.starts_with(b"__rel_loc") {
        more |= FIELD_IS_DYNAMIC | FIELD_IS_RELATIVE;
    }
    if contains(type_, b"long") {
        more |= FIELD_IS_LONG;
    }
    more
}

/// The optional `signed:N;` ending a field line, then its newline:
/// whether N is non-zero (`None` on a syntax error).
fn read_signed_attr(lx: &mut Lexer) -> Option<bool> {
    let (ty, tok) = lx.read();
    if ty == Tok::Newline {
        return Some(false);
    }
    if ty != Tok::Item || tok != b"signed" || !lx.expect(Tok::Op, b":", false) {
        return None;
    }
    let v = lx.expect_type(Tok::Item)?;
    let signed = strtoull(&v) != 0;
    if !lx.expect(Tok::Op, b";", false) || lx.expect_type(Tok::Newline).is_none() {
        return None;
    }
    Some(signed)
}

/// An array field's element size: size / length, else by what the field is.
fn array_element_size(
    flags: u32,
    size: u32,
    arraylen: u32,
    size_dynamic: u32,
    long_size: u32,
) -> u32 {
    if let Some(e) = size.checked_div(arraylen) {
        e
    } else if flags & FIELD_IS_DYNAMIC != 0 {
        size_dynamic
    } else if flags & FIELD_IS_STRING != 0 {
        1
    } else if flags & FIELD_IS_LONG != 0 {
        long_size
    } else {
        0
    }
}

/// `KEY : NUMBER ;` of a field line (`strtoul`).
fn read_number_attr(lx: &mut Lexer, key: &[u8]) -> Option<u64> {
    if !lx.expect(Tok::Item, key, false) || !lx.expect(Tok::Op, b":", false) {
        return None;
    }
    let v = strtoull(&lx.expect_type(Tok::Item)?);
    lx.expect(Tok::Op, b";", false).then_some(v)
}

/// `tep_parse_header_page` for a non-empty header: the size of its `commit`
/// field (0 when that field cannot be read, as libtraceevent leaves it).
pub(crate) fn header_page_commit_size(buf: &[u8]) -> i32 {
    let mut lx = Lexer::new(buf);
    let (mut ts, mut commit, mut ignore) = ((0, 0), (0, 0), (0, 0));
    parse_header_field(&mut lx, b"timestamp", true, &mut ts);
    parse_header_field(&mut lx, b"commit", true, &mut commit);
    parse_header_field(&mut lx, b"overwrite", false, &mut ignore);
    commit.1
}

/// `parse_header_field`: fills (offset, size) as far as it gets; a
/// non-mandatory field with another name is left for the next call.
fn parse_header_field(lx: &mut Lexer, field: &[u8], mandatory: bool, out: &mut (i32, i32)) {
    let save = lx.pos();
    if !lx.expect(Tok::Item, b"field", false) || !lx.expect(Tok::Op, b":", false) {
        return;
    }
    if lx.expect_type(Tok::Item).is_none() {
        return;
    }
    if mandatory {
        if !lx.expect(Tok::Item, field, false) {
            return;
        }
    } else {
        match lx.expect_type(Tok::Item) {
            None => return,
            Some(name) if name != field => {
                lx.set_pos(save);
                *out = (0, 0);
                return;
            }
            Some(_) => {}
        }
    }
    for (key, slot) in [(b"offset".as_slice(), 0), (b"size".as_slice(), 1)] {
        if !lx.expect(Tok::Op, b";", false)
            || !lx.expect(Tok::Item, key, false)
            || !lx.expect(Tok::Op, b":", false)
        {
            return;
        }
        let Some(v) = lx.expect_type(Tok::Item) else {
            return;
        };
        // atoi: strtol base 10 truncated to int.
        let v = super::clib::strtoll_base10(&v) as i32;
        if slot == 0 {
            out.0 = v;
        } else {
            out.1 = v;
        }
    }
    if !lx.expect(Tok::Op, b";", false) {
        return;
    }
    let (ty, tok) = lx.read();
    if ty != Tok::Newline
        && ty == Tok::Item
        && tok == b"signed"
        && lx.expect(Tok::Op, b":", false)
        && lx.expect_type(Tok::Item).is_some()
        && lx.expect(Tok::Op, b";", false)
    {
        let _ = lx.expect_type(Tok::Newline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHED_WAKEUP: &str = "name: sched_wakeup\nID: 375\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;\n\nprint fmt: \"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu\n";

    #[test]
    fn fields_of_a_real_format() {
        let ev = parse_event(SCHED_WAKEUP.as_bytes(), "sched", 8).unwrap();
        assert_eq!(
            (ev.name.as_str(), ev.id, ev.failed),
            ("sched_wakeup", 375, false)
        );
        assert_eq!(ev.nr_common, 4);
        let comm = &ev.fields[4];
        assert_eq!(comm.type_, b"char[16]");
        assert_eq!(comm.name, b"comm");
        assert_eq!((comm.offset, comm.size, comm.elementsize), (8, 16, 1));
        assert!(comm.has(FIELD_IS_ARRAY | FIELD_IS_STRING));
        assert!(ev.fields[5].has(FIELD_IS_SIGNED));
        assert_eq!(ev.find_any_field(b"target_cpu"), Some(7));
    }

    #[test]
    fn attribute_user_and_data_loc_types() {
        let src = "name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:const char __attribute__((user)) * filename;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:__data_loc char[] name;\toffset:16;\tsize:4;\tsigned:0;\n\nprint fmt: \"%s\", __get_str(name)\n";
        let ev = parse_event(src.as_bytes(), "s", 8).unwrap();
        assert!(!ev.failed);
        assert_eq!(ev.fields[1].type_, b"const char __attribute__((user)) *");
        assert!(ev.fields[1].has(FIELD_IS_POINTER));
        assert_eq!(ev.fields[2].type_, b"__data_loc char[]");
        assert!(ev.fields[2].has(FIELD_IS_DYNAMIC | FIELD_IS_ARRAY | FIELD_IS_STRING));
    }

    #[test]
    fn header_page_long_size() {
        let hp = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
        assert_eq!(header_page_commit_size(hp.as_bytes()), 8);
    }
}
