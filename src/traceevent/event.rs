//! The parsed event (`struct tep_event`): its fields, and its print fmt as
//! an argument tree ([`Arg`], in the [`PrintFmt::nodes`] arena) plus the
//! format string split into conversions ([`PrintParse`]). Only data and
//! lookups: [`super::format`], [`super::printargs`] and [`super::printfmt`]
//! fill it in, [`super::eval`] and [`super::print`] read it.

use std::cell::Cell;

pub(crate) const FIELD_IS_ARRAY: u32 = 1;
pub(crate) const FIELD_IS_POINTER: u32 = 2;
pub(crate) const FIELD_IS_SIGNED: u32 = 4;
pub(crate) const FIELD_IS_STRING: u32 = 8;
pub(crate) const FIELD_IS_DYNAMIC: u32 = 16;
pub(crate) const FIELD_IS_LONG: u32 = 32;
pub(crate) const FIELD_IS_RELATIVE: u32 = 256;

/// `struct tep_format_field`.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The C type as libtraceevent assembles it (`char[16]`, `const char *`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) type_: Vec<u8>,
    pub(crate) name: Vec<u8>,
    pub(crate) offset: i32,
    pub(crate) size: i32,
    pub(crate) elementsize: u32,
    pub(crate) flags: u32,
    /// `tep_print_field` clears `TEP_FIELD_IS_STRING` for good once it had
    /// to print the field as `ARRAY[..]`; this remembers that.
    pub(crate) string_cleared: Cell<bool>,
}

impl Field {
    pub(crate) fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// A field of an event: common fields come first in [`Tracepoint::fields`].
pub(crate) type FieldId = usize;

/// One event of the tracing data (`struct tep_event`).
#[derive(Debug)]
pub struct Tracepoint {
    #[allow(dead_code)] // read by the tests and the fuzz target
    pub(crate) name: String,
    #[allow(dead_code)]
    pub(crate) system: String,
    pub(crate) id: i32,
    /// Common fields, then the event's own fields.
    pub(crate) fields: Vec<Field>,
    pub(crate) nr_common: usize,
    /// `TEP_EVENT_FL_FAILED`: the format or the print fmt did not parse.
    pub(crate) failed: bool,
    pub(crate) is_ftrace: bool,
    pub(crate) print: PrintFmt,
}

impl Tracepoint {
    /// `tep_find_common_field`.
    pub(crate) fn find_common_field(&self, name: &[u8]) -> Option<FieldId> {
        self.fields[..self.nr_common]
            .iter()
            .position(|f| f.name == name)
    }

    /// `tep_find_field`: the event's own fields only.
    pub(crate) fn find_field(&self, name: &[u8]) -> Option<FieldId> {
        let own = &self.fields[self.nr_common..];
        own.iter()
            .position(|f| f.name == name)
            .map(|i| i + self.nr_common)
    }

    /// `tep_find_any_field`: common fields first.
    pub(crate) fn find_any_field(&self, name: &[u8]) -> Option<FieldId> {
        self.find_common_field(name)
            .or_else(|| self.find_field(name))
    }

    pub(crate) fn own_fields(&self) -> &[Field] {
        &self.fields[self.nr_common..]
    }
}

pub(crate) type ArgId = usize;

/// One `{ value, "str" }` of `__print_flags`/`__print_symbolic`.
#[derive(Debug, Clone)]
pub(crate) struct FlagSym {
    pub(crate) value: Vec<u8>,
    pub(crate) text: Vec<u8>,
}

/// `struct tep_print_arg`. `TEP_PRINT_FUNC` cannot occur without plugins, and
/// `TEP_PRINT_BSTRING` only in ftrace's `bprint` event, which perf cannot record.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Null,
    Atom(Vec<u8>),
    Field(Option<FieldId>),
    Flags {
        field: ArgId,
        delim: Option<Vec<u8>>,
        flags: Vec<FlagSym>,
    },
    Symbol {
        field: ArgId,
        syms: Vec<FlagSym>,
    },
    Hex {
        field: ArgId,
        size: ArgId,
        is_str: bool,
    },
    IntArray {
        field: ArgId,
        count: ArgId,
        el_size: ArgId,
    },
    Type {
        ty: Vec<u8>,
        item: ArgId,
    },
    Str(Option<FieldId>),
    DynArray(FieldId),
    Op {
        op: Vec<u8>,
        left: Option<ArgId>,
        right: Option<ArgId>,
        prio: i32,
    },
    Bitmask(Option<FieldId>),
    DynArrayLen(FieldId),
}

impl Arg {
    /// The `enum tep_print_arg_type` number (printed by "ARG TYPE NOT FIELD BUT %d").
    pub(crate) fn c_type(&self) -> u64 {
        match self {
            Arg::Null => 0,
            Arg::Atom(_) => 1,
            Arg::Field(_) => 2,
            Arg::Flags { .. } => 3,
            Arg::Symbol { .. } => 4,
            Arg::Hex { is_str: false, .. } => 5,
            Arg::IntArray { .. } => 6,
            Arg::Type { .. } => 7,
            Arg::Str(_) => 8,
            Arg::DynArray(_) => 10,
            Arg::Op { .. } => 11,
            Arg::Bitmask(_) => 13,
            Arg::DynArrayLen(_) => 14,
            Arg::Hex { is_str: true, .. } => 15,
        }
    }
}

/// An event's print fmt: the format string, its arguments, and the
/// pre-split conversions (`print_cache`).
#[derive(Debug, Default)]
pub(crate) struct PrintFmt {
    pub(crate) format: Vec<u8>,
    pub(crate) nodes: Vec<Arg>,
    pub(crate) args: Vec<ArgId>,
    pub(crate) cache: Vec<PrintParse>,
}

impl PrintFmt {
    pub(crate) fn node(&self, id: ArgId) -> &Arg {
        self.nodes.get(id).unwrap_or(&Arg::Null)
    }

    /// Adds a node to the arena.
    pub(crate) fn alloc(&mut self, a: Arg) -> ArgId {
        self.nodes.push(a);
        self.nodes.len() - 1
    }

    /// Old ftrace formats without arguments print every field in order.
    pub(crate) fn add_field_args(&mut self, own_fields: std::ops::Range<FieldId>) {
        for i in own_fields {
            let id = self.alloc(Arg::Field(Some(i)));
            self.args.push(id);
        }
    }
}

/// `enum tep_print_parse_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseKind {
    /// Literal text (escapes already resolved).
    Text,
    /// `%d %u %i %x %X %o` with their modifiers.
    Digit,
    /// `%s`.
    Str,
    /// `%p` and its extensions (`%pS`, `%pM`, `%pI4`...).
    Pointer,
}

/// `struct tep_print_parse`: one piece of the output.
#[derive(Debug, Clone)]
pub(crate) struct PrintParse {
    pub(crate) kind: ParseKind,
    /// The text, or the conversion from `%` to its letter (at most 31 bytes).
    pub(crate) format: Vec<u8>,
    pub(crate) arg: Option<ArgId>,
    /// The argument `*` takes as width/precision/length.
    pub(crate) len_arg: Option<ArgId>,
    /// Net count of `l` (+1, `L` sets 2) and `h` (-1) modifiers.
    pub(crate) ls: i32,
}
