//! The print-fmt helpers libtraceevent knows by name (`process_function`:
//! `__print_flags`, `__print_symbolic`, `__print_hex[_str]`,
//! `__print_array`, `__get_str`, `__get_bitmask`, `__get_dynamic_array[_len]`
//! and their `rel` forms, `__builtin_expect`), and the constant folding of
//! flag/symbol values (`arg_eval`, `arg_num_eval`).

use super::{Parser, ERR};
use crate::traceevent::clib::strtoll;
use crate::traceevent::eval::eval_type_str;
use crate::traceevent::event::{Arg, ArgId, FieldId, FlagSym};
use crate::traceevent::lexer::{Tok, Token};

impl Parser<'_, '_> {
    /// `process_function`: the helpers libtraceevent knows by name.
    pub(super) fn process_function(&mut self, arg: ArgId, name: &[u8]) -> Token {
        match name {
            b"__print_flags" => self.process_flags(arg),
            b"__print_symbolic" => self.process_symbols(arg),
            b"__print_hex" => self.process_hex(arg, false),
            b"__print_hex_str" => self.process_hex(arg, true),
            b"__print_array" => self.process_int_array(arg),
            b"__get_str" | b"__get_rel_str" => self.process_named(arg, Arg::Str),
            b"__get_bitmask" | b"__get_rel_bitmask" => self.process_named(arg, Arg::Bitmask),
            b"__get_dynamic_array" | b"__get_rel_dynamic_array" => self.process_dynamic_array(arg),
            b"__get_dynamic_array_len" | b"__get_rel_dynamic_array_len" => {
                self.process_dynamic_array_len(arg)
            }
            b"__builtin_expect" => self.process_builtin_expect(arg),
            // "function %s not defined": no print functions are registered.
            _ => ERR,
        }
    }

    /// `process_field_arg`: the first argument of flags/symbolic, ops included.
    fn process_field_arg(&mut self, arg: ArgId) -> Token {
        let (mut ty, mut tok) = self.process_arg(arg);
        while ty == Tok::Op {
            (ty, tok) = self.process_op(arg, tok);
        }
        (ty, tok)
    }

    /// `process_flags`: `__print_flags(value, "delim", { v, "s" }, ...)`.
    fn process_flags(&mut self, arg: ArgId) -> Token {
        let field = self.alloc();
        let (ty, tok) = self.process_field_arg(field);
        if ty != Tok::Delim || tok != b"," {
            return ERR;
        }
        let (mut ty, mut tok) = self.lx.read_item();
        let mut delim = None;
        if ty.is_item() {
            delim = Some(tok);
            (ty, tok) = self.lx.read_item();
        }
        if ty != Tok::Delim || tok != b"," {
            return ERR;
        }
        let Some((ty, tok, flags)) = self.process_fields() else {
            return ERR;
        };
        if ty != Tok::Delim || tok != b")" {
            return ERR;
        }
        self.set(
            arg,
            Arg::Flags {
                field,
                delim,
                flags,
            },
        );
        self.lx.read_item()
    }

    /// `process_symbols`: `__print_symbolic(value, { v, "s" }, ...)`.
    fn process_symbols(&mut self, arg: ArgId) -> Token {
        let field = self.alloc();
        let (ty, tok) = self.process_field_arg(field);
        if ty != Tok::Delim || tok != b"," {
            return ERR;
        }
        let Some((ty, tok, syms)) = self.process_fields() else {
            return ERR;
        };
        if ty != Tok::Delim || tok != b")" {
            return ERR;
        }
        self.set(arg, Arg::Symbol { field, syms });
        self.lx.read_item()
    }

    /// `process_fields`: the `{ value, "string" }` list; `None` on error.
    fn process_fields(&mut self) -> Option<(Tok, Vec<u8>, Vec<FlagSym>)> {
        let mut list = Vec::new();
        loop {
            let (ty, tok) = self.lx.read_item();
            if ty != Tok::Op || tok != b"{" {
                return Some((ty, tok, list));
            }
            let arg = self.alloc();
            let (mut ty, mut tok) = self.process_arg(arg);
            if ty == Tok::Op {
                (ty, tok) = self.process_op(arg, tok);
            }
            if ty != Tok::Delim || tok != b"," {
                return None;
            }
            let value = self.arg_eval(arg)?;
            let arg = self.alloc();
            let (ty, tok) = self.process_arg(arg);
            if ty != Tok::Op || tok != b"}" {
                return None;
            }
            let text = self.arg_eval(arg)?;
            list.push(FlagSym { value, text });
            let (ty, tok) = self.lx.read_item();
            if !(ty == Tok::Delim && tok == b",") {
                return Some((ty, tok, list));
            }
        }
    }

    /// `alloc_and_process_delim`: one argument followed by `delim`.
    fn arg_then(&mut self, delim: &[u8]) -> Option<ArgId> {
        let arg = self.alloc();
        let (ty, tok) = self.process_arg(arg);
        (ty == Tok::Delim && tok == delim).then_some(arg)
    }

    /// `process_hex_common`.
    fn process_hex(&mut self, arg: ArgId, is_str: bool) -> Token {
        let Some(field) = self.arg_then(b",") else {
            return ERR;
        };
        let Some(size) = self.arg_then(b")") else {
            return ERR;
        };
        self.set(
            arg,
            Arg::Hex {
                field,
                size,
                is_str,
            },
        );
        self.lx.read_item()
    }

    /// `process_int_array`.
    fn process_int_array(&mut self, arg: ArgId) -> Token {
        let Some(field) = self.arg_then(b",") else {
            return ERR;
        };
        let Some(count) = self.arg_then(b",") else {
            return ERR;
        };
        let Some(el_size) = self.arg_then(b")") else {
            return ERR;
        };
        self.set(
            arg,
            Arg::IntArray {
                field,
                count,
                el_size,
            },
        );
        self.lx.read_item()
    }

    /// `process_str` / `process_bitmask`: `__get_str(field)`.
    fn process_named(&mut self, arg: ArgId, make: fn(Option<FieldId>) -> Arg) -> Token {
        let Some(name) = self.lx.expect_type(Tok::Item) else {
            return ERR;
        };
        self.set(arg, make(self.ev.find_any_field(&name)));
        if !self.lx.expect(Tok::Delim, b")", false) {
            return ERR;
        }
        self.lx.read()
    }

    /// `process_dynamic_array`: an index after it is an error when it is a
    /// plain `[...]` (libtraceevent tests the closing bracket inverted).
    fn process_dynamic_array(&mut self, arg: ArgId) -> Token {
        let (ty, tok) = self.lx.read();
        if ty != Tok::Item {
            return ERR;
        }
        let Some(field) = self.ev.find_field(&tok) else {
            return ERR;
        };
        self.set(arg, Arg::DynArray(field));
        if !self.lx.expect(Tok::Delim, b")", false) {
            return ERR;
        }
        let (ty, tok) = self.lx.read_item();
        if ty != Tok::Op || tok != b"[" {
            return (ty, tok);
        }
        let index = self.alloc();
        let (ty, tok) = self.process_arg(index);
        if ty == Tok::Error || (ty == Tok::Op && tok == b"]") {
            return ERR;
        }
        self.lx.read_item()
    }

    /// `process_dynamic_array_len`.
    fn process_dynamic_array_len(&mut self, arg: ArgId) -> Token {
        let Some(name) = self.lx.expect_type(Tok::Item) else {
            return ERR;
        };
        let Some(field) = self.ev.find_field(&name) else {
            return ERR;
        };
        self.set(arg, Arg::DynArrayLen(field));
        if !self.lx.expect(Tok::Delim, b")", false) {
            return ERR;
        }
        self.lx.read()
    }

    /// `process_builtin_expect`: keeps the condition, drops the hint.
    fn process_builtin_expect(&mut self, arg: ArgId) -> Token {
        let (ty, tok) = self.process_arg(arg);
        if ty != Tok::Delim || tok.first() != Some(&b',') {
            return ERR;
        }
        if self.lx.expect_type(Tok::Item).is_none() || !self.lx.expect(Tok::Delim, b")", false) {
            return ERR;
        }
        self.lx.read_item()
    }

    /// `arg_eval`: the text of a flag/symbol value or string at parse time.
    fn arg_eval(&self, arg: ArgId) -> Option<Vec<u8>> {
        match self.pf.node(arg) {
            Arg::Atom(a) => Some(a.clone()),
            Arg::Type { item, .. } => self.arg_eval(*item),
            Arg::Op { .. } => self.arg_num_eval(arg).map(|v| v.to_string().into_bytes()),
            _ => None,
        }
    }

    /// `arg_num_eval`: constant folding, `None` where libtraceevent gives up.
    fn arg_num_eval(&self, arg: ArgId) -> Option<i64> {
        match self.pf.node(arg) {
            Arg::Atom(a) => Some(strtoll(a)),
            Arg::Type { ty, item } => {
                let v = self.arg_num_eval(*item)?;
                Some(eval_type_str(v as u64, ty, false) as i64)
            }
            Arg::Op {
                op, left, right, ..
            } => {
                let side = |id: Option<ArgId>| id.and_then(|i| self.arg_num_eval(i));
                let is_null =
                    |id: Option<ArgId>| id.is_none_or(|i| matches!(self.pf.node(i), Arg::Null));
                let both = || Some((side(*left)?, side(*right)?));
                let second = op.get(1).copied();
                let v = match (op.first().copied()?, second) {
                    (b'|', Some(_)) => both().map(|(l, r)| i64::from(l != 0 || r != 0)),
                    (b'|', None) => both().map(|(l, r)| l | r),
                    (b'&', Some(_)) => both().map(|(l, r)| i64::from(l != 0 && r != 0)),
                    (b'&', None) => both().map(|(l, r)| l & r),
                    (b'<', None) => both().map(|(l, r)| i64::from(l < r)),
                    (b'<', Some(b'<')) => both().map(|(l, r)| l.wrapping_shl(r as u32)),
                    (b'<', Some(b'=')) => both().map(|(l, r)| i64::from(l <= r)),
                    (b'>', None) => both().map(|(l, r)| i64::from(l > r)),
                    (b'>', Some(b'>')) => both().map(|(l, r)| l.wrapping_shr(r as u32)),
                    (b'>', Some(b'=')) => both().map(|(l, r)| i64::from(l >= r)),
                    (b'=', Some(b'=')) => both().map(|(l, r)| i64::from(l == r)),
                    (b'!', Some(b'=')) => both().map(|(l, r)| i64::from(l != r)),
                    (b'-' | b'+', _) => {
                        let l = if is_null(*left) { 0 } else { side(*left)? };
                        let r = side(*right)?;
                        Some(if op[0] == b'-' {
                            l.wrapping_sub(r)
                        } else {
                            l.wrapping_add(r)
                        })
                    }
                    (b'~', _) => side(*right).map(|r| !r),
                    _ => None,
                }?;
                Some(v)
            }
            _ => None,
        }
    }
}
