//! The print fmt's argument list (`event_read_print` and the `process_*`
//! functions of event-parse.c) parsed into a tree of `tep_print_arg`s.
//!
//! The tree lives in an arena ([`PrintFmt::nodes`]) so the C parser's
//! in-place rewrites (`*left = *arg`, the priority rotation in
//! `process_op`) carry over unchanged, quirks included: operators of equal
//! priority group to the right, a parenthesised right operand can be
//! rotated out of its parentheses, `__get_dynamic_array(x)[i]` is rejected,
//! and unknown helpers (libtraceevent without plugins registers none) fail
//! the whole print fmt, which then prints as `[FAILED TO PARSE]`.

mod helpers;

use super::event::{Arg, ArgId, PrintFmt, Tracepoint};
use super::lexer::{Lexer, Tok, Token};

const ERR: Token = (Tok::Error, Vec::new());

struct Parser<'a, 'b> {
    pub(super) lx: &'a mut Lexer<'b>,
    pub(super) ev: &'a Tracepoint,
    pub(super) pf: PrintFmt,
}

/// `event_read_print`: `None` when the print fmt does not parse.
pub(crate) fn event_read_print(lx: &mut Lexer, ev: &Tracepoint) -> Option<PrintFmt> {
    if !lx.expect(Tok::Item, b"print", true)
        || !lx.expect(Tok::Item, b"fmt", false)
        || !lx.expect(Tok::Op, b":", false)
    {
        return None;
    }
    let mut format = lx.expect_type(Tok::DQuote)?;
    let mut p = Parser {
        lx,
        ev,
        pf: PrintFmt::default(),
    };
    loop {
        let (ty, tok) = p.lx.read_item();
        match ty {
            Tok::None => break,
            Tok::DQuote => format.extend_from_slice(&tok),
            Tok::Delim if tok == b"," => {
                p.read_print_args()?;
                break;
            }
            _ => return None,
        }
    }
    p.pf.format = format;
    Some(p.pf)
}

/// `get_op_prio` (-1 for an unknown operator).
fn op_prio(op: &[u8]) -> i32 {
    match op {
        b"~" | b"!" => 4,
        b"*" | b"/" | b"%" => 6,
        b"+" | b"-" => 7,
        b"<" | b">" => 9,
        b"&" => 11,
        b"^" => 12,
        b"|" => 13,
        b"?" => 16,
        b"++" | b"--" => 3,
        b">>" | b"<<" => 8,
        b">=" | b"<=" => 9,
        b"==" | b"!=" => 10,
        b"&&" => 14,
        b"||" => 15,
        _ => -1,
    }
}

const BINARY_OPS: [&[u8]; 18] = [
    b">>", b"<<", b"&", b"|", b"&&", b"||", b"-", b"+", b"*", b"^", b"/", b"%", b"<", b">", b"<=",
    b">=", b"==", b"!=",
];

impl Parser<'_, '_> {
    pub(super) fn alloc(&mut self) -> ArgId {
        self.pf.alloc(Arg::Null)
    }

    pub(super) fn set(&mut self, id: ArgId, a: Arg) {
        self.pf.nodes[id] = a;
    }

    /// Moves `arg`'s current value into a new node and makes `arg` the
    /// operator `tok` with that node as its left operand (libtraceevent's
    /// `process_op` for `?` and `[`).
    fn wrap_as_left_operand(&mut self, arg: ArgId, tok: Vec<u8>) {
        let left = self.pf.alloc(self.pf.node(arg).clone());
        self.set(
            arg,
            Arg::Op {
                op: tok,
                left: Some(left),
                right: None,
                prio: 0,
            },
        );
    }

    /// `event_read_print_args`.
    fn read_print_args(&mut self) -> Option<()> {
        let mut ty = Tok::Error;
        loop {
            if ty == Tok::Newline {
                ty = self.lx.read_item().0;
            } else {
                let arg = self.alloc();
                let (t, tok) = self.process_arg(arg);
                if t == Tok::Error {
                    return None;
                }
                self.pf.args.push(arg);
                ty = t;
                if t == Tok::Op {
                    ty = self.process_op(arg, tok).0;
                    if ty == Tok::Error {
                        self.pf.args.pop();
                        return None;
                    }
                } else if !(t == Tok::Delim && tok == b",") {
                    return Some(());
                }
            }
            if ty == Tok::None {
                return Some(());
            }
        }
    }

    /// `process_arg`.
    pub(super) fn process_arg(&mut self, arg: ArgId) -> Token {
        let (ty, tok) = self.lx.read();
        self.process_arg_token(arg, ty, tok)
    }

    /// `process_arg_token`.
    fn process_arg_token(&mut self, arg: ArgId, ty: Tok, tok: Vec<u8>) -> Token {
        match ty {
            Tok::Item => {
                if tok == b"REC" {
                    return self.process_entry(arg);
                }
                let mut atom = tok;
                let (mut t, mut s) = self.lx.read_item();
                if t == Tok::Delim && s == b"(" {
                    return self.process_function(arg, &atom);
                }
                while t == Tok::Item {
                    atom.push(b' ');
                    atom.extend_from_slice(&s);
                    (t, s) = self.lx.read_item();
                }
                self.set(arg, Arg::Atom(atom));
                (t, s)
            }
            Tok::DQuote | Tok::SQuote => {
                self.set(arg, Arg::Atom(tok));
                self.lx.read_item()
            }
            Tok::Delim if tok == b"(" => self.process_paren(arg),
            Tok::Delim | Tok::Op => {
                self.set(
                    arg,
                    Arg::Op {
                        op: tok.clone(),
                        left: None,
                        right: None,
                        prio: 0,
                    },
                );
                self.process_op(arg, tok)
            }
            _ => ERR,
        }
    }

    /// `process_op`: `tok` is the operator just read after `arg`.
    pub(super) fn process_op(&mut self, arg: ArgId, tok: Vec<u8>) -> Token {
        let unary = matches!(self.pf.node(arg), Arg::Op { left: None, .. });
        let right_var;
        let (ty, next) = if unary {
            if tok.len() != 1 || !matches!(tok[0], b'~' | b'!' | b'+' | b'-') {
                return ERR;
            }
            let left = self.pf.alloc(Arg::Null);
            let right = self.alloc();
            if let Arg::Op {
                left: l, right: r, ..
            } = &mut self.pf.nodes[arg]
            {
                *l = Some(left);
                *r = Some(right);
            }
            right_var = Some(right);
            self.process_arg(right)
        } else if tok == b"?" {
            self.wrap_as_left_operand(arg, tok);
            right_var = None;
            self.process_cond(arg)
        } else if BINARY_OPS.contains(&tok.as_slice()) {
            let left_node = self.pf.node(arg).clone();
            let prio = if matches!(left_node, Arg::Null) {
                0
            } else {
                op_prio(&tok)
            };
            let left = self.pf.alloc(left_node);
            let is_star = tok == b"*";
            self.set(
                arg,
                Arg::Op {
                    op: tok.clone(),
                    left: Some(left),
                    right: None,
                    prio,
                },
            );
            let (t, s) = self.lx.read_item();
            if is_star && t == Tok::Delim && s == b")" {
                // Just a pointer type: `(char *)`.
                let Arg::Atom(mut atom) = self.pf.node(left).clone() else {
                    return ERR;
                };
                atom.extend_from_slice(b" *");
                self.set(arg, Arg::Atom(atom));
                return (t, s);
            }
            let right = self.alloc();
            let (t, s) = self.process_arg_token(right, t, s);
            if t == Tok::Error {
                return ERR;
            }
            let rotate = match self.pf.node(right) {
                Arg::Op { op, .. } => op_prio(&tok) < op_prio(op),
                _ => false,
            };
            if rotate {
                let right_left = match self.pf.node(right) {
                    Arg::Op { left, .. } => *left,
                    _ => None,
                };
                if let Arg::Op { right: r, .. } = &mut self.pf.nodes[arg] {
                    *r = right_left;
                }
                self.pf.nodes.swap(arg, right);
                if let Arg::Op { left: l, .. } = &mut self.pf.nodes[arg] {
                    *l = Some(right);
                }
            } else if let Arg::Op { right: r, .. } = &mut self.pf.nodes[arg] {
                *r = Some(right);
            }
            right_var = Some(right);
            (t, s)
        } else if tok == b"[" {
            self.wrap_as_left_operand(arg, tok);
            right_var = None;
            self.process_array(arg)
        } else {
            return ERR;
        };
        if ty == Tok::Op && next != b":" {
            let prio = op_prio(&next);
            let arg_prio = match self.pf.node(arg) {
                Arg::Op { prio, .. } => *prio,
                _ => 0,
            };
            if prio > arg_prio {
                return self.process_op(arg, next);
            }
            // C dereferences a NULL `right` here after `?` and `[`.
            return match right_var {
                Some(r) => self.process_op(r, next),
                None => ERR,
            };
        }
        (ty, next)
    }

    /// `process_cond`: the `b : c` of `a ? b : c`, stored as `top`'s right.
    fn process_cond(&mut self, top: ArgId) -> Token {
        let left = self.alloc();
        let right = self.alloc();
        let (mut ty, mut tok) = self.process_arg(left);
        loop {
            if ty == Tok::Error {
                return ERR;
            }
            if ty == Tok::Op && tok != b":" {
                (ty, tok) = self.process_op(left, tok);
                continue;
            }
            break;
        }
        if ty != Tok::Op || tok != b":" {
            return ERR;
        }
        let colon = self.pf.alloc(Arg::Op {
            op: tok,
            left: Some(left),
            right: Some(right),
            prio: 0,
        });
        let t = self.process_arg(right);
        if let Arg::Op { right: r, .. } = &mut self.pf.nodes[top] {
            *r = Some(colon);
        }
        t
    }

    /// `process_array`: the index of `a[i]`.
    fn process_array(&mut self, top: ArgId) -> Token {
        let arg = self.alloc();
        let (ty, tok) = self.process_arg(arg);
        if ty != Tok::Op || tok != b"]" {
            return ERR;
        }
        if let Arg::Op { right: r, .. } = &mut self.pf.nodes[top] {
            *r = Some(arg);
        }
        self.lx.read_item()
    }

    /// `process_entry`: `REC->field`.
    fn process_entry(&mut self, arg: ArgId) -> Token {
        if !self.lx.expect(Tok::Op, b"->", false) {
            return ERR;
        }
        let Some(name) = self.lx.expect_type(Tok::Item) else {
            return ERR;
        };
        self.set(arg, Arg::Field(self.ev.find_any_field(&name)));
        self.lx.read()
    }

    /// `process_paren`: a parenthesised expression or a typecast.
    fn process_paren(&mut self, arg: ArgId) -> Token {
        let (mut ty, mut tok) = self.process_arg(arg);
        if ty == Tok::Error {
            return ERR;
        }
        if ty == Tok::Op {
            (ty, tok) = self.process_op(arg, tok);
        }
        if ty != Tok::Delim || tok != b")" {
            return ERR;
        }
        let (ty, tok) = self.lx.read_item();
        if ty.is_item() || (ty == Tok::Delim && tok == b"(") {
            let Arg::Atom(cast) = self.pf.node(arg).clone() else {
                return ERR;
            };
            let item = self.alloc();
            self.set(arg, Arg::Type { ty: cast, item });
            return self.process_arg_token(item, ty, tok);
        }
        (ty, tok)
    }
}
