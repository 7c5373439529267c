//! Evaluating print-fmt arguments against one sample's raw data
//! (`eval_num_arg`, `eval_type_str`, `tep_read_number` in event-parse.c).
//!
//! Reads outside the raw data see zero bytes (libtraceevent would read
//! whatever memory follows), and a division by zero gives 0 (it would
//! raise SIGFPE). Loops over such bytes stop [`SLACK`] bytes past the
//! record, so a hostile length cannot make the output unbounded.

use super::event::{Arg, ArgId, Field, PrintFmt, Tracepoint};
use super::tracing_data::TracingData;

/// How far past the raw data a byte loop may go: a 16-bit data_loc offset
/// plus a 16-bit length reach at most this far.
/// Kernel symbol lookup for `%pS`-style conversions: perf's
/// `machine__resolve_kernel_addr`, which perf script installs.
pub trait FuncResolver {
    /// The name and start address of the kernel symbol containing `addr`.
    fn resolve(&mut self, addr: u64) -> Option<(&str, u64)>;
}

pub(crate) const SLACK: i64 = 0x20000;

/// Everything an argument's value depends on.
pub(crate) struct Ctx<'a, 'r> {
    pub(crate) data: &'a [u8],
    pub(crate) ev: &'a Tracepoint,
    pub(crate) tep: &'a TracingData,
    pub(crate) resolver: Option<&'r mut (dyn FuncResolver + 'r)>,
}

impl Ctx<'_, '_> {
    pub(crate) fn pf(&self) -> &PrintFmt {
        &self.ev.print
    }

    /// The byte at `off` of the raw data (0 outside it).
    pub(crate) fn byte(&self, off: i64) -> u8 {
        usize::try_from(off)
            .ok()
            .and_then(|o| self.data.get(o))
            .copied()
            .unwrap_or(0)
    }

    /// How many of `want` bytes from `off` a loop may visit (see [`SLACK`]).
    pub(crate) fn loop_len(&self, off: i64, want: i64) -> i64 {
        want.min(self.data.len() as i64 + SLACK - off).max(0)
    }

    /// `n` bytes from `off`, zero-filled outside the raw data.
    pub(crate) fn bytes(&self, off: i64, n: usize) -> Vec<u8> {
        (0..n as i64)
            .map(|i| self.byte(off.wrapping_add(i)))
            .collect()
    }

    /// Native (little-endian host) read of `n` <= 8 bytes, no byte swap:
    /// what libtraceevent's casts of `data + offset` read.
    pub(crate) fn native(&self, off: i64, n: usize) -> u64 {
        let mut b = [0u8; 8];
        for (i, x) in b.iter_mut().take(n).enumerate() {
            *x = self.byte(off.wrapping_add(i as i64));
        }
        u64::from_le_bytes(b)
    }

    /// `tep_read_number`: 1, 2, 4 or 8 bytes in the file's byte order; 0 for other sizes.
    pub(crate) fn read_number(&self, off: i64, size: i64) -> u64 {
        let n = match size {
            1 | 2 | 4 | 8 => size as usize,
            _ => return 0,
        };
        let v = self.native(off, n);
        if self.tep.big_endian && n > 1 {
            v.swap_bytes() >> (64 - 8 * n)
        } else {
            v
        }
    }

    /// `data2host4` of the u32 at `off`.
    pub(crate) fn read_u32(&self, off: i64) -> u64 {
        self.read_number(off, 4)
    }

    pub(crate) fn field_value(&self, f: &Field) -> u64 {
        self.read_number(i64::from(f.offset), i64::from(f.size))
    }

    /// Where a `__data_loc`/`__rel_loc` field's data starts, and its length.
    pub(crate) fn dynamic_location(&self, f: &Field) -> (i64, i64) {
        let v = self.read_u32(i64::from(f.offset));
        let mut off = (v & 0xffff) as i64;
        if f.has(super::event::FIELD_IS_RELATIVE) {
            off += i64::from(f.offset) + i64::from(f.size);
        }
        (off, (v >> 16) as i64)
    }

    /// `eval_num_arg`.
    pub(crate) fn eval_num(&self, id: ArgId) -> u64 {
        match self.ev.print.node(id) {
            Arg::Null => 0,
            Arg::Atom(a) => super::clib::strtoull(a),
            Arg::Field(Some(f)) => self.field_value(&self.ev.fields[*f]),
            Arg::Field(None) => 0,
            Arg::Type { ty, item } => eval_type_str(self.eval_num(*item), ty, false),
            Arg::Op {
                op, left, right, ..
            } => self.eval_op(op, *left, *right),
            Arg::DynArrayLen(f) => {
                let f = &self.ev.fields[*f];
                self.read_number(i64::from(f.offset), i64::from(f.size)) >> 16
            }
            Arg::DynArray(f) => {
                // libtraceevent yields the address of the data in its own memory;
                // the offset inside the record is the closest reproducible value.
                let f = &self.ev.fields[*f];
                self.read_number(i64::from(f.offset), i64::from(f.size)) & 0xffff
            }
            Arg::Flags { .. }
            | Arg::Symbol { .. }
            | Arg::IntArray { .. }
            | Arg::Hex { .. }
            | Arg::Str(_)
            | Arg::Bitmask(_) => 0,
        }
    }

    fn eval_side(&self, id: Option<ArgId>) -> u64 {
        id.map_or(0, |i| self.eval_num(i))
    }

    /// The `TEP_PRINT_OP` branch of `eval_num_arg`.
    fn eval_op(&self, op: &[u8], left: Option<ArgId>, right: Option<ArgId>) -> u64 {
        if op == b"[" {
            if let Some(v) = self.eval_index(left, right) {
                return v;
            }
        } else if op == b"?" {
            let cond = self.eval_side(left);
            return match right.map(|r| self.pf().node(r)) {
                Some(Arg::Op { left, right, .. }) => {
                    self.eval_side(if cond != 0 { *left } else { *right })
                }
                _ => 0,
            };
        }
        let l = self.eval_side(left);
        let r = self.eval_side(right);
        let second = op.get(1).copied();
        match (op.first().copied().unwrap_or(0), second) {
            (b'!', None) => u64::from(r == 0),
            (b'!', Some(b'=')) => u64::from(l != r),
            (b'~', _) => !r,
            (b'|', Some(_)) => u64::from(l != 0 || r != 0),
            (b'|', None) => l | r,
            (b'&', Some(_)) => u64::from(l != 0 && r != 0),
            (b'&', None) => l & r,
            (b'<', None) => u64::from(l < r),
            (b'<', Some(b'<')) => l.wrapping_shl(r as u32),
            (b'<', Some(b'=')) => u64::from(l <= r),
            (b'>', None) => u64::from(l > r),
            (b'>', Some(b'>')) => l.wrapping_shr(r as u32),
            (b'>', Some(b'=')) => u64::from(l >= r),
            (b'=', Some(b'=')) => u64::from(l == r),
            (b'-', _) => l.wrapping_sub(r),
            (b'+', _) => l.wrapping_add(r),
            (b'/', _) => l.checked_div(r).unwrap_or(0),
            (b'%', _) => l.checked_rem(r).unwrap_or(0),
            (b'*', _) => l.wrapping_mul(r),
            _ => 0,
        }
    }

    /// `a[i]` of a field or dynamic array; `None` sends it to the generic
    /// operator code ("all bets off"), which yields 0.
    fn eval_index(&self, left: Option<ArgId>, right: Option<ArgId>) -> Option<u64> {
        let index = self.eval_side(right);
        let mut typearg = None;
        let mut larg = left?;
        while let Arg::Type { ty, item } = self.pf().node(larg) {
            typearg = typearg.or(Some(ty));
            larg = *item;
        }
        let mut field_size = i64::from(self.tep.long_size);
        let offset = match self.pf().node(larg) {
            Arg::DynArray(f) => {
                let f = &self.ev.fields[*f];
                let v = self.read_number(i64::from(f.offset), i64::from(f.size));
                if f.elementsize != 0 {
                    field_size = i64::from(f.elementsize);
                }
                (v & 0xffff).wrapping_add(index)
            }
            Arg::Field(Some(f)) => {
                let f = &self.ev.fields[*f];
                field_size = i64::from(f.elementsize);
                (f.offset as u64).wrapping_add(index.wrapping_mul(u64::from(f.elementsize)))
            }
            Arg::Field(None) => return Some(0),
            _ => return None,
        };
        let v = self.read_number(offset as i64, field_size);
        Some(match typearg {
            Some(ty) => eval_type_str(v, ty, true),
            None => v,
        })
    }
}

/// `eval_type_str`: the value cut to a cast's width. `signed` types are
/// masked too (libtraceevent never sets its `sign` flag).
pub(crate) fn eval_type_str(val: u64, ty: &[u8], pointer: bool) -> u64 {
    let Some(&last) = ty.last() else {
        return val;
    };
    if pointer {
        if last != b'*' {
            return val;
        }
        let cut = ty.len().saturating_sub(2);
        return eval_type_str(val, &ty[..cut], false);
    }
    if last == b'*' || ty.starts_with(b"struct") {
        return val;
    }
    match ty {
        b"u8" | b"s8" => return val & 0xff,
        b"u16" | b"s16" => return val & 0xffff,
        b"u32" | b"s32" => return val & 0xffff_ffff,
        _ => {}
    }
    match ty.strip_prefix(b"unsigned ").unwrap_or(ty) {
        b"char" => val & 0xff,
        b"short" => val & 0xffff,
        b"int" => val & 0xffff_ffff,
        _ => val,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_mask_like_libtraceevent() {
        assert_eq!(
            eval_type_str(0xffff_ff9c, b"unsigned long", false),
            0xffff_ff9c
        );
        assert_eq!(eval_type_str(u64::MAX, b"int", false), 0xffff_ffff);
        assert_eq!(eval_type_str(u64::MAX, b"s16", false), 0xffff);
        assert_eq!(eval_type_str(u64::MAX, b"u8 *", true), 0xff);
        assert_eq!(eval_type_str(7, b"struct x *", false), 7);
    }
}
